//! Values written with their format's escapes: a JSON string's `\u00e9`
//! (what Python's `json.dumps` writes for every character outside ASCII),
//! an SQL string's `''` and MySQL's `\'`, XML's `&amp;` and `&#233;`. A
//! rule that reads a whole value (`field_only`) reads the text the value
//! stands for, so that `Am\u00e9lie` under `first_name` is the name
//! `Amélie`, and its fingerprint is that of `Amélie` wherever it is found.

/// How a layout's values escape characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escapes {
    /// JSON strings: `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t` and
    /// `\uXXXX`, with surrogate pairs.
    Json,
    /// SQL strings: a doubled quote stands for one; with `backslash`
    /// (MySQL's dumps), a backslash escapes the next byte (`\n`, `\t`,
    /// `\r` and `\0` standing for control characters).
    Sql { backslash: bool },
    /// XML character data: the five predefined entities and character
    /// references.
    Xml,
    /// HL7 v2 fields, with the message's declared delimiters: `\F\`,
    /// `\S\`, `\T\`, `\R\` and `\E\` stand for the field, component,
    /// subcomponent, repetition and escape characters, and the
    /// highlighting marks `\H\` and `\N\` for nothing (`\` being the
    /// declared escape character).
    Hl7 { delimiters: Delimiters },
    /// LDIF and vCard values: a line break and one blank after it fold a
    /// long line and stand for nothing; in a vCard (`vcard`), `\,`, `\;`
    /// and `\\` stand for the character and `\n` for a line break.
    Card { vcard: bool },
}

/// An HL7 v2 message's delimiters, as its header declares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delimiters {
    pub(crate) field: u8,
    pub(crate) component: u8,
    pub(crate) repetition: u8,
    pub(crate) escape: u8,
    pub(crate) subcomponent: u8,
}

impl Escapes {
    /// When `raw` holds an escape: the text it stands for in `out`, and in
    /// `at` the offset in `raw` of the escape or byte that each byte of
    /// `out` comes from, then `raw.len()` (both cleared first). False,
    /// with `out` and `at` cleared, when `raw` holds no escape: it stands
    /// for itself. An escape that is not well formed stands for itself.
    pub(crate) fn unescape(self, raw: &[u8], out: &mut Vec<u8>, at: &mut Vec<u32>) -> bool {
        out.clear();
        at.clear();
        let escape;
        let marks: &[u8] = match self {
            Escapes::Json => b"\\",
            Escapes::Sql { backslash: true } => b"\\'",
            Escapes::Sql { backslash: false } => b"'",
            Escapes::Xml => b"&",
            Escapes::Hl7 { delimiters } => {
                escape = [delimiters.escape];
                &escape
            }
            Escapes::Card { vcard: true } => b"\n\\",
            Escapes::Card { vcard: false } => b"\n",
        };
        if !raw.iter().any(|b| marks.contains(b)) {
            return false;
        }
        let mut p = 0;
        while p < raw.len() {
            let (len, ch) = match self {
                Escapes::Json => json(&raw[p..]),
                Escapes::Sql { backslash } => sql(&raw[p..], backslash),
                Escapes::Xml => xml(&raw[p..]),
                Escapes::Hl7 { delimiters } => hl7(&raw[p..], delimiters),
                Escapes::Card { vcard } => card(&raw[p..], vcard),
            }
            .unwrap_or((1, Char::Byte(raw[p])));
            let from = out.len();
            match ch {
                Char::Nothing => {}
                Char::Byte(b) => out.push(b),
                Char::Scalar(c) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
            at.extend(std::iter::repeat_n(p as u32, out.len() - from));
            p += len;
        }
        at.push(raw.len() as u32);
        true
    }
}

/// A JSON key as the text it stands for (`pr\u00e9nom`: `prénom`).
pub(crate) fn json_key(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    let (mut text, mut at) = (Vec::new(), Vec::new());
    if Escapes::Json.unescape(raw, &mut text, &mut at) {
        std::borrow::Cow::Owned(String::from_utf8_lossy(&text).into_owned())
    } else {
        String::from_utf8_lossy(raw)
    }
}

/// What an escape stands for.
enum Char {
    Nothing,
    Byte(u8),
    Scalar(char),
}

/// The escape at the start of `s`, a JSON string's bytes: its length and
/// what it stands for.
fn json(s: &[u8]) -> Option<(usize, Char)> {
    if s[0] != b'\\' {
        return None;
    }
    let byte = match *s.get(1)? {
        b @ (b'"' | b'\\' | b'/') => b,
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'u' => {
            let high = hex4(s.get(2..6)?)?;
            if !(0xd800..0xdc00).contains(&high) {
                return Some((6, Char::Scalar(char::from_u32(high)?)));
            }
            // A high surrogate stands only with the low one after it.
            if s.get(6..8)? != b"\\u" {
                return None;
            }
            let low = hex4(s.get(8..12)?)?;
            if !(0xdc00..0xe000).contains(&low) {
                return None;
            }
            let c = 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
            return Some((12, Char::Scalar(char::from_u32(c)?)));
        }
        _ => return None,
    };
    Some((2, Char::Byte(byte)))
}

/// The value of four hex digits.
fn hex4(digits: &[u8]) -> Option<u32> {
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16)
        .ok()
        .filter(|_| digits.iter().all(u8::is_ascii_hexdigit))
}

