//! How a record's values get the names of their columns, which are context
//! for the rules: from the header line of the table the record starts with
//! ([`crate::table`]), from the statements of an SQL dump
//! ([`crate::dump`]), from the keys of JSON ([`crate::json`]), or from
//! the elements of XML ([`crate::xml`]), from the attributes of LDIF and
//! vCard lines ([`crate::card`]), from the places of HL7 v2 fields
//! ([`crate::hl7`]), or from the rule under a fixed-width query result's
//! header ([`crate::fixed`]).

use std::collections::HashMap;

/// Column names kept for a record; later ones give no context.
const MAX_NAMES: usize = 65_536;

/// The layout of a record.
#[derive(Debug, Default)]
pub(crate) enum Layout {
    #[default]
    Plain,
    Table(crate::table::Table, crate::table::Cursor),
    Dump(Box<crate::dump::Dump>),
    Json(Box<crate::json::Json>),
    Xml(Box<crate::xml::Xml>),
    Card(Box<crate::card::Card>),
    Hl7(Box<crate::hl7::Hl7>),
    Fixed(Box<crate::fixed::Fixed>),
}

impl Layout {
    /// The layout of the record that `record_start` begins.
    pub(crate) fn detect(record_start: &[u8]) -> Layout {
        // Before tables: an HL7 segment is split at `|`, an LDIF `dn` at
        // commas.
        if let Some(hl7) = crate::hl7::Hl7::detect(record_start) {
            return Layout::Hl7(Box::new(hl7));
        }
        if let Some(card) = crate::card::Card::detect(record_start) {
            return Layout::Card(Box::new(card));
        }
        if let Some(table) = crate::table::Table::detect(record_start) {
            return Layout::Table(table, crate::table::Cursor::default());
        }
        if let Some(fixed) = crate::fixed::Fixed::detect(record_start) {
            return Layout::Fixed(Box::new(fixed));
        }
        if let Some(dump) = crate::dump::Dump::detect(record_start) {
            return Layout::Dump(Box::new(dump));
        }
        if let Some(json) = crate::json::Json::detect(record_start) {
            return Layout::Json(Box::new(json));
        }
        match crate::xml::Xml::detect(record_start) {
            Some(xml) => Layout::Xml(Box::new(xml)),
            None => Layout::Plain,
        }
    }

    pub(crate) fn is_plain(&self) -> bool {
        matches!(self, Layout::Plain)
    }

    /// How the values escape characters, in the layouts that escape them.
    pub(crate) fn escapes(&self) -> Option<crate::unescape::Escapes> {
        match self {
            Layout::Json(_) => Some(crate::unescape::Escapes::Json),
            Layout::Dump(dump) => Some(dump.escapes()),
            Layout::Xml(_) => Some(crate::unescape::Escapes::Xml),
            Layout::Hl7(hl7) => Some(hl7.escapes()),
            Layout::Card(card) => Some(card.escapes()),
            _ => None,
        }
    }

    /// Values are cells of rows, one row to a line (a table, a dump, an
    /// LDIF or vCard attribute, an HL7 segment), so
    /// that the lines around a value are no context of its own (see
    /// `score::Outside::cell`); a JSON or XML value's are.
    pub(crate) fn rows(&self) -> bool {
        matches!(
            self,
            Layout::Table(..)
                | Layout::Dump(_)
                | Layout::Card(_)
                | Layout::Hl7(_)
                | Layout::Fixed(_)
        )
    }

    /// Reads the values of `buf`, a buffer at record offset `offset`: from
    /// the record's start (`first`) or from where the previous buffer's
    /// reading left off; and keeps the reading at `next` (the next buffer's
    /// first byte, in `buf`) for the next buffer. `last`: `buf` ends the
    /// record.
    pub(crate) fn read(&mut self, buf: &[u8], offset: u64, first: bool, next: usize, last: bool) {
        match self {
            Layout::Plain => {}
            Layout::Table(table, cursor) => cursor.read(table, buf, offset, first, next),
            Layout::Dump(dump) => dump.read(buf, offset, first, next, last),
            Layout::Json(json) => json.read(buf, offset, first, next, last),
            Layout::Xml(xml) => xml.read(buf, offset, first, next, last),
            Layout::Card(card) => card.read(buf, offset, first, next, last),
            Layout::Hl7(hl7) => hl7.read(buf, offset, first, next, last),
            Layout::Fixed(fixed) => fixed.read(buf, offset, first, next, last),
        }
    }

