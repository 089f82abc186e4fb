//! JSON records as tables: each value of a JSON document, or of JSON lines,
//! gets the key it stands under as its column name, as a CSV cell gets its
//! header's ([`crate::table`]). Exports of document stores hold their
//! people this way (`{"first_name": "Margarethe", ...}`), often one level
//! down: DynamoDB's export format writes each value under its type
//! (`"last_name": {"S": "Okafor"}`) and MongoDB's extended JSON some
//! (`"dob": {"$date": "1984-03-17T00:00:00Z"}`); a value under such a
//! type key takes the key above it. The values of an array take the
//! array's key (`"phones": ["...", "..."]`). HL7 FHIR's `family` and
//! `given` inside `name` are `family_name` and `given_name`
//! ([`crate::layout::qualified`]).
//!
//! The reading is carried from buffer to buffer, so a value a million
//! lines into a document still has its key. Memory is bounded: at most 64
//! levels of nesting are followed (values deeper have no key), keys of at
//! most [`MAX_KEY`] bytes are kept, and a buffer's values.

use crate::layout::{Cells, NO_COLUMN, Reading};

/// Levels of nesting followed.
const MAX_DEPTH: usize = 64;
/// Longest key kept; longer keys name no column.
const MAX_KEY: usize = 128;
/// Bytes at a record's start read to tell JSON.
const MAX_PREAMBLE: usize = 1024;

/// Keys that name a value's type rather than the value: DynamoDB's
/// (`S`, `N`, ...) and MongoDB extended JSON's (`$date`, ...).
const TYPE_KEYS: [&str; 20] = [
    "S",
    "N",
    "B",
    "SS",
    "NS",
    "BS",
    "BOOL",
    "NULL",
    "M",
    "L",
    "$date",
    "$numberLong",
    "$numberInt",
    "$numberDouble",
    "$numberDecimal",
    "$oid",
    "$binary",
    "$uuid",
    "$string",
    "$regularExpression",
];

/// The reading of a record that is JSON.
#[derive(Debug, Default)]
pub(crate) struct Json {
    /// Keys, and the buffer's values.
    cells: Cells,
    /// Where the next buffer's reading resumes (a record offset at or
    /// after its first byte) and the reading there.
    carry: Option<(u64, State)>,
}

/// Where a reading stands, between two bytes. Offsets are record offsets,
/// so that a reading carries over to the next buffer unchanged.
#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    /// The containers open, outermost first.
    stack: Vec<Frame>,
    /// Containers open past [`MAX_DEPTH`]: their values have no key.
    deep: u32,
    /// The key read last in the innermost object, for its value.
    key: Key,
    /// The string read next is a `Name` or `Key`: it names the object's
    /// `Value`.
    naming: bool,
    mode: Mode,
}

/// An object or array open, with the column its values take when they
/// have no key of their own (an array's values) or a type key.
#[derive(Debug, Clone, Copy)]
struct Frame {
    array: bool,
    column: u32,
    /// The column a `Name` (or `Key`) string of this object names, for
    /// its `Value`.
    named: u32,
}

#[derive(Debug, Clone, Copy, Default)]
enum Key {
    /// None yet: a string here is a key.
    #[default]
    None,
    Column(u32),
    /// A type key: the value takes the key above.
    Type,
}

#[derive(Debug, Clone, Default)]
enum Mode {
    /// Outside strings and other values.
    #[default]
    Between,
    /// In a string: where its bytes start, whether it is a key (whose
    /// bytes before the buffer are in `head`), and whether a backslash
    /// ended the previous buffer.
    Str {
        start: u64,
        key: bool,
        escape: bool,
        head: Vec<u8>,
    },
    /// In a number, `true`, `false` or `null`.
    Scalar { start: u64 },
}

impl Json {
    /// A reading of the record that `record_start` begins, when it starts
    /// (blanks and a byte order mark aside) as exports are written: an
    /// object and its first key with nothing between (`{"`: compact JSON,
    /// JSON lines), or an array of objects in any layout (`[{"`, `[\n
    /// {\n "`). Other documents written for people to read (`{` and a
    /// line break: configuration, schemas, API examples) are left to the
    /// label rules, whose anchors find their keys at a fraction of the cost
    /// of reading them all.
    pub(crate) fn detect(record_start: &[u8]) -> Option<Json> {
        let head = crate::layout::preamble(record_start, MAX_PREAMBLE)?;
        // An array of objects in any layout: `mongoexport --jsonArray
        // --pretty`, `json.dump(rows, indent=2)`.
        let mut structure = head.iter().filter(|b| !b.is_ascii_whitespace());
        let records = structure.next() == Some(&b'[')
            && structure.next() == Some(&b'{')
            && structure.next() == Some(&b'"');
        let compact = head.starts_with(b"{\"");
        (compact || records || wrapped(head)).then(Json::default)
    }

