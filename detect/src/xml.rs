//! XML records as tables: the text of an element that holds no other
//! element gets the element's name as its column name, as a CSV cell gets
//! its header's ([`crate::table`]): `<last_name>Okafor</last_name>`. Two
//! layouts of exports name the column elsewhere, and are read so:
//! `mysqldump --xml` writes `<field name="last_name">Okafor</field>` (the
//! `name` attribute of a `field` or `column` element names the column), and
//! HL7 FHIR writes `<family value="Chalmers"/>` (a `value` attribute is
//! the element's value). Other attributes are values of their own names,
//! as SQL Server's `FOR XML RAW` writes a row (`<row first_name="Ana"/>`).
//!
//! Only a record that starts with an XML declaration (`<?xml`) and is no
//! web page or drawing (no `<html` or `<svg` at its start) is read. The
//! reading is carried from buffer to buffer; memory is bounded: 64 levels
//! of elements are followed, names of at most [`MAX_NAME`] bytes kept, and
//! a buffer's values.

use crate::layout::{Cells, NO_COLUMN, Reading};

/// Levels of elements followed.
const MAX_DEPTH: usize = 64;
/// Longest element or column name kept.
const MAX_NAME: usize = 128;
/// Longest tag read; a longer one is passed over.
const MAX_TAG: usize = 4096;
/// Bytes at a record's start read to tell XML.
const MAX_PREAMBLE: usize = 1024;

/// The reading of a record that is XML.
#[derive(Debug, Default)]
pub(crate) struct Xml {
    /// Names, and the buffer's values.
    cells: Cells,
    /// Where the next buffer's reading resumes and the reading there.
    carry: Option<(u64, State)>,
}

/// Where a reading stands, between two bytes; offsets are record offsets.
#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    /// The columns of the elements open, outermost first.
    stack: Vec<u32>,
    /// Elements open past [`MAX_DEPTH`].
    deep: u32,
    /// Where the text of the innermost element starts, while no other
    /// element has started in it.
    text: Option<u64>,
    /// Inside a comment, a CDATA section or a processing instruction:
    /// the bytes that end it.
    skip: Option<&'static [u8]>,
}

impl Xml {
    /// A reading of the record that `record_start` begins, when it starts
    /// (blanks and a byte order mark aside) with an XML declaration and is
    /// no XHTML page or SVG drawing.
    pub(crate) fn detect(record_start: &[u8]) -> Option<Xml> {
        let head = crate::layout::preamble(record_start, MAX_PREAMBLE)?;
        let page = |word: &[u8]| {
            head.windows(word.len())
                .any(|w| w.eq_ignore_ascii_case(word))
        };
        (head.starts_with(b"<?xml") && !page(b"<html") && !page(b"<svg") && !page(b"doctype html"))
            .then(Xml::default)
    }

    /// The names and the values of the buffer read last.
    pub(crate) fn cells(&self) -> &Cells {
        &self.cells
    }

    /// The column an element's tag (its bytes between `<` and `>`) names:
    /// its `name` attribute for a `field` or `column` element, its own
    /// name (without a namespace prefix) otherwise; inside the element
    /// of column `parent`.
    fn column_of(&mut self, tag: &[u8], parent: Option<u32>) -> u32 {
        let end = tag
            .iter()
            .position(|b| b.is_ascii_whitespace() || *b == b'/')
            .unwrap_or(tag.len());
        let name = &tag[..end];
        let local = name.rsplit(|&b| b == b':').next().unwrap_or(name);
        let named = if is_field(tag) {
            attributes(tag)
                .find(|(n, _)| &tag[n.clone()] == b"name")
                .map(|(_, v)| &tag[v])
        } else {
            None
        };
        let column = named.unwrap_or(local);
        if column.is_empty() || column.len() > MAX_NAME {
            return NO_COLUMN;
        }
        let column = String::from_utf8_lossy(column);
        let parent = parent.and_then(|c| self.cells.names().get(c as usize));
        let column = crate::layout::qualified(parent.map(String::as_str), &column);
        self.cells.intern(column)
    }
}

impl Reading for Xml {
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

