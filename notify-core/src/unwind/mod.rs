//! Walking the caller's stack: return addresses only, as fast as it can be
//! done, because it happens on the thread that returned `Err`.
//!
//! On 64-bit x86_64 Linux (not x32) the walk uses [framehop] over the loaded modules'
//! `.eh_frame_hdr`/`.eh_frame`, read in place where the loader mapped them,
//! with one process-wide cache of unwind rules by code address: once any
//! thread has walked through some code, each frame of a later walk through it
//! is a cache hit and two loads, where libgcc's `_Unwind_Backtrace` decodes
//! the DWARF call-frame program again for every frame of every walk (the
//! README's Performance section has the measured difference). The cache is taken with `try_lock`:
//! a thread that finds another one walking never waits, it walks with the
//! platform's unwinder. That is also the walk everywhere else, and whenever
//! the fast walk cannot be trusted to finish as libgcc would: a return
//! address outside every module's unwind-covered code (JIT code, a module
//! without `.eh_frame_hdr` — framehop would follow the frame pointer there
//! and could skip frames), the kernel's signal-return trampoline (a signal
//! handler's caller, which framehop cannot restore), a stack that is not the
//! thread's own (an alternate signal stack), a thread-local already
//! destroyed, an unwinding error: `backtrace::trace`, libgcc's or the
//! platform's unwinder.
//!
//! One difference remains: inside a module that has unwind information, a
//! function that has none (hand-written assembly without CFI) is still
//! walked through by its frame pointer, where libgcc would stop. Every read
//! is bounded to the live part of the thread's own stack, so such a frame
//! can only end the walk early or skip frames, never read stray memory.
//!
//! [framehop]: https://docs.rs/framehop

/// Appends the return addresses of the current stack to `ips`, innermost
/// first, at most `max` of them. The first entries are this module's and the
/// caller's own frames (trimmed after resolution).
#[inline(never)]
pub(crate) fn trace(ips: &mut Vec<usize>, max: usize) {
    #[cfg(all(
        target_os = "linux",
        target_arch = "x86_64",
        target_pointer_width = "64"
    ))]
    if framehop_walk::trace(ips, max) == framehop_walk::Walk::Done {
        return;
    }
    ips.clear();
    trace_with_unwinder(ips, max);
}

/// The platform's unwinder, through the `backtrace` crate.
#[inline(never)]
pub(crate) fn trace_with_unwinder(ips: &mut Vec<usize>, max: usize) {
    let mut collect = |frame: &backtrace::Frame| {
        ips.push(frame.ip() as usize);
        ips.len() < max
    };
    // `backtrace::trace` takes the crate's global lock, the same lock that
    // symbol resolution holds on the resolver thread for as long as it
    // resolves: the caller would wait for it. On unix the unwinder (libgcc's
    // or LLVM's `_Unwind_Backtrace`) is thread-safe, as C++ exceptions on
    // many threads require, so skip the lock there.
    #[cfg(unix)]
    // SAFETY: `trace_unsynchronized` is unsafe only because some platforms'
    // unwinders are not thread-safe (dbghelp on Windows); unix's are.
    unsafe {
        backtrace::trace_unsynchronized(&mut collect)
    };
    #[cfg(not(unix))]
    backtrace::trace(&mut collect);
}

#[cfg(all(
    target_os = "linux",
    target_arch = "x86_64",
    target_pointer_width = "64"
))]
mod framehop_walk;

#[cfg(test)]
mod tests {
    #[test]
    fn a_walk_is_capped() {
        let mut ips = Vec::new();
        super::trace(&mut ips, 3);
        assert_eq!(ips.len(), 3);
    }
}

/// Where the fast walk is built, it must give the platform unwinder's frames.
#[cfg(all(
    test,
    target_os = "linux",
    target_arch = "x86_64",
    target_pointer_width = "64"
))]
mod fast_walk_tests {
    use std::hint::black_box;

    /// Walks `depth` frames further down, then walks the stack both ways.
    #[inline(never)]
    fn nested(depth: u32, out: &mut (Vec<usize>, Vec<usize>)) {
        if depth == 0 {
            // The fast walk must finish on its own (not by
            // falling back, which would make this comparison vacuous). Tests
            // walk on several threads at once: wait out a busy cache.
            loop {
                out.0.clear();
                match super::framehop_walk::trace(&mut out.0, 128) {
                    super::framehop_walk::Walk::Done => break,
                    super::framehop_walk::Walk::Busy => std::thread::yield_now(),
                    super::framehop_walk::Walk::Failed => panic!("the fast walk failed"),
                }
            }
            super::trace_with_unwinder(&mut out.1, 128);
        } else {
            nested(black_box(depth - 1), out);
            black_box(());
        }
    }

    /// From the first frame they share (the walkers' own frames differ), the
    /// fast walk gives exactly the frames the platform's unwinder gives.
    fn assert_same_frames() {
        for _ in 0..3 {
            // The second and third walks use the warm rule cache.
            let mut out = (Vec::new(), Vec::new());
            nested(12, &mut out);
            let (fast, unwinder) = out;
            let unwinder: Vec<usize> = unwinder.into_iter().filter(|&ip| ip != 0).collect();
            let Some(first) = fast.iter().position(|ip| unwinder.contains(ip)) else {
                panic!("no common frame: {fast:x?} vs {unwinder:x?}");
            };
            let start = unwinder.iter().position(|ip| *ip == fast[first]).unwrap();
            assert_eq!(
                fast[first..],
                unwinder[start..],
                "fast {fast:x?}\nunwinder {unwinder:x?}"
            );
            // The common part holds the twelve nested frames and whatever
            // the test harness put below them.
            assert!(fast.len() - first > 12, "{fast:x?}");
        }
    }

    #[test]
    fn the_fast_walk_finds_the_unwinders_frames_on_this_thread() {
        assert_same_frames();
    }

    #[test]
    fn the_fast_walk_finds_the_unwinders_frames_on_new_threads() {
        std::thread::spawn(assert_same_frames).join().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        runtime.block_on(async {
            tokio::spawn(async { assert_same_frames() }).await.unwrap();
        });
    }
}
