//! Multi-literal search with Vectorscan (the portable fork of Intel's
//! Hyperscan), through its C API (`libhs`, Debian `libvectorscan-dev`).
//!
//! The engine's anchors are a few hundred short literals; Vectorscan's literal
//! matcher finds all of their occurrences, overlapping ones included, about
//! three times faster than an Aho-Corasick DFA over the same set. This module
//! is, with the SSE2 byte masks of `simd.rs`, the only `unsafe` code in
//! `detect`: each block says why it holds.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int, c_uint, c_ulonglong, c_void};
use std::ptr::NonNull;

#[repr(C)]
struct HsDatabase {
    _private: [u8; 0],
}

#[repr(C)]
struct HsScratch {
    _private: [u8; 0],
}

#[repr(C)]
struct HsCompileError {
    message: *const c_char,
    expression: c_int,
}

type MatchHandler =
    unsafe extern "C" fn(c_uint, c_ulonglong, c_ulonglong, c_uint, *mut c_void) -> c_int;

const HS_SUCCESS: c_int = 0;
const HS_SCAN_TERMINATED: c_int = -3;
const HS_FLAG_CASELESS: c_uint = 1;
const HS_MODE_BLOCK: c_uint = 1;

#[link(name = "hs")]
unsafe extern "C" {
    fn hs_compile_lit_multi(
        expressions: *const *const c_char,
        flags: *const c_uint,
        ids: *const c_uint,
        lens: *const usize,
        elements: c_uint,
        mode: c_uint,
        platform: *const c_void,
        db: *mut *mut HsDatabase,
        error: *mut *mut HsCompileError,
    ) -> c_int;
    fn hs_free_compile_error(error: *mut HsCompileError) -> c_int;
    fn hs_free_database(db: *mut HsDatabase) -> c_int;
    fn hs_alloc_scratch(db: *const HsDatabase, scratch: *mut *mut HsScratch) -> c_int;
    fn hs_free_scratch(scratch: *mut HsScratch) -> c_int;
    fn hs_scan(
        db: *const HsDatabase,
        data: *const c_char,
        length: c_uint,
        flags: c_uint,
        scratch: *mut HsScratch,
        on_event: MatchHandler,
        context: *mut c_void,
    ) -> c_int;
}

/// A compiled set of literals, each searched in any case or in the case
/// written.
///
/// Literals of one or two bytes (`@`, `Q~`) are kept out of the Vectorscan
/// database: a literal matcher slows down markedly when it must also report
/// such short, frequent literals, while one SIMD `memchr` pass per literal
/// (over one of its bytes, a byte without case when there is one, the other
/// checked at each hit) finds each at a fraction of the cost.
///
/// A literal that holds another one of the set (`postgres://` holds `://`,
/// `session_token` holds `token`) is kept out of the database too: it is
/// checked where the literal it holds is found. The search's time grows
/// with the number of literals it is built from, not with how often they
/// occur, so such a check costs less than searching for the longer literal
/// as well.
#[derive(Debug)]
pub(crate) struct Literals {
    db: Option<NonNull<HsDatabase>>,
    /// Pattern id in the database → id in the caller's list.
    long_ids: Vec<usize>,
    /// Pattern id in the database → the literals that hold it, checked at
    /// each of its occurrences.
    held: Vec<Vec<Holder>>,
    /// The literals of one or two bytes.
    short: Vec<Short>,
    lens: Vec<usize>,
}

// SAFETY: a compiled Vectorscan database is immutable; the library documents
// it as safe to scan from many threads at once, each with its own scratch.
unsafe impl Send for Literals {}
// SAFETY: as above; `&Literals` only ever reads the database.
unsafe impl Sync for Literals {}

impl Drop for Literals {
    fn drop(&mut self) {
        if let Some(db) = self.db {
            // SAFETY: `db` came from hs_compile_lit_multi and is freed once.
            unsafe {
                hs_free_database(db.as_ptr());
            }
        }
    }
}

/// A literal of one or two bytes, searched by one of its bytes.
#[derive(Debug)]
struct Short {
    id: usize,
    lit: Vec<u8>,
    /// Matched in any case.
    caseless: bool,
    /// Index in `lit` of the byte searched for (in both cases): a byte
    /// that is not a letter when there is one, so that a hit needs no
    /// second look at case.
    key: usize,
}

