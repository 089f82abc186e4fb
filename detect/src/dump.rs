//! SQL dumps as tables: the rows of a `pg_dump` or `mysqldump` file get
//! the names of their columns, as the cells of a CSV file below its header
//! do ([`crate::table`]). Backups of databases are what a bucket scan meets
//! most often, and a name or a bare number is findable there only by its
//! column.
//!
//! Three statements are read, each from the start of a line:
//!
//! - `COPY table (a, b, ...) FROM stdin;` and the rows after it, one per
//!   line, cells split by tabs, up to the line `\.` (PostgreSQL's text
//!   format, what `pg_dump` writes by default);
//! - `INSERT INTO table (a, b, ...) VALUES (...), (...);`, on one line or
//!   many, strings in single or double quotes (`''` inside one is a quote;
//!   a backslash escapes the next byte in MySQL's dumps);
//! - `CREATE TABLE table (` and its body, one column to a line, whose
//!   names are the columns of a later `INSERT` or `COPY` without a column
//!   list (`mysqldump`'s and `pg_dump --inserts`'s rows).
//!
//! Everything else is passed over line by line. The reading is carried
//! from buffer to buffer like a table's, so a statement begun blocks
//! before still gives its cells their columns. Memory is bounded: at most
//! 65,536 column names, [`MAX_TABLES`] tables of [`MAX_COLUMNS`] columns
//! each are kept, and a buffer's cells.

use std::collections::HashMap;

use crate::layout::{Cells, Reading, starts_with_caseless};
/// Tables whose columns are kept from their `CREATE TABLE`.
const MAX_TABLES: usize = 4_096;
/// Columns kept of a table (MySQL allows 4,096, PostgreSQL 1,600): a
/// longer body, crafted or broken, grows the reading no further.
const MAX_COLUMNS: usize = 4_096;
/// Longest statement head read (`COPY`, `INSERT` up to `VALUES`, `CREATE
/// TABLE`), and longest line of a `CREATE TABLE` body.
const MAX_HEAD: usize = 16 * 1024;
/// Bytes at a record's start where its first statement or comment must
/// begin for it to be read as a dump.
const MAX_PREAMBLE: usize = 1024;

/// The reading of a record that is an SQL dump.
#[derive(Debug, Default)]
pub(crate) struct Dump {
    /// Column names, and the buffer's cells.
    cells: Cells,
    /// The columns of the tables created so far, by unquoted table name.
    tables: HashMap<String, Vec<u32>>,
    /// A MySQL or MariaDB dump: backslashes escape in strings.
    mysql: bool,
    /// Where the next buffer's reading resumes (a record offset at or
    /// after its first byte) and the reading there.
    carry: Option<(u64, Mode)>,
}

/// Where a reading stands, between two bytes. Offsets are record offsets,
/// so that a reading carries over to the next buffer unchanged.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    /// At a line's start, outside the statements read.
    Line,
    /// Inside a line not read: on to its end.
    Skip,
    /// In a `CREATE TABLE`'s body, at a line's start (`line`) or inside a
    /// line already read.
    Create {
        table: String,
        columns: Vec<u32>,
        line: bool,
    },
    /// In `COPY` rows: the current cell's column and first byte, and
    /// whether a line starts here (`\.` ends the rows).
    Copy {
        columns: Vec<u32>,
        column: usize,
        cell: u64,
        line: bool,
    },
    /// In an `INSERT`'s values.
    Insert(Box<Insert>),
}

#[derive(Debug, Clone)]
pub(crate) struct Insert {
    columns: Vec<u32>,
    /// Parentheses open: 1 inside a row, more inside a call in a cell.
    depth: u32,
    column: usize,
    cell: u64,
    /// The quote of the open string, or 0.
    quote: u8,
    /// Backslashes escape the next byte in strings.
    escape: bool,
}

/// A statement's head.
enum Head {
    Copy {
        table: String,
        columns: Option<Vec<String>>,
    },
    Insert {
        table: String,
        columns: Option<Vec<String>>,
        /// Where the rows start, in the line.
        values: usize,
        backticks: bool,
    },
    Create {
        table: String,
        /// The column names on the head's own line (`CREATE TABLE t (a
        /// int, b text);`), and whether the body ends there.
        columns: Vec<String>,
        closed: bool,
    },
}

