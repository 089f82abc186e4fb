//! Column names as context: a record that starts with the header line of a
//! delimited table (CSV, TSV, `;` or `|` separated) gives each cell below
//! it the name of its column, as a database column name gives a value of
//! its column (`ssn` above `536228790`, `phone` above `4158720143`).
//!
//! The header is read from the record's first line and kept while the
//! record is scanned, block by block. Rows are read with double quotes
//! across lines, as CSV writes a cell holding a line break (a notes field,
//! a two-line street address), and each buffer's reading starts from the
//! state where the previous one left it, so a row begun blocks before is
//! still counted right. A cell gets its column only in a row with as many
//! delimiters (outside double quotes) as the header, so free text below a
//! header-like first line gets no column.
//!
//! The output of database clients is read the same way: psql's aligned
//! format (a header of `|`-separated names over a rule of `-` and `+`) and
//! mysql's boxed one (a border of `+` and `-`, the header between `|`s,
//! another border), whose rules and borders are rows that fit no header.

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
    /// Rows from the record's start that are no data: the header, and the
    /// border above it in mysql's boxed output.
    header_rows: u8,
}

/// A buffer's rows, and where the reading stood at the next buffer's
/// first byte.
#[derive(Debug, Default)]
pub(crate) struct Cursor {
    rows: Vec<Row>,
    /// The record offset of the next buffer's first byte, and the reading
    /// there.
    carry: Option<(u64, State)>,
    /// The row, by index in `rows`, whose delimiters are in `delimiters`.
    cached: Option<usize>,
    delimiters: Vec<usize>,
}

/// Where a reading of delimited text stands, as CSV is read: a double
/// quote opens a quoted field only at the field's start (blanks aside),
/// `""` inside one is a quote, and a quote anywhere else (`5'10"`, `12"
/// pizza`) is a byte like any other, so it never swallows the rows after
/// it. Positions are in the buffer read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct State {
    quoted: bool,
    /// The current field holds only blanks before `field`.
    blank: bool,
    /// Where the current field's bytes in the buffer start.
    field: usize,
    /// The second quote of a `""`, to pass over.
    skip: Option<usize>,
    column: usize,
    /// Rows, this one among them, still to pass as the header.
    header: u8,
}

impl State {
    /// At the start of a row that starts at `at`.
    fn row(at: usize) -> State {
        State {
            quoted: false,
            blank: true,
            field: at,
            skip: None,
            column: 0,
            header: 0,
        }
    }

    /// Reads the byte at `p` of `buf`, a double quote, the delimiter or a
    /// line break (called for each, in order): `Some(false)` when it ends
    /// a field, `Some(true)` when it ends the row.
    fn step(&mut self, buf: &[u8], p: usize) -> Option<bool> {
        if self.skip == Some(p) {
            self.skip = None;
            return None;
        }
        match buf[p] {
            b'"' if self.quoted => {
                if buf.get(p + 1) == Some(&b'"') {
                    self.skip = Some(p + 1);
                } else {
                    self.quoted = false;
                    self.blank = false;
                }
                None
            }
            b'"' => {
                if self.blank && buf[self.field..p].iter().all(|&b| b == b' ') {
                    self.quoted = true;
                } else {
                    self.blank = false;
                }
                None
            }
            _ if self.quoted => None,
            b'\n' => Some(true),
            _ => {
                self.column += 1;
                self.field = p + 1;
                self.blank = true;
                Some(false)
            }
        }
    }

    /// The same reading, for a buffer whose first byte is `buf[at]`.
    fn moved(self, buf: &[u8], at: usize) -> State {
        State {
            blank: self.blank && buf[self.field.min(at)..at].iter().all(|&b| b == b' '),
            field: 0,
            skip: self.skip.map(|q| q - at),
            ..self
        }
    }
}

/// A row, or the part of it in a buffer.
#[derive(Debug, Clone, Copy)]
struct Row {
    /// Its first byte in the buffer: 0 for a row begun in an earlier one.
    start: usize,
    /// The reading at `start`.
    state: State,
    /// One past its last cell's last byte (its line break and a carriage
    /// return before it aside).
    end: usize,
    /// It has the header's number of cells: never the header itself, nor
    /// a row the buffer cuts off.
    fits: bool,
}

