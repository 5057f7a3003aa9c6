//! The one retry policy every sink shares: a per-attempt timeout, exponential
//! backoff with full jitter on retryable failures, the platform's own
//! rate-limit answer honoured, no retry on permanent refusals.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use super::error::SinkError;

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

/// A sink's pause after a rate-limit answer: every delivery to the sink
/// waits it out before its next attempt, so one 429 holds back the whole
/// sink, not just the request that got it.
#[derive(Debug, Default)]
pub(crate) struct Pause {
    until: Mutex<Option<tokio::time::Instant>>,
}

impl Pause {
    /// Pauses for `wait` from now (never shortens a longer pause).
    pub(crate) fn extend(&self, wait: Duration) {
        let until = tokio::time::Instant::now() + wait;
        let mut current = self.until.lock().unwrap_or_else(|p| p.into_inner());
        if current.is_none_or(|c| c < until) {
            *current = Some(until);
        }
    }

    /// Waits until the pause is over.
    pub(crate) async fn wait(&self) {
        let until = *self.until.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = until {
            tokio::time::sleep_until(until).await;
        }
    }

    #[cfg(test)]
    pub(crate) fn is_paused(&self) -> bool {
        self.until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|u| u > tokio::time::Instant::now())
    }
}

/// Runs `attempt` until it succeeds, fails permanently, or the policy is
/// spent, and returns the last error. Before each attempt it waits out
/// `pause` — outside the attempt's timeout, so a long rate-limit pause never
/// counts as an attempt that got no answer. A rate-limit answer extends
/// `pause`, even when it asks for longer than we accept (so the sink's other
/// deliveries do not keep hitting the platform).
pub(crate) async fn run<F, Fut>(
    policy: &RetryPolicy,
    pause: &Pause,
    mut attempt: F,
) -> Result<(), SinkError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), SinkError>>,
{
    let mut n = 0;
    loop {
        n += 1;
        pause.wait().await;
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
        if let Some(wait) = error.retry_after() {
            pause.extend(wait.min(policy.max_retry_after * 10));
        }
        if !error.is_retryable() || n >= policy.attempts {
            return Err(error);
        }
        match error.retry_after() {
            Some(wait) if wait > policy.max_retry_after => return Err(error),
            // The pause is waited out at the top of the loop.
            Some(_) => {}
            None => tokio::time::sleep(policy.backoff(n)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn quick_policy() -> RetryPolicy {
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
        let result = run(&quick_policy(), &Pause::default(), || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(SinkError::retryable("503"))
            } else {
                Ok(())
            }
        })
        .await;
        assert_eq!(result, Ok(()));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let result = run(&quick_policy(), &Pause::default(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(SinkError::permanent("chat not found"))
        })
        .await;
        assert_eq!(result.unwrap_err().message(), "chat not found");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn gives_up_after_the_last_attempt() {
        let calls = AtomicU32::new(0);
        let result = run(&quick_policy(), &Pause::default(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(SinkError::retryable("500"))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_hanging_attempt_times_out() {
        let result = run(
            &RetryPolicy {
                attempts: 1,
                ..quick_policy()
            },
            &Pause::default(),
            std::future::pending::<Result<(), SinkError>>,
        )
        .await;
        assert!(result.unwrap_err().message().contains("no answer"));
    }

    #[tokio::test]
    async fn rate_limit_answer_pauses_the_sink_and_is_honoured() {
        let calls = AtomicU32::new(0);
        let pause = Pause::default();
        let started = tokio::time::Instant::now();
        let result = run(&quick_policy(), &pause, || async {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(SinkError::rate_limited("429", Duration::from_millis(30)))
            } else {
                Ok(())
            }
        })
        .await;
        assert_eq!(result, Ok(()));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert!(started.elapsed() >= Duration::from_millis(30));
    }

    #[tokio::test]
    async fn a_long_pause_does_not_use_up_the_attempt_timeout() {
        // The attempt timeout is 200 ms; the pause is longer. Waiting it out
        // must not count as an attempt without an answer.
        let pause = Pause::default();
        pause.extend(Duration::from_millis(400));
        let result = run(&quick_policy(), &pause, || async { Ok(()) }).await;
        assert_eq!(result, Ok(()));
    }

    #[tokio::test]
    async fn a_wait_longer_than_accepted_gives_up_but_still_pauses_the_sink() {
        let pause = Pause::default();
        let result = run(&quick_policy(), &pause, || async {
            Err(SinkError::rate_limited("429", Duration::from_secs(5)))
        })
        .await;
        assert!(result.is_err());
        assert!(pause.is_paused());
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
