//! Kubernetes Secrets: values stored base64-encoded are found decoded.

use base64::Engine as _;
use shoal_detect::{Detection, Engine, EngineOptions, RuleSet};

fn engine(block_size: usize, prefilter: bool) -> Engine {
    Engine::new(
        &RuleSet::builtin().unwrap(),
        EngineOptions {
            block_size,
            prefilter,
            ..EngineOptions::default()
        },
    )
    .unwrap()
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

const URI: &str = "postgres://billing:Vq8r-Kp2mZ7x@db-prod.internal:5432/billing";
const STRIPE: &str = "sk_live_51Hx9QeLkT4mZ7vR2pW8yN3cA6bD0fG1hJ5kM9nP2qS4tU7wX0zB3";
const EMAIL: &str = "maria.kovacs@brightline-logistics.hu";
const PASSWORD: &str = "Xk9mP2vL7qWz!";
const AWS_ID: &str = "AKIAZ3MHTJQ5F4GKRW7E";

/// A Secret as `kubectl get secret -o yaml` prints it: `data` before `kind`.
fn manifest() -> String {
    format!(
        "apiVersion: v1\ndata:\n  DATABASE_URL: {}\n  STRIPE_SECRET_KEY: {}\n  \
         admin-email: {}\n  DB_PASSWORD: {}\n  replicas: {}\n  config.env: {}\n\
         kind: Secret\nmetadata:\n  name: billing\ntype: Opaque\n",
        b64(URI),
        b64(STRIPE),
        b64(EMAIL),
        b64(&format!("{PASSWORD}\n")),
        b64("3"),
        b64(&format!("LOG_LEVEL=info\nAWS_ACCESS_KEY_ID={AWS_ID}\n")),
    )
}

fn scan(e: &Engine, text: &[u8]) -> Vec<Detection> {
    let mut out = Vec::new();
    e.scanner().scan_slice(text, None, &mut out);
    out
}

/// (entity, json path, value) of each detection; and each one's span, once
/// decoded, holds its value.
fn found(e: &Engine, text: &[u8], out: &[Detection]) -> Vec<(String, String, String)> {
    out.iter()
        .map(|d| {
            // Spans are whole groups of four characters.
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(&text[d.start as usize..d.end as usize])
                .unwrap_or_default();
            assert!(
                decoded.windows(d.value.len()).any(|w| w == d.value),
                "{} at {}..{}: the span does not encode the value",
                e.rule(d.rule).id,
                d.start,
                d.end
            );
            (
                e.rule(d.rule).entity.clone(),
                d.json_path.clone().unwrap_or_default(),
                String::from_utf8_lossy(&d.value).into_owned(),
            )
        })
        .collect()
}

fn owned(v: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    v.iter()
        .map(|(a, b, c)| ((*a).into(), (*b).into(), (*c).into()))
        .collect()
}

#[test]
fn secret_values_are_found_decoded_on_their_encoded_characters() {
    let e = engine(1 << 20, true);
    let text = manifest();
    let out = scan(&e, text.as_bytes());
    assert_eq!(
        found(&e, text.as_bytes(), &out),
        owned(&[
            ("CONNECTION_STRING_CREDENTIAL", "$.data.DATABASE_URL", URI),
            ("STRIPE_KEY", "$.data.STRIPE_SECRET_KEY", STRIPE),
            ("EMAIL", "$.data['admin-email']", EMAIL),
            // Its rule read the encoding (`DB_PASSWORD: WGs5…`) before.
            ("PASSWORD", "$.data.DB_PASSWORD", PASSWORD),
            ("AWS_ACCESS_KEY_ID", "$.data['config.env']", AWS_ID),
        ])
    );
    // Line and column of the encoded value: `  STRIPE_SECRET_KEY: ` is 21 bytes.
    assert_eq!((out[1].line, out[1].column), (4, 22));
    // The same without the prefilter, which finds the maps by searching.
    assert_eq!(scan(&engine(1 << 20, false), text.as_bytes()), out);
}

#[test]
fn secret_values_are_found_decoded_in_json() {
    let e = engine(1 << 20, true);
    let text = format!(
        "{{\n  \"apiVersion\": \"v1\",\n  \"data\": {{\n    \"password\": \"{}\",\n    \
         \".dockerconfigjson\": \"{}\"\n  }},\n  \"kind\": \"Secret\"\n}}\n",
        b64(PASSWORD),
        b64(&format!(
            "{{\"auths\":{{\"registry.northwind.io\":{{\"username\":\"ci\",\"password\":\"{PASSWORD}\"}}}}}}"
        )),
    );
    let out = scan(&e, text.as_bytes());
    assert_eq!(
        found(&e, text.as_bytes(), &out),
        owned(&[
            ("PASSWORD", "$.data.password", PASSWORD),
            ("PASSWORD", "$.data['.dockerconfigjson']", PASSWORD),
        ])
    );
}

#[test]
fn what_is_no_encoded_secret_map_is_not_decoded() {
    let e = engine(1 << 20, true);
    // A ConfigMap's plain values, Python's `if data:`, a value that
    // decodes to bytes that are not text, and a Secret inside a decoded
    // value (read once, not twice).
    let inner = format!("data:\n  key: {}\n", b64(AWS_ID));
    let text = format!(
        "data:\n  LOG_LEVEL: info\n  mode: fast\nif data:\n    return {}\n\
         data:\n  blob: {}\n  nested: {}\n",
        b64(AWS_ID),
        base64::engine::general_purpose::STANDARD.encode(b"\x00\x01AKIAZ3MHTJQ5F4GKRW7E"),
        b64(&inner),
    );
    let out = scan(&e, text.as_bytes());
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn secrets_across_block_boundaries_are_decoded_exactly_once() {
    let block = shoal_detect::engine::MAX_MATCH_LEN;
    // Manifests one after another, so that entries straddle the boundaries
    // at varying points.
    let mut text = String::new();
    let mut planted = 0;
    while text.len() < 12 * block {
        text.push_str("---\n");
        text.push_str(&"#".repeat(planted * 37 % 251));
        text.push('\n');
        text.push_str(&manifest());
        planted += 5;
    }
    let whole = scan(&engine(64 << 20, true), text.as_bytes());
    assert_eq!(whole.len(), planted);
    let small = engine(block, true);
    assert_eq!(scan(&small, text.as_bytes()), whole);
    let mut streamed = Vec::new();
    small
        .scanner()
        .scan_reader(text.as_bytes(), None, &mut streamed)
        .unwrap();
    assert_eq!(streamed, whole);
}

#[test]
fn findings_of_decoded_values_hold_no_value() {
    let e = engine(1 << 20, true);
    let text = manifest();
    let out = scan(&e, text.as_bytes());
    for (d, finding) in out.iter().zip(crate::publish(&e, &out, "secret.yaml")) {
        assert_eq!(finding.location.json_path, d.json_path);
        let json = serde_json::to_string(&finding).unwrap();
        for value in [URI, STRIPE, EMAIL, PASSWORD, AWS_ID] {
            assert!(!json.contains(value), "{json}");
        }
    }
}

/// An LDIF export as `ldapsearch` prints it: values outside plain ASCII
/// text in base64 after `::`, lines folded at 76 columns.
#[test]
fn ldif_values_are_found_decoded_folded_or_not() {
    let hash = "{SSHA}+uOd1cBFpqxfRhAWJ7ZRmMHRcMBYhVqDsTGjbQ==";
    let encoded = b64(hash);
    let (head, tail) = encoded.split_at(76 - "userPassword:: ".len());
    let text = format!(
        "dn: uid=ingrid,ou=people,dc=fjordline,dc=no\n\
         objectClass: inetOrgPerson\n\
         userPassword:: {head}\n {tail}\n\
         mail:: {}\n\
         description: see below:: not base64\n",
        b64(EMAIL)
    );
    for prefilter in [true, false] {
        let e = engine(1 << 20, prefilter);
        let out = scan(&e, text.as_bytes());
        let got: Vec<(&str, &str, Option<&str>)> = out
            .iter()
            .map(|d| {
                (
                    e.rule(d.rule).entity.as_str(),
                    &text[d.start as usize..d.end as usize],
                    d.json_path.as_deref(),
                )
            })
            .collect();
        // The folded hash is reported on its whole value, both lines; the
        // address on the characters that encode it. No JSON path: these are
        // lines, not a Secret's entries.
        let folded = format!("{head}\n {tail}");
        assert_eq!(
            got,
            [
                ("PASSWORD_HASH", folded.as_str(), None),
                ("EMAIL", b64(EMAIL).as_str(), None),
            ],
            "prefilter {prefilter}"
        );
        assert_eq!(out[0].value, hash.as_bytes());
        assert_eq!(out[1].value, EMAIL.as_bytes());
    }
}

#[test]
fn a_name_stored_encoded_is_found_whole_by_its_key() {
    // `field_only` rules match a decoded value whole, after the `key: `
    // written before it (no label rule takes `card_holder: `); a value of
    // many lines has no such prefix.
    let e = engine(1 << 20, true);
    let text = format!(
        "apiVersion: v1\ndata:\n  card_holder: {}\n  cardholder: {}\n  notes: {}\nkind: Secret\n",
        b64("Ingrid Solberg"),
        b64("Zbigniew\nBrzezinski\n"),
        b64("Okafor called\ntwice\n"),
    );
    let out = scan(&e, text.as_bytes());
    assert_eq!(
        found(&e, text.as_bytes(), &out),
        owned(&[("PERSON", "$.data.card_holder", "Ingrid Solberg")])
    );
    assert_eq!(e.rule(out[0].rule).id, "pii.person.name_column");
}
