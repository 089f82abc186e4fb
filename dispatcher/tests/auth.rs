//! Submitter authentication with real keys: EdDSA and RS256, static PEM keys
//! and a JWKS served over HTTP on loopback (fetched, cached, refreshed when a
//! token names an unknown kid).

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use shoal_dispatcher::auth::{AuthError, Authenticator};
use shoal_dispatcher::config::{AuthConfig, StaticKey};

const ISS: &str = "https://idp.test/";
const AUD: &str = "shoal";

fn config() -> AuthConfig {
    AuthConfig {
        issuer: ISS.into(),
        audience: AUD.into(),
        keys: Vec::new(),
        jwks_url: None,
        jwks_min_refresh_secs: 0,
        tenant_claim: "tenant".into(),
        leeway_secs: 0,
    }
}

fn claims(ttl: i64) -> serde_json::Value {
    let now = shoal_schemas::ids::now_unix();
    serde_json::json!({"iss": ISS, "aud": AUD, "sub": "svc", "tenant": "acme",
        "scope": "scan:read scan:submit", "exp": now + ttl})
}

fn sign(alg: Algorithm, kid: &str, key: &EncodingKey, claims: &serde_json::Value) -> String {
    let mut h = Header::new(alg);
    h.kid = Some(kid.into());
    jsonwebtoken::encode(&h, claims, key).unwrap()
}

fn ed_key(seed: u8) -> (SigningKey, EncodingKey) {
    let k = SigningKey::from_bytes(&[seed; 32]);
    let pem = k.to_pkcs8_pem(Default::default()).unwrap();
    (k.clone(), EncodingKey::from_ed_pem(pem.as_bytes()).unwrap())
}

/// An RSA key pair made by `openssl`: (private PEM path, public PEM path).
fn rsa_key(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let private = dir.join("rsa.pem");
    let public = dir.join("rsa.pub.pem");
    let ok = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&private)
        .status()
        .expect("openssl (Debian package openssl) is needed to make an RSA key")
        .success();
    assert!(ok);
    let ok = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&private)
        .arg("-out")
        .arg(&public)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    (private, public)
}

#[tokio::test]
async fn static_eddsa_and_rs256_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (ed, ed_enc) = ed_key(5);
    std::fs::write(
        dir.path().join("ed.pub.pem"),
        ed.verifying_key()
            .to_public_key_pem(Default::default())
            .unwrap(),
    )
    .unwrap();
    let (rsa_private, rsa_public) = rsa_key(dir.path());
    let mut c = config();
    c.keys = vec![
        StaticKey {
            kid: "ed".into(),
            alg: "EdDSA".into(),
            pem: dir.path().join("ed.pub.pem"),
        },
        StaticKey {
            kid: "rsa".into(),
            alg: "RS256".into(),
            pem: rsa_public,
        },
    ];
    let auth = Authenticator::new(c).unwrap();
    let p = auth
        .authenticate(Some(&format!(
            "Bearer {}",
            sign(Algorithm::EdDSA, "ed", &ed_enc, &claims(60))
        )))
        .await
        .unwrap();
    assert_eq!((p.subject.as_str(), p.tenant.as_str()), ("svc", "acme"));
    assert!(p.scopes.contains(&"scan:submit".to_owned()));

    let rsa_enc = EncodingKey::from_rsa_pem(&std::fs::read(rsa_private).unwrap()).unwrap();
    let rs = sign(Algorithm::RS256, "rsa", &rsa_enc, &claims(60));
    assert!(
        auth.authenticate(Some(&format!("Bearer {rs}")))
            .await
            .is_ok()
    );

    // A token claiming the RSA key's kid but signed with EdDSA is refused.
    let confused = sign(Algorithm::EdDSA, "rsa", &ed_enc, &claims(60));
    let e = auth
        .authenticate(Some(&format!("Bearer {confused}")))
        .await
        .unwrap_err();
    assert_eq!(e.reason(), "bad_algorithm");
    // HS256 (a shared secret) is never accepted.
    let hs = sign(
        Algorithm::HS256,
        "ed",
        &EncodingKey::from_secret(b"k"),
        &claims(60),
    );
    let e = auth
        .authenticate(Some(&format!("Bearer {hs}")))
        .await
        .unwrap_err();
    assert_eq!(e.reason(), "bad_algorithm");
    // A token without a tenant is refused.
    let mut no_tenant = claims(60);
    no_tenant.as_object_mut().unwrap().remove("tenant");
    let t = sign(Algorithm::EdDSA, "ed", &ed_enc, &no_tenant);
    let e = auth
        .authenticate(Some(&format!("Bearer {t}")))
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        AuthError::Unauthenticated {
            reason: "missing_tenant",
            ..
        }
    ));
}

/// Serves `body` as JSON on 127.0.0.1, counting requests.
fn jwks_server(body: Arc<Mutex<String>>, hits: Arc<AtomicUsize>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            hits.fetch_add(1, Ordering::SeqCst);
            let body = body.lock().unwrap().clone();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

fn okp_jwk(kid: &str, k: &SigningKey) -> serde_json::Value {
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k.verifying_key().as_bytes());
    serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"})
}

#[tokio::test]
async fn jwks_is_fetched_cached_and_refreshed_on_an_unknown_kid() {
    let (k1, enc1) = ed_key(11);
    let (k2, enc2) = ed_key(12);
    let body = Arc::new(Mutex::new(
        serde_json::json!({"keys": [okp_jwk("one", &k1)]}).to_string(),
    ));
    let hits = Arc::new(AtomicUsize::new(0));
    let mut c = config();
    c.jwks_url = Some(jwks_server(body.clone(), hits.clone()));
    let auth = Authenticator::new(c).unwrap();
    assert_eq!(auth.prefetch().await.unwrap(), 1);
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    let t1 = format!(
        "Bearer {}",
        sign(Algorithm::EdDSA, "one", &enc1, &claims(60))
    );
    for _ in 0..3 {
        auth.authenticate(Some(&t1)).await.unwrap();
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "known kids come from the cache"
    );

    // The issuer rotates in a new key: the first token naming it triggers a fetch.
    *body.lock().unwrap() =
        serde_json::json!({"keys": [okp_jwk("one", &k1), okp_jwk("two", &k2)]}).to_string();
    let t2 = format!(
        "Bearer {}",
        sign(Algorithm::EdDSA, "two", &enc2, &claims(60))
    );
    auth.authenticate(Some(&t2)).await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // A kid the JWKS does not have either is refused.
    let t3 = format!(
        "Bearer {}",
        sign(Algorithm::EdDSA, "three", &enc2, &claims(60))
    );
    let e = auth.authenticate(Some(&t3)).await.unwrap_err();
    assert_eq!(e.reason(), "unknown_key");
}

#[test]
fn jwks_over_plain_http_is_refused_off_loopback() {
    let mut c = config();
    c.jwks_url = Some("http://idp.example.com/jwks.json".into());
    assert!(Authenticator::new(c).is_err());
}