    /// The column names; a column is an index here. A dump's and a JSON
    /// record's grow as they are read.
    pub(crate) fn names(&self) -> &[String] {
        match self {
            Layout::Plain => &[],
            Layout::Table(table, _) => table.columns(),
            Layout::Dump(dump) => dump.cells().names(),
            Layout::Json(json) => json.cells().names(),
            Layout::Xml(xml) => xml.cells().names(),
            Layout::Card(card) => card.cells().names(),
            Layout::Hl7(hl7) => hl7.cells().names(),
            Layout::Fixed(fixed) => fixed.cells().names(),
        }
    }

    /// The column (an index in [`Layout::names`]) that the byte at `at` of
    /// `buf` (the buffer read last) lies in.
    pub(crate) fn column(&mut self, buf: &[u8], at: usize) -> Option<usize> {
        match self {
            Layout::Plain => None,
            Layout::Table(table, cursor) => table.column(buf, at, cursor),
            Layout::Dump(dump) => dump.cells().column(at),
            Layout::Json(json) => json.cells().column(at),
            Layout::Xml(xml) => xml.cells().column(at),
            Layout::Card(card) => card.cells().column(at),
            Layout::Hl7(hl7) => hl7.cells().column(at),
            Layout::Fixed(fixed) => fixed.cells().column(at),
        }
    }

    /// The name of the column that the byte at `at` of `buf` lies in.
    pub(crate) fn column_name(&mut self, buf: &[u8], at: usize) -> Option<&str> {
        let column = self.column(buf, at)?;
        self.names().get(column).map(String::as_str)
    }

    /// Calls `f` with the column and value of each non-empty value that
    /// starts in `region` of `buf` (the buffer read last): in a table, of
    /// the rows that fit its header.
    pub(crate) fn cells(
        &mut self,
        buf: &[u8],
        region: std::ops::Range<usize>,
        f: impl FnMut(usize, std::ops::Range<usize>),
    ) {
        match self {
            Layout::Plain => {}
            Layout::Table(table, cursor) => table.cells(buf, region, cursor, f),
            Layout::Dump(dump) => dump.cells().values(region, f),
            Layout::Json(json) => json.cells().values(region, f),
            Layout::Xml(xml) => xml.cells().values(region, f),
            Layout::Card(card) => card.cells().values(region, f),
            Layout::Hl7(hl7) => hl7.cells().values(region, f),
            Layout::Fixed(fixed) => fixed.cells().values(region, f),
        }
    }
}

/// A reading of a record's values, step by step, carried from buffer to
/// buffer: what dumps, JSON, XML, LDIF, vCards, HL7 and fixed-width
/// results are read by.
pub(crate) trait Reading {
    /// Where a reading stands between two steps. Positions it holds are
    /// record offsets, so that it carries over to the next buffer
    /// unchanged.
    type State: Clone;

    /// The state at a record's start.
    fn initial() -> Self::State;

    /// Reads on from `p` in state `s` to the next point where the reading
    /// may be kept, and returns it. `last`: `buf` ends the record.
    fn step(&mut self, buf: &[u8], offset: u64, p: usize, s: &mut Self::State, last: bool)
    -> usize;

    /// The column names, and the values of the buffer read last.
    fn cells_mut(&mut self) -> &mut Cells;

    /// Where the next buffer's reading resumes (a record offset at or after
    /// its first byte), and the state there.
    fn carry(&mut self) -> &mut Option<(u64, Self::State)>;

    /// Reads the values of `buf`, a buffer at record offset `offset`: from
    /// the record's start (`first`) or from where the previous buffer's
    /// reading left off; and keeps the reading at the first point at or
    /// after `next` (the next buffer's first byte, in `buf`) for the next
    /// buffer; `last`: `buf` ends the record. Without a reading to resume,
    /// the buffer has no values.
    fn read(&mut self, buf: &[u8], offset: u64, first: bool, next: usize, last: bool) {
        self.cells_mut().clear();
        let carried = self.carry().take();
        let (mut p, mut state) = if first {
            (0, Self::initial())
        } else {
            match carried {
                Some((at, state)) if at >= offset && at - offset <= buf.len() as u64 => {
                    ((at - offset) as usize, state)
                }
                _ => return,
            }
        };
        let mut kept = None;
        while p < buf.len() {
            if kept.is_none() && p >= next {
                kept = Some((offset + p as u64, state.clone()));
            }
            p = self.step(buf, offset, p, &mut state, last);
        }
        *self.carry() = Some(kept.unwrap_or((offset + buf.len() as u64, state)));
    }
}

