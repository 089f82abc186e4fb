//! Every wire type survives MessagePack and JSON round trips unchanged.

use proptest::prelude::*;
use shoal_schemas::codec::{from_json, from_msgpack, to_json, to_msgpack};

use shoal_schemas::Message;

use crate::arb;

fn check<T: Message + PartialEq + std::fmt::Debug>(value: &T) -> Result<(), TestCaseError> {
    let mp = to_msgpack(value).expect("encode msgpack");
    prop_assert_eq!(&from_msgpack::<T>(&mp).expect("decode msgpack"), value);
    let json = to_json(value).expect("encode json");
    prop_assert_eq!(&from_json::<T>(&json).expect("decode json"), value);
    Ok(())
}

macro_rules! round_trip {
    ($name:ident, $strategy:expr) => {
        proptest! {
            #[test]
            fn $name(value in $strategy) {
                check(&value)?;
            }
        }
    };
}

round_trip!(scan_request, arb::scan_request());
round_trip!(chunk_task, arb::chunk_task());
round_trip!(finding, arb::finding());
round_trip!(finding_batch, arb::finding_batch());
round_trip!(chunk_result, arb::chunk_result());

proptest! {
    /// Publishers size batches by the hint, so it must never undercount.
    #[test]
    fn a_findings_size_hint_bounds_its_encoding(f in arb::finding()) {
        let encoded = to_msgpack(&f).expect("encode").len();
        prop_assert!(f.size_hint() >= encoded, "hint {} < {} bytes", f.size_hint(), encoded);
    }
}
round_trip!(scan_status, arb::scan_status());
round_trip!(audit_record, arb::audit_record());

#[test]
fn finding_json_keeps_the_documented_field_names() {
    use shoal_schemas::*;
    let finding = Finding {
        v: 1,
        finding_id: "f_1".into(),
        scan_id: "s_1".into(),
        tenant: "acme".into(),
        chunk_id: "s_1-c00000000".into(),
        rule_id: "pii.credit_card.visa".into(),
        entity: "CREDIT_CARD".into(),
        category: Category::Pii,
        confidence: 0.97,
        level: Level::High,
        location: Location {
            source: "local".into(),
            path: "exports/users.csv".into(),
            start: 1042,
            end: 1061,
            line: 17,
            column: 23,
            field: Some("card_number".into()),
            ..Location::default()
        },
        preview: "4111 **** **** 1111".into(),
        fingerprint: "hmac-sha256:9f2c".into(),
    };
    let json: serde_json::Value = serde_json::from_slice(&to_json(&finding).unwrap()).unwrap();
    for key in [
        "v",
        "finding_id",
        "scan_id",
        "rule_id",
        "entity",
        "category",
        "confidence",
        "level",
        "location",
        "preview",
        "fingerprint",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    assert_eq!(json["category"], "pii");
    assert_eq!(json["level"], "high");
    for key in ["source", "path", "start", "end", "line", "column", "field"] {
        assert!(
            json["location"].get(key).is_some(),
            "missing location.{key}"
        );
    }
    assert!(
        json["location"].get("member").is_none(),
        "absent optionals are omitted"
    );
}

#[test]
fn chunk_spec_is_tagged_by_kind() {
    use shoal_schemas::*;
    let spec = ChunkSpec::S3 {
        bucket: "b".into(),
        objects: vec![],
    };
    let json = serde_json::to_value(&spec).unwrap();
    assert_eq!(json["kind"], "s3");
    assert_eq!(spec.kind(), "s3");
}