impl Cursor {
    /// Reads the rows of `buf`, a buffer of a record starting with
    /// `table`'s header, from its start (`first`: the record's first
    /// buffer) or from the state the previous buffer left for `offset`, its
    /// record offset; and keeps the state at `next` (the next buffer's
    /// first byte, in `buf`) for it. Without a state for `offset` (never
    /// read from the start), the buffer has no rows.
    pub(crate) fn read(
        &mut self,
        table: &Table,
        buf: &[u8],
        offset: u64,
        first: bool,
        next: usize,
    ) {
        self.rows.clear();
        self.cached = None;
        let carried = self.carry.take();
        let mut state = if first {
            State {
                header: table.header_rows,
                ..State::row(0)
            }
        } else {
            match carried {
                Some((at, state)) if at == offset => state,
                _ => return,
            }
        };
        let columns = table.columns.len();
        let mut start = 0;
        let mut at_start = state;
        let mut carry = None;
        for p in memchr::memchr3_iter(b'"', table.delimiter, b'\n', buf) {
            if carry.is_none() && p >= next {
                carry = Some(state.moved(buf, next));
            }
            if state.step(buf, p) == Some(true) {
                let end = if p > start && buf[p - 1] == b'\r' {
                    p - 1
                } else {
                    p
                };
                self.rows.push(Row {
                    start,
                    state: at_start,
                    end,
                    fits: state.header == 0 && state.column + 1 == columns,
                });
                start = p + 1;
                state = State {
                    header: state.header.saturating_sub(1),
                    ..State::row(start)
                };
                at_start = state;
            }
        }
        if carry.is_none() && next <= buf.len() {
            carry = Some(state.moved(buf, next));
        }
        if start < buf.len() {
            // A row without its line break: the record's last, when it
            // starts in the region (the buffer reaches a lookahead past
            // it otherwise); cut off when it is longer.
            let whole = (start > 0 || first) && buf.len() - start <= crate::engine::MAX_MATCH_LEN;
            self.rows.push(Row {
                start,
                state: at_start,
                end: buf.len(),
                fits: whole && state.header == 0 && state.column + 1 == columns,
            });
        }
        self.carry = carry.map(|state| (offset + next as u64, state));
    }

    /// The delimiters of row `i` (those that end a field), kept for the
    /// next call on the same row.
    fn delimiters_of(&mut self, table: &Table, buf: &[u8], i: usize) -> &[usize] {
        if self.cached != Some(i) {
            let row = self.rows[i];
            let mut state = row.state;
            self.delimiters.clear();
            let part = &buf[..row.end];
            for p in memchr::memchr3_iter(b'"', table.delimiter, b'\n', &part[row.start..]) {
                let p = row.start + p;
                if state.step(part, p) == Some(false) {
                    self.delimiters.push(p);
                }
            }
            self.cached = Some(i);
        }
        &self.delimiters
    }
}

impl Table {
    /// The header of the table that `record_start` (the first bytes of a
    /// record) begins with: a complete first line of two or more names
    /// split by one delimiter, each name a short word or phrase (letters,
    /// digits, `_ -./#()` and blanks, starting with a letter or `_`,
    /// perhaps in double quotes), and a second row, when one is complete,
    /// with the same number of delimiters.
    pub(crate) fn detect(record_start: &[u8]) -> Option<Table> {
        // Excel's "CSV UTF-8" starts with a byte order mark; the header row
        // is read as any row (never given columns), so it may keep it.
        let record_start = record_start
            .strip_prefix(b"\xef\xbb\xbf")
            .unwrap_or(record_start);
        // mysql's boxed output: the header follows a border.
        let border = rule_line(record_start)
            .filter(|&(_, line)| line.starts_with(b"+-") && line.ends_with(b"+"));
        let (record_start, header_rows) = match border {
            Some((end, _)) => (&record_start[end + 1..], 2),
            None => (record_start, 1),
        };
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
        let cells = split_outside_quotes(header, delimiter);
        // `| id | name |` (mysql's boxed output, Markdown): the cells
        // outside the first and last `|` are empty, and stay columns of no
        // name.
        let edged = delimiter == b'|'
            && cells.len() >= 3
            && trim(cells[0]).is_empty()
            && trim(cells[cells.len() - 1]).is_empty();
        if border.is_some() && !edged {
            return None;
        }
        let last = cells.len() - 1;
        let columns = cells
            .into_iter()
            .enumerate()
            .map(|(i, cell)| match i {
                0 if edged => Some(String::new()),
                i if edged && i == last => Some(String::new()),
                _ => column_name(cell),
            })
            .collect::<Option<Vec<String>>>()?;
        let rest = &record_start[end + 1..];
        let below = match rule_line(rest) {
            // Markdown: `|---|:---:|` under the header, a `|` for each.
            _ if edged && border.is_none() => markdown_rule(rest) == Some(count),
            // psql's rule under the header, mysql's border: a `+` where
            // the header has a `|`.
            Some((_, line)) => {
                delimiter == b'|' && line.iter().filter(|&&b| b == b'+').count() == count
            }
            None => border.is_none() && first_row(rest, delimiter).is_none_or(|n| n == count),
        };
        below.then_some(Table {
            delimiter,
            columns,
            header_rows,
        })
    }