/// The escape at the start of `s`, an SQL string's bytes.
fn sql(s: &[u8], backslash: bool) -> Option<(usize, Char)> {
    match s {
        [b'\'', b'\'', ..] => Some((2, Char::Byte(b'\''))),
        [b'\\', b, ..] if backslash => Some((
            2,
            Char::Byte(match b {
                b'n' => b'\n',
                b't' => b'\t',
                b'r' => b'\r',
                b'0' => 0,
                b'Z' => 0x1a,
                other => *other,
            }),
        )),
        _ => None,
    }
}

/// The escape sequence at the start of `s`, an HL7 field's bytes.
fn hl7(s: &[u8], d: Delimiters) -> Option<(usize, Char)> {
    match s {
        [e, code, close, ..] if *e == d.escape && *close == d.escape => {
            let ch = match code {
                b'F' => Char::Byte(d.field),
                b'S' => Char::Byte(d.component),
                b'T' => Char::Byte(d.subcomponent),
                b'R' => Char::Byte(d.repetition),
                b'E' => Char::Byte(d.escape),
                b'H' | b'N' => Char::Nothing,
                _ => return None,
            };
            Some((3, ch))
        }
        _ => None,
    }
}

/// The fold or escape at the start of `s`, an LDIF or vCard value.
fn card(s: &[u8], vcard: bool) -> Option<(usize, Char)> {
    match s {
        [b'\r', b'\n', b' ' | b'\t', ..] => Some((3, Char::Nothing)),
        [b'\n', b' ' | b'\t', ..] => Some((2, Char::Nothing)),
        [b'\\', b @ (b',' | b';' | b'\\' | b':'), ..] if vcard => Some((2, Char::Byte(*b))),
        [b'\\', b'n' | b'N', ..] if vcard => Some((2, Char::Byte(b'\n'))),
        _ => None,
    }
}

