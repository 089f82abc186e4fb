//! Values stored encoded, which the rules cannot read as written: the
//! `data` entries of Kubernetes Secrets, base64 by the API's contract, and
//! LDIF attributes written `name:: base64` (what `ldapsearch` and `slapcat`
//! print for a `userPassword` or a name outside ASCII).
//!
//! A Secret's `data` map is found from its header: `data:` alone on its
//! line in YAML (the entries on the lines below, indented further), or
//! `"data": {` in JSON (`kubectl get secret -o json`). Each entry whose
//! value is padded standard base64 that decodes to text is handed back to
//! the engine, which scans the decoded text and reports what it finds on
//! the encoded characters ([`encoded_span`]). A map is read once, from its
//! first header; the parse is linear in the bytes it reads and stops at the
//! first byte that does not belong to the map.

use std::ops::Range;

use base64::Engine as _;

/// The literals that start a map or an encoded value, as the anchor search
/// looks for them (in the case written): YAML's `data:`, JSON's `"data"`
/// and LDIF's `:: ` (see [`Kind`]).
pub(crate) const HEADERS: [&[u8]; 3] = [b"data:", b"\"data\"", b":: "];

/// Which of [`HEADERS`] a header is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// A Secret's `data:` map in YAML.
    Yaml,
    /// A Secret's `"data": {` map in JSON.
    Json,
    /// An LDIF attribute `name:: base64`, its value possibly folded over
    /// lines that begin with a space.
    Ldif,
}

impl Kind {
    /// The kind of header `HEADERS[i]`.
    pub(crate) const ALL: [Kind; 3] = [Kind::Yaml, Kind::Json, Kind::Ldif];
}

/// One entry of a `data` map, or one LDIF attribute: its key and its value
/// as written (without quotes), as ranges of the buffer. A folded LDIF
/// value runs from its first character to the end of its last line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) key: Range<usize>,
    pub(crate) value: Range<usize>,
    /// An LDIF value: its lines are joined by a line break and a space.
    pub(crate) ldif: bool,
}

impl Entry {
    /// The encoded characters of the value, its lines joined, in `out`
    /// (cleared first).
    pub(crate) fn encoded(&self, buf: &[u8], out: &mut Vec<u8>) {
        out.clear();
        let value = &buf[self.value.clone()];
        if self.ldif {
            out.extend(
                value
                    .iter()
                    .filter(|&&b| !matches!(b, b'\r' | b'\n' | b' ')),
            );
        } else {
            out.extend_from_slice(value);
        }
    }
}

/// The entries of the map whose header (one of [`HEADERS`], `kind` telling
/// which) starts at `at`, appended to `out`. Returns where the map ends, so
/// that a header inside it is not read again; `at` itself when there is no
/// map there.
pub(crate) fn entries(buf: &[u8], at: usize, kind: Kind, out: &mut Vec<Entry>) -> usize {
    match kind {
        Kind::Yaml => yaml_entries(buf, at, out),
        Kind::Json => json_entries(buf, at, out),
        Kind::Ldif => ldif_entry(buf, at, out),
    }
}

/// The LDIF attribute whose `:: ` is at `at`: its description (a name and
/// options, `userPassword`, `cn;lang-de`) begins the line, and its value is
/// base64 up to the line's end, continued on each following line that
/// begins with one space (RFC 2849).
fn ldif_entry(buf: &[u8], at: usize, out: &mut Vec<Entry>) -> usize {
    let line_start = memchr::memrchr(b'\n', &buf[..at]).map_or(0, |n| n + 1);
    let name = &buf[line_start..at];
    let is_name_byte = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b';');
    if !name.first().is_some_and(u8::is_ascii_alphabetic) || !name.iter().all(is_name_byte) {
        return at;
    }
    let start = skip_blanks(buf, at + HEADERS[2].len(), buf.len());
    // Base64 up to the line's end (a carriage return before it allowed).
    let line_value = |from: usize| {
        let eol = line_end(buf, from);
        let text = buf[from..eol]
            .strip_suffix(b"\r")
            .unwrap_or(&buf[from..eol]);
        (text.iter().all(|&b| is_base64(b)) && !text.is_empty()).then_some(from + text.len())
    };
    let Some(mut end) = line_value(start) else {
        return at;
    };
    loop {
        let next = line_end(buf, end) + 1;
        if buf.get(next) != Some(&b' ') {
            break;
        }
        match line_value(next + 1) {
            Some(e) => end = e,
            None => break,
        }
    }
    out.push(Entry {
        key: line_start..at,
        value: start..end,
        ldif: true,
    });
    end
}

