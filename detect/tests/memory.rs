//! Memory stays bounded by the block size, whatever the record's size.
//! A test binary of its own, since it counts every heap allocation.
#![allow(clippy::print_stdout)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Read as _;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts live heap bytes and their peak, for this test binary.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn a_256_mib_record_is_scanned_in_bounded_memory() {
    let engine = shoal_detect::Engine::new(
        &shoal_detect::RuleSet::builtin().unwrap(),
        shoal_detect::EngineOptions::default(),
    )
    .unwrap();
    let mut scanner = engine.scanner();
    let mut out = Vec::new();
    // Warm up: the scanner's buffers and regex caches reach their size.
    scanner
        .scan_reader(&b"warm up AKIAZ3MHTJQ5F4GKRW7E\n"[..], None, &mut out)
        .unwrap();
    out.clear();
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let size: u64 = 256 << 20;
    let record = std::io::repeat(b'x')
        .take(size / 2)
        .chain(&b"\nkey AKIAZ3MHTJQ5F4GKRW7E\n"[..])
        .chain(std::io::repeat(b'y').take(size / 2));
    let read = scanner.scan_reader(record, None, &mut out).unwrap();
    assert_eq!(read, size + 26);
    assert_eq!(out.len(), 1);
    let growth = PEAK.load(Ordering::Relaxed) - before;
    // Block (1 MiB) + overlaps (24 KiB) + regex caches: well under 8 MiB.
    assert!(
        growth < 8 << 20,
        "peak heap growth {growth} bytes for a {size}-byte record"
    );
    println!("peak heap growth: {growth} bytes");
}
