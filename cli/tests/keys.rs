//! `shoal keys`: generate, add, retire, list, through the real binary.

use crate::shoal;
use std::os::unix::fs::PermissionsExt as _;

use shoal_schemas::envelope::{EnvelopeError, Signer, Verifier};
use shoal_schemas::ids::now_unix;
use shoal_schemas::keyset::{KeyEntry, Keyset};
use shoal_schemas::*;

fn task(now: i64) -> ChunkTask {
    ChunkTask {
        v: 1,
        iss: "test".into(),
        aud: envelope::AUD_WORKER.into(),
        jti: "j1".into(),
        iat: now,
        nbf: now,
        exp: now + 600,
        tenant: "acme".into(),
        scan_id: "s_1".into(),
        chunk_id: "s_1-c00000000".into(),
        source: "docs".into(),
        spec: ChunkSpec::Fs { files: vec![] },
        ruleset: "sha256:00".into(),
    }
}

#[test]
fn generate_writes_a_0600_key_never_printed_and_a_usable_keyset_entry() {
    let dir = tempfile::tempdir().unwrap();
    let out = shoal(
        &[
            "keys",
            "generate",
            "--private-key",
            "signing.pem",
            "--kid",
            "k-2026",
            "--keyset",
            "keyset.json",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pem_path = dir.path().join("signing.pem");
    let mode = std::fs::metadata(&pem_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let pem = std::fs::read_to_string(&pem_path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");

    // Nothing of the private key on stdout or stderr.
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    for stream in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(!text.contains("PRIVATE KEY"), "{text}");
        assert!(!text.contains(&body[..20]), "{text}");
    }

    // Stdout is the keyset entry, and the keyset file holds the same.
    let printed: KeyEntry = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed.kid, "k-2026");
    let keyset =
        Keyset::from_json(&std::fs::read_to_string(dir.path().join("keyset.json")).unwrap())
            .unwrap();
    assert_eq!(keyset.keys, vec![printed]);

    // The private key signs envelopes the keyset verifies.
    let now = now_unix();
    let signer = Signer::from_pkcs8_pem("k-2026".into(), &pem).unwrap();
    let bytes = signer.sign_task(&task(now)).unwrap();
    assert_eq!(
        Verifier::new(keyset).verify_task(&bytes, now).unwrap(),
        task(now)
    );
}

#[test]
fn generate_refuses_to_overwrite_a_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("signing.pem"), "keep me").unwrap();
    let out = shoal(
        &["keys", "generate", "--private-key", "signing.pem"],
        dir.path(),
    );
    assert!(!out.status.success());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("signing.pem")).unwrap(),
        "keep me"
    );
}

#[test]
fn add_then_retire_rotates_keys() {
    let dir = tempfile::tempdir().unwrap();
    let gen_old = shoal(
        &[
            "keys",
            "generate",
            "--private-key",
            "old.pem",
            "--kid",
            "old",
            "--keyset",
            "keyset.json",
        ],
        dir.path(),
    );
    assert!(gen_old.status.success());
    // The new key is generated elsewhere and its entry added from a file.
    let gen_new = shoal(
        &[
            "keys",
            "generate",
            "--private-key",
            "new.pem",
            "--kid",
            "new",
        ],
        dir.path(),
    );
    assert!(gen_new.status.success());
    std::fs::write(dir.path().join("new.json"), &gen_new.stdout).unwrap();
    let add = shoal(
        &["keys", "add", "--keyset", "keyset.json", "new.json"],
        dir.path(),
    );
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    // Adding it twice is refused.
    let again = shoal(
        &["keys", "add", "--keyset", "keyset.json", "new.json"],
        dir.path(),
    );
    assert!(!again.status.success());

    let read_keyset = || {
        Keyset::from_json(&std::fs::read_to_string(dir.path().join("keyset.json")).unwrap())
            .unwrap()
    };
    let now = now_unix();
    let old = Signer::from_pkcs8_pem(
        "old".into(),
        &std::fs::read_to_string(dir.path().join("old.pem")).unwrap(),
    )
    .unwrap();
    let from_old = old.sign_task(&task(now)).unwrap();
    assert!(
        Verifier::new(read_keyset())
            .verify_task(&from_old, now)
            .is_ok(),
        "overlap: old key valid"
    );

    let retire = shoal(
        &["keys", "retire", "--keyset", "keyset.json", "--kid", "old"],
        dir.path(),
    );
    assert!(
        retire.status.success(),
        "{}",
        String::from_utf8_lossy(&retire.stderr)
    );
    let ks = read_keyset();
    assert!(matches!(
        Verifier::new(ks).verify_task(&from_old, now_unix() + 1),
        Err(EnvelopeError::KeyRetired { .. })
    ));

    let list = shoal(&["keys", "list", "--keyset", "keyset.json"], dir.path());
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("old ") && l.contains("retired")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("new ") && l.contains("active")),
        "{text}"
    );
}

#[test]
fn retire_unknown_kid_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        shoal(
            &[
                "keys",
                "generate",
                "--private-key",
                "a.pem",
                "--keyset",
                "ks.json"
            ],
            dir.path()
        )
        .status
        .success()
    );
    let out = shoal(
        &["keys", "retire", "--keyset", "ks.json", "--kid", "nope"],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));
}

#[test]
fn a_generated_key_mints_tokens_that_its_public_pem_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let out = shoal(
        &[
            "keys",
            "generate",
            "--private-key",
            "jwt.pem",
            "--kid",
            "ci",
            "--public-pem",
            "jwt.pub.pem",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = shoal(
        &[
            "token",
            "--key",
            "jwt.pem",
            "--kid",
            "ci",
            "--iss",
            "https://idp/",
            "--aud",
            "shoal",
            "--tenant",
            "acme",
            "--sub",
            "me",
        ],
        dir.path(),
    );
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let token = String::from_utf8(token.stdout).unwrap();
    let auth = shoal_dispatcher::auth::Authenticator::new(shoal_dispatcher::config::AuthConfig {
        issuer: "https://idp/".into(),
        audience: "shoal".into(),
        keys: vec![shoal_dispatcher::config::StaticKey {
            kid: "ci".into(),
            alg: "EdDSA".into(),
            pem: dir.path().join("jwt.pub.pem"),
        }],
        jwks_url: None,
        jwks_min_refresh_secs: 30,
        tenant_claim: "tenant".into(),
        leeway_secs: 0,
    })
    .unwrap();
    let principal = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(auth.authenticate(Some(&format!("Bearer {}", token.trim()))))
        .unwrap();
    assert_eq!(
        (principal.subject.as_str(), principal.tenant.as_str()),
        ("me", "acme")
    );
    assert_eq!(principal.scopes, ["scan:submit"]);
}
