//! Backtraces: captured as bare return addresses on the caller's thread,
//! resolved and trimmed to the application's own frames on the notifier's
//! resolver thread.

use std::fmt::Write as _;

use crate::alert::Frame;

/// Frames that are not the application's own: the backtrace machinery, this
/// crate, the panic machinery, the runtime below `main`, tokio's internals.
const NOT_IN_APP: &[&str] = &[
    "backtrace::",
    "<backtrace::",
    "notify_core::",
    "<notify_core::",
    // The standard library: the panic machinery, closure shims, the runtime
    // below `main`, thread start-up.
    "std::",
    "<std::",
    "core::",
    "<core::",
    "alloc::",
    "<alloc::",
    "__rustc::",
    "<fn(",
    // libtest's harness, below a `#[test]` function.
    "test::",
    "__rust_",
    "rust_begin_unwind",
    "rust_panic",
    "__libc_start",
    "_start",
    "start_thread",
    "clone3",
    // The tokio runtime's internals (its scheduler, task harness, blocking pool).
    "tokio::runtime::",
    "tokio::task::",
    "tokio::loom::",
    "tokio::park::",
    "<tokio::runtime::",
    "<tokio::task::",
    "<tokio::loom::",
    // Between a logged event and the layer that reports it (precise: an
    // application crate may well be called `tracing` or `log`).
    "tracing::__macro_support::",
    "tracing_core::",
    "<tracing_core::",
    "tracing_subscriber::",
    "<tracing_subscriber::",
    "log::__private_api::",
    "<log::__private_api::",
];

fn in_app(function: &str) -> bool {
    !function.is_empty() && !NOT_IN_APP.iter().any(|prefix| function.starts_with(prefix))
}

/// A backtrace as captured on the caller's thread: return addresses only.
///
/// Only the instruction pointers are kept: no symbol lookup, not even the
/// enclosing function's start address (which `backtrace::Backtrace` asks the
/// unwinder for, frame by frame), so a capture costs one walk of the stack.
/// Names, files and lines are resolved later, on the dispatcher thread.
pub(crate) struct RawBacktrace {
    ips: Vec<usize>,
}

/// Frames walked at most; deeper stacks keep their innermost frames.
const MAX_CAPTURED: usize = 128;

impl RawBacktrace {
    #[inline(never)]
    pub(crate) fn capture() -> Self {
        let mut ips = Vec::with_capacity(64);
        crate::unwind::trace(&mut ips, MAX_CAPTURED);
        RawBacktrace { ips }
    }
}

/// Resolves a backtrace and trims it to the application's own frames:
/// innermost first, starting at the user's function (for an `Err`) or the
/// panic site (for a panic), ending at `main`. Runs on the dispatcher thread.
pub(crate) fn resolve_and_trim(raw: RawBacktrace) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut reached_main = false;
    for ip in raw.ips {
        // One return address gives several symbols when calls were inlined,
        // innermost first.
        backtrace::resolve(ip as *mut std::ffi::c_void, |symbol| {
            if reached_main || frames.len() >= MAX_FRAMES {
                return;
            }
            let Some(name) = symbol.name() else { return };
            let mut function = String::new();
            let _ = write!(function, "{name:#}");
            reached_main = is_main(&function);
            if in_app(&function) {
                frames.push(Frame {
                    function,
                    file: symbol.filename().map(|p| p.display().to_string()),
                    line: symbol.lineno(),
                });
            }
        });
        if reached_main || frames.len() >= MAX_FRAMES {
            break;
        }
    }
    frames
}

const MAX_FRAMES: usize = 64;

/// `main` of the binary: `crate_name::main` (not `crate_name::module::main`).
fn is_main(function: &str) -> bool {
    match function.rsplit_once("::") {
        Some((head, "main")) => !head.contains("::") && !head.contains('<'),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_crate_root_main_is_main() {
        assert!(is_main("my_app::main"));
        assert!(!is_main("my_app::cli::main"));
        assert!(!is_main("<my_app::Main as Run>::main"));
        assert!(!is_main("std::rt::lang_start"));
    }

    #[test]
    fn machinery_frames_are_not_the_applications() {
        for frame in [
            "std::panicking::begin_panic",
            "core::ops::function::FnOnce::call_once",
            "notify_core::capture::report",
            "tokio::runtime::task::harness::poll",
            "<tokio::runtime::blocking::task::BlockingTask<T> as core::future::future::Future>::poll",
            "__rustc::rust_begin_unwind",
        ] {
            assert!(!in_app(frame), "{frame}");
        }
        assert!(in_app("my_app::jobs::export"));
        assert!(in_app("<my_app::Job as my_app::Run>::run"));
    }
}
