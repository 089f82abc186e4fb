//! The signed envelope: what is accepted, and each refusal.

use ed25519_dalek::SigningKey;
use shoal_schemas::envelope::{
    AUD_WORKER, Envelope, EnvelopeError, Signer, TYP_CHUNK_TASK, Verifier, pae,
};
use shoal_schemas::keyset::Keyset;
use shoal_schemas::*;

const NOW: i64 = 1_800_000_000;
const DAY: i64 = 86_400;

fn signer(kid: &str, seed: u8) -> Signer {
    Signer::new(kid.into(), SigningKey::from_bytes(&[seed; 32]))
}

fn task() -> ChunkTask {
    ChunkTask {
        v: 1,
        iss: "shoal-dispatcher".into(),
        aud: AUD_WORKER.into(),
        jti: "0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
        iat: NOW,
        nbf: NOW,
        exp: NOW + 3_600,
        tenant: "acme".into(),
        scan_id: "s_0123".into(),
        chunk_id: "s_0123-c00000007".into(),
        source: "billing-bucket".into(),
        spec: ChunkSpec::S3 {
            bucket: "billing".into(),
            objects: vec![ObjectRef {
                key: "2026/11/export.csv".into(),
                size: 1_048_576,
                etag: Some("\"9b2cf535f27731c974343645a3985328\"".into()),
                version_id: None,
                range: None,
            }],
        },
        ruleset: "sha256:00ff".into(),
    }
}

/// A keyset trusting `signer` from a day ago to a day ahead.
fn keyset_for(signers: &[&Signer]) -> Keyset {
    let mut ks = Keyset::default();
    for s in signers {
        ks.add(s.key_entry(NOW - DAY, NOW + DAY)).unwrap();
    }
    ks
}

#[test]
fn valid_envelope_verifies_and_returns_the_task() {
    let s = signer("k1", 1);
    let bytes = s.sign_task(&task()).unwrap();
    let got = Verifier::new(keyset_for(&[&s]))
        .verify_task(&bytes, NOW)
        .unwrap();
    assert_eq!(got, task());
}

#[test]
fn every_single_byte_flip_is_refused() {
    let s = signer("k1", 1);
    let bytes = s.sign_task(&task()).unwrap();
    let verifier = Verifier::new(keyset_for(&[&s]));
    let mut codes = std::collections::BTreeMap::<&str, usize>::new();
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut flipped = bytes.clone();
            flipped[i] ^= mask;
            match verifier.verify_task(&flipped, NOW) {
                Ok(_) => panic!("flip of byte {i} with mask {mask:#04x} was accepted"),
                Err(e) => *codes.entry(e.code()).or_default() += 1,
            }
        }
    }
    // The flips must reach the signature check, not only the decoder.
    assert!(
        codes.get("bad_signature").copied().unwrap_or(0) > 100,
        "{codes:?}"
    );
}

