//! Query results in fixed-width columns, as sqlite3's column mode,
//! `sqlcmd` and SQL*Plus print them: a header line of names, a rule of
//! dashes under each, then one row to a line, each cell in its column's
//! place. A cell gets its column's name as context, as a CSV cell gets its
//! header's ([`crate::table`]).
//!
//! A column runs from the first dash of its rule to the first of the next;
//! places are counted in characters, as the clients pad them. The rows end
//! at the first blank line (after which `sqlcmd` and SQL*Plus write their
//! counts). The reading is carried from buffer to buffer a line at a time,
//! and keeps a buffer's values.

use crate::layout::{Cells, Reading};
use crate::table::strip_cr;

/// Longest header or rule line read, in bytes.
const MAX_HEADER: usize = 4096;
/// Most columns read.
const MAX_COLUMNS: usize = 256;

/// The reading of a record that is a fixed-width query result.
#[derive(Debug)]
pub(crate) struct Fixed {
    /// Each column's first character in a line, and its name.
    columns: Vec<(usize, u32)>,
    /// Names, and the buffer's values.
    cells: Cells,
    /// Where the next buffer's reading resumes, and the reading there.
    carry: Option<(u64, State)>,
}

/// Where a reading stands, at a line's start or inside one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct State {
    /// Lines from the record's start still to pass: the header and the rule.
    header: u8,
    /// The rest of a line, cut by the buffer, is to be passed over.
    skip: bool,
    /// The rows have ended.
    ended: bool,
}

impl Fixed {
    /// A reading of the record that `record_start` begins, when its first
    /// line names two or more columns and its second is their rule: runs
    /// of `-` split by blanks, each name within its run.
    pub(crate) fn detect(record_start: &[u8]) -> Option<Fixed> {
        let head = &record_start[..record_start.len().min(2 * MAX_HEADER)];
        let first = memchr::memchr(b'\n', head)?;
        let header = strip_cr(&head[..first]);
        let second = memchr::memchr(b'\n', &head[first + 1..])? + first + 1;
        let rule = strip_cr(&head[first + 1..second]);
        if !rule.starts_with(b"-") || !rule.iter().all(|&b| b == b'-' || b == b' ') {
            return None;
        }
        // The header's names, each with its first byte.
        let names = words(header);
        let runs = words(rule);
        if runs.len() < 2 || runs.len() > MAX_COLUMNS || names.len() != runs.len() {
            return None;
        }
        let mut cells = Cells::default();
        let mut columns = Vec::with_capacity(runs.len());
        for (name, run) in names.iter().zip(&runs) {
            let word = &header[name.clone()];
            let named = word[0].is_ascii_alphabetic()
                && word
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'#');
            // ASCII names, so their bytes are characters; SQL*Plus puts a
            // number's name at the end of its run.
            if name.start < run.start || name.end > run.end || !named {
                return None;
            }
            let column = cells.intern(&String::from_utf8_lossy(word));
            columns.push((run.start, column));
        }
        Some(Fixed {
            columns,
            cells,
            carry: None,
        })
    }

    /// The names and the values of the buffer read last.
    pub(crate) fn cells(&self) -> &Cells {
        &self.cells
    }

    /// The cells of the row `buf[start..end]`.
    fn row(&mut self, buf: &[u8], start: usize, end: usize) {
        let line = &buf[start..end];
        // Each column's first byte in the line, counting characters.
        let mut places = Vec::with_capacity(self.columns.len() + 1);
        let mut chars = 0;
        let mut next = 0;
        for (i, &b) in line.iter().enumerate() {
            if next < self.columns.len() && chars == self.columns[next].0 {
                places.push(i);
                next += 1;
            }
            // A UTF-8 continuation byte is no character of its own.
            if b & 0xC0 != 0x80 {
                chars += 1;
            }
        }
        for (i, &at) in places.iter().enumerate() {
            let to = places.get(i + 1).copied().unwrap_or(line.len());
            // A place inside a character starts at its next one.
            let at = (at..to).find(|&p| line[p] & 0xC0 != 0x80).unwrap_or(to);
            let value = crate::table::trim_quoted(buf, start + at..start + to, b"");
            self.cells
                .push(start + at, start + to, self.columns[i].1, Some(value));
        }
    }
}