    /// The column names.
    pub(crate) fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The column (an index in [`Table::columns`]) that the byte at `at`
    /// of `buf` lies in, when its row (as `cursor` read `buf`) has the
    /// header's number of delimiters; never in the header itself.
    pub(crate) fn column(&self, buf: &[u8], at: usize, cursor: &mut Cursor) -> Option<usize> {
        let i = cursor
            .rows
            .partition_point(|r| r.start <= at)
            .checked_sub(1)?;
        let row = cursor.rows[i];
        if !row.fits || at > row.end {
            return None;
        }
        let before = cursor
            .delimiters_of(self, buf, i)
            .partition_point(|&d| d < at);
        let column = row.state.column + before;
        (column < self.columns.len()).then_some(column)
    }

    /// Calls `f` with the column and the value (as [`trim_value`] bounds
    /// it) of each non-empty cell of the rows that start in `region` (as
    /// `cursor` read `buf`) and have the header's number of delimiters.
    pub(crate) fn cells(
        &self,
        buf: &[u8],
        region: std::ops::Range<usize>,
        cursor: &mut Cursor,
        mut f: impl FnMut(usize, std::ops::Range<usize>),
    ) {
        let first = cursor.rows.partition_point(|r| r.start < region.start);
        for i in first..cursor.rows.len() {
            let row = cursor.rows[i];
            if row.start >= region.end {
                break;
            }
            if !row.fits {
                continue;
            }
            let mut start = row.start;
            let mut column = row.state.column;
            for &d in cursor.delimiters_of(self, buf, i) {
                let value = trim_value(buf, start..d);
                if !value.is_empty() {
                    f(column, value);
                }
                start = d + 1;
                column += 1;
            }
            let value = trim_value(buf, start..row.end);
            if !value.is_empty() {
                f(column, value);
            }
        }
    }
}

/// The value in `buf[range]`: without the blanks around it, nor a pair of
/// double quotes around that (a quoted CSV cell, a JSON string).
pub(crate) fn trim_value(buf: &[u8], range: std::ops::Range<usize>) -> std::ops::Range<usize> {
    trim_quoted(buf, range, b"\"")
}

/// The value in `buf[range]`: without the blanks around it, nor a pair of
/// the same one of `quotes` around that.
pub(crate) fn trim_quoted(
    buf: &[u8],
    range: std::ops::Range<usize>,
    quotes: &[u8],
) -> std::ops::Range<usize> {
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let cell = &buf[range.clone()];
    let start = cell.iter().position(|b| !blank(b)).unwrap_or(cell.len());
    let end = cell
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |e| e + 1);
    let (mut start, mut end) = (range.start + start, range.start + end);
    if end - start >= 2 && quotes.contains(&buf[start]) && buf[end - 1] == buf[start] {
        start += 1;
        end -= 1;
    }
    start..end
}

/// The first line of `text` (its end, and its bytes without a carriage
/// return) when it is a rule of a database client's output: `-` and `+`
/// alone, a `-` first or second.
fn rule_line(text: &[u8]) -> Option<(usize, &[u8])> {
    let end = memchr::memchr(b'\n', &text[..text.len().min(MAX_HEADER)])?;
    let line = strip_cr(&text[..end]);
    let rule = line.len() >= 3
        && line[..2].contains(&b'-')
        && line.iter().all(|&b| b == b'-' || b == b'+');
    rule.then_some((end, line))
}

