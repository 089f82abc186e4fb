//! Directory entries and contact cards as tables: each line of an LDIF
//! file (`ldapsearch`, `slapcat`, an Active Directory export) or of a vCard
//! (a phone's or a mail client's address book) is an attribute and its
//! value, and the value gets the attribute's name as its column name, as a
//! CSV cell gets its header's ([`crate::table`]).
//!
//! The schemas' short names say what a value is only to those who know
//! them, so the people's attributes are named as the rules' context words
//! name them ([`ldif_column`]): LDAP's `sn` is a `surname` and `givenName`
//! a `given_name`; `cn` and `displayName` hold a group's name as often as a
//! person's, so they are a bare `name`, whose rule asks for a known given
//! name first. A vCard's `N` is read by its parts (family, given and
//! middle names) and its `ADR` by its street; `FN` is a `full_name` and
//! `BDAY` a `birth_date`.
//!
//! An LDIF record starts (comments aside) with `version: 1` or a `dn:`
//! line; a vCard with `BEGIN:VCARD`. Values encoded in base64 (`sn::`) are
//! read decoded by [`crate::decode`], under the same names. A line
//! continued on the next (which begins with a blank) is read whole, and a
//! value's folds and a vCard's escapes (`\,`) are read as what they stand
//! for ([`crate::unescape`]). The reading is carried from buffer to buffer a line at a
//! time; it keeps a buffer's values and the names met, at most 65,536.

use crate::layout::{Cells, Reading, starts_with_caseless};

/// Bytes at a record's start read to tell its format.
const MAX_PREAMBLE: usize = 1024;
/// Longest attribute name kept.
const MAX_NAME: usize = 128;

/// Which format a record is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Ldif,
    Vcard,
}

/// The reading of a record that is LDIF or a vCard.
#[derive(Debug)]
pub(crate) struct Card {
    format: Format,
    /// Names, and the buffer's values.
    cells: Cells,
    /// Where the next buffer's reading resumes, and whether the rest of a
    /// line is to be passed over there.
    carry: Option<(u64, bool)>,
}

impl Card {
    /// A reading of the record that `record_start` begins, when it is an
    /// LDIF file or a vCard.
    pub(crate) fn detect(record_start: &[u8]) -> Option<Card> {
        let head = crate::layout::preamble(record_start, MAX_PREAMBLE)?;
        let format = if starts_with_caseless(head, b"BEGIN:VCARD") {
            Format::Vcard
        } else {
            // Comment lines may come first.
            let mut lines = head.split(|&b| b == b'\n').map(<[u8]>::trim_ascii_end);
            let first = lines.find(|l| !l.is_empty() && !l.starts_with(b"#"))?;
            let ldif = first.starts_with(b"version: 1")
                || (starts_with_caseless(first, b"dn:") && first.len() > 3);
            if !ldif {
                return None;
            }
            Format::Ldif
        };
        Some(Card {
            format,
            cells: Cells::default(),
            carry: None,
        })
    }

    /// The names and the values of the buffer read last.
    pub(crate) fn cells(&self) -> &Cells {
        &self.cells
    }

    /// How the values fold and escape characters.
    pub(crate) fn escapes(&self) -> crate::unescape::Escapes {
        crate::unescape::Escapes::Card {
            vcard: self.format == Format::Vcard,
        }
    }

    /// Reads the line `buf[start..end]` (without its line break).
    fn line(&mut self, buf: &[u8], start: usize, end: usize) {
        let line = &buf[start..end];
        if line.is_empty() || matches!(line[0], b' ' | b'\t' | b'#') {
            return;
        }
        match self.format {
            Format::Ldif => self.ldif_line(buf, start, end),
            Format::Vcard => self.vcard_line(buf, start, end),
        }
    }

    /// `name: value` (or `name;option: value`); `name:: base64` and
    /// `name:< url` are left to [`crate::decode`] and to the rules.
    fn ldif_line(&mut self, buf: &[u8], start: usize, end: usize) {
        let Some(colon) = memchr::memchr(b':', &buf[start..end]).map(|c| start + c) else {
            return;
        };
        if matches!(buf.get(colon + 1), Some(b':' | b'<')) || colon + 1 >= end {
            return;
        }
        let name = &buf[start..colon];
        let name = &name[..memchr::memchr(b';', name).unwrap_or(name.len())];
        if name.is_empty() || name.len() > MAX_NAME {
            return;
        }
        let column = self
            .cells
            .intern(&ldif_column(&String::from_utf8_lossy(name)));
        // A postal address's lines are joined by `$`: its first is the street.
        let value_end = memchr::memchr(b'$', &buf[colon + 1..end]).map_or(end, |d| colon + 1 + d);
        let value = crate::table::trim_quoted(buf, colon + 1..value_end, b"");
        self.cells.push(colon + 1, end, column, Some(value));
    }