/// A literal found where a literal it holds is found.
#[derive(Debug)]
struct Holder {
    id: usize,
    lit: Vec<u8>,
    /// Matched in any case.
    caseless: bool,
    /// Where in `lit` the first occurrence of the held literal starts.
    at: usize,
}

/// True when `bytes` are `lit` (in any case when `caseless`).
fn is_literal(bytes: &[u8], lit: &[u8], caseless: bool) -> bool {
    if caseless {
        bytes.eq_ignore_ascii_case(lit)
    } else {
        bytes == lit
    }
}

/// Where `inner` first occurs in `outer` (in any case when `caseless`).
fn find_in(outer: &[u8], inner: &[u8], caseless: bool) -> Option<usize> {
    outer
        .windows(inner.len())
        .position(|w| is_literal(w, inner, caseless))
}

/// Per-thread scratch space of a [`Literals`] set.
#[derive(Debug)]
pub(crate) struct Scratch {
    scratch: Option<NonNull<HsScratch>>,
}

// SAFETY: scratch space may move between threads; it is used by one at a time
// (`scan` takes `&mut Scratch`).
unsafe impl Send for Scratch {}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(s) = self.scratch {
            // SAFETY: `s` came from hs_alloc_scratch and is freed once.
            unsafe {
                hs_free_scratch(s.as_ptr());
            }
        }
    }
}

/// Compiles the literals named by `ids` into a block-mode database whose
/// pattern ids are positions in `ids`.
fn compile(
    literals: &[(Vec<u8>, bool)],
    ids: &[usize],
) -> Result<Option<NonNull<HsDatabase>>, String> {
    let ptrs: Vec<*const c_char> = ids.iter().map(|&i| literals[i].0.as_ptr().cast()).collect();
    let lens: Vec<usize> = ids.iter().map(|&i| literals[i].0.len()).collect();
    let flags: Vec<c_uint> = ids
        .iter()
        .map(|&i| {
            let (lit, caseless) = &literals[i];
            // A literal without letters has no other case; flagging it
            // caseless slows the search down.
            if *caseless && lit.iter().any(u8::is_ascii_alphabetic) {
                HS_FLAG_CASELESS
            } else {
                0
            }
        })
        .collect();
    let pattern_ids: Vec<c_uint> = (0..ids.len()).map(|i| i as c_uint).collect();
    let count = c_uint::try_from(ids.len()).map_err(|_| "too many literals".to_owned())?;
    let mut db: *mut HsDatabase = std::ptr::null_mut();
    let mut error: *mut HsCompileError = std::ptr::null_mut();
    // SAFETY: the four arrays have `count` elements each and outlive the
    // call; each pointer/length pair describes a live literal; the out
    // pointers are valid for writes.
    let rc = unsafe {
        hs_compile_lit_multi(
            ptrs.as_ptr(),
            flags.as_ptr(),
            pattern_ids.as_ptr(),
            lens.as_ptr(),
            count,
            HS_MODE_BLOCK,
            std::ptr::null(),
            &mut db,
            &mut error,
        )
    };
    if rc != HS_SUCCESS {
        let message = if error.is_null() {
            format!("hs_compile_lit_multi failed with {rc}")
        } else {
            // SAFETY: on failure `error` points to a compile error whose
            // message is a NUL-terminated string; it is freed right after.
            unsafe {
                let text = CStr::from_ptr((*error).message)
                    .to_string_lossy()
                    .into_owned();
                let which = (*error).expression;
                hs_free_compile_error(error);
                format!("literal {which}: {text}")
            }
        };
        return Err(message);
    }
    Ok(NonNull::new(db))
}