    /// The keys and the values of the buffer read last.
    pub(crate) fn cells(&self) -> &Cells {
        &self.cells
    }
}

/// True for a `Name` that may name a column: an identifier or a path
/// (`given_name`, `custom:tier`, `/prod/db/password`), never words with
/// blanks, which may be a person's name.
fn is_identifier(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= MAX_KEY
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"_-./:".contains(&b))
}

/// Keys under which an API response or a CLI's output holds its records:
/// `aws dynamodb scan` (`Items`), `aws ssm get-parameters` (`Parameters`),
/// REST and search APIs.
const RECORD_KEYS: [&[u8]; 15] = [
    b"Items",
    b"Parameters",
    b"items",
    b"data",
    b"results",
    b"records",
    b"rows",
    b"users",
    b"Users",
    b"customers",
    b"contacts",
    b"members",
    b"people",
    b"patients",
    b"employees",
];

/// True when `head` is an object whose first key is one of
/// [`RECORD_KEYS`] and holds an array of objects, in any layout:
/// `{\n    "Items": [\n        {`; or an OData response, whose `value`
/// holds them after its `@odata.context`. Other objects laid out for reading
/// (JSON schemas, AWS's endpoint tables) are not read by key: on corpus
/// (a) that cost 8 % of the scan's speed for no finding.
fn wrapped(head: &[u8]) -> bool {
    let mut at = 0;
    let expect = |byte: u8, at: &mut usize| {
        while head.get(*at).is_some_and(u8::is_ascii_whitespace) {
            *at += 1;
        }
        let found = head.get(*at) == Some(&byte);
        *at += 1;
        found
    };
    if !expect(b'{', &mut at) || !expect(b'"', &mut at) {
        return false;
    }
    let Some(len) = memchr::memchr(b'"', &head[at.min(head.len())..]) else {
        return false;
    };
    let key = &head[at..at + len];
    at += len + 1;
    // OData (Microsoft Graph, Dynamics, SharePoint) states its metadata
    // document first and holds the records under `value`.
    let records = if key == b"@odata.context" {
        let string_end = (expect(b':', &mut at) && expect(b'"', &mut at))
            .then(|| memchr::memchr(b'"', &head[at.min(head.len())..]))
            .flatten();
        string_end.is_some_and(|len| {
            at += len + 1;
            let value = expect(b',', &mut at)
                && expect(b'"', &mut at)
                && head[at.min(head.len())..].starts_with(b"value\"");
            at += b"value\"".len();
            value
        })
    } else {
        RECORD_KEYS.contains(&key)
    };
    records && expect(b':', &mut at) && expect(b'[', &mut at) && expect(b'{', &mut at)
}

impl Reading for Json {
    type State = State;

    fn initial() -> State {
        State::default()
    }

    fn cells_mut(&mut self) -> &mut Cells {
        &mut self.cells
    }

    fn carry(&mut self) -> &mut Option<(u64, State)> {
        &mut self.carry
    }

