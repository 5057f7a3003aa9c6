//! Waiting on a condition variable until a condition holds or a deadline
//! passes: what flushing the ledger and the diagnostics both do. A leaf.

use std::sync::{Condvar, MutexGuard};
use std::time::Instant;

/// Waits on `changed` until `done` holds for the guarded value (true), or
/// `deadline` passes (false); no deadline waits as long as it takes. A
/// poisoned lock is waited on all the same (the values are plain counts).
pub(crate) fn until<T>(
    changed: &Condvar,
    mut guard: MutexGuard<'_, T>,
    deadline: Option<Instant>,
    mut done: impl FnMut(&T) -> bool,
) -> bool {
    loop {
        if done(&guard) {
            return true;
        }
        guard = match deadline {
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return false;
                }
                match changed.wait_timeout(guard, deadline - now) {
                    Ok((guard, _)) => guard,
                    Err(poisoned) => poisoned.into_inner().0,
                }
            }
            None => match changed.wait(guard) {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            },
        };
    }
}
