//! The fast walk: framehop over the loaded modules' `.eh_frame_hdr`, with
//! one process-wide cache of unwind rules (see the parent module). Compiled
//! only where it was tested: 64-bit x86_64 Linux (not x32, whose pointers
//! are 32 bits wide).

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

// SAFETY: read-only bytes of a mapped module, read only under `RULES`'s lock.
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
struct RuleCache {
    modules: Option<Modules>,
    cache: Option<Box<CacheX86_64>>,
}

/// Taken with `try_lock` only: a caller that finds another thread walking
/// does not wait, it walks with the platform's unwinder instead.
static RULES: Mutex<RuleCache> = Mutex::new(RuleCache {
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
        stack = crate::sys::stack_of_this_thread().map_or(UNKNOWN, |r| (r.start, r.end));
        let _ = STACK.try_with(|cell| cell.set(stack));
    }
    if stack == UNKNOWN {
        return Walk::Failed;
    }
    let mut rules = match RULES.try_lock() {
        Ok(rules) => rules,
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(TryLockError::WouldBlock) => return Walk::Busy,
    };
    // Under the lock, so no snapshot older than this is walked.
    let Some(generation) = loaded_generation() else {
        return Walk::Failed;
    };
    let rules = &mut *rules;
    if rules
        .modules
        .as_ref()
        .is_none_or(|m| m.generation != generation)
    {
        // Loaded for the first time, or a library came or went since:
        // new modules, and no rule cached for the old ones survives.
        rules.modules = Some(enumerate_modules());
        rules.cache = None;
    }
    let (Some(modules), cache) = (rules.modules.as_ref(), &mut rules.cache) else {
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
/// the first module.
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
            *(data as *mut Option<Generation>) = Some(Generation(info.dlpi_adds, info.dlpi_subs));
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
                let length = usize::try_from(u64::from_le_bytes(field.try_into().ok()?)).ok()?;
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
