//! HL7 version 2 messages as tables: the fields of a segment that hold a
//! person's data get the names the rules' context words know, by their
//! place in the segment as the standard defines it, since nothing in a
//! message names them (`PID|1||483920^^^HOSP^MR||Okonkwo^Chidi^E||19720314`
//! holds a patient's family and given names and birth date).
//!
//! Read are the patient (`PID`: name, alias, mother's maiden name, birth
//! date, address, phones, SSN, driving licence), the next of kin (`NK1`),
//! the guarantor (`GT1`), the insured (`IN1`) and the doctors named in
//! `PV1`, `ORC` and `OBR`; a name's, an address's and a phone's parts are
//! components (`^`), of each repetition (`~`). Other fields are no cells.
//!
//! A record is HL7 when it starts with a message, file or batch header
//! (`MSH`, `FHS`, `BHS`), which declares the separators. Segments end with
//! a carriage return, as the standard writes them, or a line break. The
//! reading is carried from buffer to buffer a segment at a time, and keeps
//! a buffer's values.

use crate::layout::{Cells, Reading};

/// Bytes at a record's start read to tell HL7.
const MAX_PREAMBLE: usize = 64;

/// The reading of a record of HL7 v2 messages.
#[derive(Debug)]
pub(crate) struct Hl7 {
    /// The delimiters the header declares (`|^~\&`).
    delimiters: crate::unescape::Delimiters,
    /// Names, and the buffer's values.
    cells: Cells,
    /// Where the next buffer's reading resumes, and whether the rest of a
    /// segment is to be passed over there.
    carry: Option<(u64, bool)>,
}

impl Hl7 {
    /// A reading of the record that `record_start` begins, when it starts
    /// with an HL7 v2 header segment: `MSH`, `FHS` or `BHS`, then the field
    /// separator and four distinct encoding characters.
    pub(crate) fn detect(record_start: &[u8]) -> Option<Hl7> {
        let head = crate::layout::preamble(record_start, MAX_PREAMBLE)?;
        if head.len() < 8 || !matches!(&head[..3], b"MSH" | b"FHS" | b"BHS") {
            return None;
        }
        let separators = &head[3..8];
        let mut seen = [false; 256];
        for &b in separators {
            if !b.is_ascii_punctuation() || seen[b as usize] {
                return None;
            }
            seen[b as usize] = true;
        }
        Some(Hl7 {
            delimiters: crate::unescape::Delimiters {
                field: separators[0],
                component: separators[1],
                repetition: separators[2],
                escape: separators[3],
                subcomponent: separators[4],
            },
            cells: Cells::default(),
            carry: None,
        })
    }

    /// How the message's fields escape characters.
    pub(crate) fn escapes(&self) -> crate::unescape::Escapes {
        crate::unescape::Escapes::Hl7 {
            delimiters: self.delimiters,
        }
    }

    /// The names and the values of the buffer read last.
    pub(crate) fn cells(&self) -> &Cells {
        &self.cells
    }

    /// Reads the segment `buf[start..end]`.
    fn segment(&mut self, buf: &[u8], start: usize, end: usize) {
        let segment = &buf[start..end];
        if segment.len() < 4 || segment[3] != self.delimiters.field {
            return;
        }
        let id: [u8; 3] = [segment[0], segment[1], segment[2]];
        if !fields_of_people(&id) {
            return;
        }
        let mut at = start + 4;
        let mut field = 1;
        while at <= end {
            let stop = memchr::memchr(self.delimiters.field, &buf[at..end]).map_or(end, |e| at + e);
            self.field_cells(buf, &id, field, at, stop);
            field += 1;
            at = stop + 1;
        }
    }

    /// The cells of field `field` of segment `id`, at `buf[start..end]`:
    /// of each repetition, the components that [`column`] names.
    fn field_cells(&mut self, buf: &[u8], id: &[u8; 3], field: usize, start: usize, end: usize) {
        let first = column(id, field, 1);
        if first.is_none() && column(id, field, 2).is_none() {
            return;
        }
        // A phone (XTN) may leave its first component empty and give the
        // area code and the local number apart (components 6 and 7, as
        // version 2.5 does): they are one cell, `617^4923385`.
        let phone = first == Some("phone");
        let mut area = None;
        let mut at = start;
        let mut component = 1;
        while at < end {
            let stop = buf[at..end]
                .iter()
                .position(|&b| b == self.delimiters.component || b == self.delimiters.repetition)
                .map_or(end, |e| at + e);
            if let Some(name) = column(id, field, component) {
                let column = self.cells.intern(name);
                let value = crate::table::trim_quoted(buf, at..stop, b"\"");
                self.cells.push(at, stop, column, Some(value));
            }
            match component {
                6 if phone && stop > at => area = Some(at),
                7 if stop > at => {
                    if let Some(area) = area.take() {
                        let column = self.cells.intern("phone");
                        self.cells.push(area, stop, column, Some(area..stop));
                    }
                }
                _ => {}
            }
            if stop < end && buf[stop] == self.delimiters.repetition {
                area = None;
                component = 1;
            } else {
                component += 1;
            }
            at = stop + 1;
        }
    }
}

impl Reading for Hl7 {
    /// Whether the rest of a segment is to be passed over.
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