impl Literals {
    /// Compiles `literals`, each with whether it is matched in any case
    /// (else in the case written); the pattern id of a literal is its index.
    pub(crate) fn new(literals: &[(Vec<u8>, bool)]) -> Result<Literals, String> {
        let lens: Vec<usize> = literals.iter().map(|(l, _)| l.len()).collect();
        if literals.iter().any(|(l, _)| l.is_empty()) {
            return Err("empty literal".into());
        }
        let mut short = Vec::new();
        let mut long_ids = Vec::new();
        let mut holders = Vec::new();
        // Shortest first, so that a literal's held literals are placed
        // before it; a literal held by another stays in the database.
        let mut order: Vec<usize> = (0..literals.len()).collect();
        order.sort_by_key(|&id| (literals[id].0.len(), id));
        for id in order {
            let (lit, caseless) = &literals[id];
            if lit.len() > 2 {
                // The longest literal of the database it holds: one it
                // holds in the case it is written in, or one in any case.
                let inner = long_ids
                    .iter()
                    .enumerate()
                    .filter_map(|(slot, &i): (usize, &usize)| {
                        let (inner, inner_caseless) = &literals[i];
                        let fits = *inner_caseless || !*caseless;
                        let at = find_in(lit, inner, *inner_caseless).filter(|_| fits)?;
                        Some((inner.len(), slot, at))
                    })
                    .max();
                if let Some((_, slot, at)) = inner {
                    holders.push((
                        slot,
                        Holder {
                            id,
                            lit: lit.clone(),
                            caseless: *caseless,
                            at,
                        },
                    ));
                    continue;
                }
            }
            if lit.len() <= 2 {
                let key = lit
                    .iter()
                    .position(|b| !b.is_ascii_alphabetic())
                    .unwrap_or(0);
                short.push(Short {
                    id,
                    lit: lit.clone(),
                    caseless: *caseless,
                    key,
                });
            } else {
                long_ids.push(id);
            }
        }
        let db = if long_ids.is_empty() {
            None
        } else {
            compile(literals, &long_ids)?
        };
        let mut held: Vec<Vec<Holder>> = long_ids.iter().map(|_| Vec::new()).collect();
        for (slot, holder) in holders {
            held[slot].push(holder);
        }
        Ok(Literals {
            db,
            long_ids,
            held,
            short,
            lens,
        })
    }

    /// Length of literal `id`.
    pub(crate) fn len_of(&self, id: usize) -> usize {
        self.lens[id]
    }

    /// Scratch space for one thread.
    pub(crate) fn scratch(&self) -> Result<Scratch, String> {
        let Some(db) = self.db else {
            return Ok(Scratch { scratch: None });
        };
        let mut scratch: *mut HsScratch = std::ptr::null_mut();
        // SAFETY: `db` is a live database; `scratch` is valid for writes.
        let rc = unsafe { hs_alloc_scratch(db.as_ptr(), &mut scratch) };
        if rc != HS_SUCCESS {
            return Err(format!("hs_alloc_scratch failed with {rc}"));
        }
        Ok(Scratch {
            scratch: NonNull::new(scratch),
        })
    }