    /// Reads on from `p` to the next point where the reading may be kept;
    /// returns that point.
    fn step(&mut self, buf: &[u8], offset: u64, p: usize, s: &mut State, _last: bool) -> usize {
        match &mut s.mode {
            Mode::Between => {
                // Blanks, colons and commas, in one go: a document laid out
                // for reading is half blanks.
                let mut p = p;
                while let Some(&b) = buf.get(p) {
                    match b {
                        b' ' | b'\t' | b'\r' | b'\n' | b':' => p += 1,
                        b',' => {
                            s.key = Key::None;
                            p += 1;
                        }
                        _ => break,
                    }
                }
                let Some(&b) = buf.get(p) else {
                    return p;
                };
                match b {
                    b'{' | b'[' => {
                        if s.deep > 0 || s.stack.len() == MAX_DEPTH {
                            s.deep += 1;
                        } else {
                            let column = s.column();
                            s.stack.push(Frame {
                                array: b == b'[',
                                column,
                                named: NO_COLUMN,
                            });
                        }
                        s.key = Key::None;
                    }
                    b'}' | b']' => {
                        if s.deep > 0 {
                            s.deep -= 1;
                        } else {
                            s.stack.pop();
                        }
                        s.key = Key::None;
                    }
                    b'"' => {
                        let key = s.deep == 0
                            && matches!(s.key, Key::None)
                            && s.stack.last().is_some_and(|f| !f.array);
                        s.mode = Mode::Str {
                            start: offset + p as u64 + 1,
                            key,
                            escape: false,
                            head: Vec::new(),
                        };
                    }
                    _ => {
                        s.mode = Mode::Scalar {
                            start: offset + p as u64,
                        }
                    }
                }
                p + 1
            }
            Mode::Str {
                start,
                key,
                escape,
                head,
            } => {
                let from = if *escape {
                    *escape = false;
                    p + 1
                } else {
                    p
                };
                let Some(q) = buf
                    .get(from..)
                    .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
                    .map(|q| from + q)
                else {
                    if *key {
                        let bytes = &buf[start.saturating_sub(offset) as usize..];
                        let room = MAX_KEY + 1 - head.len().min(MAX_KEY + 1);
                        head.extend_from_slice(&bytes[..bytes.len().min(room)]);
                    }
                    return buf.len();
                };
                if buf[q] == b'\\' {
                    if q + 1 >= buf.len() {
                        *escape = true;
                        return buf.len();
                    }
                    return q + 2;
                }
                let (start, key) = (*start, *key);
                let within = start >= offset;
                let begin = start.saturating_sub(offset) as usize;
                if key {
                    let name = if within {
                        &buf[begin..q]
                    } else {
                        head.extend_from_slice(&buf[..q.min(MAX_KEY + 1)]);
                        head.as_slice()
                    };
                    s.naming = matches!(name, b"Name" | b"name" | b"Key" | b"key");
                    let named = s.stack.last().map_or(NO_COLUMN, |f| f.named);
                    let k = if name.len() > MAX_KEY {
                        Key::Column(NO_COLUMN)
                    } else if TYPE_KEYS.iter().any(|t| t.as_bytes() == name) {
                        Key::Type
                    } else if named != NO_COLUMN && matches!(name, b"Value" | b"value") {
                        Key::Column(named)
                    } else {
                        let name = crate::unescape::json_key(name);
                        let parent = s.stack.last().map(|f| f.column);
                        let parent = parent.and_then(|c| self.cells.names().get(c as usize));
                        let name = crate::layout::qualified(parent.map(String::as_str), &name);
                        Key::Column(self.cells.intern(name))
                    };
                    s.key = k;
                } else {
                    let column = s.column();
                    self.cells
                        .push(begin, q, column, within.then_some(begin..q));
                    if std::mem::take(&mut s.naming) && within && is_identifier(&buf[begin..q]) {
                        let named = self.cells.intern(&String::from_utf8_lossy(&buf[begin..q]));
                        if let Some(frame) = s.stack.last_mut() {
                            frame.named = named;
                        }
                    }
                }
                s.mode = Mode::Between;
                q + 1
            }
            Mode::Scalar { start } => {
                let end = buf[p..]
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n'))
                    .map(|e| p + e);
                let Some(end) = end else {
                    return buf.len();
                };
                let start = *start;
                let begin = start.saturating_sub(offset) as usize;
                let column = s.column();
                self.cells
                    .push(begin, end, column, (start >= offset).then_some(begin..end));
                s.mode = Mode::Between;
                end
            }
        }
    }
}

