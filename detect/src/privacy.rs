//! Findings are private: the raw value becomes a masked preview and a keyed
//! fingerprint (HMAC-SHA256), and is dropped. Nothing here returns the value.

use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use shoal_schemas::{Category, Finding, Level, Location};

use crate::Error;
use crate::engine::{Detection, Engine};

/// The longest preview, in characters.
pub const MAX_PREVIEW: usize = 48;

/// Key of the fingerprint HMAC. `Debug` never shows it.
#[derive(Clone)]
pub struct FingerprintKey([u8; 32]);

impl std::fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FingerprintKey(<redacted>)")
    }
}

impl FingerprintKey {
    /// A random key: fingerprints then only compare within one run.
    pub fn random() -> Result<FingerprintKey, Error> {
        let mut key = [0u8; 32];
        shoal_schemas::ids::fill_random(&mut key).map_err(|e| Error::Key(e.to_string()))?;
        Ok(FingerprintKey(key))
    }

    /// A key from 64 hex digits (32 bytes).
    pub fn from_hex(text: &str) -> Result<FingerprintKey, Error> {
        let text = text.trim();
        let bad = || Error::Key("fingerprint key must be 64 hex digits (32 bytes)".into());
        if text.len() != 64 {
            return Err(bad());
        }
        let mut key = [0u8; 32];
        for (i, slot) in key.iter_mut().enumerate() {
            *slot = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(FingerprintKey(key))
    }

    /// The key of one tenant, derived from this (master) key with
    /// HMAC-SHA256, so that fingerprints of two tenants never compare while
    /// the swarm holds one secret.
    pub fn for_tenant(&self, tenant: &str) -> FingerprintKey {
        let mut mac =
            <Hmac<Sha256>>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(b"shoal tenant fingerprint key\0");
        mac.update(tenant.as_bytes());
        FingerprintKey(mac.finalize().into_bytes().into())
    }

    /// `hmac-sha256:<hex>` of the normalised value.
    pub fn fingerprint(&self, entity: &str, category: Category, value: &[u8]) -> String {
        let mut mac =
            <Hmac<Sha256>>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(entity.as_bytes());
        mac.update(&[0]);
        mac.update(&normalize(entity, category, value));
        format!(
            "hmac-sha256:{}",
            shoal_schemas::ids::hex(&mac.finalize().into_bytes())
        )
    }
}

/// The form of a value that fingerprints compare: PII numbers without their
/// separators and upper-cased (so `4111 1111 1111 1111` and `4111111111111111`
/// are one value), e-mail addresses lower-cased with a URL-encoded `%40`
/// read as its `@` (so `Ana%40example.org` in a query string and
/// `ana@example.org` in a form are one address), everything else as is.
pub fn normalize(entity: &str, category: Category, value: &[u8]) -> Vec<u8> {
    match (category, entity) {
        (_, "EMAIL") => with_at_sign(value).to_ascii_lowercase(),
        (Category::Pii, "PERSON" | "ADDRESS") => value.to_vec(),
        (Category::Pii, _) => value
            .iter()
            .filter(|b| !matches!(b, b' ' | b'-' | b'.' | b'/' | b'(' | b')' | b'+'))
            .map(u8::to_ascii_uppercase)
            .collect(),
        (Category::Secret, _) => value.to_vec(),
    }
}

/// `value` with each URL-encoded `%40` written as the `@` it stands for.
fn with_at_sign(value: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if memchr::memmem::find(value, b"%40").is_none() {
        return value.into();
    }
    let mut out = Vec::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = memchr::memmem::find(rest, b"%40") {
        out.extend_from_slice(&rest[..i]);
        out.push(b'@');
        rest = &rest[i + 3..];
    }
    out.extend_from_slice(rest);
    out.into()
}

/// A masked preview that never contains the value.
pub fn mask(entity: &str, category: Category, value: &[u8]) -> String {
    let value = if entity == "EMAIL" {
        with_at_sign(value)
    } else {
        value.into()
    };
    let text = String::from_utf8_lossy(&value);
    let chars: Vec<char> = text.chars().collect();
    let alnum = chars.iter().filter(|c| c.is_ascii_alphanumeric()).count();
    let preview: String = match (category, entity) {
        (_, "EMAIL") => match text.split_once('@') {
            Some((local, domain)) => {
                let first: String = local.chars().take(1).collect();
                format!("{first}***@{domain}")
            }
            None => "*".repeat(chars.len().min(12)),
        },
        (_, "CREDIT_CARD") => keep_alnum(&chars, 4, 4),
        (Category::Pii, "PERSON" | "ADDRESS") => chars
            .split(|c| c.is_whitespace())
            .filter(|w| !w.is_empty())
            .map(|w| format!("{}{}", w[0], "*".repeat(w.len().saturating_sub(1).min(8))))
            .collect::<Vec<_>>()
            .join(" "),
        (Category::Pii, _) if alnum >= 8 => keep_alnum(&chars, 0, 4),
        (Category::Pii, _) if alnum >= 6 => keep_alnum(&chars, 0, 2),
        (Category::Pii, _) => chars
            .iter()
            .map(|c| if c.is_ascii_alphanumeric() { '*' } else { *c })
            .collect(),
        (Category::Secret, _) => {
            let shown = (chars.len() / 5).min(4);
            let head: String = chars[..shown].iter().collect();
            format!("{head}{}", "*".repeat((chars.len() - shown).clamp(4, 16)))
        }
    };
    preview.chars().take(MAX_PREVIEW).collect()
}

/// Keeps the first `head` and last `tail` alphanumerics (when at least half
/// the alphanumerics are masked), masks the others, keeps separators.
fn keep_alnum(chars: &[char], head: usize, tail: usize) -> String {
    let total = chars.iter().filter(|c| c.is_ascii_alphanumeric()).count();
    let (head, tail) = if head + tail > total / 2 {
        (0, 0)
    } else {
        (head, tail)
    };
    let mut seen = 0;
    chars
        .iter()
        .map(|&c| {
            if !c.is_ascii_alphanumeric() {
                return c;
            }
            seen += 1;
            if seen <= head || seen > total - tail {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// A deterministic finding id from the scan, location, rule and span.
pub fn finding_id(scan_id: &str, location: &Location, rule_id: &str) -> String {
    let mut h = Sha256::new();
    for part in [
        scan_id,
        &location.source,
        &location.path,
        location.member.as_deref().unwrap_or(""),
        location.row.as_deref().unwrap_or(""),
        location.field.as_deref().unwrap_or(""),
        rule_id,
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(location.start.to_le_bytes());
    h.update(location.end.to_le_bytes());
    format!("f_{}", shoal_schemas::ids::hex(&h.finalize()[..16]))
}

/// Where findings of a record go: everything but the span, which each
/// detection fills in.
#[derive(Debug, Clone)]
pub struct RecordContext<'a> {
    /// Scan id.
    pub scan_id: &'a str,
    /// Tenant.
    pub tenant: &'a str,
    /// Chunk id.
    pub chunk_id: &'a str,
    /// Location of the record; `start`, `end`, `line`, `column` are replaced.
    pub location: &'a Location,
}

/// Turns a detection into a finding: preview and fingerprint, never the value.
pub fn to_finding(
    engine: &Engine,
    key: &FingerprintKey,
    ctx: &RecordContext<'_>,
    d: &Detection,
) -> Finding {
    let rule = engine.rule(d.rule);
    let mut location = ctx.location.clone();
    location.start = d.start;
    location.end = d.end;
    location.line = d.line;
    location.column = d.column;
    if d.json_path.is_some() {
        location.json_path.clone_from(&d.json_path);
    }
    if d.field.is_some() {
        location.field.clone_from(&d.field);
    }
    Finding {
        v: 1,
        finding_id: finding_id(ctx.scan_id, &location, &rule.id),
        scan_id: ctx.scan_id.to_owned(),
        tenant: ctx.tenant.to_owned(),
        chunk_id: ctx.chunk_id.to_owned(),
        rule_id: rule.id.clone(),
        entity: rule.entity.clone(),
        category: rule.category,
        confidence: (f64::from(d.confidence) * 100.0).round() / 100.0,
        level: Level::of(f64::from(d.confidence)),
        location,
        preview: mask(&rule.entity, rule.category, &d.value),
        fingerprint: key.fingerprint(&rule.entity, rule.category, &d.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_preview_as_documented() {
        assert_eq!(
            mask("CREDIT_CARD", Category::Pii, b"4111 1111 1111 1111"),
            "4111 **** **** 1111"
        );
        assert_eq!(
            mask("CREDIT_CARD", Category::Pii, b"4111111111111111"),
            "4111********1111"
        );
    }

    #[test]
    fn previews_hide_the_value() {
        for (entity, cat, v) in [
            ("EMAIL", Category::Pii, "jane.doe@example.org"),
            ("US_SSN", Category::Pii, "536-22-8790"),
            ("PERSON", Category::Pii, "Jane Doe"),
            (
                "AWS_ACCESS_KEY_ID",
                Category::Secret,
                "AKIAZ3MHTJQ5F4GKRW7E",
            ),
            ("PASSWORD", Category::Secret, "hunter2"),
            ("IP_ADDRESS", Category::Pii, "10.1.2.3"),
        ] {
            let p = mask(entity, cat, v.as_bytes());
            assert!(!p.contains(v), "{entity}: {p}");
            assert!(p.contains('*'), "{entity}: {p}");
        }
        assert_eq!(mask("US_SSN", Category::Pii, b"536-22-8790"), "***-**-8790");
        assert_eq!(
            mask("EMAIL", Category::Pii, b"jane.doe@example.org"),
            "j***@example.org"
        );
        assert_eq!(
            mask("EMAIL", Category::Pii, b"jane.doe%40example.org"),
            "j***@example.org"
        );
    }

    #[test]
    fn fingerprints_are_keyed_and_normalised() {
        let k1 = FingerprintKey::from_hex(&"11".repeat(32)).unwrap();
        let k2 = FingerprintKey::from_hex(&"22".repeat(32)).unwrap();
        let a = k1.fingerprint("CREDIT_CARD", Category::Pii, b"4111 1111 1111 1111");
        assert_eq!(
            a,
            k1.fingerprint("CREDIT_CARD", Category::Pii, b"4111-1111-1111-1111")
        );
        assert_ne!(
            a,
            k2.fingerprint("CREDIT_CARD", Category::Pii, b"4111 1111 1111 1111")
        );
        assert!(a.starts_with("hmac-sha256:") && a.len() == 12 + 64);
        let email = k1.fingerprint("EMAIL", Category::Pii, b"ana.lima@northwind.io");
        assert_eq!(
            email,
            k1.fingerprint("EMAIL", Category::Pii, b"Ana.Lima%40Northwind.io")
        );
        assert_ne!(
            email,
            k1.fingerprint("EMAIL", Category::Pii, b"ana.lima@northwind.com")
        );
        assert!(FingerprintKey::from_hex("abc").is_err());
        assert_eq!(format!("{k1:?}"), "FingerprintKey(<redacted>)");
    }
}
