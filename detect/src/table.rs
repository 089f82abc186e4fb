//! Column names as context: a record that starts with the header line of a
//! delimited table (CSV, TSV, `;` or `|` separated) gives each cell below
//! it the name of its column, as a database column name gives a value of
//! its column (`ssn` above `536228790`, `phone` above `4158720143`).
//!
//! The header is read from the record's first line and kept while the
//! record is scanned, block by block. A cell's column is counted on its
//! own line, and only on a line with as many delimiters as the header
//! (outside double quotes), so free text below a header-like first line
//! gets no column.

/// Longest header line read, in bytes.
const MAX_HEADER: usize = 4096;
/// Longest column name.
const MAX_NAME: usize = 64;
/// Delimiters tried, in order of preference when counts tie.
const DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];

/// The header of a delimited table that a record starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Table {
    delimiter: u8,
    columns: Vec<String>,
}

/// Where a line's delimiters are, computed once per line.
#[derive(Debug, Default)]
pub(crate) struct Cursor {
    /// The line, as the offset of its first byte, whose delimiters are in
    /// `delimiters`; `None` when nothing is cached.
    line: Option<usize>,
    /// Whether that line has the header's number of delimiters.
    fits: bool,
    delimiters: Vec<usize>,
}

impl Cursor {
    /// Forgets the cached line (a new buffer).
    pub(crate) fn reset(&mut self) {
        self.line = None;
    }
}

impl Table {
    /// The header of the table that `record_start` (the first bytes of a
    /// record) begins with: a complete first line of two or more names
    /// split by one delimiter, each name a short word or phrase (letters,
    /// digits, `_ -./#()` and blanks, starting with a letter or `_`,
    /// perhaps in double quotes), and a second line, when one is complete,
    /// with the same number of delimiters.
    pub(crate) fn detect(record_start: &[u8]) -> Option<Table> {
        // Most records start with a byte no header line holds (`#`, `<`,
        // `{`, `/`, `=` early in a line of code): one pass rules them out.
        let head = &record_start[..record_start.len().min(MAX_HEADER)];
        let end = head
            .iter()
            .position(|&b| b == b'\n' || !header_byte(b))
            .filter(|&e| head[e] == b'\n')?;
        let header = strip_cr(&record_start[..end]);
        let (count, std::cmp::Reverse(delimiter)) = DELIMITERS
            .into_iter()
            .map(|d| (count_outside_quotes(header, d), std::cmp::Reverse(d)))
            .max()?;
        if count == 0 {
            return None;
        }
        let columns = split_outside_quotes(header, delimiter)
            .into_iter()
            .map(column_name)
            .collect::<Option<Vec<String>>>()?;
        let rest = &record_start[end + 1..];
        if let Some(next_end) = memchr::memchr(b'\n', rest) {
            let next = strip_cr(&rest[..next_end]);
            if count_outside_quotes(next, delimiter) != count {
                return None;
            }
        }
        Some(Table { delimiter, columns })
    }

    /// The column names.
    pub(crate) fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The name of the column that the byte at `at` of `buf` lies in, when
    /// its line starts in `buf` after a newline (so never the header, the
    /// record's first line) and has the header's number of delimiters.
    pub(crate) fn column(&self, buf: &[u8], at: usize, cursor: &mut Cursor) -> Option<&str> {
        let line = memchr::memrchr(b'\n', &buf[..at])? + 1;
        if cursor.line != Some(line) {
            let end = memchr::memchr(b'\n', &buf[line..]).map_or(buf.len(), |e| line + e);
            cursor.delimiters.clear();
            cursor
                .delimiters
                .extend(delimiters(&buf[line..end], self.delimiter).map(|i| line + i));
            cursor.line = Some(line);
            cursor.fits = cursor.delimiters.len() + 1 == self.columns.len();
        }
        if !cursor.fits {
            return None;
        }
        let index = cursor.delimiters.partition_point(|&d| d < at);
        self.columns.get(index).map(String::as_str)
    }
}

impl Table {
    /// Calls `f` with the column and the value (as [`trim_value`] bounds
    /// it) of each non-empty cell on the lines of `buf` that start in
    /// `region` after a newline (so never the header) and have the
    /// header's number of delimiters. A line that `buf` cuts off (no
    /// newline before its end, and longer than a cell's longest match
    /// could need) is skipped: its cells would be cut too.
    pub(crate) fn cells(
        &self,
        buf: &[u8],
        region: std::ops::Range<usize>,
        mut f: impl FnMut(usize, std::ops::Range<usize>),
    ) {
        let mut line = if region.start > 0 && buf[region.start - 1] == b'\n' {
            region.start
        } else {
            match memchr::memchr(b'\n', &buf[region.start..region.end]) {
                Some(i) => region.start + i + 1,
                None => return,
            }
        };
        let mut starts = Vec::with_capacity(self.columns.len());
        while line < region.end {
            let (end, next) = match memchr::memchr(b'\n', &buf[line..]) {
                Some(i) => (line + i, line + i + 1),
                None if buf.len() - line > crate::engine::MAX_MATCH_LEN => return,
                None => (buf.len(), buf.len()),
            };
            let end = if end > line && buf[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            starts.clear();
            starts.push(line);
            starts.extend(delimiters(&buf[line..end], self.delimiter).map(|i| line + i + 1));
            if starts.len() == self.columns.len() {
                for (column, &start) in starts.iter().enumerate() {
                    let stop = starts.get(column + 1).map_or(end, |&s| s - 1);
                    let value = trim_value(buf, start..stop);
                    if !value.is_empty() {
                        f(column, value);
                    }
                }
            }
            line = next;
        }
    }
}

/// The value in `buf[range]`: without the blanks around it, nor a pair of
/// double quotes around that (a quoted CSV cell, a JSON string).
pub(crate) fn trim_value(buf: &[u8], range: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let cell = &buf[range.clone()];
    let start = cell.iter().position(|b| !blank(b)).unwrap_or(cell.len());
    let end = cell
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |e| e + 1);
    let (mut start, mut end) = (range.start + start, range.start + end);
    if end - start >= 2 && buf[start] == b'"' && buf[end - 1] == b'"' {
        start += 1;
        end -= 1;
    }
    start..end
}