impl Reading for Fixed {
    type State = State;

    fn initial() -> State {
        State {
            header: 2,
            skip: false,
            ended: false,
        }
    }

    fn cells_mut(&mut self) -> &mut Cells {
        &mut self.cells
    }

    fn carry(&mut self) -> &mut Option<(u64, State)> {
        &mut self.carry
    }

    /// Reads the line that starts at `p` ([`crate::layout::line_step`]).
    fn step(&mut self, buf: &[u8], _offset: u64, p: usize, s: &mut State, last: bool) -> usize {
        if s.ended {
            return buf.len();
        }
        let (header, ended) = (&mut s.header, &mut s.ended);
        crate::layout::line_step(
            buf,
            p,
            &mut s.skip,
            crate::layout::Lines::Lf,
            last,
            |start, end| {
                if *header > 0 {
                    *header -= 1;
                } else if buf[start..end].iter().all(|&b| b == b' ' || b == b'\t') {
                    *ended = true;
                } else {
                    self.row(buf, start, end);
                }
            },
        )
    }
}

/// The runs of bytes other than blanks in `line`.
fn words(line: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &b) in line.iter().enumerate() {
        match (b == b' ', start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            _ => {}
        }
        if out.len() > MAX_COLUMNS {
            return out;
        }
    }
    if let Some(s) = start {
        out.push(s..line.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::tests::{check_splits, pairs, read_split};

    fn values(text: &str) -> Vec<(String, String)> {
        read_split(
            Fixed::detect(text.as_bytes()).expect("a result"),
            text.as_bytes(),
            &[],
        )
    }

    #[test]
    fn cells_take_the_names_of_the_columns_they_stand_in() {
        let sqlite = "id  first_name  plan\n--  ----------  ----\n1   Wojciech    gold\n\
                      22  Zoë Ångström  \n\n(2 rows)\n";
        assert_eq!(
            values(sqlite),
            pairs(&[
                ("id", "1"),
                ("first_name", "Wojciech"),
                ("plan", "gold"),
                ("id", "22"),
                ("first_name", "Zoë Ångström"),
            ])
        );
        let sqlplus = "     EMPNO LAST_NAME\n---------- ----------\n      7369 Kowalczyk\n\n1 row selected.\n";
        assert_eq!(
            values(sqlplus),
            pairs(&[("EMPNO", "7369"), ("LAST_NAME", "Kowalczyk")])
        );
        let sqlcmd = "emp_id      ssn\r\n----------- ---------\r\n        311 532714408\r\n\r\n(1 rows affected)\r\n";
        assert_eq!(
            values(sqlcmd),
            pairs(&[("emp_id", "311"), ("ssn", "532714408")])
        );
    }

    #[test]
    fn a_reading_carries_over_between_buffers_at_any_byte() {
        let text = "id  first_name  plan\n--  ----------  ----\n1   Wojciech    gold\n22  Zoë Ångström  x\n";
        assert_eq!(check_splits(Fixed::detect, text.as_bytes()).len(), 6);
    }

    #[test]
    fn text_that_is_no_result_is_not_read_as_one() {
        for text in [
            "id  name\n--\n",
            "Title\n-----\ntext\n",
            "id  name\n--  ----  ----\n",
            "1st  name\n---  ----\n",
            "id   name\n--  ----\n",
            "id  name\n--  -- -\n",
            "  id name\n--  ----\n",
            "",
        ] {
            assert!(Fixed::detect(text.as_bytes()).is_none(), "{text}");
        }
    }
}
