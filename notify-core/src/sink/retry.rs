//! The one retry policy every sink shares: a per-attempt timeout, exponential
//! backoff with full jitter on retryable failures, the platform's own
//! rate-limit answer honoured, no retry on permanent refusals.

use std::future::Future;
use std::time::Duration;

use super::SinkError;

/// How deliveries are retried.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    /// Attempts in all (first try included).
    pub(crate) attempts: u32,
    /// Backoff before the second attempt; doubles each time.
    pub(crate) base: Duration,
    /// Longest backoff between two attempts.
    pub(crate) max_backoff: Duration,
    /// Longest wait we accept from a rate-limit answer; past it we give up.
    pub(crate) max_retry_after: Duration,
    /// Bound on one attempt.
    pub(crate) attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(120),
            attempt_timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The backoff before attempt `n + 1` (n ≥ 1): uniformly random in
    /// `[base·2^(n-1) / 2, base·2^(n-1)]`, capped ("equal jitter", so a retry
    /// never comes back immediately).
    pub(crate) fn backoff(&self, n: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << (n.saturating_sub(1)).min(20))
            .min(self.max_backoff);
        let half = exp / 2;
        half + exp.mul_f64(fastrand::f64() * 0.5)
    }
}

/// Runs `attempt` until it succeeds, fails permanently, or the policy is
/// spent. `on_wait` is told about each rate-limit pause (so the caller can
/// pause the sink as a whole). Returns the last error.
pub(crate) async fn run<F, Fut>(
    policy: &RetryPolicy,
    mut attempt: F,
    mut on_rate_limit: impl FnMut(Duration),
) -> Result<(), SinkError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), SinkError>>,
{
    let mut n = 0;
    loop {
        n += 1;
        let result = match tokio::time::timeout(policy.attempt_timeout, attempt()).await {
            Ok(result) => result,
            Err(_) => Err(SinkError::retryable(format!(
                "no answer within {:?}",
                policy.attempt_timeout
            ))),
        };
        let error = match result {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        if !error.is_retryable() || n >= policy.attempts {
            return Err(error);
        }
        let wait = match error.retry_after() {
            Some(wait) if wait > policy.max_retry_after => return Err(error),
            Some(wait) => {
                on_rate_limit(wait);
                wait
            }
            None => policy.backoff(n),
        };
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn fast() -> RetryPolicy {
        RetryPolicy {
            attempts: 4,
            base: Duration::from_millis(1),
            max_backoff: Duration::from_millis(4),
            max_retry_after: Duration::from_secs(1),
            attempt_timeout: Duration::from_millis(200),
        }
    }

    #[tokio::test]
    async fn retries_retryable_errors_then_succeeds() {
        let calls = AtomicU32::new(0);
        let result = run(
            &fast(),
            || async {
                if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(SinkError::retryable("503"))
                } else {
                    Ok(())
                }
            },
            |_| {},
        )
        .await;
        assert_eq!(result, Ok(()));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let result = run(
            &fast(),
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(SinkError::permanent("chat not found"))
            },
            |_| {},
        )
        .await;
        assert_eq!(result.unwrap_err().message(), "chat not found");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn gives_up_after_the_last_attempt() {
        let calls = AtomicU32::new(0);
        let result = run(
            &fast(),
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(SinkError::retryable("500"))
            },
            |_| {},
        )
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_hanging_attempt_times_out() {
        let result = run(
            &RetryPolicy {
                attempts: 1,
                ..fast()
            },
            std::future::pending::<Result<(), SinkError>>,
            |_| {},
        )
        .await;
        assert!(result.unwrap_err().message().contains("no answer"));
    }

    #[tokio::test]
    async fn rate_limit_answer_is_honoured() {
        let calls = AtomicU32::new(0);
        let mut waits = Vec::new();
        let result = run(
            &fast(),
            || async {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    Err(SinkError::rate_limited("429", Duration::from_millis(30)))
                } else {
                    Ok(())
                }
            },
            |w| waits.push(w),
        )
        .await;
        assert_eq!(result, Ok(()));
        assert_eq!(waits, vec![Duration::from_millis(30)]);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            base: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        for _ in 0..100 {
            let b1 = p.backoff(1);
            assert!(b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100));
            let b3 = p.backoff(3);
            assert!(b3 >= Duration::from_millis(200) && b3 <= Duration::from_millis(400));
            assert!(p.backoff(30) <= Duration::from_millis(1000));
        }
    }
}
