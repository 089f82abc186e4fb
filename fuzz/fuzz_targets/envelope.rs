//! Fuzzes the worker's envelope verification with a trusted key in the
//! keyset, so that inputs which get past decoding reach the signature check.
#![no_main]

use ed25519_dalek::SigningKey;
use libfuzzer_sys::fuzz_target;
use shoal_schemas::envelope::{Signer, Verifier};
use shoal_schemas::keyset::Keyset;

fuzz_target!(|data: &[u8]| {
    let signer = Signer::new("k1".into(), SigningKey::from_bytes(&[1; 32]));
    let mut keyset = Keyset::default();
    let _ = keyset.add(signer.key_entry(0, i64::MAX));
    let verifier = Verifier::new(keyset);
    if let Ok(task) = verifier.verify_task(data, 1_800_000_000) {
        // Only the signer's own output may verify; anything else is a forgery.
        let resigned = signer.sign_task(&task).expect("re-sign");
        assert_eq!(resigned, data, "accepted an envelope the signer did not make");
    }
});