fn is_key_byte(b: u8) -> bool {
    // Kubernetes: keys are `[-._a-zA-Z0-9]+`.
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')
}

fn line_end(buf: &[u8], from: usize) -> usize {
    memchr::memchr(b'\n', &buf[from..]).map_or(buf.len(), |n| from + n)
}

fn skip_blanks(buf: &[u8], mut at: usize, end: usize) -> usize {
    while at < end && matches!(buf[at], b' ' | b'\t') {
        at += 1;
    }
    at
}

/// True when nothing but blanks, a comment or a carriage return is left
/// in `buf[at..end]`.
fn rest_is_empty(buf: &[u8], at: usize, end: usize) -> bool {
    let at = skip_blanks(buf, at, end);
    at == end || buf[at] == b'#' || (buf[at] == b'\r' && at + 1 == end)
}

fn yaml_entries(buf: &[u8], at: usize, out: &mut Vec<Entry>) -> usize {
    let line_start = memchr::memrchr(b'\n', &buf[..at]).map_or(0, |n| n + 1);
    // `data:` as the key of its line: indented by spaces, in a list item
    // (`- data:`) at most.
    let lead = &buf[line_start..at];
    let lead = lead.strip_suffix(b"- ").unwrap_or(lead);
    let header_end = at + HEADERS[0].len();
    let first = line_end(buf, header_end);
    if lead.iter().any(|&b| b != b' ') || !rest_is_empty(buf, header_end, first) {
        return at;
    }
    let indent = at - line_start;
    let mut entry_indent = None;
    let mut line = first + 1;
    let mut end = first;
    while line < buf.len() {
        let eol = line_end(buf, line);
        let text = skip_blanks(buf, line, eol);
        // Blank and comment lines belong to the map; YAML indents with
        // spaces only.
        if rest_is_empty(buf, line, eol) {
            line = eol + 1;
            continue;
        }
        if buf[line..text].contains(&b'\t') {
            break;
        }
        let ind = text - line;
        if ind <= indent || entry_indent.is_some_and(|e| ind < e) {
            break;
        }
        end = eol;
        if *entry_indent.get_or_insert(ind) == ind
            && let Some(entry) = yaml_entry(buf, text, eol)
        {
            out.push(entry);
        }
        line = eol + 1;
    }
    end
}

/// `key: value` in `buf[at..eol]`, key and value optionally quoted.
fn yaml_entry(buf: &[u8], at: usize, eol: usize) -> Option<Entry> {
    let (key, after) = match buf[at] {
        q @ (b'"' | b'\'') => {
            let close = at + 1 + memchr::memchr(q, &buf[at + 1..eol])?;
            (at + 1..close, close + 1)
        }
        _ => {
            let len = buf[at..eol].iter().take_while(|&&b| is_key_byte(b)).count();
            (at..at + len, at + len)
        }
    };
    if key.is_empty() || !buf[key.clone()].iter().all(|&b| is_key_byte(b)) {
        return None;
    }
    if buf.get(after) != Some(&b':') || !matches!(buf.get(after + 1), Some(b' ' | b'\t')) {
        return None;
    }
    let v = skip_blanks(buf, after + 1, eol);
    let (value, rest) = match buf.get(v) {
        Some(&q @ (b'"' | b'\'')) => {
            let close = v + 1 + memchr::memchr(q, &buf[v + 1..eol])?;
            (v + 1..close, close + 1)
        }
        _ => {
            let len = buf[v..eol].iter().take_while(|&&b| is_base64(b)).count();
            (v..v + len, v + len)
        }
    };
    (rest_is_empty(buf, rest, eol) && !value.is_empty()).then_some(Entry {
        key,
        value,
        ldif: false,
    })
}

fn skip_space(buf: &[u8], mut at: usize) -> usize {
    while at < buf.len() && buf[at].is_ascii_whitespace() {
        at += 1;
    }
    at
}