/// How a reading's lines end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lines {
    /// With a line feed.
    Lf,
    /// With a line feed or a carriage return (HL7's segments).
    CrOrLf,
    /// With a line feed not followed by a blank: a line that begins with a
    /// space or a tab continues the one before (LDIF, vCard).
    Folded,
}

/// One step of a reading by lines: calls `line` with the bounds of the
/// line that starts at `p` of `buf` (without its line break, nor a carriage
/// return before one; a folded line with the breaks and blanks that fold
/// it), and returns where the next starts. A line the buffer cuts is not
/// read, and `skip` is set so that the next buffer passes over its rest:
/// that buffer starts before it, and reads it whole when it starts in its
/// region. With `skip` set at `p`, the line is passed over. When the
/// buffer ends the record (`last`), its end ends the last line, which
/// needs no line break; in another buffer, a folded line ending at the
/// buffer's end may go on in the next.
pub(crate) fn line_step(
    buf: &[u8],
    p: usize,
    skip: &mut bool,
    lines: Lines,
    last: bool,
    line: impl FnOnce(usize, usize),
) -> usize {
    let find = |from: usize| {
        let rest = &buf[from..];
        let found = if lines == Lines::CrOrLf {
            memchr::memchr2(b'\r', b'\n', rest)
        } else {
            memchr::memchr(b'\n', rest)
        };
        found.map(|e| from + e)
    };
    let mut found = find(p);
    if lines == Lines::Folded {
        while let Some(e) = found {
            match buf.get(e + 1) {
                Some(b' ' | b'\t') => found = find(e + 1),
                None if !last => found = None,
                _ => break,
            }
        }
    }
    let e = match found {
        Some(e) => e,
        None if last => buf.len(),
        None => {
            *skip = true;
            return buf.len();
        }
    };
    if !std::mem::take(skip) {
        let end = if e > p && buf[e - 1] == b'\r' {
            e - 1
        } else {
            e
        };
        line(p, end);
    }
    (e + 1).min(buf.len())
}

/// True when `text` starts with `prefix`, in any case.
pub(crate) fn starts_with_caseless(text: &[u8], prefix: &[u8]) -> bool {
    text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// The first bytes of a record (at most `max`), from its first one that is
/// no blank, a byte order mark aside: where its format shows.
pub(crate) fn preamble(record_start: &[u8], max: usize) -> Option<&[u8]> {
    let head = &record_start[..record_start.len().min(max)];
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    Some(&head[start..])
}

/// The column name of a key or an element `name` inside one called
/// `parent`: the name itself, but for the parts of HL7 FHIR's HumanName
/// (`"name": [{"family": "Chalmers", "given": ["Peter"]}]`, `<name><family
/// value="Chalmers"/>`), whose own names say too little alone (a font has
/// a family too).
pub(crate) fn qualified<'a>(parent: Option<&str>, name: &'a str) -> &'a str {
    match (parent, name) {
        (Some("name"), "family") => "family_name",
        (Some("name"), "given") => "given_name",
        _ => name,
    }
}

/// The values of a buffer with their columns, and the column names of a
/// record: what a dump's or a JSON record's reading gives.
#[derive(Debug, Default)]
pub(crate) struct Cells {
    /// Column names, each once: a cell's column is an index here.
    names: Vec<String>,
    index: HashMap<String, u32>,
    /// The cells of the buffer read last, by start.
    cells: Vec<Cell>,
}

/// A cell of a buffer: its bytes, and its value (without blanks and quotes
/// around it) when all of it is in the buffer; positions in the buffer, in
/// 20 bytes, since a buffer of short values holds many.
#[derive(Debug, Clone, Copy)]
struct Cell {
    start: u32,
    end: u32,
    column: u32,
    /// `NO_VALUE` at the start when the value is not in the buffer.
    value: (u32, u32),
}

const NO_VALUE: u32 = u32::MAX;

/// No column: a name past [`MAX_NAMES`].
pub(crate) const NO_COLUMN: u32 = u32::MAX;

impl Cells {
    /// Forgets the cells of the buffer read before.
    pub(crate) fn clear(&mut self) {
        self.cells.clear();
    }