#[test]
fn truncations_and_extensions_are_refused() {
    let s = signer("k1", 1);
    let bytes = s.sign_task(&task()).unwrap();
    let verifier = Verifier::new(keyset_for(&[&s]));
    for len in 0..bytes.len() {
        assert!(
            verifier.verify_task(&bytes[..len], NOW).is_err(),
            "prefix of {len} accepted"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0xc0);
    assert!(matches!(
        verifier.verify_task(&longer, NOW),
        Err(EnvelopeError::NonCanonical)
    ));
}

#[test]
fn expired_refused_and_skew_is_configurable() {
    let s = signer("k1", 1);
    let mut t = task();
    t.exp = NOW - 10;
    let bytes = s.sign_task(&t).unwrap();
    let v = Verifier::new(keyset_for(&[&s]));
    // Within the default skew of 30 s, still accepted.
    assert!(v.verify_task(&bytes, NOW).is_ok());
    assert!(matches!(
        v.clone().with_skew(5).verify_task(&bytes, NOW),
        Err(EnvelopeError::Expired { .. })
    ));
    assert!(matches!(
        v.verify_task(&bytes, NOW + 60),
        Err(EnvelopeError::Expired { .. })
    ));
}

#[test]
fn not_yet_valid_refused() {
    let s = signer("k1", 1);
    let mut t = task();
    t.nbf = NOW + 300;
    let bytes = s.sign_task(&t).unwrap();
    let v = Verifier::new(keyset_for(&[&s]));
    assert!(matches!(
        v.verify_task(&bytes, NOW),
        Err(EnvelopeError::NotYetValid { .. })
    ));
    assert!(v.verify_task(&bytes, NOW + 290).is_ok());
}

#[test]
fn issued_in_the_future_refused() {
    let s = signer("k1", 1);
    let mut t = task();
    t.iat = NOW + 600;
    let bytes = s.sign_task(&t).unwrap();
    let v = Verifier::new(keyset_for(&[&s]));
    assert!(matches!(
        v.verify_task(&bytes, NOW),
        Err(EnvelopeError::IssuedInFuture { .. })
    ));
}

#[test]
fn wrong_audience_refused() {
    let s = signer("k1", 1);
    let mut t = task();
    t.aud = "shoal-dispatcher".into();
    let bytes = s.sign_task(&t).unwrap();
    let v = Verifier::new(keyset_for(&[&s]));
    assert!(matches!(
        v.verify_task(&bytes, NOW),
        Err(EnvelopeError::WrongAudience { .. })
    ));
}

#[test]
fn missing_jti_refused() {
    let s = signer("k1", 1);
    let mut t = task();
    t.jti.clear();
    let bytes = s.sign_task(&t).unwrap();
    let v = Verifier::new(keyset_for(&[&s]));
    assert!(matches!(
        v.verify_task(&bytes, NOW),
        Err(EnvelopeError::MissingJti)
    ));
}

#[test]
fn wrong_typ_refused() {
    let s = signer("k1", 1);
    let body = codec::to_msgpack(&task()).unwrap();
    let bytes = s.seal("application/vnd.shoal.other+msgpack", body).unwrap();
    let v = Verifier::new(keyset_for(&[&s]));
    assert!(matches!(
        v.verify_task(&bytes, NOW),
        Err(EnvelopeError::WrongType { .. })
    ));
}

#[test]
fn typ_is_bound_by_the_signature() {
    // Signed as another type, then relabelled: the PAE covers typ, so the
    // signature no longer verifies.
    let s = signer("k1", 1);
    let body = codec::to_msgpack(&task()).unwrap();
    let sealed = s.seal("application/vnd.shoal.other+msgpack", body).unwrap();
    let mut env: Envelope = rmp_serde::from_slice(&sealed).unwrap();
    env.typ = TYP_CHUNK_TASK.into();
    let bytes = rmp_serde::to_vec_named(&env).unwrap();
    let v = Verifier::new(keyset_for(&[&s]));
    assert!(matches!(
        v.verify_task(&bytes, NOW),
        Err(EnvelopeError::BadSignature)
    ));
}

#[test]
fn unknown_kid_refused() {
    let trusted = signer("k1", 1);
    let stranger = signer("k9", 9);
    let bytes = stranger.sign_task(&task()).unwrap();
    let v = Verifier::new(keyset_for(&[&trusted]));
    assert!(
        matches!(v.verify_task(&bytes, NOW), Err(EnvelopeError::UnknownKey(kid)) if kid == "k9")
    );
}

#[test]
fn forged_with_untrusted_key_under_trusted_kid_refused() {
    let trusted = signer("k1", 1);
    let forger = signer("k1", 66);
    let bytes = forger.sign_task(&task()).unwrap();
    let v = Verifier::new(keyset_for(&[&trusted]));
    assert!(matches!(
        v.verify_task(&bytes, NOW),
        Err(EnvelopeError::BadSignature)
    ));
}

#[test]
fn key_outside_its_window_refused() {
    let s = signer("k1", 1);
    let bytes = s.sign_task(&task()).unwrap();
    let mut ks = Keyset::default();
    ks.add(s.key_entry(NOW + 10, NOW + DAY)).unwrap();
    assert!(matches!(
        Verifier::new(ks).verify_task(&bytes, NOW),
        Err(EnvelopeError::KeyNotYetValid { .. })
    ));
    let mut ks = Keyset::default();
    ks.add(s.key_entry(NOW - DAY, NOW)).unwrap();
    assert!(matches!(
        Verifier::new(ks).verify_task(&bytes, NOW),
        Err(EnvelopeError::KeyRetired { .. })
    ));
}

#[test]
fn rotation_old_key_verifies_during_overlap_and_fails_after_retirement() {
    let old = signer("old", 1);
    let new = signer("new", 2);
    let mut ks = Keyset::default();
    ks.add(old.key_entry(NOW - 30 * DAY, NOW + 30 * DAY))
        .unwrap();
    // The new key is added: both are valid during the overlap.
    ks.add(new.key_entry(NOW - DAY, NOW + 90 * DAY)).unwrap();
    let from_old = old.sign_task(&task()).unwrap();
    let from_new = new.sign_task(&task()).unwrap();
    let v = Verifier::new(ks.clone());
    assert!(v.verify_task(&from_old, NOW).is_ok());
    assert!(v.verify_task(&from_new, NOW).is_ok());
    // The old key is retired an hour from now.
    ks.retire("old", NOW + 3_600).unwrap();
    let v = Verifier::new(ks);
    assert!(
        v.verify_task(&from_old, NOW).is_ok(),
        "still inside the overlap"
    );
    assert!(matches!(
        v.verify_task(&from_old, NOW + 3_600),
        Err(EnvelopeError::KeyRetired { .. })
    ));
    let mut t = task();
    t.exp = NOW + 7_200;
    let later = new.sign_task(&t).unwrap();
    assert!(
        v.verify_task(&later, NOW + 3_600).is_ok(),
        "the new key goes on"
    );
}

#[test]
fn body_is_verified_before_it_is_decoded() {
    // A correctly signed body that is not a ChunkTask: the signature passes,
    // then decoding fails with a typed error.
    let s = signer("k1", 1);
    let bytes = s.seal(TYP_CHUNK_TASK, vec![0xc1, 0x00]).unwrap();
    let v = Verifier::new(keyset_for(&[&s]));
    assert!(matches!(
        v.verify_task(&bytes, NOW),
        Err(EnvelopeError::Body(_))
    ));
    // The same garbage body with a bad signature never reaches the decoder.
    let mut env: Envelope = rmp_serde::from_slice(&bytes).unwrap();
    env.sig[0] ^= 1;
    let bytes = rmp_serde::to_vec_named(&env).unwrap();
    assert!(matches!(
        v.verify_task(&bytes, NOW),
        Err(EnvelopeError::BadSignature)
    ));
}

#[test]
fn body_of_unknown_version_is_typed() {
    let s = signer("k1", 1);
    let mut t = task();
    t.v = 2;
    let body = rmp_serde::to_vec_named(&t).unwrap();
    let bytes = s.seal(TYP_CHUNK_TASK, body).unwrap();
    let v = Verifier::new(keyset_for(&[&s]));
    assert!(matches!(
        v.verify_task(&bytes, NOW),
        Err(EnvelopeError::Body(Error::UnsupportedVersion {
            found: 2,
            ..
        }))
    ));
}

#[test]
fn oversized_envelope_refused_before_parsing() {
    let v = Verifier::new(Keyset::default());
    let bytes = vec![0u8; shoal_schemas::envelope::MAX_ENVELOPE_BYTES + 1];
    assert!(matches!(
        v.verify_task(&bytes, NOW),
        Err(EnvelopeError::TooLarge { .. })
    ));
}

#[test]
fn unknown_envelope_version_refused() {
    let s = signer("k1", 1);
    let bytes = s.sign_task(&task()).unwrap();
    let mut env: Envelope = rmp_serde::from_slice(&bytes).unwrap();
    env.v = 2;
    let bytes = rmp_serde::to_vec_named(&env).unwrap();
    let v = Verifier::new(keyset_for(&[&s]));
    assert!(matches!(
        v.verify_task(&bytes, NOW),
        Err(EnvelopeError::UnsupportedVersion(2))
    ));
}

#[test]
fn pae_matches_the_dsse_definition() {
    assert_eq!(pae(b"t", b"body"), b"DSSEv1 1 t 4 body".to_vec());
    assert_eq!(pae(b"", b""), b"DSSEv1 0  0 ".to_vec());
}

#[test]
fn signer_debug_hides_the_key() {
    let s = signer("k1", 7);
    let text = format!("{s:?}");
    assert!(text.contains("k1"));
    assert!(!text.contains("07"), "{text}");
}
