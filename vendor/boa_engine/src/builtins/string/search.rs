//! Substring search in linear time.
//!
//! `JsStr::index_of` compares the needle with every window of the string,
//! which takes the product of both lengths: one `indexOf` of a 500,000
//! character needle in a 1,000,000 character string ran for seconds in a
//! single native call, out of reach of any time limit. These searches are
//! linear: memchr's two-way search for Latin-1 strings, Knuth–Morris–Pratt
//! for UTF-16 (memchr searches bytes, and a byte search of UTF-16 can be
//! made to stop at every misaligned match).

use boa_string::{JsStr, JsStrVariant};
use memchr::memmem;
use std::borrow::Cow;

/// Units past which a search has the host asked at the script's next tick:
/// a loop of long searches would otherwise run a thousand of them between
/// two asks.
const LONG: usize = 1 << 16;

/// The first index at or after `from` where `needle` occurs in `haystack`.
pub(crate) fn index_of(haystack: JsStr<'_>, needle: JsStr<'_>, from: usize) -> Option<usize> {
    if from > haystack.len() {
        return None;
    }
    if haystack.len() - from > LONG {
        crate::vm::interrupt_soon();
    }
    match same_encoding(haystack, needle)? {
        Pair::Latin1(haystack, needle) => {
            memmem::find(&haystack[from..], &needle).map(|at| at + from)
        }
        Pair::Utf16(haystack, needle) => {
            kmp(haystack.len() - from, |i| haystack[from + i], &needle).map(|at| at + from)
        }
    }
}

/// The last index at or before `start` where `needle` occurs in `haystack`.
pub(crate) fn last_index_of(haystack: JsStr<'_>, needle: JsStr<'_>, start: usize) -> Option<usize> {
    let end = start.checked_add(needle.len())?.min(haystack.len());
    if end > LONG {
        crate::vm::interrupt_soon();
    }
    match same_encoding(haystack, needle)? {
        Pair::Latin1(haystack, needle) => memmem::rfind(&haystack[..end], &needle),
        Pair::Utf16(haystack, needle) => {
            let reversed: Vec<u16> = needle.iter().rev().copied().collect();
            let at = kmp(end, |i| haystack[end - 1 - i], &reversed)?;
            Some(end - at - needle.len())
        }
    }
}

enum Pair<'a> {
    Latin1(&'a [u8], Cow<'a, [u8]>),
    Utf16(&'a [u16], Cow<'a, [u16]>),
}

/// Both strings in the haystack's encoding; `None` when the needle has a
/// character a Latin-1 haystack cannot contain.
fn same_encoding<'a>(haystack: JsStr<'a>, needle: JsStr<'a>) -> Option<Pair<'a>> {
    Some(match (haystack.variant(), needle.variant()) {
        (JsStrVariant::Latin1(h), JsStrVariant::Latin1(n)) => Pair::Latin1(h, Cow::Borrowed(n)),
        (JsStrVariant::Latin1(h), JsStrVariant::Utf16(n)) => Pair::Latin1(
            h,
            Cow::Owned(
                n.iter()
                    .map(|&c| u8::try_from(c).ok())
                    .collect::<Option<_>>()?,
            ),
        ),
        (JsStrVariant::Utf16(h), JsStrVariant::Utf16(n)) => Pair::Utf16(h, Cow::Borrowed(n)),
        (JsStrVariant::Utf16(h), JsStrVariant::Latin1(n)) => {
            Pair::Utf16(h, Cow::Owned(n.iter().map(|&c| u16::from(c)).collect()))
        }
    })
}

/// Where `needle` first occurs in the `len` units `at(0)..at(len)`.
fn kmp(len: usize, at: impl Fn(usize) -> u16, needle: &[u16]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    // fallback[i]: the length of the longest proper prefix of
    // needle[..=i] that is also its suffix.
    let mut fallback = vec![0; needle.len()];
    let mut k = 0;
    for i in 1..needle.len() {
        while k > 0 && needle[i] != needle[k] {
            k = fallback[k - 1];
        }
        if needle[i] == needle[k] {
            k += 1;
        }
        fallback[i] = k;
    }
    let mut k = 0;
    for i in 0..len {
        let unit = at(i);
        while k > 0 && unit != needle[k] {
            k = fallback[k - 1];
        }
        if unit == needle[k] {
            k += 1;
            if k == needle.len() {
                return Some(i + 1 - k);
            }
        }
    }
    None
}