    /// The column names met so far; a cell's column is an index here.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// The index of column name `name`; [`NO_COLUMN`] past [`MAX_NAMES`].
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        if self.names.len() >= MAX_NAMES {
            return NO_COLUMN;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), i);
        i
    }

    /// Records the cell at `start..end` of the buffer, in `column`, with
    /// its value when the buffer holds it all. Cells come in order.
    pub(crate) fn push(
        &mut self,
        start: usize,
        end: usize,
        column: u32,
        value: Option<std::ops::Range<usize>>,
    ) {
        if column == NO_COLUMN || start > end || end >= NO_VALUE as usize {
            return;
        }
        let value = value.map_or((NO_VALUE, 0), |v| (v.start as u32, v.end as u32));
        self.cells.push(Cell {
            start: start as u32,
            end: end as u32,
            column,
            value,
        });
    }

    /// The column of the cell that the byte at `at` lies in.
    pub(crate) fn column(&self, at: usize) -> Option<usize> {
        let i = self
            .cells
            .partition_point(|c| c.start as usize <= at)
            .checked_sub(1)?;
        let cell = &self.cells[i];
        (at < cell.end.max(cell.start + 1) as usize).then_some(cell.column as usize)
    }

    /// Calls `f` with the column and value of each non-empty cell that
    /// starts in `region` and is whole in the buffer.
    pub(crate) fn values(
        &self,
        region: std::ops::Range<usize>,
        mut f: impl FnMut(usize, std::ops::Range<usize>),
    ) {
        let first = self
            .cells
            .partition_point(|c| (c.start as usize) < region.start);
        for cell in &self.cells[first..] {
            if cell.start as usize >= region.end {
                break;
            }
            let (start, end) = cell.value;
            if start != NO_VALUE && start < end {
                f(cell.column as usize, start as usize..end as usize);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::Reading;

    /// Each value of `text`, read by `reader` as buffers starting at
    /// `splits`, each reaching 16 bytes past where the next starts: column
    /// name and value, for values that start in their buffer's region.
    pub(crate) fn read_split<R: Reading>(
        mut reader: R,
        text: &[u8],
        splits: &[usize],
    ) -> Vec<(String, String)> {
        let mut bounds = splits.to_vec();
        bounds.insert(0, 0);
        bounds.push(text.len());
        let mut out = Vec::new();
        for w in bounds.windows(2) {
            let (start, next) = (w[0], w[1]);
            let end = (next + 16).min(text.len());
            let last = end == text.len();
            reader.read(
                &text[start..end],
                start as u64,
                start == 0,
                next - start,
                last,
            );
            let cells = reader.cells_mut();
            cells.values(0..next - start, |c, v| {
                out.push((
                    cells.names()[c].clone(),
                    String::from_utf8_lossy(&text[start + v.start..start + v.end]).into_owned(),
                ));
            });
        }
        out
    }

    /// (column, value) pairs, as the readings' tests compare them.
    pub(crate) fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(c, v)| (c.to_string(), v.to_string()))
            .collect()
    }

    /// Checks that `text`, read by the reading `detect` makes of it as
    /// two buffers split at every byte, gives no value (column and value)
    /// that reading it whole does not: a line or value cut by a buffer's
    /// end is read by the next buffer when it starts in that one's region,
    /// never with a wrong column. Returns the whole reading's values.
    pub(crate) fn check_splits<R: Reading>(
        detect: impl Fn(&[u8]) -> Option<R>,
        text: &[u8],
    ) -> Vec<(String, String)> {
        let whole = read_split(detect(text).unwrap(), text, &[]);
        for split in 1..text.len() {
            for pair in read_split(detect(text).unwrap(), text, &[split]) {
                assert!(whole.contains(&pair), "split {split}: {pair:?}");
            }
        }
        whole
    }

    /// Reads 200 texts made of `sample`'s first bytes that tell its format
    /// and 2,000 random ones (a quarter of them from `format_bytes`, so
    /// lines take shape), whole and in three buffers: no fault, and the
    /// buffers give nothing the whole reading does not.
    pub(crate) fn check_random_tails<R: Reading>(
        detect: impl Fn(&[u8]) -> Option<R>,
        sample: &[u8],
        format_bytes: &[u8],
    ) {
        let head = (1..sample.len())
            .find(|&n| detect(&sample[..n]).is_some())
            .unwrap();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200 {
            let mut text = sample[..head].to_vec();
            for _ in 0..2_000 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let b = state as u8;
                text.push(match b % 4 {
                    0 => format_bytes[(b as usize / 4) % format_bytes.len()],
                    _ => b,
                });
            }
            let whole = read_split(detect(&text).unwrap(), &text, &[]);
            for pair in read_split(detect(&text).unwrap(), &text, &[700, 1_400]) {
                assert!(whole.contains(&pair), "{pair:?}");
            }
        }
    }
}
