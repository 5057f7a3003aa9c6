//! Fingerprints: the stable hash that says two alerts are the same failure
//! (call site + kind + error text). A leaf: storm control keys its table by
//! it, capture computes it, and a call site's part is hashed at compile time.

use std::fmt::{self, Write as _};
use std::hash::Hasher;

/// A stable 64-bit hasher (FxHash-style, processes 8 bytes at a time), so the
/// same failure has the same fingerprint in every process of a fleet. The
/// byte stream is cut into little-endian 8-byte words however it was
/// written: streaming a text in pieces gives the hash of the whole.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fingerprinter {
    hash: u64,
    /// Bytes of the word being filled, little-endian.
    pending: u64,
    /// How many bytes `pending` holds (0..8).
    len: u32,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Fingerprinter {
    /// A fresh hasher (usable in `const` context).
    pub(crate) const fn new() -> Self {
        Fingerprinter {
            hash: 0,
            pending: 0,
            len: 0,
        }
    }

    #[inline(always)]
    const fn mix(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }

    #[inline]
    pub(crate) fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
        // A separator so ("ab","c") and ("a","bc") differ.
        self.byte(0xff);
    }

    #[inline(always)]
    pub(crate) const fn byte(&mut self, b: u8) {
        self.pending |= (b as u64) << (8 * self.len);
        self.len += 1;
        if self.len == 8 {
            let word = self.pending;
            self.mix(word);
            self.pending = 0;
            self.len = 0;
        }
    }

    /// Streams `bytes` in. The head (filling the word begun by an earlier
    /// write) and the tail (begun here) are read as one little-endian word
    /// each by at most two overlapping loads, not byte by byte and not by a
    /// `memcpy` call: short writes are the common case (a `Display` impl
    /// writes in small pieces).
    #[inline]
    pub(crate) fn bytes(&mut self, mut bytes: &[u8]) {
        if self.len != 0 {
            let room = 8 - self.len as usize;
            if bytes.len() < room {
                self.pending |= load_le(bytes) << (8 * self.len);
                self.len += bytes.len() as u32;
                return;
            }
            let (head, rest) = bytes.split_at(room);
            let word = self.pending | (load_le(head) << (8 * self.len));
            self.mix(word);
            self.pending = 0;
            self.len = 0;
            bytes = rest;
        }
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk); // constant length: a plain load
            self.mix(u64::from_le_bytes(word));
        }
        let tail = chunks.remainder();
        self.pending = load_le(tail);
        self.len = tail.len() as u32;
    }

    /// [`Fingerprinter::str`] in `const` context, for call sites hashed at
    /// compile time (the same result; the run-time one is faster).
    pub(crate) const fn str_const(&mut self, s: &str) {
        self.bytes_const(s.as_bytes());
        self.byte(0xff);
    }

    /// [`Fingerprinter::bytes`] in `const` context.
    pub(crate) const fn bytes_const(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            self.byte(bytes[i]);
            i += 1;
        }
    }

    pub(crate) fn finish(mut self) -> u64 {
        if self.len > 0 {
            let word = self.pending ^ (u64::from(self.len) << 56);
            self.mix(word);
        }
        // Final avalanche (from splitmix64), so close inputs spread over the shards.
        let mut z = self.hash;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl fmt::Write for Fingerprinter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.bytes(s.as_bytes());
        Ok(())
    }
}

impl Hasher for Fingerprinter {
    fn finish(&self) -> u64 {
        Fingerprinter::finish(*self)
    }
    fn write(&mut self, bytes: &[u8]) {
        self.bytes(bytes);
    }
}

/// Up to 8 bytes as a little-endian word (the missing high bytes zero).
#[inline(always)]
fn load_le(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    debug_assert!(n <= 8);
    if n >= 4 {
        // Two 4-byte loads that overlap in the middle when n < 8: the bytes
        // they share land on the same bits.
        let low = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let high = u32::from_le_bytes([bytes[n - 4], bytes[n - 3], bytes[n - 2], bytes[n - 1]]);
        u64::from(low) | (u64::from(high) << (8 * (n - 4)))
    } else if n > 0 {
        // First, middle and last byte: all of them when n <= 3.
        u64::from(bytes[0])
            | (u64::from(bytes[n / 2]) << (8 * (n / 2)))
            | (u64::from(bytes[n - 1]) << (8 * (n - 1)))
    } else {
        0
    }
}

/// Streams `value`'s `Display` into a fingerprint without allocating.
pub(crate) fn hash_display(fp: &mut Fingerprinter, value: &dyn fmt::Display) {
    let _ = write!(fp, "{value}");
    fp.byte(0xfe);
}

/// Streams `value`'s `Debug` into a fingerprint without allocating.
pub(crate) fn hash_debug(fp: &mut Fingerprinter, value: &dyn fmt::Debug) {
    let _ = write!(fp, "{value:?}");
    fp.byte(0xfe);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_const_hashing_gives_the_run_time_hash() {
        let text = "billing::export::nightly — 결제 실패 🙈 (attempt 12345678901)";
        for split in 0..text.len() {
            if !text.is_char_boundary(split) {
                continue;
            }
            let (head, tail) = text.split_at(split);
            let mut run_time = Fingerprinter::new();
            run_time.bytes(head.as_bytes());
            run_time.str(tail);
            let mut compile_time = Fingerprinter::new();
            compile_time.bytes_const(head.as_bytes());
            compile_time.str_const(tail);
            assert_eq!(run_time.finish(), compile_time.finish(), "split at {split}");
        }
    }

    #[test]
    fn fingerprint_is_the_same_however_the_text_is_streamed() {
        let mut a = Fingerprinter::default();
        a.bytes(b"hello world, this is long");
        let mut b = Fingerprinter::default();
        for chunk in [&b"hel"[..], b"lo world", b", this is", b" long"] {
            b.bytes(chunk);
        }
        assert_eq!(a.finish(), b.finish());
    }

    #[test]
    fn fingerprints_are_stable_across_versions_and_processes() {
        // Pinned: a fleet's processes, and the next release, must agree.
        let mut a = Fingerprinter::default();
        a.bytes(b"hello world, this is long");
        assert_eq!(a.finish(), 0xb356_abd3_cb24_65f0);
        let mut b = Fingerprinter::default();
        b.str("disk full");
        assert_eq!(b.finish(), 0xfb2c_a2e4_40a2_2b52);
    }

    #[test]
    fn different_text_gives_a_different_fingerprint() {
        let mut a = Fingerprinter::default();
        a.str("ab");
        a.str("c");
        let mut b = Fingerprinter::default();
        b.str("a");
        b.str("bc");
        assert_ne!(a.finish(), b.finish());
    }

    /// The word-at-a-time `bytes` gives exactly the byte-at-a-time hash,
    /// however the stream is cut into writes.
    #[test]
    fn word_loads_give_the_byte_by_byte_hash() {
        let text: Vec<u8> = (0u8..=60).map(|i| i.wrapping_mul(37) ^ 0xa5).collect();
        for first in 0..text.len() {
            for second in first..text.len().min(first + 20) {
                let mut by_byte = Fingerprinter::new();
                for &b in &text {
                    by_byte.byte(b);
                }
                let mut by_word = Fingerprinter::new();
                by_word.bytes(&text[..first]);
                by_word.bytes(&text[first..second]);
                by_word.bytes(&text[second..]);
                assert_eq!(
                    by_word.finish(),
                    by_byte.finish(),
                    "cut at {first}, {second}"
                );
            }
        }
    }
}