impl Dump {
    /// How the dump's strings escape characters.
    pub(crate) fn escapes(&self) -> crate::unescape::Escapes {
        crate::unescape::Escapes::Sql {
            backslash: self.mysql,
        }
    }

    /// A reading of the record that `record_start` begins, when its first
    /// line (blank lines aside) is an SQL comment or one of the
    /// statements that dumps start with.
    pub(crate) fn detect(record_start: &[u8]) -> Option<Dump> {
        let line = crate::layout::preamble(record_start, MAX_PREAMBLE)?;
        // `--` and a blank (not YAML's `---` nor a rule of dashes).
        let comment = line.starts_with(b"--")
            && line
                .get(2)
                .is_none_or(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
        let sql = comment
            || line.starts_with(b"/*")
            || [
                "SET ",
                "CREATE ",
                "INSERT ",
                "COPY ",
                "BEGIN",
                "DROP ",
                "USE ",
                "LOCK ",
                "START TRANSACTION",
                "ALTER ",
                "REPLACE ",
            ]
            .iter()
            .any(|k| starts_with_caseless(line, k.as_bytes()));
        if !sql {
            return None;
        }
        let mysql = memchr::memmem::find(record_start, b"MySQL dump").is_some()
            || memchr::memmem::find(record_start, b"MariaDB dump").is_some()
            || memchr::memmem::find(record_start, b"/*!40101").is_some();
        Some(Dump {
            mysql,
            ..Dump::default()
        })
    }

    /// The column names and the cells of the buffer read last.
    pub(crate) fn cells(&self) -> &Cells {
        &self.cells
    }

    /// Reads on from `p` in `mode`, up to a point where the reading may be
    /// kept (a line's end, a cell's end, a quote); returns that point and
    /// the reading there.
    fn advance(&mut self, buf: &[u8], offset: u64, p: usize, mode: Mode) -> (usize, Mode) {
        let line_end = |from: usize| memchr::memchr(b'\n', &buf[from..]).map(|e| from + e);
        match mode {
            Mode::Skip => match line_end(p) {
                Some(e) => (e + 1, Mode::Line),
                None => (buf.len(), Mode::Skip),
            },
            Mode::Line => {
                // An `INSERT`'s rows may run on for megabytes on its line;
                // its head, and any other statement's line, is short.
                let cut = (p + MAX_HEAD).min(buf.len());
                let end = memchr::memchr(b'\n', &buf[p..cut]).map(|e| p + e);
                let line = &buf[p..end.unwrap_or(cut)];
                let head = head(line);
                let Some(e) = end.or(match head {
                    Some(Head::Insert { .. }) => Some(cut),
                    _ => None,
                }) else {
                    return (p, Mode::Skip);
                };
                match head {
                    None => (e + 1, Mode::Line),
                    Some(Head::Copy { table, columns }) => {
                        let columns = self.columns_of(&table, columns);
                        let cell = offset + e as u64 + 1;
                        let mode = Mode::Copy {
                            columns,
                            column: 0,
                            cell,
                            line: true,
                        };
                        (e + 1, mode)
                    }
                    Some(Head::Insert {
                        table,
                        columns,
                        values,
                        backticks,
                    }) => {
                        let columns = self.columns_of(&table, columns);
                        let insert = Insert {
                            columns,
                            depth: 0,
                            column: 0,
                            cell: 0,
                            quote: 0,
                            escape: self.mysql || backticks,
                        };
                        (p + values, Mode::Insert(Box::new(insert)))
                    }
                    Some(Head::Create {
                        table,
                        columns,
                        closed,
                    }) => {
                        let columns: Vec<u32> = columns.iter().map(|c| self.intern(c)).collect();
                        if closed {
                            self.keep_table(table, columns);
                            (e + 1, Mode::Line)
                        } else {
                            let mode = Mode::Create {
                                table,
                                columns,
                                line: true,
                            };
                            (e + 1, mode)
                        }
                    }
                }
            }
            Mode::Create {
                table,
                mut columns,
                line,
            } => {
                let end = line_end(p);
                let next = end.map_or(buf.len(), |e| e + 1);
                if !line {
                    let mode = Mode::Create {
                        table,
                        columns,
                        line: end.is_none(),
                    };
                    return (next, mode);
                }
                let Some(e) = end.filter(|&e| e - p <= MAX_HEAD) else {
                    let mode = Mode::Create {
                        table,
                        columns,
                        line: false,
                    };
                    return (next, mode);
                };
                let body = buf[p..e].trim_ascii();
                if body.starts_with(b")") {
                    self.keep_table(table, columns);
                    return (e + 1, Mode::Line);
                }
                if let Some(name) = column_definition(body)
                    && columns.len() < MAX_COLUMNS
                {
                    columns.push(self.intern(&name));
                }
                let mode = Mode::Create {
                    table,
                    columns,
                    line: true,
                };
                (e + 1, mode)
            }
            Mode::Copy {
                columns,
                mut column,
                mut cell,
                line,
            } => {
                if line {
                    let rest = &buf[p..];
                    if rest.starts_with(b"\\.")
                        && matches!(rest.get(2), None | Some(b'\n') | Some(b'\r'))
                    {
                        return (p, Mode::Skip);
                    }
                }
                let Some(d) = memchr::memchr2(b'\t', b'\n', &buf[p..]).map(|d| p + d) else {
                    self.push(buf, offset, cell, buf.len(), columns.get(column), true);
                    let mode = Mode::Copy {
                        columns,
                        column,
                        cell,
                        line: false,
                    };
                    return (buf.len(), mode);
                };
                let end = if buf[d] == b'\n' && d > p && buf[d - 1] == b'\r' {
                    d - 1
                } else {
                    d
                };
                self.push(buf, offset, cell, end, columns.get(column), false);
                cell = offset + d as u64 + 1;
                let line = buf[d] == b'\n';
                column = if line { 0 } else { column + 1 };
                let mode = Mode::Copy {
                    columns,
                    column,
                    cell,
                    line,
                };
                (d + 1, mode)
            }
            Mode::Insert(mut insert) => match self.insert(buf, offset, p, &mut insert) {
                Ok(p) => (p, Mode::Insert(insert)),
                Err(p) => (p, Mode::Skip),
            },
        }
    }

    /// Reads the rows of an `INSERT` from `p` up to the next point where
    /// the reading may be kept: `Ok` with that point, or `Err` with where
    /// the rest of the line starts when the statement's rows end (its `;`,
    /// or a clause after them such as `ON CONFLICT`).
    fn insert(
        &mut self,
        buf: &[u8],
        offset: u64,
        mut p: usize,
        s: &mut Insert,
    ) -> Result<usize, usize> {
        if s.quote != 0 {
            let rest = &buf[p..];
            let found = if s.escape {
                memchr::memchr2(s.quote, b'\\', rest)
            } else {
                memchr::memchr(s.quote, rest)
            };
            let Some(q) = found.map(|q| p + q) else {
                return Ok(buf.len());
            };
            if buf[q] == b'\\' {
                return Ok((q + 2).min(buf.len()));
            }
            if buf.get(q + 1) == Some(&s.quote) {
                return Ok(q + 2);
            }
            s.quote = 0;
            return Ok(q + 1);
        }
        while p < buf.len() {
            let b = buf[p];
            match b {
                b'\'' | b'"' if s.depth > 0 => {
                    s.quote = b;
                    return Ok(p + 1);
                }
                b'(' => {
                    if s.depth == 0 {
                        s.column = 0;
                        s.cell = offset + p as u64 + 1;
                    }
                    s.depth += 1;
                }
                b')' if s.depth > 0 => {
                    s.depth -= 1;
                    if s.depth == 0 {
                        self.push(buf, offset, s.cell, p, s.columns.get(s.column), false);
                        return Ok(p + 1);
                    }
                }
                b',' if s.depth == 1 => {
                    self.push(buf, offset, s.cell, p, s.columns.get(s.column), false);
                    s.column += 1;
                    s.cell = offset + p as u64 + 1;
                    return Ok(p + 1);
                }
                b';' if s.depth == 0 => return Err(p + 1),
                _ if s.depth == 0 && !(b.is_ascii_whitespace() || b == b',') => return Err(p),
                _ => {}
            }
            p += 1;
        }
        Ok(p)
    }

    /// Records the cell from record offset `cell` to `end` (in `buf`) in
    /// `column`, when there is one; without its value when the buffer
    /// cuts it (`cut`).
    fn push(
        &mut self,
        buf: &[u8],
        offset: u64,
        cell: u64,
        end: usize,
        column: Option<&u32>,
        cut: bool,
    ) {
        let Some(&c) = column else {
            return;
        };
        let start = cell.saturating_sub(offset) as usize;
        if start > end {
            return;
        }
        let value = (cell >= offset && !cut).then(|| sql_value(buf, start..end));
        self.cells.push(start, end, c, value);
    }

    /// The columns of a statement on `table`: those it lists, or those of
    /// the table's `CREATE TABLE`.
    fn columns_of(&mut self, table: &str, listed: Option<Vec<String>>) -> Vec<u32> {
        match listed {
            Some(names) => names.iter().map(|n| self.intern(n)).collect(),
            None => self.tables.get(table).cloned().unwrap_or_default(),
        }
    }

    fn keep_table(&mut self, table: String, columns: Vec<u32>) {
        if self.tables.len() < MAX_TABLES || self.tables.contains_key(&table) {
            self.tables.insert(table, columns);
        }
    }

    fn intern(&mut self, name: &str) -> u32 {
        self.cells.intern(name)
    }
}

impl Reading for Dump {
    type State = Mode;