    /// `[group.]NAME[;PARAM=...]:value`; the parts of `N` and `ADR`, split
    /// at their `;`, are cells of their own.
    fn vcard_line(&mut self, buf: &[u8], start: usize, end: usize) {
        let line = &buf[start..end];
        let Some(colon) = value_colon(line).map(|c| start + c) else {
            return;
        };
        let head = &buf[start..colon];
        let name = &head[..memchr::memchr(b';', head).unwrap_or(head.len())];
        let name = name.rsplit(|&b| b == b'.').next().unwrap_or(name);
        if name.is_empty() || name.len() > MAX_NAME {
            return;
        }
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        let parts: &[Option<&str>] = match name.as_str() {
            "n" => &[Some("family_name"), Some("given_name"), Some("middle_name")],
            "adr" => &[None, None, Some("street_address")],
            _ => {
                let column = match name.as_str() {
                    "fn" => "full_name",
                    "bday" => "birth_date",
                    "tel" => "phone",
                    "email" => "email",
                    other => other,
                };
                let column = self.cells.intern(column);
                let value = crate::table::trim_quoted(buf, colon + 1..end, b"");
                self.cells.push(colon + 1, end, column, Some(value));
                return;
            }
        };
        let mut at = colon + 1;
        for part in parts {
            let stop = part_end(buf, at, end);
            if let Some(column) = part {
                let column = self.cells.intern(column);
                let value = crate::table::trim_quoted(buf, at..stop, b"");
                self.cells.push(at, stop, column, Some(value));
            }
            if stop == end {
                break;
            }
            at = stop + 1;
        }
    }
}

impl Reading for Card {
    /// Whether the rest of a line is to be passed over.
    type State = bool;

    fn initial() -> bool {
        false
    }

    fn cells_mut(&mut self) -> &mut Cells {
        &mut self.cells
    }

    fn carry(&mut self) -> &mut Option<(u64, bool)> {
        &mut self.carry
    }

    /// Reads the line that starts at `p` ([`crate::layout::line_step`]).
    fn step(&mut self, buf: &[u8], _offset: u64, p: usize, skip: &mut bool, last: bool) -> usize {
        crate::layout::line_step(
            buf,
            p,
            skip,
            crate::layout::Lines::Folded,
            last,
            |start, end| self.line(buf, start, end),
        )
    }
}

/// The column name of an LDAP attribute: the people's attributes of the
/// `inetOrgPerson` and Active Directory schemas as the rules' context
/// words name them, any other its own name.
pub(crate) fn ldif_column(name: &str) -> std::borrow::Cow<'_, str> {
    let canonical = match name.to_ascii_lowercase().as_str() {
        "sn" | "surname" => "surname",
        "givenname" | "gn" => "given_name",
        "cn" | "commonname" | "displayname" => "name",
        "middlename" => "middle_name",
        "mail" | "rfc822mailbox" | "othermailbox" => "email",
        "telephonenumber"
        | "homephone"
        | "mobile"
        | "mobiletelephonenumber"
        | "othermobile"
        | "otherhomephone"
        | "pager"
        | "facsimiletelephonenumber"
        | "ipphone" => "phone",
        "street" | "streetaddress" | "homepostaladdress" | "postaladdress"
        | "registeredaddress" => "street_address",
        "birthdate" | "dateofbirth" => "birth_date",
        _ => return std::borrow::Cow::Borrowed(name),
    };
    std::borrow::Cow::Borrowed(canonical)
}