/// A JSON string without escapes starting at `at` (its opening quote).
fn json_string(buf: &[u8], at: usize) -> Option<Range<usize>> {
    if buf.get(at) != Some(&b'"') {
        return None;
    }
    let close = at + 1 + memchr::memchr(b'"', &buf[at + 1..])?;
    let s = at + 1..close;
    (!buf[s.clone()].contains(&b'\\')).then_some(s)
}

fn json_entries(buf: &[u8], at: usize, out: &mut Vec<Entry>) -> usize {
    let mut i = skip_space(buf, at + HEADERS[1].len());
    if buf.get(i) != Some(&b':') {
        return at;
    }
    i = skip_space(buf, i + 1);
    if buf.get(i) != Some(&b'{') {
        return at;
    }
    i += 1;
    let mut found = Vec::new();
    loop {
        i = skip_space(buf, i);
        if buf.get(i) == Some(&b'}') {
            break;
        }
        // Anything but `"key": "value"` pairs is not a Secret's map.
        let Some(key) = json_string(buf, i) else {
            return at;
        };
        i = skip_space(buf, key.end + 1);
        if buf.get(i) != Some(&b':') {
            return at;
        }
        i = skip_space(buf, i + 1);
        let Some(value) = json_string(buf, i) else {
            return at;
        };
        i = skip_space(buf, value.end + 1);
        if !value.is_empty() && buf[key.clone()].iter().all(|&b| is_key_byte(b)) {
            found.push(Entry {
                key,
                value,
                ldif: false,
            });
        }
        match buf.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => break,
            _ => return at,
        }
    }
    out.append(&mut found);
    i
}

fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')
}