    /// Reads on from `p` to the end of the next tag (or of what is skipped);
    /// returns where the reading stands then.
    fn step(&mut self, buf: &[u8], offset: u64, p: usize, s: &mut State, _last: bool) -> usize {
        if let Some(end) = s.skip {
            return match memchr::memmem::find(&buf[p..], end) {
                Some(e) => {
                    s.skip = None;
                    p + e + end.len()
                }
                None => buf.len().max(p + 1),
            };
        }
        let Some(lt) = memchr::memchr(b'<', &buf[p..]).map(|e| p + e) else {
            return buf.len();
        };
        let rest = &buf[lt..];
        for (open, close) in [
            (&b"<!--"[..], &b"-->"[..]),
            (b"<![CDATA[", b"]]>"),
            (b"<?", b"?>"),
        ] {
            if rest.starts_with(open) {
                s.skip = Some(close);
                return lt + open.len();
            }
        }
        let Some(gt) = tag_end(&rest[..rest.len().min(MAX_TAG)]).map(|e| lt + e) else {
            // A tag cut by the buffer, or no tag: passed over.
            return lt + 1;
        };
        let tag = &buf[lt + 1..gt];
        if tag.starts_with(b"/") {
            if let Some(text) = s.text.take() {
                let column = s.column();
                let start = text.saturating_sub(offset) as usize;
                let value = (text >= offset).then(|| text_value(buf, start, lt));
                self.cells.push(start.min(lt), lt, column, value);
            }
            if s.deep > 0 {
                s.deep -= 1;
            } else {
                s.stack.pop();
            }
            return gt + 1;
        }
        if tag.first() == Some(&b'!') {
            // A declaration (`<!DOCTYPE ...>`).
            return gt + 1;
        }
        let empty = tag.last() == Some(&b'/');
        let column = self.column_of(tag, s.stack.last().copied().filter(|_| s.deep == 0));
        let field = is_field(tag);
        for (name, value) in attributes(tag) {
            let name = &tag[name];
            let local = name.rsplit(|&b| b == b':').next().unwrap_or(name);
            let of = if local == b"value" {
                column
            } else if name.starts_with(b"xmlns")
                || name.starts_with(b"xsi:")
                || (field && local == b"name")
            {
                continue;
            } else if local.len() > MAX_NAME {
                NO_COLUMN
            } else {
                self.cells.intern(&String::from_utf8_lossy(local))
            };
            let (start, end) = (lt + 1 + value.start, lt + 1 + value.end);
            self.cells.push(start, end, of, Some(start..end));
        }
        s.text = None;
        if !empty {
            if s.deep > 0 || s.stack.len() == MAX_DEPTH {
                s.deep += 1;
            } else {
                s.stack.push(column);
            }
            s.text = Some(offset + gt as u64 + 1);
        }
        gt + 1
    }
}

impl State {
    fn column(&self) -> u32 {
        if self.deep > 0 {
            return NO_COLUMN;
        }
        self.stack.last().copied().unwrap_or(NO_COLUMN)
    }
}

/// Where the tag that `text` starts (at its `<`) ends: its `>`, outside
/// quoted attribute values.
fn tag_end(text: &[u8]) -> Option<usize> {
    let mut quote = 0u8;
    for (i, &b) in text.iter().enumerate().skip(1) {
        match b {
            b'"' | b'\'' if quote == 0 => quote = b,
            _ if b == quote => quote = 0,
            b'>' if quote == 0 => return Some(i),
            b'<' if quote == 0 => return None,
            _ => {}
        }
    }
    None
}

/// True for a tag of a `field` or `column` element, whose `name`
/// attribute names a column (`mysqldump --xml`).
fn is_field(tag: &[u8]) -> bool {
    let end = tag
        .iter()
        .position(|b| b.is_ascii_whitespace() || *b == b'/')
        .unwrap_or(tag.len());
    let local = tag[..end]
        .rsplit(|&b| b == b':')
        .next()
        .unwrap_or(&tag[..end]);
    local == b"field" || local == b"column"
}

/// The attributes of `tag` (its bytes between `<` and `>`): each one's
/// name and value (without quotes), as ranges of `tag`.
fn attributes(
    tag: &[u8],
) -> impl Iterator<Item = (std::ops::Range<usize>, std::ops::Range<usize>)> + '_ {
    let blank = |b: &u8| b.is_ascii_whitespace();
    // Past the element's name.
    let mut at = tag.iter().position(blank).unwrap_or(tag.len());
    std::iter::from_fn(move || {
        {
            at += tag[at..].iter().take_while(|b| blank(b)).count();
            let name_len = tag[at..]
                .iter()
                .take_while(|&&b| !blank(&b) && b != b'=' && b != b'/')
                .count();
            if name_len == 0 {
                return None;
            }
            let name = at..at + name_len;
            at += name_len;
            at += tag[at..].iter().take_while(|b| blank(b)).count();
            if tag.get(at) != Some(&b'=') {
                // An attribute without a value: none follows that can be read.
                return None;
            }
            at += 1;
            at += tag[at..].iter().take_while(|b| blank(b)).count();
            let quote = *tag.get(at)?;
            if quote != b'"' && quote != b'\'' {
                return None;
            }
            let len = memchr::memchr(quote, &tag[at + 1..])?;
            let value = at + 1..at + 1 + len;
            at = value.end + 1;
            Some((name, value))
        }
    })
}