/// The `|`s of the first line of `text` when it is a Markdown table's
/// delimiter row: `|`, `-`, `:` and blanks, a `-` in each cell.
fn markdown_rule(text: &[u8]) -> Option<usize> {
    let end = memchr::memchr(b'\n', &text[..text.len().min(MAX_HEADER)])?;
    let line = trim(strip_cr(&text[..end]));
    let inner = line.strip_prefix(b"|")?.strip_suffix(b"|")?;
    let rule = inner
        .split(|&b| b == b'|')
        .all(|cell| cell.contains(&b'-') && cell.iter().all(|b| b" -:".contains(b)));
    rule.then(|| line.iter().filter(|&&b| b == b'|').count())
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

pub(crate) fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The positions of the delimiters in `line` (a row's first line) that
/// end a field, read as [`State`] reads them.
fn delimiters(line: &[u8], delimiter: u8) -> impl Iterator<Item = usize> + '_ {
    let mut state = State::row(0);
    memchr::memchr3_iter(b'"', delimiter, b'\n', line)
        .filter(move |&p| state.step(line, p) == Some(false))
}

/// The delimiters of the row that `rest` starts with, when it ends in
/// `rest`: its quoted cells may hold line breaks.
fn first_row(rest: &[u8], delimiter: u8) -> Option<usize> {
    let mut state = State::row(0);
    for p in memchr::memchr3_iter(b'"', delimiter, b'\n', rest) {
        if state.step(rest, p) == Some(true) {
            return Some(state.column);
        }
    }
    None
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

    /// `csv`'s table and its rows, read as one buffer.
    fn read_whole(csv: &[u8], what: &str) -> (Table, Cursor) {
        let t = Table::detect(csv).expect(what);
        let mut cursor = Cursor::default();
        cursor.read(&t, csv, 0, true, csv.len());
        (t, cursor)
    }

    /// The column of the first occurrence of `value` in `csv`.
    fn column_of(t: &Table, cursor: &mut Cursor, csv: &[u8], value: &[u8]) -> Option<String> {
        let at = csv.windows(value.len()).position(|w| w == value)?;
        t.column(csv, at, cursor).map(|c| t.columns()[c].clone())
    }

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
    fn a_byte_order_mark_before_the_header_is_passed_over() {
        let csv = b"\xef\xbb\xbfid;first_name;ssn\r\n1;Ana;536228714\r\n";
        let (t, mut cursor) = read_whole(csv, "Excel's CSV UTF-8");
        assert_eq!(names(&t), ["id", "first_name", "ssn"]);
        assert_eq!(
            column_of(&t, &mut cursor, csv, b"Ana").as_deref(),
            Some("first_name")
        );
    }

    #[test]
    fn the_output_of_psql_and_mysql_is_a_table() {
        let psql = b" id | first_name |    ssn    \n----+------------+-----------\n  \
                     1 | Ana        | 536228714\n  2 | Tobias     | 509417236\n(2 rows)\n\n";
        let (t, mut cursor) = read_whole(psql, "psql's aligned output");
        assert_eq!(names(&t), ["id", "first_name", "ssn"]);
        assert_eq!(
            column_of(&t, &mut cursor, psql, b"Tobias").as_deref(),
            Some("first_name")
        );
        assert_eq!(
            column_of(&t, &mut cursor, psql, b"509417236").as_deref(),
            Some("ssn")
        );
        assert_eq!(column_of(&t, &mut cursor, psql, b"---"), None, "the rule");
        assert_eq!(
            column_of(&t, &mut cursor, psql, b"rows"),
            None,
            "the footer"
        );

        let mysql = b"+----+------------+\n| id | first_name |\n+----+------------+\n\
                      |  1 | Ana        |\n+----+------------+\n1 row in set (0.00 sec)\n";
        let (t, mut cursor) = read_whole(mysql, "mysql's boxed output");
        assert_eq!(names(&t), ["", "id", "first_name", ""]);
        assert_eq!(
            column_of(&t, &mut cursor, mysql, b"Ana").as_deref(),
            Some("first_name")
        );
        assert_eq!(
            column_of(&t, &mut cursor, mysql, b"first_name"),
            None,
            "the header, under its border"
        );
        let mut cells = Vec::new();
        t.cells(mysql, 0..mysql.len(), &mut cursor, |c, v| {
            cells.push((c, mysql[v].to_vec()));
        });
        assert_eq!(cells, [(1, b"1".to_vec()), (2, b"Ana".to_vec())]);

        for text in [
            &b" id | ssn \n----+----+----\n 1 | 536228714\n"[..],
            b"id,ssn\n---+---\n",
            b"+----+\nid,ssn\n1,2\n",
            b"+----+-----+\n| id | ssn |\n1 | 2\n",
            b"+----+-----+\nx | id | ssn |\n+----+-----+\n",
        ] {
            assert!(
                Table::detect(text).is_none(),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
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
        let (t, mut cursor) = read_whole(csv, "a table");
        let mut column = |v: &[u8]| column_of(&t, &mut cursor, csv, v);
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

    #[test]
    fn a_quoted_cell_may_hold_line_breaks() {
        let csv = b"id,name,address,ssn\n1,Okafor,\"12 Harbour Road\nLeeds, LS1 4AP\",536228790\n2,\"Kovacs,\nMaria\",,223546718\n";
        let (t, mut cursor) = read_whole(csv, "a table, its first row over two lines");
        let mut column = |v: &[u8]| column_of(&t, &mut cursor, csv, v);
        assert_eq!(column(b"Leeds").as_deref(), Some("address"));
        assert_eq!(column(b"536228790").as_deref(), Some("ssn"));
        assert_eq!(column(b"Maria").as_deref(), Some("name"));
        assert_eq!(column(b"223546718").as_deref(), Some("ssn"));
        let mut cells = Vec::new();
        t.cells(csv, 0..csv.len(), &mut cursor, |c, v| {
            cells.push((c, String::from_utf8_lossy(&csv[v]).into_owned()));
        });
        assert_eq!(
            cells,
            [
                (0, "1".to_owned()),
                (1, "Okafor".to_owned()),
                (2, "12 Harbour Road\nLeeds, LS1 4AP".to_owned()),
                (3, "536228790".to_owned()),
                (0, "2".to_owned()),
                (1, "Kovacs,\nMaria".to_owned()),
                (3, "223546718".to_owned()),
            ]
        );
    }

    #[test]
    fn a_quote_inside_an_unquoted_cell_is_a_byte_like_any_other() {
        let csv = b"id,height,ssn\n1,5'10\",536228790\n2, \"6'1\"\"\",223546718\n3,12\" pizza,212339487\n";
        let (t, mut cursor) = read_whole(csv, "a table");
        let mut column = |v: &[u8]| column_of(&t, &mut cursor, csv, v);
        assert_eq!(column(b"536228790").as_deref(), Some("ssn"));
        assert_eq!(
            column(b"223546718").as_deref(),
            Some("ssn"),
            "a quoted cell after a blank, with a doubled quote"
        );
        assert_eq!(column(b"212339487").as_deref(), Some("ssn"));
    }

    #[test]
    fn a_row_begun_in_one_buffer_is_read_on_in_the_next() {
        let csv = b"id,notes,ssn\n1,\"a, b\nc, d\ne\",536228790\n";
        let t = Table::detect(csv).expect("a table");
        // The next buffer starts inside the quoted note, after `a, b`.
        let next = csv.windows(2).position(|w| w == b"\nc").unwrap_or(0);
        let mut cursor = Cursor::default();
        cursor.read(&t, &csv[..next + 3], 0, true, next);
        let rest = &csv[next..];
        cursor.read(&t, rest, next as u64, false, rest.len());
        let ssn = rest.windows(9).position(|w| w == b"536228790").unwrap_or(0);
        assert_eq!(
            t.column(rest, ssn, &mut cursor)
                .map(|c| t.columns()[c].as_str()),
            Some("ssn")
        );
        // Without the state for its offset, a buffer has no rows.
        let mut fresh = Cursor::default();
        fresh.read(&t, rest, next as u64, false, rest.len());
        assert_eq!(t.column(rest, ssn, &mut fresh), None);
    }
}