    /// Calls `on_match(id, end)` for every occurrence of every literal in
    /// `data`, overlapping ones included; `end` is an offset into `data`, one
    /// past the literal's last byte. Occurrences come in no set order.
    pub(crate) fn scan(
        &self,
        scratch: &mut Scratch,
        data: &[u8],
        on_match: &mut dyn FnMut(usize, usize),
    ) -> Result<(), String> {
        if let (Some(db), Some(s)) = (self.db, scratch.scratch) {
            let length =
                c_uint::try_from(data.len()).map_err(|_| "buffer larger than 4 GiB".to_owned())?;
            let (long_ids, held, lens) = (&self.long_ids, &self.held, &self.lens);
            let mut mapped = |slot: usize, end: usize| {
                let id = long_ids[slot];
                on_match(id, end);
                let start = end - lens[id];
                for h in &held[slot] {
                    let Some(from) = start.checked_sub(h.at) else {
                        continue;
                    };
                    if data
                        .get(from..from + h.lit.len())
                        .is_some_and(|w| is_literal(w, &h.lit, h.caseless))
                    {
                        on_match(h.id, from + h.lit.len());
                    }
                }
            };
            let mut context = Context {
                on_match: &mut mapped,
                panicked: false,
            };
            // SAFETY: `db` and `s` are live and `s` was allocated for `db`;
            // `data` is valid for `length` bytes; `context` outlives the call
            // and is only used by `trampoline` during it.
            let rc = unsafe {
                hs_scan(
                    db.as_ptr(),
                    data.as_ptr().cast(),
                    length,
                    0,
                    s.as_ptr(),
                    trampoline,
                    (&mut context as *mut Context<'_>).cast(),
                )
            };
            if context.panicked {
                return Err("match callback panicked".into());
            }
            if rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED {
                return Err(format!("hs_scan failed with {rc}"));
            }
        }
        self.scan_short(data, on_match);
        Ok(())
    }

    /// Finds the one- and two-byte literals, one SIMD pass each.
    fn scan_short(&self, data: &[u8], on_match: &mut dyn FnMut(usize, usize)) {
        for Short {
            id,
            lit,
            caseless,
            key,
        } in &self.short
        {
            let b = lit[*key];
            let (lo, up) = if *caseless {
                (b.to_ascii_lowercase(), b.to_ascii_uppercase())
            } else {
                (b, b)
            };
            // Overlapping occurrences too (`:::` holds `::` twice).
            let mut hit = |at: usize| {
                let Some(start) = at.checked_sub(*key) else {
                    return;
                };
                if data
                    .get(start..start + lit.len())
                    .is_some_and(|w| is_literal(w, lit, *caseless))
                {
                    on_match(*id, start + lit.len());
                }
            };
            if lo == up {
                memchr::memchr_iter(lo, data).for_each(&mut hit);
            } else {
                memchr::memchr2_iter(lo, up, data).for_each(&mut hit);
            }
        }
    }
}

/// A literal search of its own over any set of literals, with its scratch
/// space: for benchmarks that time the search over parts of the engine's
/// anchors ([`crate::Engine::anchor_literals`]).
#[doc(hidden)]
#[derive(Debug)]
pub struct LiteralSearch {
    literals: Literals,
    scratch: Scratch,
}

impl LiteralSearch {
    /// Compiles `literals`, each with whether it is matched in any case.
    pub fn new(literals: &[(Vec<u8>, bool)]) -> Result<LiteralSearch, String> {
        let literals = Literals::new(literals)?;
        let scratch = literals.scratch()?;
        Ok(LiteralSearch { literals, scratch })
    }

    /// The number of occurrences of the literals in `data`.
    pub fn count(&mut self, data: &[u8]) -> Result<u64, String> {
        let mut hits = 0u64;
        self.literals
            .scan(&mut self.scratch, data, &mut |_, _| hits += 1)?;
        Ok(hits)
    }
}

struct Context<'a> {
    on_match: &'a mut dyn FnMut(usize, usize),
    panicked: bool,
}

