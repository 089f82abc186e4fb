//! Fuzzes every message decoder, MessagePack and JSON, and the keyset parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoal_schemas::codec::{from_json, from_json_or_msgpack, from_msgpack, to_msgpack};
use shoal_schemas::*;

fn check<T: Message>(data: &[u8]) {
    if let Ok(value) = from_msgpack::<T>(data) {
        // Whatever decodes must re-encode to bytes that decode to the same
        // value (compared as encodings, so that a NaN score compares equal).
        let again = to_msgpack(&value).expect("re-encode");
        let value2 = from_msgpack::<T>(&again).expect("re-decode");
        assert_eq!(to_msgpack(&value2).expect("re-encode"), again);
    }
    let _ = from_json::<T>(data);
}

fuzz_target!(|data: &[u8]| {
    check::<ScanRequest>(data);
    check::<ChunkTask>(data);
    check::<Finding>(data);
    check::<ChunkResult>(data);
    check::<ScanStatus>(data);
    check::<AuditRecord>(data);
    let _ = from_json_or_msgpack::<ScanRequest>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = keyset::Keyset::from_json(text);
    }
});
