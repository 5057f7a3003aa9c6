//! Walking the caller's stack: return addresses only, as fast as it can be
//! done, because it happens on the thread that returned `Err`.
//!
//! On x86_64 Linux the walk uses [framehop] over the loaded modules'
//! `.eh_frame_hdr`/`.eh_frame`, read in place where the loader mapped them,
//! with one process-wide cache of unwind rules by code address: once any
//! thread has walked through some code, each frame of a later walk through it
//! is a cache hit and two loads (~10 ns a frame, against ~100–200 ns for
//! libgcc's `_Unwind_Backtrace`, which decodes the DWARF call-frame program
//! again for every frame of every walk). The cache is taken with `try_lock`:
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
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    if fast::trace(ips, max) == fast::Walk::Done {
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

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod fast {
    use std::cell::Cell;
    use std::ops::Range;
    use std::sync::{Mutex, TryLockError};

    use framehop::x86_64::{CacheX86_64, UnwindRegsX86_64, UnwinderX86_64};
    use framehop::{ExplicitModuleSectionInfo, FrameAddress, Module, Unwinder};

    /// Unwind sections of a loaded module, where the loader mapped them: a
    /// pointer and a length, not a `&'static [u8]` (the module can be
    /// unloaded). Only dereferenced during a walk, under the lock, with a
    /// snapshot of the current loader generation.
    struct Section {
        start: *const u8,
        len: usize,
    }

    // SAFETY: read-only bytes of a mapped module, read only under `SHARED`'s lock.
    unsafe impl Send for Section {}
    // SAFETY: as above.
    unsafe impl Sync for Section {}

    /// No bytes (what framehop's section table holds for an absent section).
    impl Default for Section {
        fn default() -> Self {
            Section {
                start: std::ptr::NonNull::dangling().as_ptr(),
                len: 0,
            }
        }
    }

    impl std::ops::Deref for Section {
        type Target = [u8];
        fn deref(&self) -> &[u8] {
            // SAFETY: the section was mapped and readable when the snapshot
            // was made; a snapshot is replaced before any walk once the
            // loader's generation changes (checked under the lock), and a
            // walk reads only unwind data of modules whose code is on the
            // walking thread's stack, which stay loaded meanwhile.
            unsafe { std::slice::from_raw_parts(self.start, self.len) }
        }
    }

    /// Every loaded module's unwind information, as of one loader generation.
    struct Modules {
        unwinder: UnwinderX86_64<Section>,
        /// Executable segments of the modules with unwind information,
        /// sorted: a return address outside them is code framehop would
        /// only guess at (JIT code, a module without `.eh_frame_hdr`).
        code: Vec<Range<u64>>,
        generation: Generation,
    }

    /// The loader's counts of modules ever loaded and unloaded
    /// (`dlpi_adds`, `dlpi_subs`): any `dlopen`/`dlclose` changes them.
    #[derive(Clone, Copy, PartialEq, Eq)]
    struct Generation(u64, u64);

    /// The modules and the unwind rules found so far (by code address, so
    /// valid on every thread: a thread's first error walks warm frames).
    struct Shared {
        modules: Option<Modules>,
        cache: Option<Box<CacheX86_64>>,
    }

    /// Taken with `try_lock` only: a caller that finds another thread walking
    /// does not wait, it walks with the platform's unwinder instead.
    static SHARED: Mutex<Shared> = Mutex::new(Shared {
        modules: None,
        cache: None,
    });

    /// This thread's stack, `(start, end)`: `(0, 0)` not looked up yet,
    /// `(1, 1)` unknown (every walk on this thread falls back).
    const NOT_YET: (u64, u64) = (0, 0);
    const UNKNOWN: (u64, u64) = (1, 1);

    thread_local! {
        static STACK: Cell<(u64, u64)> = const { Cell::new(NOT_YET) };
    }

    /// How a fast walk went.
    #[derive(Debug, PartialEq, Eq)]
    pub(super) enum Walk {
        /// `ips` holds the stack.
        Done,
        /// Another thread is walking: fall back rather than wait.
        Busy,
        /// The walk cannot be done here, or did not end cleanly: fall back
        /// (`ips` may hold part of the stack).
        Failed,
    }

    /// Walks with framehop.
    pub(super) fn trace(ips: &mut Vec<usize>, max: usize) -> Walk {
        let Ok(mut stack) = STACK.try_with(Cell::get) else {
            return Walk::Failed;
        };
        if stack == NOT_YET {
            stack = stack_of_this_thread().map_or(UNKNOWN, |r| (r.start, r.end));
            let _ = STACK.try_with(|cell| cell.set(stack));
        }
        if stack == UNKNOWN {
            return Walk::Failed;
        }
        let mut shared = match SHARED.try_lock() {
            Ok(shared) => shared,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return Walk::Busy,
        };
        // Under the lock, so no snapshot older than this is walked.
        let Some(generation) = loaded_generation() else {
            return Walk::Failed;
        };
        let shared = &mut *shared;
        if shared
            .modules
            .as_ref()
            .is_none_or(|m| m.generation != generation)
        {
            // Loaded for the first time, or a library came or went since:
            // new modules, and no rule cached for the old ones survives.
            shared.modules = Some(enumerate_modules());
            shared.cache = None;
        }
        let (Some(modules), cache) = (shared.modules.as_ref(), &mut shared.cache) else {
            return Walk::Failed;
        };
        let cache = cache.get_or_insert_with(|| Box::new(CacheX86_64::new()));
        if walk(modules, cache, stack.0..stack.1, ips, max) {
            Walk::Done
        } else {
            Walk::Failed
        }
    }

    /// The walk itself, from this function's own frame.
    #[inline(never)]
    fn walk(
        modules: &Modules,
        cache: &mut CacheX86_64,
        stack: Range<u64>,
        ips: &mut Vec<usize>,
        max: usize,
    ) -> bool {
        let (pc, sp, bp): (u64, u64, u64);
        // SAFETY: reads three registers; touches no memory and no stack. All
        // three are read in one block, so `sp` is the stack pointer at `pc`,
        // where this function's call-frame information describes the frame.
        unsafe {
            std::arch::asm!(
                "lea {pc}, [rip]",
                "mov {sp}, rsp",
                "mov {bp}, rbp",
                pc = out(reg) pc,
                sp = out(reg) sp,
                bp = out(reg) bp,
                options(nomem, nostack, preserves_flags),
            );
        }
        // Every read the unwinder asks for must lie in the live part of this
        // thread's stack: between here and its top. A frame whose unwind
        // information is wrong (or missing, so that framehop guesses from the
        // frame pointer) then ends the walk instead of reading stray memory.
        if !stack.contains(&sp) {
            // An alternate signal stack or a hand-made stack: not ours to walk.
            return false;
        }
        let top = stack.end;
        let mut read_stack = |address: u64| {
            if address >= sp && address.checked_add(8).is_some_and(|end| end <= top) {
                // SAFETY: `address..address + 8` lies between the current
                // stack pointer and the top of this thread's stack, which is
                // mapped, readable and not written while we walk it (the
                // frames above us are suspended in calls).
                Ok(unsafe { std::ptr::read_unaligned(address as *const u64) })
            } else {
                Err(())
            }
        };
        let regs = UnwindRegsX86_64::new(pc, sp, bp);
        let mut frames = modules
            .unwinder
            .iter_frames(pc, regs, cache, &mut read_stack);
        loop {
            match frames.next() {
                Ok(Some(address)) => {
                    let address = match address {
                        FrameAddress::InstructionPointer(ip) => ip,
                        FrameAddress::ReturnAddress(ra) => ra.get(),
                    };
                    // Where framehop has no unwind information it follows the
                    // frame pointer instead of stopping, which can skip
                    // frames; and it does not know signal frames. Both are
                    // the platform unwinder's to walk.
                    match modules.code_at(address) {
                        Some(segment) if !is_signal_trampoline(address, segment) => {}
                        _ => return false,
                    }
                    ips.push(address as usize);
                    if ips.len() >= max {
                        return true;
                    }
                }
                // The root of the stack (`_start`, `clone3`), reached cleanly.
                Ok(None) => return true,
                Err(_) => return false,
            }
        }
    }

    impl Modules {
        /// The executable segment holding `address`, if it belongs to a
        /// module whose unwind information framehop has.
        fn code_at(&self, address: u64) -> Option<&Range<u64>> {
            let after = self.code.partition_point(|r| r.start <= address);
            let segment = self.code.get(after.checked_sub(1)?)?;
            segment.contains(&address).then_some(segment)
        }
    }

    /// Whether `address` (in `segment`) is the kernel's signal-return
    /// trampoline (`mov $15, %rax; syscall`, glibc's `__restore_rt`): a
    /// signal handler returns there, and the frame beyond is the interrupted
    /// code's, which only the platform unwinder restores.
    fn is_signal_trampoline(address: u64, segment: &Range<u64>) -> bool {
        const RT_SIGRETURN: [u8; 9] = [0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05];
        if address
            .checked_add(RT_SIGRETURN.len() as u64)
            .is_none_or(|end| end > segment.end)
        {
            return false;
        }
        // SAFETY: the nine bytes lie inside an executable, readable segment
        // of a loaded module (see `enumerate_modules`).
        unsafe { std::ptr::read_unaligned(address as *const [u8; 9]) == RT_SIGRETURN }
    }

    /// The loader's generation: one call of `dl_iterate_phdr` that stops at
    /// the first module (~20 ns).
    fn loaded_generation() -> Option<Generation> {
        unsafe extern "C" fn first(
            info: *mut libc::dl_phdr_info,
            size: libc::size_t,
            data: *mut libc::c_void,
        ) -> libc::c_int {
            // The counters exist only in the newer, larger `dl_phdr_info`.
            if size < std::mem::size_of::<libc::dl_phdr_info>() {
                return 1;
            }
            // SAFETY: the loader passes a valid `dl_phdr_info` of at least
            // `size` bytes; `data` is the `Option<Generation>` below.
            unsafe {
                let info = &*info;
                *(data as *mut Option<Generation>) =
                    Some(Generation(info.dlpi_adds, info.dlpi_subs));
            }
            1
        }
        let mut generation: Option<Generation> = None;
        // SAFETY: the callback only writes through `data`, which points to
        // `generation`, alive for the whole call.
        unsafe {
            libc::dl_iterate_phdr(
                Some(first),
                (&mut generation as *mut Option<Generation>).cast(),
            );
        }
        generation
    }

    /// Every loaded module with an `.eh_frame_hdr`, read where it is mapped.
    fn enumerate_modules() -> Modules {
        struct Found {
            unwinder: UnwinderX86_64<Section>,
            code: Vec<Range<u64>>,
            generation: Generation,
        }
        unsafe extern "C" fn each(
            info: *mut libc::dl_phdr_info,
            size: libc::size_t,
            data: *mut libc::c_void,
        ) -> libc::c_int {
            if size < std::mem::size_of::<libc::dl_phdr_info>() {
                return 1;
            }
            // SAFETY: as in `loaded_generation`; `data` is the `Found` below.
            let (info, found) = unsafe { (&*info, &mut *(data as *mut Found)) };
            found.generation = Generation(info.dlpi_adds, info.dlpi_subs);
            // SAFETY: the loader's description of a module it has mapped.
            if let Some((module, code)) = unsafe { module(info) } {
                found.unwinder.add_module(module);
                found.code.extend(code);
            }
            0
        }
        let mut found = Found {
            unwinder: UnwinderX86_64::new(),
            code: Vec::new(),
            generation: Generation(0, 0),
        };
        // SAFETY: the callback only writes through `data`, which points to
        // `found`, alive for the whole call; it never unwinds (nothing in it
        // panics: all arithmetic is checked, all indexing is `get`).
        unsafe {
            libc::dl_iterate_phdr(Some(each), (&mut found as *mut Found).cast());
        }
        found.code.sort_by_key(|r| r.start);
        Modules {
            unwinder: found.unwinder,
            code: found.code,
            generation: found.generation,
        }
    }

    /// One module's unwind sections, and its readable executable segments
    /// (where it was loaded). Addresses in the program headers are the
    /// module's own ("stated", SVMA); `dlpi_addr` is where it was loaded.
    ///
    /// # Safety
    /// `info` must describe a module that is mapped now.
    unsafe fn module(info: &libc::dl_phdr_info) -> Option<(Module<Section>, Vec<Range<u64>>)> {
        if info.dlpi_phdr.is_null() {
            return None;
        }
        let bias = info.dlpi_addr;
        // SAFETY: the loader's program headers of a mapped module.
        let headers =
            unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) };
        let loads = || headers.iter().filter(|h| h.p_type == libc::PT_LOAD);
        let start = loads().map(|h| h.p_vaddr).min()?;
        let end = loads()
            .filter_map(|h| h.p_vaddr.checked_add(h.p_memsz))
            .max()?;
        let executable = |h: &&libc::Elf64_Phdr| h.p_flags & libc::PF_X != 0;
        let text = loads()
            .find(executable)
            .and_then(|h| Some(h.p_vaddr..h.p_vaddr.checked_add(h.p_memsz)?));
        let code = loads()
            .filter(executable)
            .filter(|h| h.p_flags & libc::PF_R != 0)
            .filter_map(|h| {
                let start = h.p_vaddr.checked_add(bias)?;
                Some(start..start.checked_add(h.p_memsz)?)
            })
            .collect();
        let hdr = headers.iter().find(|h| h.p_type == libc::PT_GNU_EH_FRAME)?;
        let hdr_range = hdr.p_vaddr..hdr.p_vaddr.checked_add(hdr.p_memsz)?;
        // SAFETY: PT_GNU_EH_FRAME lies in a mapped, readable segment.
        let hdr_bytes = unsafe { mapped(bias, hdr_range.clone())? };
        let eh_frame_start = eh_frame_address(&hdr_bytes, hdr.p_vaddr)?;
        // `.eh_frame`'s length is not recorded anywhere mapped: it ends at
        // its zero terminator, found by following the records' lengths within
        // the file-backed part of its segment.
        let segment = loads().find(|h| {
            h.p_vaddr <= eh_frame_start
                && h.p_vaddr
                    .checked_add(h.p_filesz)
                    .is_some_and(|end| eh_frame_start < end)
        })?;
        let segment_end = segment.p_vaddr.checked_add(segment.p_filesz)?;
        // SAFETY: within a mapped, file-backed, readable segment.
        let rest = unsafe { mapped(bias, eh_frame_start..segment_end)? };
        let eh_frame_len = eh_frame_length(&rest)?;
        let eh_frame_range = eh_frame_start..eh_frame_start.checked_add(eh_frame_len)?;
        // SAFETY: as above, a prefix of the same bytes.
        let eh_frame = unsafe { mapped(bias, eh_frame_range.clone())? };
        let name = if info.dlpi_name.is_null() {
            String::new()
        } else {
            // SAFETY: the loader's NUL-terminated module name.
            unsafe { std::ffi::CStr::from_ptr(info.dlpi_name) }
                .to_string_lossy()
                .into_owned()
        };
        let sections = ExplicitModuleSectionInfo {
            base_svma: 0,
            text_svma: text,
            eh_frame_svma: Some(eh_frame_range),
            eh_frame: Some(eh_frame),
            eh_frame_hdr_svma: Some(hdr_range),
            eh_frame_hdr: Some(hdr_bytes),
            ..Default::default()
        };
        let module = Module::new(
            name,
            start.checked_add(bias)?..end.checked_add(bias)?,
            bias,
            sections,
        );
        Some((module, code))
    }

    /// The length of an `.eh_frame` section that starts `bytes`: its records
    /// (CIEs and FDEs, each led by its length) up to and including the zero
    /// terminator, or all of `bytes` when no terminator comes first.
    fn eh_frame_length(bytes: &[u8]) -> Option<u64> {
        let mut at = 0usize;
        loop {
            let Some(field) = bytes.get(at..at.checked_add(4)?) else {
                return Some(bytes.len() as u64);
            };
            let length = u32::from_le_bytes(field.try_into().ok()?);
            match length {
                0 => return Some(at as u64 + 4),
                // A 64-bit length follows.
                u32::MAX => {
                    let field = bytes.get(at + 4..at.checked_add(12)?)?;
                    let length =
                        usize::try_from(u64::from_le_bytes(field.try_into().ok()?)).ok()?;
                    at = at.checked_add(12)?.checked_add(length)?;
                }
                _ => at = at.checked_add(4)?.checked_add(length as usize)?,
            }
            if at > bytes.len() {
                return Some(bytes.len() as u64);
            }
        }
    }

    /// The bytes at stated addresses `range` of a module loaded at `bias`.
    ///
    /// # Safety
    /// The range must be mapped and readable now.
    unsafe fn mapped(bias: u64, range: Range<u64>) -> Option<Section> {
        let start = usize::try_from(range.start.checked_add(bias)?).ok()?;
        let len = usize::try_from(range.end.checked_sub(range.start)?).ok()?;
        if start == 0 {
            return None;
        }
        Some(Section {
            start: start as *const u8,
            len,
        })
    }

    /// `eh_frame_ptr` of an `.eh_frame_hdr` at stated address `hdr_address`:
    /// version 1, then the pointer's encoding, two more encodings, the pointer.
    fn eh_frame_address(hdr: &[u8], hdr_address: u64) -> Option<u64> {
        const ABSPTR: u8 = 0x00;
        const UDATA4: u8 = 0x03;
        const UDATA8: u8 = 0x04;
        const SDATA4: u8 = 0x0b;
        const SDATA8: u8 = 0x0c;
        const PCREL: u8 = 0x10;
        let (&version, rest) = hdr.split_first()?;
        let (&encoding, _) = rest.split_first()?;
        if version != 1 {
            return None;
        }
        let field = hdr.get(4..)?;
        let value = match encoding & 0x0f {
            UDATA4 => u64::from(u32::from_le_bytes(field.get(..4)?.try_into().ok()?)),
            SDATA4 => i64::from(i32::from_le_bytes(field.get(..4)?.try_into().ok()?)) as u64,
            ABSPTR | UDATA8 | SDATA8 => u64::from_le_bytes(field.get(..8)?.try_into().ok()?),
            _ => return None,
        };
        match encoding & 0x70 {
            0 => Some(value),
            // Relative to the field itself, four bytes into the header.
            PCREL => Some(hdr_address.checked_add(4)?.wrapping_add(value)),
            _ => None,
        }
    }

    /// This thread's stack, from the threads library (for the main thread
    /// glibc reads it from `/proc/self/maps`, once per thread).
    fn stack_of_this_thread() -> Option<Range<u64>> {
        // SAFETY: `attr` is initialised by `pthread_getattr_np` before it is
        // read and destroyed once; out-pointers point to locals.
        unsafe {
            let mut attr: libc::pthread_attr_t = std::mem::zeroed();
            if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
                return None;
            }
            let mut base: *mut libc::c_void = std::ptr::null_mut();
            let mut size: libc::size_t = 0;
            let got = libc::pthread_attr_getstack(&attr, &mut base, &mut size);
            libc::pthread_attr_destroy(&mut attr);
            if got != 0 || base.is_null() {
                return None;
            }
            let base = base as u64;
            Some(base..base.checked_add(size as u64)?)
        }
    }

    #[cfg(test)]
    mod tests {
        /// In a signal handler the walk meets the kernel's signal frame,
        /// which framehop cannot restore: it must give up (and let the
        /// platform unwinder walk) rather than report a shortened stack.
        #[test]
        fn a_signal_frame_is_left_to_the_platform_unwinder() {
            use std::sync::atomic::{AtomicU8, Ordering};
            // 0 not run, 1 done, 2 busy, 3 failed.
            static OUTCOME: AtomicU8 = AtomicU8::new(0);
            extern "C" fn handler(_: libc::c_int) {
                let mut ips = Vec::with_capacity(256);
                let outcome = match super::trace(&mut ips, 128) {
                    super::Walk::Done => 1,
                    super::Walk::Busy => 2,
                    super::Walk::Failed => 3,
                };
                OUTCOME.store(outcome, Ordering::SeqCst);
            }
            // SAFETY: installs a handler for SIGUSR2 (unused by the test
            // harness) and raises it on this thread, where it runs at once.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = handler as *const () as libc::sighandler_t;
                assert_eq!(
                    libc::sigaction(libc::SIGUSR2, &action, std::ptr::null_mut()),
                    0
                );
                loop {
                    libc::raise(libc::SIGUSR2);
                    if OUTCOME.load(Ordering::SeqCst) != 2 {
                        break;
                    }
                    std::thread::yield_now();
                }
            }
            assert_eq!(
                OUTCOME.load(Ordering::SeqCst),
                3,
                "the walk did not give up"
            );
        }

        #[test]
        fn eh_frame_ends_at_its_terminator() {
            // Two records (lengths 4 and 8), the terminator, then other data.
            let mut bytes = Vec::new();
            bytes.extend_from_slice(&4u32.to_le_bytes());
            bytes.extend_from_slice(&[1; 4]);
            bytes.extend_from_slice(&8u32.to_le_bytes());
            bytes.extend_from_slice(&[2; 8]);
            bytes.extend_from_slice(&0u32.to_le_bytes());
            bytes.extend_from_slice(&[0xaa; 16]);
            assert_eq!(super::eh_frame_length(&bytes), Some(24));
            // No terminator before the end: all of it.
            assert_eq!(super::eh_frame_length(&bytes[..16]), Some(16));
            // A 64-bit record length.
            let mut long = Vec::new();
            long.extend_from_slice(&u32::MAX.to_le_bytes());
            long.extend_from_slice(&3u64.to_le_bytes());
            long.extend_from_slice(&[3; 3]);
            long.extend_from_slice(&0u32.to_le_bytes());
            assert_eq!(super::eh_frame_length(&long), Some(19));
        }

        #[test]
        fn eh_frame_pointer_encodings() {
            // pcrel | sdata4: relative to the field at hdr + 4.
            let hdr = [1, 0x1b, 0x03, 0x3b, 0xf0, 0xff, 0xff, 0xff];
            assert_eq!(super::eh_frame_address(&hdr, 0x1000), Some(0x1000 + 4 - 16));
            // udata4, absolute.
            let hdr = [1, 0x03, 0x03, 0x3b, 0x78, 0x56, 0x34, 0x12];
            assert_eq!(super::eh_frame_address(&hdr, 0x1000), Some(0x1234_5678));
            // Unknown version, unknown encoding, too short: no address.
            assert_eq!(
                super::eh_frame_address(&[2, 0x1b, 0, 0, 0, 0, 0, 0], 0),
                None
            );
            assert_eq!(
                super::eh_frame_address(&[1, 0x09, 0, 0, 0, 0, 0, 0], 0),
                None
            );
            assert_eq!(super::eh_frame_address(&[1, 0x1b, 0, 0, 0], 0), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::hint::black_box;

    /// Walks `depth` frames further down, then walks the stack both ways.
    #[inline(never)]
    fn nested(depth: u32, out: &mut (Vec<usize>, Vec<usize>)) {
        if depth == 0 {
            // Where there is a fast walk, it must finish on its own (not by
            // falling back, which would make this comparison vacuous). Tests
            // walk on several threads at once: wait out a busy cache.
            #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
            loop {
                out.0.clear();
                match super::fast::trace(&mut out.0, 128) {
                    super::fast::Walk::Done => break,
                    super::fast::Walk::Busy => std::thread::yield_now(),
                    super::fast::Walk::Failed => panic!("the fast walk failed"),
                }
            }
            #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
            super::trace(&mut out.0, 128);
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

    #[test]
    fn a_walk_is_capped() {
        let mut ips = Vec::new();
        super::trace(&mut ips, 3);
        assert_eq!(ips.len(), 3);
    }
}