/// Decodes padded standard base64 into `out` (cleared first) when it
/// decodes to text: UTF-8 with no control bytes but tab, CR and LF.
pub(crate) fn decode_text(encoded: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    // The standard engine takes only its alphabet, padded to whole groups.
    if base64::engine::general_purpose::STANDARD
        .decode_vec(encoded, out)
        .is_err()
    {
        return false;
    }
    !out.is_empty()
        && std::str::from_utf8(out).is_ok()
        && !out
            .iter()
            .any(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n')) || b == 0x7f)
}

/// The encoded characters, as offsets from the value's start, that carry
/// the decoded bytes `decoded` of a value `encoded_len` long: four
/// characters for each three bytes.
pub(crate) fn encoded_span(decoded: Range<usize>, encoded_len: usize) -> Range<usize> {
    let start = decoded.start / 3 * 4;
    let end = decoded.end.div_ceil(3) * 4;
    start..end.min(encoded_len)
}

/// The JSON path of entry `key` of a Secret's `data`: `$.data.password`,
/// or `$.data['tls.key']` when the key is not an identifier.
pub(crate) fn json_path(key: &str) -> String {
    let identifier = key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if identifier {
        format!("$.data.{key}")
    } else {
        format!("$.data['{key}']")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entries of the map whose header (`json` saying which) comes
    /// first in `text`, as (key, value).
    fn map(text: &str, kind: Kind) -> Vec<(String, String)> {
        let header = std::str::from_utf8(HEADERS[kind as usize]).unwrap();
        let at = text.find(header).unwrap();
        let mut out = Vec::new();
        entries(text.as_bytes(), at, kind, &mut out);
        out.iter()
            .map(|e| (text[e.key.clone()].into(), text[e.value.clone()].into()))
            .collect()
    }

    fn yaml(text: &str) -> Vec<(String, String)> {
        map(text, Kind::Yaml)
    }

    fn json(text: &str) -> Vec<(String, String)> {
        map(text, Kind::Json)
    }

    /// The LDIF attribute of the first `:: ` in `text`, its value's lines
    /// joined.
    fn ldif(text: &str) -> Vec<(String, String)> {
        let at = text.find(":: ").unwrap();
        let mut out = Vec::new();
        entries(text.as_bytes(), at, Kind::Ldif, &mut out);
        out.iter()
            .map(|e| {
                let mut joined = Vec::new();
                e.encoded(text.as_bytes(), &mut joined);
                (
                    text[e.key.clone()].into(),
                    String::from_utf8(joined).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn ldif_attributes_with_folded_values() {
        let text = "dn: uid=ingrid,ou=people,dc=fjordline,dc=no\nuserPassword:: e1NTSEF9K3VPZDFjQkZwcXhmUmhBV0o3WlJtTUhSY01CWWhWcURzVEdq\n YlE9PQ==\ncn;lang-no:: w4VzZQ==\r\nmail: ingrid@fjordline.no\n";
        assert_eq!(
            ldif(text),
            pairs(&[(
                "userPassword",
                "e1NTSEF9K3VPZDFjQkZwcXhmUmhBV0o3WlJtTUhSY01CWWhWcURzVEdqYlE9PQ=="
            )])
        );
        let from = text.find("cn;").unwrap();
        assert_eq!(ldif(&text[from..]), pairs(&[("cn;lang-no", "w4VzZQ==")]));
        // Not an attribute at the start of a line, nor a base64 value.
        assert!(ldif("x = a:: b64==\n").is_empty());
        assert!(ldif("Example:: see below\n").is_empty());
        assert!(ldif("::: YQ==\n").is_empty());
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    #[test]
    fn yaml_map_entries_until_the_indentation_drops() {
        let text = "apiVersion: v1\ndata:\n  password: aHVudGVyMg==\n  # a comment\n\n  \"tls.key\": 'LS0tLS1CRUdJTg=='\n  user: YWRtaW4= # admin\nkind: Secret\n  late: YWRtaW4=\n";
        assert_eq!(
            yaml(text),
            pairs(&[
                ("password", "aHVudGVyMg=="),
                ("tls.key", "LS0tLS1CRUdJTg=="),
                ("user", "YWRtaW4="),
            ])
        );
        // In a list of resources, and with CRLF line ends.
        let text = "items:\n- data:\n    token: dG9rZW4=\r\n  kind: Secret\r\n";
        assert_eq!(yaml(text), pairs(&[("token", "dG9rZW4=")]));
    }

    #[test]
    fn yaml_data_that_is_no_map_header_has_no_entries() {
        // Python's `if data:` holds the literal too.
        assert!(yaml("if data:\n    return data\n").is_empty());
        assert!(yaml("data: aGVsbG8=\n  x: eQ==\n").is_empty());
        assert!(yaml("metadata:\n  name: x\n").is_empty());
        // Entries deeper than the first belong to it, not to the map.
        assert_eq!(
            yaml("data:\n  a: YQ==\n    b: Yg==\n  c: Yw==\n"),
            pairs(&[("a", "YQ=="), ("c", "Yw==")])
        );
    }

    #[test]
    fn json_map_entries_and_what_is_no_secret_map() {
        let text = r#"{"apiVersion": "v1", "data": {"password": "aHVudGVyMg==",
            "tls.crt" : "LS0tLQ=="}, "kind": "Secret"}"#;
        assert_eq!(
            json(text),
            pairs(&[("password", "aHVudGVyMg=="), ("tls.crt", "LS0tLQ==")])
        );
        assert!(json(r#"{"data": {"n": 3}}"#).is_empty());
        assert!(json(r#"{"data": [1, 2]}"#).is_empty());
        assert!(json(r#"{"data": {"a": "YQ==""#).is_empty());
        assert!(json(r#"{"data": {}}"#).is_empty());
    }

    #[test]
    fn only_padded_base64_text_decodes() {
        let mut out = Vec::new();
        assert!(decode_text(b"aHVudGVyMg==", &mut out));
        assert_eq!(out, b"hunter2");
        assert!(decode_text(b"bGluZSAxCmxpbmUgMgo=", &mut out));
        assert_eq!(out, b"line 1\nline 2\n");
        // Unpadded, URL-safe, binary, not UTF-8.
        for bad in [&b"aHVudGVyMg"[..], b"_-__", b"AAECAw==", b"/w=="] {
            assert!(!decode_text(bad, &mut out), "{bad:?}");
        }
    }

    #[test]
    fn encoded_spans_cover_the_decoded_bytes() {
        // "hunter2" is aHVu dGVy Mg==: byte 3 ('t') is in the second quad.
        assert_eq!(encoded_span(3..4, 12), 4..8);
        assert_eq!(encoded_span(0..7, 12), 0..12);
        assert_eq!(encoded_span(2..4, 12), 0..8);
    }

    #[test]
    fn json_paths_name_the_entry() {
        assert_eq!(json_path("password"), "$.data.password");
        assert_eq!(json_path("tls.key"), "$.data['tls.key']");
        assert_eq!(
            json_path(".dockerconfigjson"),
            "$.data['.dockerconfigjson']"
        );
    }
}