impl State {
    /// The column of a value read here: its key's, the array's it is in,
    /// or, under a type key, the key above.
    fn column(&self) -> u32 {
        if self.deep > 0 {
            return NO_COLUMN;
        }
        match (self.stack.last(), self.key) {
            (None, _) => NO_COLUMN,
            (Some(f), _) if f.array => f.column,
            (Some(_), Key::Column(c)) => c,
            (Some(f), Key::Type) => f.column,
            (Some(_), Key::None) => NO_COLUMN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::tests::{pairs, read_split};

    /// Each value of `json`, read as buffers starting at `splits`: column
    /// name and value, for values that start in their buffer's region.
    fn values(json: &str, splits: &[usize]) -> Vec<(String, String)> {
        read_split(
            Json::detect(json.as_bytes()).expect("JSON"),
            json.as_bytes(),
            splits,
        )
    }

    #[test]
    fn values_take_their_keys_and_arrays_theirs() {
        let json = r#"{"id": 7, "last_name": "Okafor", "note": "say \"hi\", ok",
            "phones": ["+44 20 7946 0018", "0161 496 0729"], "home": {"street": "27 Wellington Rd"},
            "people": [{"first_name": "Ana"}, {"first_name": "Lars"}], "ok": true}"#;
        assert_eq!(
            values(json, &[]),
            pairs(&[
                ("id", "7"),
                ("last_name", "Okafor"),
                ("note", r#"say \"hi\", ok"#),
                ("phones", "+44 20 7946 0018"),
                ("phones", "0161 496 0729"),
                ("street", "27 Wellington Rd"),
                ("first_name", "Ana"),
                ("first_name", "Lars"),
                ("ok", "true"),
            ])
        );
    }

    #[test]
    fn values_under_type_keys_take_the_key_above_and_fhir_names_theirs() {
        let json = concat!(
            r#"{"Item":{"last_name":{"S":"Okafor"},"age":{"N":"41"},"tags":{"L":[{"S":"vip"}]}}}"#,
            "\n",
            r#"{"_id":{"$oid":"65f1c0a2e4b0a1b2c3d4e5f6"},"dob":{"$date":"1984-03-17T00:00:00Z"}}"#,
            "\n",
            r#"{"resourceType":"Patient","name":[{"family":"Chalmers","given":["Peter"]}],"font":{"family":"Sans"}}"#,
            "\n"
        );
        assert_eq!(
            values(json, &[]),
            pairs(&[
                ("last_name", "Okafor"),
                ("age", "41"),
                ("tags", "vip"),
                ("_id", "65f1c0a2e4b0a1b2c3d4e5f6"),
                ("dob", "1984-03-17T00:00:00Z"),
                ("resourceType", "Patient"),
                ("family_name", "Chalmers"),
                ("given_name", "Peter"),
                ("family", "Sans"),
            ])
        );
    }

    #[test]
    fn a_reading_carries_over_between_buffers_at_any_byte() {
        let json =
            r#"[{"surname": "Lindqvist", "n": 12345, "esc": "a\\b\"c"}, {"surname": "Okafor"}]"#;
        let whole = values(json, &[]);
        assert_eq!(whole.len(), 4);
        for split in 1..json.len() {
            // A value cut by a buffer's start is the earlier buffer's, or
            // has no whole value in the later one: never a wrong column.
            let parts = values(json, &[split]);
            for pair in &parts {
                assert!(whole.contains(pair), "split {split}: {pair:?}");
            }
        }
        assert_eq!(values(json, &[3, 20, 40, 60]), whole);
    }

    #[test]
    fn a_value_named_by_a_sibling_name_takes_that_name() {
        let json = r#"{"Users": [{"Attributes": [{"Name": "family_name", "Value": "Oyelaran"},
            {"Value": "x", "Name": "given_name"}, {"Name": "Ana Lima", "Value": 5},
            {"Key": "/prod/db/password", "Type": "SecureString", "Value": "Vq8r"}]}]}"#;
        let pairs_read = values(json, &[]);
        for pair in [
            ("family_name", "Oyelaran"),
            ("/prod/db/password", "Vq8r"),
            ("Value", "x"),
        ] {
            assert!(
                pairs_read.contains(&(pair.0.to_string(), pair.1.to_string())),
                "{pair:?} in {pairs_read:?}"
            );
        }
        // A name with blanks may be a person's: it names no column.
        assert!(pairs_read.contains(&("Value".to_string(), "5".to_string())));
    }

    #[test]
    fn only_exports_are_read_as_json() {
        for text in [
            "[section]\nkey = 1\n",
            "{{ template }}",
            "id,name\n",
            "{\n  x = 1;\n}",
            "{\n  \"pretty\": true\n}",
            "[1, 2]",
            "[\n  \"a\"\n]",
            "",
        ] {
            assert!(Json::detect(text.as_bytes()).is_none(), "{text:?}");
        }
        assert!(Json::detect(b"\xef\xbb\xbf [{\"a\": 1}]").is_some());
        assert!(Json::detect(b"{\"Item\":{\"id\":{\"N\":\"1\"}}}\n").is_some());
        assert!(Json::detect(b"[\n  {\n    \"id\": 1\n  }\n]\n").is_some());
        // An object holding records under its first key is read when the
        // key is one that APIs and CLIs hold records under; any other is
        // as often a schema (`{"allOf": [{"if": ...`) or an endpoint table.
        assert!(Json::detect(b"{\n  \"users\": [\n    {\n      \"id\": 1\n").is_some());
        assert!(Json::detect(b"{\n    \"Items\": [\n        {\n").is_some());
        let graph = b"{\n  \"@odata.context\": \"https://graph.microsoft.com/v1.0/$metadata#users\",\n  \"value\": [\n    {\n";
        assert!(Json::detect(graph).is_some());
        for text in [
            &b"{\n  \"partitions\": [\n    {\n"[..],
            b"{\n  \"allOf\": [{\"if\": 1}]\n}",
            b"{\n  \"users\": [\"ana\", \"lars\"]\n}",
            b"{\n  \"users\": {\n",
            b"{\n  \"version\": \"1.0\",\n  \"examples\": [{\n",
            b"{\n  \"users",
            b"{\n  \"@odata.context\": \"https://x/$metadata#users/$entity\",\n  \"id\": \"1\"",
            b"{\n  \"@odata.context\": \"https://x/$metadata#users\",\n  \"value\": \"a\"",
        ] {
            assert!(
                Json::detect(text).is_none(),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }
}