    /// Reads the segment that starts at `p` ([`crate::layout::line_step`]).
    fn step(&mut self, buf: &[u8], _offset: u64, p: usize, skip: &mut bool, last: bool) -> usize {
        crate::layout::line_step(
            buf,
            p,
            skip,
            crate::layout::Lines::CrOrLf,
            last,
            |start, end| self.segment(buf, start, end),
        )
    }
}

/// Whether segment `id` holds fields that [`column`] names.
fn fields_of_people(id: &[u8; 3]) -> bool {
    matches!(
        id,
        b"PID" | b"NK1" | b"GT1" | b"IN1" | b"PV1" | b"ORC" | b"OBR"
    )
}

/// The column name of component `component` of field `field` of segment
/// `id` (both counted from 1, as the standard numbers them), when it holds
/// a person's data.
fn column(id: &[u8; 3], field: usize, component: usize) -> Option<&'static str> {
    // A person's name (XPN): family, given, middle.
    let name = || match component {
        1 => Some("family_name"),
        2 => Some("given_name"),
        3 => Some("middle_name"),
        _ => None,
    };
    // A doctor (XCN): an id, then the name.
    let doctor = || match component {
        2 => Some("family_name"),
        3 => Some("given_name"),
        _ => None,
    };
    let first = |name: &'static str| (component == 1).then_some(name);
    match (id, field) {
        (b"PID", 5 | 9) | (b"NK1", 2) | (b"GT1", 3) | (b"IN1", 16) => name(),
        (b"PID", 6) => first("maiden_name"),
        (b"PID", 7) | (b"GT1", 8) | (b"IN1", 18) => first("birth_date"),
        (b"PID", 11) | (b"NK1", 4) | (b"GT1", 5) | (b"IN1", 19) => first("street_address"),
        (b"PID", 13 | 14) | (b"NK1", 5 | 6) | (b"GT1", 6 | 7) => first("phone"),
        (b"PID", 19) | (b"GT1", 12) => first("ssn"),
        (b"PID", 20) => first("drivers_license"),
        (b"PV1", 7 | 8 | 9 | 17) | (b"ORC", 12) | (b"OBR", 16) => doctor(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::tests::{check_random_tails, check_splits, pairs, read_split};

    const SAMPLES: [&str; 1] = [include_str!("../../fuzz/seed-texts/adt.hl7")];
    const FORMAT_BYTES: &[u8] = b"\r\n|^~\\&PIDNK1GT1 0123";

    fn values(text: &str) -> Vec<(String, String)> {
        read_split(
            Hl7::detect(text.as_bytes()).expect("HL7"),
            text.as_bytes(),
            &[],
        )
    }

    #[test]
    fn the_fields_of_people_take_their_names_by_place() {
        let message = "MSH|^~\\&|ADT1|HOSP|||202403011230||ADT^A01|MSG1|P|2.5\r\
                       EVN|A01|202403011230\r\
                       PID|1||483920^^^HOSP^MR||Okonkwo^Chidi^E~Okonkwo^Chidiebere||19720314|M|||\
                       14 Tannery Lane^^Leeds^^LS1 4AB||(0113) 496 0112~^PRN^PH^^1^617^4923385||||||532-71-4408|\r\n\
                       PV1|1|I|W2^4^B||||0042^Adeyemi^Funmi^^^Dr\r\
                       OBX|1|ST|x||Okonkwo\r";
        assert_eq!(
            values(message),
            pairs(&[
                ("family_name", "Okonkwo"),
                ("given_name", "Chidi"),
                ("middle_name", "E"),
                ("family_name", "Okonkwo"),
                ("given_name", "Chidiebere"),
                ("birth_date", "19720314"),
                ("street_address", "14 Tannery Lane"),
                ("phone", "(0113) 496 0112"),
                ("phone", "617^4923385"),
                ("ssn", "532-71-4408"),
                ("family_name", "Adeyemi"),
                ("given_name", "Funmi"),
            ])
        );
    }

    #[test]
    fn declared_separators_are_used() {
        let message = "MSH#$%\\&#A#B\rPID#1##7##Okonkwo$Chidi%Obi$Ada#\r";
        assert_eq!(
            values(message),
            pairs(&[
                ("family_name", "Okonkwo"),
                ("given_name", "Chidi"),
                ("family_name", "Obi"),
                ("given_name", "Ada"),
            ])
        );
    }

    #[test]
    fn records_that_are_no_messages_are_not_read_as_one() {
        for text in [
            "MSH",
            "MSH|^~\\",
            "MSH|^^\\&|",
            "MSHA^~\\&|",
            "PID|1||x\r",
            "MSH ^~\\&|",
        ] {
            assert!(Hl7::detect(text.as_bytes()).is_none(), "{text}");
        }
    }

    #[test]
    fn a_reading_carries_over_between_buffers_at_any_byte() {
        for text in SAMPLES {
            assert!(check_splits(Hl7::detect, text.as_bytes()).len() >= 8);
        }
    }

    #[test]
    fn bytes_of_any_kind_after_the_header_are_read_without_fault() {
        for sample in SAMPLES {
            check_random_tails(Hl7::detect, sample.as_bytes(), FORMAT_BYTES);
        }
    }
}