/// The text in `buf[start..end]`: without the blanks around it, nor the
/// markers of a CDATA section around that.
fn text_value(buf: &[u8], start: usize, end: usize) -> std::ops::Range<usize> {
    let value = crate::table::trim_quoted(buf, start.min(end)..end, b"");
    let bytes = &buf[value.clone()];
    if bytes.starts_with(b"<![CDATA[") && bytes.ends_with(b"]]>") && bytes.len() >= 12 {
        return value.start + 9..value.end - 3;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::tests::{pairs, read_split};

    fn values(xml: &str) -> Vec<(String, String)> {
        read_split(
            Xml::detect(xml.as_bytes()).expect("XML"),
            xml.as_bytes(),
            &[],
        )
    }

    #[test]
    fn element_text_takes_the_elements_name() {
        let xml = "<?xml version=\"1.0\"?>\n<!-- people <b>x</b> -->\n<people>\n  <person id=\"7\">\n    \
                   <last_name> Okafor </last_name>\n    <note><![CDATA[a <b> c]]></note>\n    \
                   <p:first_name xmlns:p=\"urn:x\">Ana</p:first_name><empty/>\n  </person>\n</people>\n";
        assert_eq!(
            values(xml),
            pairs(&[
                ("id", "7"),
                ("last_name", "Okafor"),
                ("note", "a <b> c"),
                ("first_name", "Ana")
            ])
        );
    }

    #[test]
    fn mysqldump_fields_and_fhir_values_take_their_names() {
        let xml = "<?xml version=\"1.0\"?>\n<mysqldump><database name=\"shop\"><table_data name=\"t\"><row>\
                   <field name=\"surname\">Lindqvist</field><field name=\"note\" xsi:nil=\"true\" />\
                   </row></table_data></database></mysqldump>\n\
                   <Patient><name><family value=\"Chalmers\"/><given value='Peter'/></name></Patient>\n";
        assert_eq!(
            values(xml),
            pairs(&[
                ("name", "shop"),
                ("name", "t"),
                ("surname", "Lindqvist"),
                ("family_name", "Chalmers"),
                ("given_name", "Peter")
            ])
        );
    }

    #[test]
    fn attributes_are_values_of_their_names() {
        // SQL Server's `FOR XML RAW`: a row's columns as attributes.
        let xml = "<?xml version=\"1.0\"?><root><row id=\"1\" first_name=\"Ana\" last_name='Okafor'/>\
                   <person x:surname = \"Lindqvist\" xmlns:x=\"urn:x\" checked>text</person></root>";
        assert_eq!(
            values(xml),
            pairs(&[
                ("id", "1"),
                ("first_name", "Ana"),
                ("last_name", "Okafor"),
                ("surname", "Lindqvist"),
                ("person", "text")
            ])
        );
    }

    #[test]
    fn a_reading_carries_over_between_buffers() {
        let xml =
            "<?xml version=\"1.0\"?><r><surname>Lindqvist</surname><surname>Okafor</surname></r>";
        let split = xml.find("Okafor").unwrap() + 2;
        let mut reader = Xml::detect(xml.as_bytes()).unwrap();
        reader.read(&xml.as_bytes()[..split + 4], 0, true, split, false);
        let second = &xml.as_bytes()[split..];
        reader.read(second, split as u64, false, second.len(), true);
        let cells = reader.cells();
        assert_eq!(
            cells.column(0).map(|c| cells.names()[c].as_str()),
            Some("surname")
        );
    }

    #[test]
    fn pages_and_drawings_are_not_read() {
        for text in [
            "<?xml version=\"1.0\"?>\n<!DOCTYPE html>\n<html></html>",
            "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            "<html><body/></html>",
            "plain",
        ] {
            assert!(Xml::detect(text.as_bytes()).is_none(), "{text:?}");
        }
    }
}