/// True for the bytes a header line may hold: those of column names,
/// double quotes, delimiters and a carriage return.
fn header_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" _-./#()\",\t;|\r".contains(&b)
}

/// The name in a header cell, without blanks and quotes around it.
fn column_name(cell: &[u8]) -> Option<String> {
    let trimmed = trim(cell);
    let name = trimmed
        .strip_prefix(b"\"")
        .and_then(|n| n.strip_suffix(b"\""))
        .unwrap_or(trimmed);
    let first = *name.first()?;
    // A name of four words at most (`Customer Account Number`), which
    // the cells of code's lines (`from _typeshed import StrPath, Unused`)
    // and of prose often are not.
    let fits = name.len() <= MAX_NAME
        && name.iter().filter(|&&b| b == b' ').count() <= 3
        && !name.starts_with(b"from ")
        && !name.starts_with(b"import ")
        && (first.is_ascii_alphabetic() || first == b'_')
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b" _-./#()".contains(&b));
    fits.then(|| String::from_utf8_lossy(name).into_owned())
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != b' ').unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(start, |e| e + 1);
    &bytes[start..end]
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The positions of `delimiter` in `line` outside double quotes.
fn delimiters(line: &[u8], delimiter: u8) -> impl Iterator<Item = usize> + '_ {
    let mut quoted = false;
    line.iter().enumerate().filter_map(move |(i, &b)| {
        if b == b'"' {
            quoted = !quoted;
        }
        (b == delimiter && !quoted).then_some(i)
    })
}

fn count_outside_quotes(line: &[u8], delimiter: u8) -> usize {
    delimiters(line, delimiter).count()
}

fn split_outside_quotes(line: &[u8], delimiter: u8) -> Vec<&[u8]> {
    let mut cells = Vec::new();
    let mut start = 0;
    for i in delimiters(line, delimiter) {
        cells.push(&line[start..i]);
        start = i + 1;
    }
    cells.push(&line[start..]);
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(t: &Table) -> Vec<&str> {
        t.columns.iter().map(String::as_str).collect()
    }

    #[test]
    fn a_header_line_of_names_is_a_table() {
        let csv = b"id,first_name,last_name,ssn\n1,Maria,Kovacs,536228790\n";
        let t = Table::detect(csv).expect("a table");
        assert_eq!(t.delimiter, b',');
        assert_eq!(names(&t), ["id", "first_name", "last_name", "ssn"]);
        let tsv = b"\"Customer ID\"\t\"Phone Number\"\r\n7\t4158720143\r\n";
        let t = Table::detect(tsv).expect("a table");
        assert_eq!(t.delimiter, b'\t');
        assert_eq!(names(&t), ["Customer ID", "Phone Number"]);
        assert!(Table::detect(b"name;ssn\n").is_some(), "a header alone");
    }

    #[test]
    fn code_and_prose_are_no_tables() {
        assert!(Table::detect(b"import os, sys\nimport re\n").is_none());
        assert!(Table::detect(b"a, b = 1, 2\n").is_none());
        assert!(Table::detect(b"Hello world\n").is_none(), "no delimiter");
        assert!(Table::detect(b"x,y").is_none(), "no complete line");
        assert!(
            Table::detect(b"id,1st\n").is_none(),
            "a name starts with a letter"
        );
        assert!(
            Table::detect(b"from a import B, C\nfrom d import E, F\n").is_none(),
            "import lines"
        );
        assert!(
            Table::detect(
                b"Copyright Amazon.com, Inc. or its affiliates. All Rights Reserved.\nA, B\n"
            )
            .is_none(),
            "a sentence"
        );
    }

    #[test]
    fn a_cell_gets_its_column_on_rows_that_fit_the_header() {
        let csv =
            b"id,name,ssn\n1,\"Kovacs, Maria\",536228790\n2,Okafor,223546718\nfree text, here\n";
        let t = Table::detect(csv).expect("a table");
        let mut cursor = Cursor::default();
        let at = |v: &[u8]| csv.windows(v.len()).position(|w| w == v).unwrap_or(0);
        let mut column = |v: &[u8]| t.column(csv, at(v), &mut cursor).map(str::to_owned);
        assert_eq!(
            column(b"536228790").as_deref(),
            Some("ssn"),
            "after a quoted comma"
        );
        assert_eq!(column(b"Okafor").as_deref(), Some("name"));
        assert_eq!(column(b"223546718").as_deref(), Some("ssn"));
        assert_eq!(column(b"here"), None, "a line of another shape");
        assert_eq!(column(b"name"), None, "the header itself");
    }
}