/// Where a vCard line's value starts: its first `:` outside a quoted
/// parameter value.
fn value_colon(line: &[u8]) -> Option<usize> {
    let mut quoted = false;
    for (i, &b) in line.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b':' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// Where the part of a structured vCard value that starts at `at` ends:
/// its first `;` not escaped (`\;`), or `end`.
fn part_end(buf: &[u8], mut at: usize, end: usize) -> usize {
    while at < end {
        match buf[at] {
            b'\\' => at += 2,
            b';' => return at,
            _ => at += 1,
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::tests::{check_random_tails, check_splits, pairs, read_split};

    const SAMPLES: [&str; 2] = [
        include_str!("../../fuzz/seed-texts/people.ldif"),
        include_str!("../../fuzz/seed-texts/contacts.vcf"),
    ];
    const FORMAT_BYTES: &[u8] = b"\n\r :;.,=\\\"$ abcnNsSADR";

    fn values(text: &str) -> Vec<(String, String)> {
        read_split(
            Card::detect(text.as_bytes()).expect("LDIF or vCard"),
            text.as_bytes(),
            &[],
        )
    }

    #[test]
    fn ldif_attributes_take_the_names_the_rules_know() {
        let ldif = "# people\nversion: 1\n\ndn: uid=ak,ou=people,dc=example,dc=org\r\n\
                    objectClass: inetOrgPerson\nsn: Kowalczyk\ngivenName;lang-pl: Małgorzata\n\
                    cn:: TcWCZ29yemF0YQ==\ndisplayName: Małgorzata Kowalczyk\n\
                    postalAddress: 12 Mill Lane$Leeds\njpegPhoto:< file:///tmp/a.jpg\n \
                    continued\ntelephoneNumber: +44 113 496 0000\n";
        assert_eq!(
            values(ldif),
            pairs(&[
                ("version", "1"),
                ("dn", "uid=ak,ou=people,dc=example,dc=org"),
                ("objectClass", "inetOrgPerson"),
                ("surname", "Kowalczyk"),
                ("given_name", "Małgorzata"),
                ("name", "Małgorzata Kowalczyk"),
                ("street_address", "12 Mill Lane"),
                ("phone", "+44 113 496 0000"),
            ])
        );
    }

    #[test]
    fn vcard_names_and_addresses_are_read_by_their_parts() {
        let vcard = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Solberg;Ingrid;Marie;Dr.;\r\n\
                     FN:Ingrid Solberg\r\nitem1.ADR;TYPE=home:;;42 Larchmont Avenue;Springfield;IL;62704;USA\r\n\
                     TEL;TYPE=\"cell,voice\":+1 415 839 2274\r\nBDAY:1979-08-23\r\nNOTE:a\\; b\r\nEND:VCARD\r\n";
        assert_eq!(
            values(vcard),
            pairs(&[
                ("begin", "VCARD"),
                ("version", "3.0"),
                ("family_name", "Solberg"),
                ("given_name", "Ingrid"),
                ("middle_name", "Marie"),
                ("full_name", "Ingrid Solberg"),
                ("street_address", "42 Larchmont Avenue"),
                ("phone", "+1 415 839 2274"),
                ("birth_date", "1979-08-23"),
                ("note", "a\\; b"),
                ("end", "VCARD"),
            ])
        );
    }

    #[test]
    fn a_line_cut_by_the_buffer_is_read_by_the_next() {
        let text = "version: 1\nsn: Kowalczyk\ngivenName: Anna\n";
        let mut reader = Card::detect(text.as_bytes()).unwrap();
        // The first buffer ends inside the second line; the next starts
        // at that line.
        let cut = text.find("Kowal").unwrap() + 2;
        reader.read(&text.as_bytes()[..cut], 0, true, 11, false);
        let second = &text.as_bytes()[11..];
        reader.read(second, 11, false, second.len(), true);
        let mut out = Vec::new();
        reader.cells().values(0..second.len(), |c, v| {
            out.push((
                reader.cells().names()[c].clone(),
                text[11 + v.start..11 + v.end].to_owned(),
            ));
        });
        assert_eq!(
            out,
            pairs(&[("surname", "Kowalczyk"), ("given_name", "Anna")])
        );
    }

    #[test]
    fn records_of_other_formats_are_no_cards() {
        for text in [
            "dn\n",
            "version: 2\n",
            "BEGIN:VCALENDAR\n",
            "name: x\ndn: y\n",
            "",
        ] {
            assert!(Card::detect(text.as_bytes()).is_none(), "{text}");
        }
    }

    #[test]
    fn a_reading_carries_over_between_buffers_at_any_byte() {
        for text in SAMPLES {
            assert!(check_splits(Card::detect, text.as_bytes()).len() >= 8);
        }
    }

    #[test]
    fn bytes_of_any_kind_after_the_header_are_read_without_fault() {
        for sample in SAMPLES {
            check_random_tails(Card::detect, sample.as_bytes(), FORMAT_BYTES);
        }
    }
}