/// The entity or character reference at the start of `s`, XML text.
fn xml(s: &[u8]) -> Option<(usize, Char)> {
    if s[0] != b'&' {
        return None;
    }
    // The longest reference is `&#x10FFFF;`.
    let end = s.iter().take(10).position(|&b| b == b';')?;
    let name = &s[1..end];
    let byte = match name {
        b"amp" => b'&',
        b"lt" => b'<',
        b"gt" => b'>',
        b"quot" => b'"',
        b"apos" => b'\'',
        [b'#', b'x' | b'X', hex @ ..]
            if !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit) =>
        {
            let c = u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            return Some((end + 1, Char::Scalar(char::from_u32(c)?)));
        }
        [b'#', dec @ ..] if !dec.is_empty() && dec.iter().all(u8::is_ascii_digit) => {
            let c = std::str::from_utf8(dec).ok()?.parse().ok()?;
            return Some((end + 1, Char::Scalar(char::from_u32(c)?)));
        }
        _ => return None,
    };
    Some((end + 1, Char::Byte(byte)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text `raw` stands for, or `None` when it holds no escape; and
    /// checks the offsets.
    fn text(escapes: Escapes, raw: &str) -> Option<String> {
        let (mut out, mut at) = (Vec::new(), Vec::new());
        if !escapes.unescape(raw.as_bytes(), &mut out, &mut at) {
            assert!(out.is_empty() && at.is_empty());
            return None;
        }
        assert_eq!(at.len(), out.len() + 1);
        assert!(at.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*at.last().unwrap() as usize, raw.len());
        Some(String::from_utf8(out).unwrap())
    }

    #[test]
    fn json_escapes_stand_for_their_characters() {
        let t = |raw| text(Escapes::Json, raw);
        assert_eq!(t("Am\\u00e9lie").as_deref(), Some("Amélie"));
        assert_eq!(
            t("Fran\\u00E7ois M\\u00fcller").as_deref(),
            Some("François Müller")
        );
        assert_eq!(t("a\\\"b\\\\c\\/d\\n").as_deref(), Some("a\"b\\c/d\n"));
        assert_eq!(t("\\ud83d\\ude00!").as_deref(), Some("😀!"));
        assert_eq!(t("Amélie"), None);
        // Not well formed: kept as written.
        assert_eq!(t("\\ud83d x").as_deref(), Some("\\ud83d x"));
        assert_eq!(t("\\u00g1\\q\\").as_deref(), Some("\\u00g1\\q\\"));
    }

    #[test]
    fn json_keys_are_read_as_their_text() {
        assert_eq!(json_key(b"pr\\u00e9nom"), "prénom");
        assert_eq!(json_key(b"last_name"), "last_name");
    }

    #[test]
    fn sql_escapes_stand_for_their_characters() {
        let pg = |raw| text(Escapes::Sql { backslash: false }, raw);
        let mysql = |raw| text(Escapes::Sql { backslash: true }, raw);
        assert_eq!(pg("O''Donoghue").as_deref(), Some("O'Donoghue"));
        assert_eq!(pg("C:\\temp"), None);
        assert_eq!(mysql("O\\'Donoghue").as_deref(), Some("O'Donoghue"));
        assert_eq!(mysql("a\\nb\\\\c''").as_deref(), Some("a\nb\\c'"));
        assert_eq!(mysql("end\\").as_deref(), Some("end\\"));
    }

    #[test]
    fn xml_references_stand_for_their_characters() {
        let t = |raw| text(Escapes::Xml, raw);
        assert_eq!(t("Barnes &amp; Noble").as_deref(), Some("Barnes & Noble"));
        assert_eq!(t("Ren&#233;e &#x4E2D;").as_deref(), Some("Renée 中"));
        assert_eq!(t("a &b; &#xD800; &").as_deref(), Some("a &b; &#xD800; &"));
        assert_eq!(t("plain"), None);
    }

    #[test]
    fn hl7_escapes_stand_for_the_declared_delimiters() {
        let standard = Delimiters {
            field: b'|',
            component: b'^',
            repetition: b'~',
            escape: b'\\',
            subcomponent: b'&',
        };
        let t = |d, raw| text(Escapes::Hl7 { delimiters: d }, raw);
        assert_eq!(
            t(standard, "Barnes \\T\\ Noble\\F\\\\S\\\\R\\\\E\\").as_deref(),
            Some("Barnes & Noble|^~\\")
        );
        assert_eq!(t(standard, "\\H\\Ana\\N\\").as_deref(), Some("Ana"));
        assert_eq!(t(standard, "a\\Q\\b\\").as_deref(), Some("a\\Q\\b\\"));
        let declared = Delimiters {
            escape: b'!',
            ..standard
        };
        assert_eq!(t(declared, "A!T!B \\T\\").as_deref(), Some("A&B \\T\\"));
        assert_eq!(t(declared, "plain \\T\\"), None);
    }

    #[test]
    fn folded_lines_are_joined_and_vcard_escapes_read() {
        let vcard = |raw| text(Escapes::Card { vcard: true }, raw);
        let ldif = |raw| text(Escapes::Card { vcard: false }, raw);
        assert_eq!(
            vcard("12 Harbour Road\\, Fl\r\n oor 3\\;\\nx").as_deref(),
            Some("12 Harbour Road, Floor 3;\nx")
        );
        assert_eq!(
            ldif("Wellington Cres\n cent\\,").as_deref(),
            Some("Wellington Crescent\\,")
        );
        assert_eq!(ldif("no fold"), None);
        assert_eq!(vcard("a\\q\n\nb").as_deref(), Some("a\\q\n\nb"));
    }

    #[test]
    fn offsets_lead_back_to_the_escapes() {
        let (mut out, mut at) = (Vec::new(), Vec::new());
        assert!(Escapes::Json.unescape(b"x\\u00e9y", &mut out, &mut at));
        // x, then é's two bytes from the escape at 1, then y at 7.
        assert_eq!(at, [0, 1, 1, 7, 8]);
    }
}
