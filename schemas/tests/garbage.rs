//! Arbitrary bytes never panic any decoder: each returns a typed error or a value.
//! (The coverage-guided fuzz targets in `fuzz/` do the same at greater depth.)

use proptest::prelude::*;
use shoal_schemas::codec::{from_json, from_json_or_msgpack, from_msgpack, to_msgpack};
use shoal_schemas::envelope::Verifier;
use shoal_schemas::keyset::Keyset;
use shoal_schemas::*;

fn decode_all(bytes: &[u8]) {
    let _ = from_msgpack::<ScanRequest>(bytes);
    let _ = from_msgpack::<ChunkTask>(bytes);
    let _ = from_msgpack::<Finding>(bytes);
    let _ = from_msgpack::<ChunkResult>(bytes);
    let _ = from_msgpack::<ScanStatus>(bytes);
    let _ = from_msgpack::<AuditRecord>(bytes);
    let _ = from_json::<ScanRequest>(bytes);
    let _ = from_json_or_msgpack::<ScanRequest>(bytes);
    let _ = Verifier::new(Keyset::default()).verify_task(bytes, 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&bytes);
    }

    #[test]
    fn mutated_valid_messages(task in crate::arb::chunk_task(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut bytes = to_msgpack(&task).unwrap();
        for (index, byte) in flips {
            let i = index.index(bytes.len());
            bytes[i] = byte;
        }
        decode_all(&bytes);
    }
}

#[test]
fn deeply_nested_input_is_an_error_not_a_stack_overflow() {
    // 100k nested one-element arrays (0x91) and as many JSON brackets.
    let bytes = vec![0x91u8; 100_000];
    assert!(from_msgpack::<ChunkResult>(&bytes).is_err());
    let json = "[".repeat(60_000);
    assert!(from_json::<ScanRequest>(json.as_bytes()).is_err());
}
