//! Runs a future to completion on this thread (a current-thread tokio
//! runtime), so that `testing::capture_alerts` around it sees what it
//! raises. Included by `#[path]` where the rest of `support` is not needed.

pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
