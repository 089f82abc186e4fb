//! Fuzzes the detection engine on arbitrary bytes: no panic, and the same
//! detections whether the record is scanned whole or streamed in pieces
//! through blocks of the minimum size.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shoal_detect::{Engine, EngineOptions, RuleSet};

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let options = EngineOptions {
            block_size: shoal_detect::engine::MAX_MATCH_LEN,
            ..EngineOptions::default()
        };
        Engine::new(&RuleSet::builtin().expect("rules"), options).expect("engine")
    })
}

struct Pieces<'a>(&'a [u8], usize);

impl std::io::Read for Pieces<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = (self.0.len() % 61 + 1).min(out.len()).min(self.0.len() - self.1);
        out[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
        self.1 += n;
        Ok(n)
    }
}

thread_local! {
    // A scanner is costly to make (a cache per rule); keep one per thread.
    static SCANNER: std::cell::RefCell<shoal_detect::Scanner<'static>> = std::cell::RefCell::new(engine().scanner());
}

fuzz_target!(|data: &[u8]| {
    SCANNER.with_borrow_mut(|scanner| check(scanner, data));
});

fn check(scanner: &mut shoal_detect::Scanner<'static>, data: &[u8]) {
    let mut whole = Vec::new();
    scanner.scan_slice(data, None, &mut whole);
    let mut streamed = Vec::new();
    scanner.scan_reader(Pieces(data, 0), None, &mut streamed).expect("in-memory read");
    assert_eq!(whole, streamed, "slice and stream disagree");
    let mut with_field = Vec::new();
    scanner.scan_slice(data, Some("customer_ssn"), &mut with_field);
    // A field that `field_only` rules take whole (a person's name).
    with_field.clear();
    scanner.scan_slice(data, Some("last_name"), &mut with_field);
}