/// Called by `hs_scan` for each match; never unwinds into C.
unsafe extern "C" fn trampoline(
    id: c_uint,
    _from: c_ulonglong,
    to: c_ulonglong,
    _flags: c_uint,
    context: *mut c_void,
) -> c_int {
    // SAFETY: `context` is the `Context` passed to hs_scan, alive for the
    // whole scan and not aliased while the callback runs.
    let context = unsafe { &mut *context.cast::<Context<'_>>() };
    let call = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        (context.on_match)(id as usize, to as usize)
    }));
    if call.is_err() {
        context.panicked = true;
        return 1; // stop scanning
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any_case(literals: &[&[u8]]) -> Vec<(Vec<u8>, bool)> {
        literals.iter().map(|l| (l.to_vec(), true)).collect()
    }

    #[test]
    fn exact_case_literals_match_only_as_written() {
        let lits = Literals::new(&[
            (b"ghp_".to_vec(), false),
            (b"Q~".to_vec(), false),
            (b"token".to_vec(), true),
        ])
        .unwrap();
        let mut scratch = lits.scratch().unwrap();
        let mut found = Vec::new();
        lits.scan(
            &mut scratch,
            b"GHP_ ghp_ Ghp_ q~ Q~ TOKEN Token",
            &mut |id, end| found.push((id, end)),
        )
        .unwrap();
        found.sort_by_key(|&(id, end)| (end, id));
        assert_eq!(found, [(0, 9), (1, 20), (2, 26), (2, 32)]);
    }

    #[test]
    fn finds_overlapping_caseless_occurrences() {
        let lits = Literals::new(&any_case(&[
            b"abc".as_slice(),
            b"bcd",
            b"@",
            b"q~",
            b"::",
            b"zz",
        ]))
        .unwrap();
        let mut scratch = lits.scratch().unwrap();
        let mut found = Vec::new();
        lits.scan(
            &mut scratch,
            b"xABCD @ abcd Q~ a:::b ZzZ",
            &mut |id, end| found.push((id, end)),
        )
        .unwrap();
        found.sort_by_key(|&(id, end)| (end, id));
        assert_eq!(
            found,
            [
                (0, 4),
                (1, 5),
                (2, 7),
                (0, 11),
                (1, 12),
                (3, 15),
                (4, 19),
                (4, 20),
                (5, 24),
                (5, 25)
            ]
        );
        assert_eq!(lits.len_of(1), 3);
    }

    #[test]
    fn literals_held_by_others_are_found_as_a_search_for_each_finds_them() {
        let set: Vec<(Vec<u8>, bool)> = [
            ("token", true),
            ("session_token", true),
            ("Token-", false),
            ("://", true),
            ("postgres://", false),
            ("Xx://", true),
            ("abc", false),
            ("ABCD", true),
            ("key-", false),
            ("api-key-", false),
            ("my-api-key-", true),
            ("tok", true),
            ("@", true),
        ]
        .iter()
        .map(|&(l, c)| (l.as_bytes().to_vec(), c))
        .collect();
        let lits = Literals::new(&set).unwrap();
        // Held literals are out of the database: all but `://`, `abc`,
        // `tok`, `ABCD` (any case, so not held by `abc`), `key-` and
        // `my-api-key-` (any case, so not held by `key-` nor `api-key-`).
        assert_eq!(lits.long_ids, [3, 6, 11, 7, 8, 10]);
        let pieces: [&[u8]; 14] = [
            b"token",
            b"TOKEN",
            b"session_",
            b"Session_",
            b"Token-",
            b"://",
            b"postgres",
            b"xX",
            b"abc",
            b"ABCd",
            b"my-api-",
            b"key-",
            b"@",
            b" ",
        ];
        let mut text = Vec::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..4000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            text.extend_from_slice(pieces[(x % pieces.len() as u64) as usize]);
        }
        let mut scratch = lits.scratch().unwrap();
        let mut found = Vec::new();
        lits.scan(&mut scratch, &text, &mut |id, end| found.push((id, end)))
            .unwrap();
        found.sort_unstable();
        let mut expected = Vec::new();
        for (id, (lit, caseless)) in set.iter().enumerate() {
            for (at, w) in text.windows(lit.len()).enumerate() {
                if if *caseless {
                    w.eq_ignore_ascii_case(lit)
                } else {
                    w == lit.as_slice()
                } {
                    expected.push((id, at + lit.len()));
                }
            }
        }
        expected.sort_unstable();
        assert!(expected.len() > 2000, "{}", expected.len());
        assert_eq!(found, expected);
    }

    #[test]
    fn only_short_literals_need_no_database() {
        let lits = Literals::new(&any_case(&[b"@"])).unwrap();
        let mut scratch = lits.scratch().unwrap();
        let mut found = Vec::new();
        lits.scan(&mut scratch, b"a@b@", &mut |id, end| found.push((id, end)))
            .unwrap();
        assert_eq!(found, [(0, 2), (0, 4)]);
    }

    #[test]
    fn empty_set_finds_nothing() {
        let lits = Literals::new(&[]).unwrap();
        let mut scratch = lits.scratch().unwrap();
        let mut n = 0;
        lits.scan(&mut scratch, b"anything", &mut |_, _| n += 1)
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn a_panicking_callback_is_an_error_not_an_unwind_through_c() {
        let lits = Literals::new(&any_case(&[b"aaa"])).unwrap();
        let mut scratch = lits.scratch().unwrap();
        let r = lits.scan(&mut scratch, b"aaaa", &mut |_, _| panic!("boom"));
        assert!(r.is_err());
    }
}