    fn initial() -> Mode {
        Mode::Line
    }

    fn cells_mut(&mut self) -> &mut Cells {
        &mut self.cells
    }

    fn carry(&mut self) -> &mut Option<(u64, Mode)> {
        &mut self.carry
    }

    fn step(&mut self, buf: &[u8], offset: u64, p: usize, mode: &mut Mode, _last: bool) -> usize {
        let (p, after) = self.advance(buf, offset, p, std::mem::replace(mode, Mode::Skip));
        *mode = after;
        p
    }
}

/// The value in a cell's bytes: without blanks around it, nor the quotes
/// of an SQL string.
fn sql_value(buf: &[u8], range: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let value = crate::table::trim_quoted(buf, range, b"'\"");
    let bytes = &buf[value.clone()];
    if bytes == b"\\N" || bytes.eq_ignore_ascii_case(b"NULL") {
        return value.start..value.start;
    }
    value
}

/// A reader of a statement's head: keywords, names and lists.
struct Lexer<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Lexer<'a> {
    fn blanks(&mut self) {
        while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    /// Takes keyword `word` (in any case, as a whole word).
    fn keyword(&mut self, word: &str) -> bool {
        self.blanks();
        let rest = &self.text[self.at..];
        let fits = starts_with_caseless(rest, word.as_bytes())
            && !rest
                .get(word.len())
                .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_');
        if fits {
            self.at += word.len();
        }
        fits
    }

    fn byte(&mut self, b: u8) -> bool {
        self.blanks();
        let fits = self.text.get(self.at) == Some(&b);
        if fits {
            self.at += 1;
        }
        fits
    }

    /// One identifier, bare or quoted (`"a"`, `` `a` ``, `[a]`), unquoted.
    fn identifier(&mut self) -> Option<(String, bool)> {
        self.blanks();
        let rest = &self.text[self.at..];
        let close = match rest.first()? {
            b'"' => b'"',
            b'`' => b'`',
            b'[' => b']',
            _ => {
                let n = rest
                    .iter()
                    .take_while(|&&b| {
                        b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
                    })
                    .count();
                if n == 0 || rest[0].is_ascii_digit() {
                    return None;
                }
                self.at += n;
                return Some((String::from_utf8_lossy(&rest[..n]).into_owned(), false));
            }
        };
        let n = memchr::memchr(close, &rest[1..])?;
        self.at += n + 2;
        let name = String::from_utf8_lossy(&rest[1..1 + n]).into_owned();
        Some((name, rest[0] == b'`'))
    }

    /// A name, perhaps qualified (`public.customers`): its last part, and
    /// whether backticks quote it.
    fn name(&mut self) -> Option<(String, bool)> {
        let (mut name, mut backticks) = self.identifier()?;
        while self.text.get(self.at) == Some(&b'.') {
            self.at += 1;
            let (part, b) = self.identifier()?;
            name = part;
            backticks |= b;
        }
        Some((name, backticks))
    }

    /// A parenthesized list of names.
    fn names(&mut self) -> Option<Vec<String>> {
        if !self.byte(b'(') {
            return None;
        }
        let mut names = Vec::new();
        loop {
            names.push(self.identifier()?.0);
            if self.byte(b')') {
                return Some(names);
            }
            if !self.byte(b',') {
                return None;
            }
        }
    }
}

/// The head of the statement that `line` starts, if it is one read.
fn head(line: &[u8]) -> Option<Head> {
    let first = *line.first()?;
    if !matches!(first | 0x20, b'c' | b'i' | b'r') {
        return None;
    }
    let mut lexer = Lexer { text: line, at: 0 };
    if lexer.keyword("COPY") {
        let (table, _) = lexer.name()?;
        lexer.blanks();
        let columns = if line.get(lexer.at) == Some(&b'(') {
            Some(lexer.names()?)
        } else {
            None
        };
        return (lexer.keyword("FROM") && lexer.keyword("stdin"))
            .then_some(Head::Copy { table, columns });
    }
    if lexer.keyword("INSERT") || lexer.keyword("REPLACE") {
        let _ = lexer.keyword("IGNORE");
        if !lexer.keyword("INTO") {
            return None;
        }
        let (table, backticks) = lexer.name()?;
        lexer.blanks();
        let columns = if line.get(lexer.at) == Some(&b'(') {
            Some(lexer.names()?)
        } else {
            None
        };
        if !lexer.keyword("VALUES") {
            return None;
        }
        return Some(Head::Insert {
            table,
            columns,
            values: lexer.at,
            backticks,
        });
    }
    if lexer.keyword("CREATE") {
        for word in ["TEMPORARY", "TEMP", "UNLOGGED"] {
            let _ = lexer.keyword(word);
        }
        if !lexer.keyword("TABLE") {
            return None;
        }
        if lexer.keyword("IF") && !(lexer.keyword("NOT") && lexer.keyword("EXISTS")) {
            return None;
        }
        let (table, _) = lexer.name()?;
        if !lexer.byte(b'(') {
            return None;
        }
        // Column definitions on the head's line, split at top-level commas.
        let mut columns = Vec::new();
        let mut depth = 0u32;
        let mut start = lexer.at;
        let rest = line;
        let mut closed = false;
        let mut i = lexer.at;
        while i < rest.len() {
            match rest[i] {
                b'(' => depth += 1,
                b')' if depth == 0 => {
                    closed = true;
                    break;
                }
                b')' => depth -= 1,
                b',' if depth == 0 => {
                    columns.extend(column_definition(rest[start..i].trim_ascii()));
                    start = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        columns.extend(column_definition(rest[start..i].trim_ascii()));
        return Some(Head::Create {
            table,
            columns,
            closed,
        });
    }
    None
}

/// The column that a line of a `CREATE TABLE` body defines (`first_name
/// text,`, `` `email` varchar(255) NOT NULL, ``), not a constraint or key.
fn column_definition(line: &[u8]) -> Option<String> {
    const NOT_COLUMNS: [&str; 12] = [
        "PRIMARY",
        "KEY",
        "UNIQUE",
        "CONSTRAINT",
        "INDEX",
        "FOREIGN",
        "CHECK",
        "FULLTEXT",
        "SPATIAL",
        "EXCLUDE",
        "LIKE",
        "PERIOD",
    ];
    let mut lexer = Lexer { text: line, at: 0 };
    let bare = line.first().is_some_and(|b| b.is_ascii_alphabetic());
    if bare && NOT_COLUMNS.iter().any(|k| lexer.keyword(k)) {
        return None;
    }
    let (name, _) = lexer.identifier()?;
    // A type must follow.
    lexer.blanks();
    lexer
        .text
        .get(lexer.at)
        .is_some_and(u8::is_ascii_alphabetic)
        .then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::tests::pairs;

    /// Each cell of `sql`, read as one buffer: column name and value.
    fn cells(sql: &str) -> Vec<(String, String)> {
        let mut dump = Dump::detect(sql.as_bytes()).expect("a dump");
        dump.read(sql.as_bytes(), 0, true, sql.len(), true);
        let mut out = Vec::new();
        let cells = dump.cells();
        cells.values(0..sql.len(), |c, v| {
            out.push((cells.names()[c].clone(), sql[v].to_owned()));
        });
        out
    }

    #[test]
    fn copy_rows_get_their_columns_up_to_the_end_marker() {
        let sql = "--\n-- PostgreSQL database dump\n--\nCOPY public.people (id, \"Last Name\", note) FROM stdin;\n\
                   1\tOkafor\t\\N\n2\tLindqvist\tsays hi\r\n\\.\nSELECT 1\tOkafor\tx\n";
        assert_eq!(
            cells(sql),
            pairs(&[
                ("id", "1"),
                ("Last Name", "Okafor"),
                ("id", "2"),
                ("Last Name", "Lindqvist"),
                ("note", "says hi"),
            ])
        );
    }

    #[test]
    fn statements_without_a_column_list_take_their_tables_columns() {
        let sql = "CREATE TABLE IF NOT EXISTS \"shop\".\"people\" (\n  id int,\n  surname text NOT NULL,\n  \
                   CONSTRAINT people_pk PRIMARY KEY (id)\n);\nCREATE TABLE tags (tag text, weight numeric(4, 2));\n\
                   INSERT INTO shop.people VALUES (1, 'Okafor') ON CONFLICT DO NOTHING;\n\
                   COPY tags FROM stdin;\nvip\t0.5\n\\.\n";
        assert_eq!(
            cells(sql),
            pairs(&[
                ("id", "1"),
                ("surname", "Okafor"),
                ("tag", "vip"),
                ("weight", "0.5"),
            ])
        );
    }

    #[test]
    fn insert_rows_read_quotes_escapes_and_calls() {
        let sql = "/*!40101 SET NAMES utf8 */;\nINSERT INTO `t` (`a`, `b`, `c`) VALUES (1,'x, \\'y\\' (z)',ST_GeomFromText('POINT(1 2)')),\n\
                   (2,'it''s',NULL);\n";
        assert_eq!(
            cells(sql),
            pairs(&[
                ("a", "1"),
                ("b", "x, \\'y\\' (z)"),
                ("c", "ST_GeomFromText('POINT(1 2)')"),
                ("a", "2"),
                ("b", "it''s"),
            ])
        );
    }

    #[test]
    fn a_reading_carries_over_to_the_next_buffer() {
        let sql = "COPY p (id, last_name) FROM stdin;\n1\tOkafor\n2\tLindqvist\n\\.\n";
        let split = sql.find("Lindq").unwrap() + 2;
        let mut dump = Dump::detect(sql.as_bytes()).unwrap();
        // The first buffer reaches past where the second starts.
        dump.read(&sql.as_bytes()[..split + 3], 0, true, split, false);
        let second = &sql.as_bytes()[split..];
        dump.read(second, split as u64, false, second.len(), true);
        let cells = dump.cells();
        let column = cells.column(0).map(|c| cells.names()[c].as_str());
        assert_eq!(column, Some("last_name"), "mid-cell at the buffer's start");
        let mut values = Vec::new();
        cells.values(0..second.len(), |_, v| values.push(v));
        assert!(values.is_empty(), "a cell begun before has no whole value");
        // Without the earlier buffer's reading, no cells.
        let mut fresh = Dump::detect(sql.as_bytes()).unwrap();
        fresh.read(second, split as u64, false, second.len(), true);
        assert_eq!(fresh.cells().column(0), None);
    }

    #[test]
    fn a_table_keeps_at_most_its_bound_of_columns() {
        let mut sql = String::from("CREATE TABLE t (\n");
        for i in 0..MAX_COLUMNS + 100 {
            sql.push_str(&format!("  c{i} int,\n"));
        }
        sql.push_str(");\n");
        let mut dump = Dump::detect(sql.as_bytes()).unwrap();
        dump.read(sql.as_bytes(), 0, true, sql.len(), true);
        assert_eq!(dump.tables["t"].len(), MAX_COLUMNS);
    }

    #[test]
    fn records_that_are_no_dumps_are_not_read_as_one() {
        for text in [
            "id,name\n1,Ana\n",
            "fn main() {}\n",
            "Hello,\nworld\n",
            "",
            "----\n",
        ] {
            assert!(Dump::detect(text.as_bytes()).is_none(), "{text:?}");
        }
        assert!(Dump::detect(b"\n\n-- dump\n").is_some());
        assert!(Dump::detect(b"--\n-- PostgreSQL database dump\n").is_some());
        assert!(Dump::detect(b"---\nkind: Secret\n").is_none(), "YAML");
        assert!(Dump::detect(b"insert into t values (1);\n").is_some());
    }
}
