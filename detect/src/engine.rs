//! The scanning engine.
//!
//! All rules are compiled once into one prefilter: a Vectorscan literal
//! database over every rule's anchors (`literals.rs`), and a table of
//! digit-run triggers with their shape filters. An anchor hit opens a window
//! only between the bytes the rule's `around` asks for, reaching back as far
//! as its `lead`; a gated rule's digit run only with a context word near it
//! (`words.rs`). A
//! record is consumed as blocks: region `k` covers bytes `[kB, (k+1)B)` and is
//! scanned in a buffer extended by `O = MAX_MATCH_LEN` bytes before and `2·O`
//! after, so a match (at most `O` long) that crosses a block boundary lies
//! whole in the buffer of the region it starts in, with any anchor within `O`
//! of it, and is reported there and only there. Memory is `B + 3·O` per
//! scanner whatever the record's size.
//!
//! For each trigger the rule's regex runs on a window around it (windows of
//! one rule merged), with the whole buffer visible to look-arounds such as
//! `\b`. Each match is validated, scored ([`crate::score`]) and reported when
//! it reaches the threshold; overlapping matches of the same category keep
//! the best one. The anchors include the headers of Kubernetes Secrets'
//! `data` maps: each entry whose value starts in the region is decoded and
//! its text scanned by the same scanner, once (`decode.rs`).

use std::io::Read;

use regex_automata::meta::Regex;
use regex_automata::util::syntax;
use regex_automata::{Input, util::captures::Captures};

use crate::Error;
use crate::literals::{Literals, Scratch};
use crate::rules::{DigitsTrigger, Rule, RuleSet};
use crate::score;
use crate::simd;
use crate::words::{self, Near, WordSet};

/// Longest match any rule may declare, and the block overlap.
pub const MAX_MATCH_LEN: usize = 8 * 1024;
/// Default block size.
pub const DEFAULT_BLOCK_SIZE: usize = 1024 * 1024;
/// Bytes a buffer extends past its region: a match starting in the region
/// (at most `O` long) and an anchor up to `O` after it.
const LOOKAHEAD: usize = 2 * MAX_MATCH_LEN;
/// Bytes of look-back and look-ahead around a digit run.
const DIGIT_WINDOW: usize = 24;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Lowest confidence reported (default 0.5, the start of `medium`).
    pub threshold: f32,
    /// Block size in bytes (default 1 MiB); at least `MAX_MATCH_LEN`.
    pub block_size: usize,
    /// Whether the prefilter chooses where patterns run (default true).
    /// Without it every rule's pattern runs over all the text: many times
    /// slower, and the reference the prefilter is checked against. On the
    /// rules' examples and the labelled corpus the two must agree; on other
    /// text a trigger's shape filters may also reject what a bare pattern
    /// finds (the digits of a float's fraction), by design.
    pub prefilter: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            threshold: 0.5,
            block_size: DEFAULT_BLOCK_SIZE,
            prefilter: true,
        }
    }
}

/// A compiled rule.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) rule: Rule,
    re: Regex,
    /// Capture group of the value.
    group: usize,
    /// Context words, lower-cased.
    pub(crate) context_words: Vec<Vec<u8>>,
    /// Penalty words, lower-cased.
    pub(crate) penalty_words: Vec<Vec<u8>>,
    /// How far a window reaches on each side of an anchor: the rule's
    /// `max_len`, or, for an `anchored` rule, the pattern's own longest match
    /// when that is shorter (`ghp_` and 36 characters: 40).
    reach: usize,
    /// How far a window reaches before an anchor: the rule's `lead`, else
    /// `reach`.
    lead: usize,
    /// The rule's `around` test of anchor hits.
    around: Option<Box<Shape>>,
    /// Ids in [`Engine::gate_words`] of the context words of a rule that
    /// cannot reach the threshold without one: a digit run triggers the rule
    /// only with one of them nearby. Empty for other rules.
    gate: Vec<usize>,
}

/// A match, with its raw value. The value stays in the worker: it is turned
/// into a masked preview and a fingerprint ([`crate::privacy`]) and dropped.
#[derive(Clone, PartialEq)]
pub struct Detection {
    /// Index of the rule, for [`Engine::rule`].
    pub rule: usize,
    /// Byte offset of the value in the record.
    pub start: u64,
    /// Byte offset one past the value.
    pub end: u64,
    /// 1-based line of `start`.
    pub line: u32,
    /// 1-based byte column of `start`.
    pub column: u32,
    /// Score in 0..1.
    pub confidence: f32,
    /// The raw value. Never logged: `Debug` prints its length only.
    pub value: Vec<u8>,
    /// For a value found in an encoded entry of a Kubernetes Secret (see
    /// the README), the entry's JSON path (`$.data.password`); the
    /// span then covers the encoded characters that carry the value.
    pub json_path: Option<String>,
    /// The CSV header, dump column or JSON key the value sits under, when
    /// that name is one of a rule's context words (`ssn`, `Last Name`,
    /// `card_number`): a name of the schema, never data such as a map's
    /// keys (`{"ana@example.org": {...}}`), which no rule's words name.
    /// Of a name with other parts (an SSM parameter's path), only the
    /// segment holding the word is kept (`password`).
    pub field: Option<String>,
}

impl std::fmt::Debug for Detection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detection")
            .field("rule", &self.rule)
            .field("start", &self.start)
            .field("end", &self.end)
            .field("line", &self.line)
            .field("column", &self.column)
            .field("confidence", &self.confidence)
            .field("json_path", &self.json_path)
            .field("field", &self.field)
            .field(
                "value",
                &format_args!("<{} bytes redacted>", self.value.len()),
            )
            .finish()
    }
}

/// The compiled rule set. Shared by every thread; each thread makes its own
/// [`Scanner`].
#[derive(Debug)]
pub struct Engine {
    rules: Vec<Compiled>,
    anchors: Literals,
    /// The anchors as searched: bytes, and whether in any case.
    literals: Vec<(Vec<u8>, bool)>,
    /// For each anchor pattern, the rules it triggers.
    anchor_rules: Vec<Vec<u32>>,
    /// The anchor patterns of [`crate::decode::HEADERS`], in that order.
    decode_headers: [usize; 3],
    /// The anchors that start with a line break (`\nFrom:`): each also
    /// matches, without it, at a record's start, which no line break
    /// comes before.
    line_anchors: Vec<usize>,
    /// The digits triggers and their rules but IPv6's, sorted by `min`: the
    /// source of `digit_table`, through which each run reaches them.
    digit_rules: Vec<(DigitsTrigger, u32)>,
    /// The digit rules with `letter_inside`.
    letter_rules: Vec<(DigitsTrigger, u32)>,
    /// The digit rules that can take a run, by what is cheap to tell of
    /// it ([`digit_table_index`]): most runs are too short or too long for
    /// most rules, and walking past those cost more than the rest of the
    /// per-run work.
    digit_table: Vec<Vec<(DigitsTrigger, u32)>>,
    /// The IPv6 digit rules, kept out of `digit_rules`: they take runs of
    /// any length, so every run would walk the list's start for them.
    ipv6_rules: Vec<(DigitsTrigger, u32)>,
    /// The context words of gated digit rules ([`Compiled::gate`]).
    gate_words: WordSet,
    /// Every rule's context words in one automaton, and the rules of
    /// each: which rules a table's column names name.
    context_index: (aho_corasick::AhoCorasick, Vec<Vec<u32>>),
    options: EngineOptions,
    digest: String,
}

impl Engine {
    /// Compiles a rule set.
    pub fn new(set: &RuleSet, options: EngineOptions) -> Result<Engine, Error> {
        let mut options = options;
        options.block_size = options.block_size.max(MAX_MATCH_LEN);
        let mut rules = Vec::with_capacity(set.rules().len());
        // Each anchor as searched: its bytes (lower-cased unless the rule
        // asks for its case) and whether in any case.
        let mut literals: Vec<(Vec<u8>, bool)> = Vec::new();
        let mut anchor_rules: Vec<Vec<u32>> = Vec::new();
        let mut digit_rules = Vec::new();
        let mut gate_words = WordSet::new();
        for (i, rule) in set.rules().iter().enumerate() {
            // Parsed once: the regex is built from this, and an `anchored`
            // rule's window reach comes from its longest possible match.
            // A `field_only` rule's pattern must match all of a value, to
            // its end (see `Scanner::confirm_values`).
            let pattern = if rule.field_only {
                format!("(?:{})\\z", rule.pattern)
            } else {
                rule.pattern.clone()
            };
            let hir =
                syntax::parse_with(&pattern, &syntax::Config::new().unicode(false).utf8(false))
                    .map_err(|e| Error::Rule {
                        id: rule.id.clone(),
                        reason: format!("pattern: {e}"),
                    })?;
            let re = Regex::builder()
                .configure(Regex::config().utf8_empty(false))
                .build_from_hir(&hir)
                .map_err(|e| Error::Rule {
                    id: rule.id.clone(),
                    reason: format!("pattern: {e}"),
                })?;
            let info = re.group_info();
            let group = info
                .to_index(regex_automata::PatternID::ZERO, "value")
                .unwrap_or(if info.group_len(regex_automata::PatternID::ZERO) > 1 {
                    1
                } else {
                    0
                });
            let index = u32::try_from(i).map_err(|_| Error::Rule {
                id: rule.id.clone(),
                reason: "too many rules".into(),
            })?;
            // A rule that cannot reach the threshold without a context word
            // runs its regex only where one is near its trigger.
            let gated = rule.context.as_ref().is_some_and(|c| {
                !c.words.is_empty() && (c.required || rule.confidence < options.threshold)
            });
            let lowered = |words: &[String]| -> Vec<Vec<u8>> {
                words
                    .iter()
                    .map(|w| w.to_ascii_lowercase().into_bytes())
                    .collect()
            };
            let context_words = rule
                .context
                .as_ref()
                .map(|c| lowered(&c.words))
                .unwrap_or_default();
            let penalty_words = rule
                .context
                .as_ref()
                .map(|c| lowered(&c.penalty_words))
                .unwrap_or_default();
            if let Some(t) = rule.digits {
                digit_rules.push((t, index));
            }
            let gate: Vec<usize> = if gated && rule.digits.is_some() {
                context_words.iter().map(|w| gate_words.add(w)).collect()
            } else {
                Vec::new()
            };
            let searched = if rule.exact_case {
                rule.anchors.iter().map(|a| a.as_bytes().to_vec()).collect()
            } else {
                lowered(&rule.anchors)
            };
            for bytes in searched {
                let slot = intern(&mut literals, &mut anchor_rules, (bytes, !rule.exact_case));
                anchor_rules[slot].push(index);
            }
            let bound = if rule.anchored {
                hir.properties().maximum_len()
            } else {
                None
            };
            let reach = bound.map_or(rule.max_len, |b| b.min(rule.max_len));
            rules.push(Compiled {
                rule: rule.clone(),
                re,
                group,
                context_words,
                penalty_words,
                reach,
                lead: rule.lead.map_or(reach, |l| l.min(reach)),
                around: rule
                    .around
                    .as_ref()
                    .map(|a| Shape::new(a).map(Box::new))
                    .transpose()
                    .map_err(|reason| Error::Rule {
                        id: rule.id.clone(),
                        reason: format!("around: {reason}"),
                    })?,
                gate,
            });
        }
        let decode_headers = crate::decode::HEADERS
            .map(|header| intern(&mut literals, &mut anchor_rules, (header.to_vec(), false)));
        let line_anchors = (0..literals.len())
            .filter(|&i| literals[i].0.len() > 1 && literals[i].0[0] == b'\n')
            .collect();
        digit_rules.sort_by_key(|(t, _)| t.min);
        let (ipv6_rules, digit_rules): (Vec<_>, Vec<_>) =
            digit_rules.into_iter().partition(|(t, _)| t.ipv6);
        let letter_rules = digit_rules
            .iter()
            .filter(|(t, _)| t.letter_inside)
            .copied()
            .collect();
        let digit_table = (0..4 * 256)
            .map(|i| {
                let (upper, spaced, digits) = (i / 512 == 1, i / 256 % 2 == 1, (i % 256) as u8);
                digit_rules
                    .iter()
                    .filter(|(t, _)| {
                        t.min <= digits
                            && (t.letters_before == 0 || upper)
                            && (digits <= t.max || t.bare || t.dots.is_some() || spaced)
                    })
                    .copied()
                    .collect()
            })
            .collect();
        let anchors = Literals::new(&literals).map_err(|reason| Error::Rule {
            id: "(anchors)".into(),
            reason,
        })?;
        // Allocate scratch once here so that a set the library cannot serve
        // fails now, with an error, rather than in `scanner`.
        anchors.scratch().map_err(|reason| Error::Rule {
            id: "(anchors)".into(),
            reason,
        })?;
        let context_index = {
            let mut words: Vec<&[u8]> = Vec::new();
            let mut owners: Vec<Vec<u32>> = Vec::new();
            for (r, rule) in rules.iter().enumerate() {
                for w in &rule.context_words {
                    match words.iter().position(|x| *x == w.as_slice()) {
                        Some(i) => owners[i].push(r as u32),
                        None => {
                            words.push(w);
                            owners.push(vec![r as u32]);
                        }
                    }
                }
            }
            let automaton = aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(&words)
                .map_err(|e| Error::Rule {
                    id: "(context words)".into(),
                    reason: e.to_string(),
                })?;
            (automaton, owners)
        };
        Ok(Engine {
            context_index,
            rules,
            anchors,
            literals,
            anchor_rules,
            decode_headers,
            line_anchors,
            digit_rules,
            letter_rules,
            digit_table,
            ipv6_rules,
            gate_words,
            options,
            digest: set.digest().to_owned(),
        })
    }

    /// The anchor literals as the search takes them: each with whether it
    /// is matched in any case. For benchmarks of the search's parts.
    #[doc(hidden)]
    pub fn anchor_literals(&self) -> &[(Vec<u8>, bool)] {
        &self.literals
    }

    /// The compiled pattern of rule `index`.
    pub(crate) fn pattern(&self, index: usize) -> &Regex {
        &self.rules[index].re
    }

    /// The rule of a detection.
    pub fn rule(&self, index: usize) -> &Rule {
        &self.rules[index].rule
    }

    /// Number of rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Digest of the rule set.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The options in force.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// A scanner for one thread.
    pub fn scanner(&self) -> Scanner<'_> {
        Scanner {
            engine: self,
            // Allocation was proven to work in `Engine::new`; failing now is
            // running out of memory, which aborts like any other allocation.
            scratch: self
                .anchors
                .scratch()
                .unwrap_or_else(|e| panic!("vectorscan scratch: {e}")),
            caches: self.rules.iter().map(|r| r.re.create_cache()).collect(),
            rule_windows: vec![0; self.rules.len()],
            stats: ScanStats::default(),
            buf: Vec::new(),
            windows: Vec::new(),
            found: Vec::new(),
            lower: Vec::new(),
            near: Near::default(),
            spans: Vec::new(),
            pieces: Vec::new(),
            headers: Vec::new(),
            entries: Vec::new(),
            decoded: Vec::new(),
            nested: false,
            value_at: 0,
            record_out: 0,
            line_break: b'\n',
            layout: crate::layout::Layout::Plain,
            named: 0,
            naming: Vec::new(),
            table_rules: Vec::new(),
            table_values: Vec::new(),
            unescaped: (Vec::new(), Vec::new()),
            values: Vec::new(),
        }
    }
}

/// Counters of the prefilter's work, for benchmarks and tuning.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanStats {
    /// Bytes scanned (regions, not overlaps).
    pub bytes: u64,
    /// Anchor literal hits.
    pub anchor_hits: u64,
    /// Digit runs that triggered at least one rule.
    pub digit_triggers: u64,
    /// Merged windows confirmed with a regex.
    pub windows: u64,
    /// Regex matches found (before validation and scoring).
    pub matches: u64,
}

/// Per-thread scanning state: the block buffer, regex caches and scratch space.
pub struct Scanner<'e> {
    engine: &'e Engine,
    scratch: Scratch,
    caches: Vec<regex_automata::meta::Cache>,
    stats: ScanStats,
    rule_windows: Vec<u64>,
    buf: Vec<u8>,
    windows: Vec<(u32, usize, usize)>,
    found: Vec<Detection>,
    lower: Vec<u8>,
    /// Gate words found in the buffer, around the digit runs so far.
    near: Near,
    /// Candidate spans of the current digit run.
    spans: Vec<(usize, usize)>,
    /// The separator-free stretches of the current digit run, with their
    /// digits, found once for all the `bare` rules it reaches.
    pieces: Vec<(usize, usize, u8)>,
    /// Headers of encoded maps and values in the buffer: offset and kind.
    headers: Vec<(usize, crate::decode::Kind)>,
    /// Their entries.
    entries: Vec<crate::decode::Entry>,
    /// An entry's decoded value.
    decoded: Vec<u8>,
    /// Scanning decoded text: encoded maps inside it are not decoded.
    nested: bool,
    /// Where, in the decoded text scanned, the value starts (after the
    /// `key: ` written before a one-line value).
    value_at: usize,
    /// Where the record's detections start in the output: a match of one
    /// buffer may overlap one of the buffer before (a label rule's match
    /// starts at its label, a column rule's at the value), and they are
    /// weighed as two of one buffer are.
    record_out: usize,
    /// What ends the record's lines: a line feed, or a carriage return in a
    /// record that has no line feed where it starts (HL7 v2 messages, old
    /// Mac text).
    line_break: u8,
    /// How the record's cells get their column names, which are context:
    /// the header of the table it starts with, or an SQL dump's
    /// statements ([`crate::table`], [`crate::dump`]).
    layout: crate::layout::Layout,
    /// The layout's column names whose rules are in `table_rules` and
    /// `table_values`.
    named: usize,
    /// For each of those columns, when its name holds a context word of
    /// some rule, the part of the name reported as a finding's field
    /// ([`published_name`]); other names are never reported.
    naming: Vec<Option<String>>,
    /// The rules whose context words name one of the layout's columns,
    /// `field_only` ones aside.
    table_rules: Vec<u32>,
    /// The `field_only` rules whose context words name one of the
    /// layout's columns, each with that column: they read its cells.
    table_values: Vec<(u32, usize)>,
    /// Whole values for `field_only` rules: rule, byte range, and the
    /// table column naming it (`None`: the field from outside).
    values: Vec<(u32, std::ops::Range<usize>, Option<usize>)>,
    /// A value's text, its escapes read ([`crate::unescape`]), and for
    /// each of its bytes the offset in the value it comes from.
    unescaped: (Vec<u8>, Vec<u32>),
}

/// Overlapping matches of one category keep the most confident: adds `d`
/// to `list` unless one of the last eight of `list[among]` (matches sorted
/// by start, none after `d`) is of its category and overlaps it, in which
/// case `d` takes that one's place when it is more confident, or when it
/// is a whole value holding that one. Returns whether it did, which may
/// leave `list` out of start order.
fn keep_most_confident(
    list: &mut Vec<Detection>,
    among: std::ops::Range<usize>,
    d: Detection,
    rules: &[Compiled],
) -> bool {
    let category = rules[d.rule].rule.category;
    let clash = list[among]
        .iter_mut()
        .rev()
        .take(8)
        .find(|k| k.end > d.start && rules[k.rule].rule.category == category);
    // A whole value (a `field_only` rule's) that holds a match of its
    // entity is that match's extent: `Unit 4B Harbour Court` under
    // `address_line1` holds the street rule's `4B Harbour Court`. It is
    // kept, as sure as the surer of the two.
    let holds = |outer: &Detection, inner: &Detection| {
        rules[outer.rule].rule.field_only
            && rules[outer.rule].rule.entity == rules[inner.rule].rule.entity
            && outer.start <= inner.start
            && outer.end >= inner.end
    };
    match clash {
        Some(k) if holds(k, &d) => {
            k.confidence = k.confidence.max(d.confidence);
            false
        }
        Some(k) if holds(&d, k) => {
            let confidence = k.confidence.max(d.confidence);
            *k = Detection { confidence, ..d };
            true
        }
        Some(k) if k.confidence >= d.confidence => false,
        Some(k) => {
            *k = d;
            true
        }
        None => {
            list.push(d);
            false
        }
    }
}

/// What ends the lines of the record that `record_start` begins: a
/// carriage return when one comes before any line feed and none follows
/// it (HL7 v2 segments, old Mac text), a line feed otherwise.
fn line_break(record_start: &[u8]) -> u8 {
    match memchr::memchr2(b'\r', b'\n', record_start) {
        Some(at) if record_start[at] == b'\r' && record_start.get(at + 1) != Some(&b'\n') => b'\r',
        _ => b'\n',
    }
}

/// Position bookkeeping of a buffer within its record.
#[derive(Debug, Clone, Copy, Default)]
struct Base {
    /// Record offset of the buffer's first byte.
    offset: u64,
    /// Newlines before it.
    lines: u64,
    /// 0-based column of it.
    column: u64,
}

impl Base {
    /// Moves the base forward over `dropped`, whose lines end with
    /// `line_break`.
    fn advance(&mut self, dropped: &[u8], line_break: u8) {
        self.offset += dropped.len() as u64;
        match memchr::memrchr(line_break, dropped) {
            Some(last) => {
                self.lines += memchr::memchr_iter(line_break, dropped).count() as u64;
                self.column = (dropped.len() - last - 1) as u64;
            }
            None => self.column += dropped.len() as u64,
        }
    }
}

impl<'e> Scanner<'e> {
    /// The prefilter's counters since this scanner was made.
    pub fn stats(&self) -> ScanStats {
        self.stats
    }

    /// Regex windows confirmed per rule (index as in [`Engine::rule`]): which
    /// rules' triggers cost the most on a corpus.
    pub fn rule_windows(&self) -> &[u64] {
        &self.rule_windows
    }

    /// Scans a whole record held in memory. `field` is context from outside
    /// (a CSV header, JSON key or column name). Detections are appended to
    /// `out` in order of position.
    pub fn scan_slice(&mut self, data: &[u8], field: Option<&str>, out: &mut Vec<Detection>) {
        let block = self.engine.options.block_size;
        let mut region = 0usize;
        let mut base = Base::default();
        loop {
            let region_end = (region + block).min(data.len());
            let start = region.saturating_sub(MAX_MATCH_LEN);
            let end = (region_end + LOOKAHEAD).min(data.len());
            base.advance(&data[base.offset as usize..start], self.line_break);
            self.scan_buffer(
                &data[start..end],
                base,
                region - start..region_end - start,
                field,
                out,
            );
            if region_end >= data.len() {
                break;
            }
            region = region_end;
        }
    }

    /// Scans a record read from `reader` block by block, in memory bounded by
    /// the block size. Returns the number of bytes read.
    pub fn scan_reader<R: Read>(
        &mut self,
        mut reader: R,
        field: Option<&str>,
        out: &mut Vec<Detection>,
    ) -> std::io::Result<u64> {
        let block = self.engine.options.block_size;
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let mut base = Base::default();
        // `buf` holds [region - O, region + B + 2·O) of the record, or less at its ends.
        let mut region_rel = 0usize;
        let mut eof = false;
        let mut total = 0u64;
        loop {
            let want = region_rel + block + LOOKAHEAD;
            if !eof && buf.len() < want {
                // `read_to_end` on a `Take` fills only what it reads: a small
                // file costs its size, not a zero-filled block.
                let need = (want - buf.len()) as u64;
                match (&mut reader).take(need).read_to_end(&mut buf) {
                    Ok(n) => {
                        total += n as u64;
                        eof = (n as u64) < need;
                    }
                    Err(e) => {
                        buf.clear();
                        self.buf = buf;
                        return Err(e);
                    }
                }
            }
            let region_end = (region_rel + block).min(buf.len());
            self.scan_buffer(&buf, base, region_rel..region_end, field, out);
            if eof && region_end >= buf.len() {
                break;
            }
            // Keep O bytes before the next region.
            let keep_from = region_end - MAX_MATCH_LEN.min(region_end);
            base.advance(&buf[..keep_from], self.line_break);
            buf.drain(..keep_from);
            region_rel = region_end - keep_from;
        }
        buf.clear();
        self.buf = buf;
        Ok(total)
    }

    /// Scans `buf`, reporting matches whose start lies in `region`.
    fn scan_buffer(
        &mut self,
        buf: &[u8],
        base: Base,
        region: std::ops::Range<usize>,
        field: Option<&str>,
        out: &mut Vec<Detection>,
    ) {
        let engine = self.engine;
        self.windows.clear();
        self.found.clear();
        let first = base.offset == 0 && region.start == 0;
        if !self.nested && first {
            self.record_out = out.len();
            self.line_break = line_break(buf);
            self.layout = crate::layout::Layout::detect(buf);
            self.named = 0;
            self.naming.clear();
            self.table_rules.clear();
            self.table_values.clear();
        }
        if !self.nested && !self.layout.is_plain() {
            // The next buffer starts MAX_MATCH_LEN before this region's end
            // (`scan_slice`, `scan_reader`).
            let next = region.end.saturating_sub(MAX_MATCH_LEN);
            // Only the last buffer reaches the record's end.
            let last = region.end == buf.len();
            self.layout.read(buf, base.offset, first, next, last);
            self.name_rules();
        }
        let len = buf.len();

        self.stats.bytes += region.len() as u64;
        if engine.options.prefilter {
            self.trigger(buf, &region);
            if first && !self.nested {
                self.line_start_windows(buf);
            }
        } else {
            // Every rule over all the text: a match starting in the region
            // ends at most MAX_MATCH_LEN after it. (`field_only` rules have
            // no trigger to leave out: they run on values below, as here.)
            let end = (region.end + MAX_MATCH_LEN).min(len);
            self.windows.extend(
                (0..engine.rules.len())
                    .filter(|&r| !engine.rules[r].rule.field_only)
                    .map(|r| (r as u32, 0, end)),
            );
            if !self.nested {
                let from = region.start.saturating_sub(MAX_MATCH_LEN);
                for (header, kind) in crate::decode::HEADERS.iter().zip(crate::decode::Kind::ALL) {
                    self.headers.extend(
                        memchr::memmem::find_iter(&buf[from..end], header)
                            .map(|at| (from + at, kind)),
                    );
                }
            }
        }

        // Field triggers: a rule whose context words name the field (a CSV
        // header, a column) runs over the whole region; a `field_only` rule
        // on the whole record, when the buffer holds all of it.
        if let Some(field) = field {
            for (r, rule) in engine.rules.iter().enumerate() {
                if !names_any(field, &rule.context_words) {
                    continue;
                }
                if rule.rule.field_only {
                    if base.offset == 0 && region == (0..len) {
                        // A decoded value is scanned after what is written
                        // before it (`key: `).
                        let skip = if self.nested { self.value_at } else { 0 };
                        let value = crate::table::trim_value(buf, skip.min(len)..len);
                        self.values.push((r as u32, value, None));
                    }
                } else {
                    self.windows.push((
                        r as u32,
                        region.start,
                        (region.end + rule.rule.max_len).min(len),
                    ));
                }
            }
        }

        // Column triggers: in a table or a dump, a rule whose context
        // words name a column runs over the whole region; each match is
        // scored with the name of its own cell's column. (A JSON value has
        // its key right before it, where the triggers' context words see
        // it; only the `field_only` rules read its values.)
        if field.is_none() && !self.nested && !self.layout.is_plain() {
            if self.layout.rows() {
                for &r in &self.table_rules {
                    let max_len = engine.rules[r as usize].rule.max_len;
                    self.windows
                        .push((r, region.start, (region.end + max_len).min(len)));
                }
            }
            self.table_cells(buf, &region);
        }

        // Group the windows by rule, merge those of each rule and confirm
        // with its regex.
        let mut windows = std::mem::take(&mut self.windows);
        windows.sort_unstable_by_key(|&(r, ws, _)| (r, ws));
        let mut i = 0;
        while i < windows.len() {
            let (r, ws, mut we) = windows[i];
            i += 1;
            while i < windows.len() && windows[i].0 == r && windows[i].1 <= we {
                we = we.max(windows[i].2);
                i += 1;
            }
            self.stats.windows += 1;
            self.rule_windows[r as usize] += 1;
            self.confirm(buf, base, r as usize, ws..we, &region, field);
        }
        self.windows = windows;
        if !self.values.is_empty() {
            self.confirm_values(buf, base, field);
        }
        if !self.headers.is_empty() {
            self.decode(buf, base, &region);
        }

        // Overlapping matches of one category keep the most confident.
        self.found.sort_by(|a, b| {
            a.start
                .cmp(&b.start)
                .then(b.confidence.total_cmp(&a.confidence))
        });
        let mut kept: Vec<Detection> = Vec::with_capacity(self.found.len());
        for d in self.found.drain(..) {
            let among = 0..kept.len();
            keep_most_confident(&mut kept, among, d, &engine.rules);
        }

        // PII that overlaps a secret (an e-mail-like `pass@host` inside a
        // connection string, `token@github.com` in a clone URL) is part of
        // that secret, not a finding of its own.
        // A replacement above can put a later match before earlier ones:
        // restore start order, which the passes below rely on.
        kept.sort_by_key(|d| d.start);
        let secrets: Vec<(u64, u64)> = kept
            .iter()
            .filter(|k| engine.rules[k.rule].rule.category == shoal_schemas::Category::Secret)
            .map(|k| (k.start, k.end))
            .collect();
        if !secrets.is_empty() {
            // `secrets` is sorted by start and no match is longer than
            // MAX_MATCH_LEN, so only the secrets starting in
            // (d.start - MAX_MATCH_LEN, d.end) can overlap `d`.
            kept.retain(|d| {
                if engine.rules[d.rule].rule.category == shoal_schemas::Category::Secret {
                    return true;
                }
                let upto = secrets.partition_point(|&(s, _)| s < d.end);
                let from = secrets[..upto]
                    .partition_point(|&(s, _)| s + (MAX_MATCH_LEN as u64) <= d.start);
                !secrets[from..upto].iter().any(|&(_, e)| e > d.start)
            });
        }

        // Lines and columns, counted once across the sorted detections.
        // Those of the buffers before come first in `out`.
        let before = if self.nested {
            out.len()
        } else {
            self.record_out.min(out.len())
        }..out.len();
        let mut replaced = false;
        let mut pos = 0usize;
        let mut lines = base.lines;
        let mut line_start: Option<usize> = None;
        for mut d in kept {
            let rel = (d.start - base.offset) as usize;
            let gap = &buf[pos..rel];
            lines += memchr::memchr_iter(self.line_break, gap).count() as u64;
            if let Some(nl) = memchr::memrchr(self.line_break, gap) {
                line_start = Some(pos + nl + 1);
            }
            pos = rel;
            d.line = u32::try_from(lines + 1).unwrap_or(u32::MAX);
            let column = match line_start {
                Some(ls) => (rel - ls) as u64,
                None => base.column + rel as u64,
            };
            d.column = u32::try_from(column + 1).unwrap_or(u32::MAX);
            replaced |= keep_most_confident(out, before.clone(), d, &engine.rules);
        }
        if replaced {
            out[before.start..].sort_by_key(|d| d.start);
        }
    }

    /// Opens the windows of the anchor and digit-run triggers in `buf`,
    /// for matches starting in `region`.
    /// Opens the windows of the anchors that start with a line break
    /// whose rest starts the record in `buf` (`From:` on a message's first
    /// line): their patterns take a record's start, `\A`, for the break.
    fn line_start_windows(&mut self, buf: &[u8]) {
        let engine = self.engine;
        for &i in &engine.line_anchors {
            let (literal, caseless) = &engine.literals[i];
            let rest = &literal[1..];
            let starts = buf.len() >= rest.len()
                && if *caseless {
                    buf[..rest.len()].eq_ignore_ascii_case(rest)
                } else {
                    buf.starts_with(rest)
                };
            if starts {
                for &r in &engine.anchor_rules[i] {
                    let max_len = engine.rules[r as usize].rule.max_len;
                    self.windows.push((r, 0, max_len.min(buf.len())));
                }
            }
        }
    }

    fn trigger(&mut self, buf: &[u8], region: &std::ops::Range<usize>) {
        let engine = self.engine;
        let len = buf.len();
        // Anchor triggers. An anchor inside a match starting in the region
        // lies in [region.start, region.end + max_len).
        // An anchor in or within max_len of a match that starts in the region
        // lies in [region.start - max_len, region.end + 2·max_len).
        let search_start = region.start.saturating_sub(MAX_MATCH_LEN);
        let search_end = (region.end + 2 * MAX_MATCH_LEN).min(len);
        let windows = &mut self.windows;
        let stats = &mut self.stats;
        let headers = &mut self.headers;
        let nested = self.nested;
        let mut on_anchor = |id: usize, end: usize| {
            stats.anchor_hits += 1;
            let start = search_start + end - engine.anchors.len_of(id);
            let end = search_start + end;
            if !nested && let Some(k) = engine.decode_headers.iter().position(|&h| h == id) {
                headers.push((start, crate::decode::Kind::ALL[k]));
            }
            for &r in &engine.anchor_rules[id] {
                let Compiled {
                    lead,
                    reach,
                    ref around,
                    ..
                } = engine.rules[r as usize];
                // A window starting past the region holds no match to report.
                if start >= region.end + lead || end + reach <= region.start {
                    continue;
                }
                if around.as_ref().is_some_and(|a| !a.fits(buf, start, end)) {
                    continue;
                }
                windows.push((r, start.saturating_sub(lead), (end + reach).min(len)));
            }
        };
        if let Err(e) = engine.anchors.scan(
            &mut self.scratch,
            &buf[search_start..search_end],
            &mut on_anchor,
        ) {
            // Only a panic in the callback above or a library failure can get
            // here; both are bugs, not bad input.
            panic!("anchor search: {e}");
        }

        // Digit-run triggers.
        if !engine.digit_rules.is_empty() || !engine.ipv6_rules.is_empty() {
            let from = region.start.saturating_sub(DIGIT_WINDOW);
            let to = (region.end + DIGIT_WINDOW).min(len);
            let windows = &mut self.windows;
            let stats = &mut self.stats;
            let near = &mut self.near;
            near.clear();
            let spans = &mut self.spans;
            let pieces = &mut self.pieces;
            let nested = self.nested;
            let layout = &mut self.layout;
            digit_runs(buf, from, to, |s, e, digits, dots, spaced| {
                let before = windows.len();
                // The digits before the run's first separator, counted once.
                let mut first: Option<usize> = None;
                if !engine.letter_rules.is_empty() && buf.get(e).is_some_and(u8::is_ascii_uppercase)
                {
                    // The number may go on past the letter: `2 69 05 2A 004 012 28`.
                    let (end, more) = run_after_letter(buf, e + 1);
                    let total = usize::from(digits) + more;
                    for &(t, r) in &engine.letter_rules {
                        if more > 0
                            && (usize::from(t.min)..=usize::from(t.max)).contains(&total)
                            && t.first.is_none_or(|f| {
                                *first.get_or_insert_with(|| first_stretch(buf, s))
                                    == usize::from(f)
                            })
                        {
                            windows.push((
                                r,
                                s.saturating_sub(DIGIT_WINDOW),
                                (end + DIGIT_WINDOW).min(len),
                            ));
                        }
                    }
                }
                // No separator joins the run.
                let run_bare = usize::from(digits) == e - s;
                // Upper-case letters right before the run, counted once.
                let mut letters: Option<usize> = None;
                // The checks of the bytes around the run.
                let mut around = |t: &DigitsTrigger| {
                    t.dots.is_none_or(|d| dots >= d)
                        && (t.letters_before == 0
                            || *letters.get_or_insert_with(|| letters_before(buf, s))
                                >= usize::from(t.letters_before))
                        && (!t.letters_exact
                            || letters_exact(buf, s, usize::from(t.letters_before)))
                        && t.prefix
                            .is_none_or(|p| s > 0 && char::from(buf[s - 1]) == p)
                        && t.first.is_none_or(|f| {
                            *first.get_or_insert_with(|| first_stretch(buf, s)) == usize::from(f)
                        })
                        && (!t.joined || !run_bare)
                        && t.last
                            .is_none_or(|l| last_stretch(buf, s, e) == usize::from(l))
                        && t.begins.is_none_or(|c| begins_with(buf, s, e, c))
                };
                // An IPv6 address: most runs have no colon near them.
                if !engine.ipv6_rules.is_empty() && colon_near(buf, s) {
                    let mut address = None;
                    for &(t, r) in &engine.ipv6_rules {
                        if digits < t.min || !around(&t) {
                            continue;
                        }
                        // The window is the address itself, with the bytes
                        // around it that the pattern looks at: two before
                        // (`x[1::2]` is a slice, `[::1]` an address), two
                        // after (a dot and the digit that would go on to a
                        // dotted quad, `::ffff:10.0.0.1`).
                        if let Some(run) = address.get_or_insert_with(|| ipv6_run(buf, s)) {
                            windows.push((r, run.start.saturating_sub(2), (run.end + 2).min(len)));
                        }
                    }
                }
                // The span whose gate words are in `near`, looked up once for
                // all the gated rules that get that far.
                let mut looked: Option<(usize, usize)> = None;
                let mut pieces_found = false;
                let list = &engine.digit_table[digit_table_index(buf, s, digits, spaced)];
                for &(t, r) in list {
                    if !around(&t) {
                        continue;
                    }
                    let compiled = &engine.rules[r as usize];
                    // The candidates: the run; for a rule whose digits have
                    // no separators, its separator-free stretches; for one
                    // that counts dots, its stretches joined by dots alone
                    // (`192.0.2.0/255.255.255.0` holds two addresses).
                    spans.clear();
                    let only_dots = usize::from(digits) + usize::from(dots) == e - s;
                    if t.bare && !run_bare {
                        if !pieces_found {
                            pieces.clear();
                            bare_pieces(buf, s, e, pieces);
                            pieces_found = true;
                        }
                        spans.extend(
                            pieces
                                .iter()
                                .filter(|&&(_, _, n)| (t.min..=t.max).contains(&n))
                                .map(|&(ps, pe, _)| (ps, pe)),
                        );
                    } else if let Some(d) = t.dots.filter(|_| !only_dots) {
                        dotted_stretches(
                            buf,
                            s,
                            e,
                            |n, dots| (t.min..=t.max).contains(&n) && dots >= d,
                            spans,
                        );
                    } else {
                        if digits > t.max && !spaced {
                            continue;
                        }
                        spans.push((s, e));
                    }
                    for &(cs, ce) in spans.iter() {
                        if t.letter_after && !letter_after(buf, ce) {
                            continue;
                        }
                        // A run of bare digits is the whole candidate (digits
                        // on both sides would break the rule's `\b`), and so
                        // is a run of exactly the digits every match of the
                        // rule has (`756.1234.5678.97`): a word character next
                        // to it leaves no `\b` for a whole-word match, and a
                        // checksum validator can rule it out before any
                        // regex runs.
                        let bare =
                            (cs, ce) != (s, e) || run_bare || (t.min == t.max && digits == t.max);
                        if bare && t.word && glued(buf, cs, ce, t.letter_after) {
                            continue;
                        }
                        if bare
                            && compiled
                                .rule
                                .validate
                                .is_some_and(|v| v.digits_only() && !v.check(&buf[cs..ce]))
                        {
                            continue;
                        }
                        let ws = cs.saturating_sub(DIGIT_WINDOW);
                        let we = (ce + DIGIT_WINDOW).min(len);
                        if !compiled.gate.is_empty() {
                            // A match lies in [ws, we); its context words
                            // within the rule's window of it.
                            let reach = compiled.rule.context.as_ref().map_or(0, |c| c.window);
                            let span = (ws.saturating_sub(reach), (we + reach).min(len));
                            if looked != Some(span) {
                                near.look(&engine.gate_words, buf, span.0, span.1);
                                looked = Some(span);
                            }
                            // Or the column's name, in a table.
                            if !words::any_found(near.bits(), &compiled.gate)
                                && (nested
                                    || !layout
                                        .column_name(buf, cs)
                                        .is_some_and(|c| names_any(c, &compiled.context_words)))
                            {
                                continue;
                            }
                        }
                        windows.push((r, ws, we));
                    }
                }
                stats.digit_triggers += u64::from(windows.len() > before);
            });
        }
    }

    /// Scans the decoded values of the encoded maps whose headers the
    /// triggers found ([`crate::decode`]), each entry in the buffer of the
    /// region its value starts in, and adds what it finds to `found` on the
    /// encoded characters.
    fn decode(&mut self, buf: &[u8], base: Base, region: &std::ops::Range<usize>) {
        let mut headers = std::mem::take(&mut self.headers);
        let mut entries = std::mem::take(&mut self.entries);
        headers.sort_unstable();
        let mut parsed = 0;
        for &(at, kind) in &headers {
            if at >= parsed {
                parsed = crate::decode::entries(buf, at, kind, &mut entries).max(at + 1);
            }
        }
        headers.clear();
        self.headers = headers;

        let mut found = std::mem::take(&mut self.found);
        let mut decoded = std::mem::take(&mut self.decoded);
        let (mut text, mut inner, mut raw) = (Vec::new(), Vec::new(), Vec::new());
        let bytes = self.stats.bytes;
        self.nested = true;
        for entry in entries.drain(..) {
            if !region.contains(&entry.value.start) {
                continue;
            }
            entry.encoded(buf, &mut raw);
            if !crate::decode::decode_text(&raw, &mut decoded) {
                continue;
            }
            // Keys are ASCII (`decode::entries` takes no other bytes).
            let key = String::from_utf8_lossy(&buf[entry.key.clone()]);
            // An LDIF attribute by the name the rules know (`sn`: `surname`).
            let key = if entry.ldif {
                std::borrow::Cow::Owned(crate::card::ldif_column(&key).into_owned())
            } else {
                key
            };
            // A one-line value is read as the assignment that consumes it
            // (`password: hunter2`, as in `stringData` or an environment),
            // so that the rules that need a name before a value see one.
            let one_line = decoded
                .strip_suffix(b"\n")
                .map_or(decoded.as_slice(), |d| d.strip_suffix(b"\r").unwrap_or(d));
            text.clear();
            if !one_line.contains(&b'\n') {
                text.extend_from_slice(key.as_bytes());
                text.extend_from_slice(b": ");
            }
            let prefix = text.len();
            text.extend_from_slice(&decoded);
            inner.clear();
            self.value_at = prefix;
            self.scan_slice(&text, Some(&key), &mut inner);
            inner.retain(|d| d.start >= prefix as u64);
            if inner.is_empty() {
                continue;
            }
            // What the decoded value holds replaces what a rule saw in its
            // encoding (a password rule takes `password: aHVudGVyMg==`).
            let encoded =
                base.offset + entry.value.start as u64..base.offset + entry.value.end as u64;
            found.retain(|d| {
                d.json_path.is_some() || d.start < encoded.start || d.end > encoded.end
            });
            // A Secret's entry has a JSON path; an LDIF attribute is a line.
            let path = (!entry.ldif).then(|| crate::decode::json_path(&key));
            let folded = raw.len() != entry.value.len();
            for d in inner.drain(..) {
                // A value folded over lines is reported whole.
                let span = if folded {
                    0..entry.value.len()
                } else {
                    crate::decode::encoded_span(
                        d.start as usize - prefix..d.end as usize - prefix,
                        entry.value.len(),
                    )
                };
                found.push(Detection {
                    start: base.offset + (entry.value.start + span.start) as u64,
                    end: base.offset + (entry.value.start + span.end) as u64,
                    line: 0,
                    column: 0,
                    json_path: path.clone(),
                    ..d
                });
            }
        }
        self.nested = false;
        self.stats.bytes = bytes;
        self.entries = entries;
        self.decoded = decoded;
        self.found = found;
    }

    /// Adds to `table_rules` and `table_values` the rules whose context
    /// words name a column of the layout not seen before.
    fn name_rules(&mut self) {
        let engine = self.engine;
        let names = self.layout.names();
        if names.len() == self.named {
            return;
        }
        let (automaton, owners) = &engine.context_index;
        for (c, name) in names.iter().enumerate().skip(self.named) {
            let bytes = name.as_bytes();
            let mut last = None;
            for m in automaton.find_overlapping_iter(bytes) {
                if score::is_whole_word(bytes, m.start(), m.end()) {
                    // The name's last (and then longest) word names the
                    // value, as a path's last segment does.
                    let rank = |w: &std::ops::Range<usize>| (w.end, std::cmp::Reverse(w.start));
                    if last.as_ref().is_none_or(|l| rank(&m.range()) > rank(l)) {
                        last = Some(m.range());
                    }
                    for &r in &owners[m.pattern().as_usize()] {
                        if engine.rules[r as usize].rule.field_only {
                            self.table_values.push((r, c));
                        } else {
                            self.table_rules.push(r);
                        }
                    }
                }
            }
            self.naming
                .push(last.map(|word| published_name(name, word).to_owned()));
        }
        self.named = names.len();
        self.table_rules.sort_unstable();
        self.table_rules.dedup();
        self.table_values.sort_unstable();
        self.table_values.dedup();
    }

    /// The cells, in `region`'s rows, of the columns that `field_only`
    /// rules' context words name (`table_values`): values for
    /// those rules.
    fn table_cells(&mut self, buf: &[u8], region: &std::ops::Range<usize>) {
        if self.table_values.is_empty() {
            return;
        }
        let (values, wanted) = (&mut self.values, &self.table_values);
        self.layout.cells(buf, region.clone(), |column, value| {
            for &(r, c) in wanted {
                if c == column {
                    values.push((r, value.clone(), Some(c)));
                }
            }
        });
    }

    /// Confirms each of `self.values` with its `field_only` rule, whose
    /// pattern must match the whole value; each is scored with the name
    /// of its column, or `field`.
    fn confirm_values(&mut self, buf: &[u8], base: Base, field: Option<&str>) {
        let mut values = std::mem::take(&mut self.values);
        values.sort_unstable_by_key(|(r, v, _)| (*r, v.start));
        let mut caps: Option<(u32, Captures)> = None;
        let escapes = self.layout.escapes();
        let (mut text, mut from) = std::mem::take(&mut self.unescaped);
        for (r, value, column) in values.drain(..) {
            let rule = &self.engine.rules[r as usize];
            // A cell's escapes are read as what they stand for; `from`
            // leads each byte of `text` back to the cell's bytes.
            let unescaped = column.is_some()
                && escapes.is_some_and(|e| e.unescape(&buf[value.clone()], &mut text, &mut from));
            let (hay, range) = if unescaped {
                (text.as_slice(), 0..text.len())
            } else {
                (&buf[..value.end], value.clone())
            };
            if range.len() > rule.rule.max_len {
                continue;
            }
            // Anchored at the value's start, and its end is the end of the
            // haystack, where the pattern's closing `\z` matches.
            let input = Input::new(hay)
                .range(range)
                .anchored(regex_automata::Anchored::Yes);
            let span = if rule.group == 0 {
                // The lazy DFA alone, without captures to resolve.
                rule.re
                    .search_with(&mut self.caches[r as usize], &input)
                    .map(|m| m.range())
            } else {
                if caps.as_ref().is_none_or(|(owner, _)| *owner != r) {
                    caps = Some((r, rule.re.create_captures()));
                }
                let Some((_, caps)) = caps.as_mut() else {
                    continue;
                };
                rule.re
                    .search_captures_with(&mut self.caches[r as usize], &input, caps);
                group_span(caps, rule.group)
            };
            let Some(span) = span.filter(|s| !s.is_empty()) else {
                continue;
            };
            self.stats.matches += 1;
            let name = match column {
                Some(c) => self.layout.names().get(c).map(String::as_str),
                None => field,
            };
            let outside = score::Outside {
                field: name,
                cell: column.is_some() && self.layout.rows(),
            };
            let reported = column.and_then(|c| self.naming.get(c)?.as_deref());
            // An unescaped value is scored alone, and found on the
            // escapes that write it.
            let (score_in, written) = if unescaped {
                // A whole value's span is the whole cell, marks that
                // stand for nothing at its start included.
                let start = match span.start {
                    0 => value.start,
                    s => value.start + from[s] as usize,
                };
                let end = value.start + from[span.end] as usize;
                (hay, Some(start..end))
            } else {
                (buf, None)
            };
            let engine = self.engine;
            self.found.extend(
                scored(
                    engine,
                    r as usize,
                    score_in,
                    base,
                    span,
                    outside,
                    &mut self.lower,
                )
                .map(|d| {
                    let (start, end) = written.as_ref().map_or((d.start, d.end), |w| {
                        (base.offset + w.start as u64, base.offset + w.end as u64)
                    });
                    Detection {
                        start,
                        end,
                        field: reported.map(str::to_owned),
                        ..d
                    }
                }),
            );
        }
        self.values = values;
        self.unescaped = (text, from);
    }

    fn confirm(
        &mut self,
        buf: &[u8],
        base: Base,
        r: usize,
        window: std::ops::Range<usize>,
        region: &std::ops::Range<usize>,
        field: Option<&str>,
    ) {
        let rule = &self.engine.rules[r];
        let mut caps = None;
        let mut at = window.start;
        while at < window.end {
            // The lazy DFA finds (or rules out) a match cheaply; captures are
            // resolved only on the match itself.
            let Some(m) = rule
                .re
                .search_with(&mut self.caches[r], &Input::new(buf).range(at..window.end))
            else {
                break;
            };
            self.stats.matches += 1;
            at = if m.end() > m.start() {
                m.end()
            } else {
                m.end() + 1
            };
            let span = if rule.group == 0 {
                m.range()
            } else {
                let caps = caps.get_or_insert_with(|| rule.re.create_captures());
                let input = Input::new(buf)
                    .range(m.range())
                    .anchored(regex_automata::Anchored::Yes);
                rule.re
                    .search_captures_with(&mut self.caches[r], &input, caps);
                match group_span(caps, rule.group) {
                    Some(span) => {
                        // The bytes the pattern reads after the value (the
                        // comma ending an address) may begin the next match
                        // (the next address of a list): search on from the
                        // value's end.
                        at = span.end.max(m.start() + 1);
                        span
                    }
                    None => continue,
                }
            };
            if !region.contains(&m.start()) {
                continue;
            }
            // In a table, the cell's column name is context from outside.
            let rows = self.layout.rows();
            let column = match field {
                None if !self.nested => self.layout.column(buf, span.start),
                _ => None,
            };
            let name = column
                .and_then(|c| self.layout.names().get(c))
                .map(String::as_str);
            let outside = score::Outside {
                field: field.or(name),
                cell: name.is_some() && rows,
            };
            let reported = column.and_then(|c| self.naming.get(c)?.as_deref());
            let engine = self.engine;
            self.found.extend(
                scored(engine, r, buf, base, span, outside, &mut self.lower).map(|d| Detection {
                    field: reported.map(str::to_owned),
                    ..d
                }),
            );
        }
    }
}

/// The detection of rule `r`'s value at `span` of `buf`, when its score
/// reaches the engine's threshold.
fn scored(
    engine: &Engine,
    r: usize,
    buf: &[u8],
    base: Base,
    span: std::ops::Range<usize>,
    outside: score::Outside<'_>,
    lower: &mut Vec<u8>,
) -> Option<Detection> {
    let confidence = score::score(&engine.rules[r], buf, span.clone(), outside, lower)
        .filter(|&c| c >= engine.options.threshold)?;
    Some(Detection {
        rule: r,
        start: base.offset + span.start as u64,
        end: base.offset + span.end as u64,
        line: 0,
        column: 0,
        confidence,
        value: buf[span].to_vec(),
        json_path: None,
        field: None,
    })
}

/// The part of a column's `name` published as a finding's field, where
/// `word` is a rule's context word in it: the word with the letters,
/// digits, `_`, `-` and blanks around it, so that `last_name` and `Last
/// Name` are published whole, but a name built from data (an SSM
/// parameter's `/users/ana.lima/password`, a Cognito attribute's
/// `custom:ssn`) gives only its segment holding the word (`password`,
/// `ssn`). A segment longer than 64 bytes or holding four digits in a row
/// gives the word alone.
fn published_name(name: &str, word: std::ops::Range<usize>) -> &str {
    let b = name.as_bytes();
    let in_segment =
        |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b' ') || *c >= 0x80;
    let start = b[..word.start]
        .iter()
        .rposition(|c| !in_segment(c))
        .map_or(0, |p| p + 1);
    let end = b[word.end..]
        .iter()
        .position(|c| !in_segment(c))
        .map_or(b.len(), |p| word.end + p);
    let segment = name[start..end].trim();
    let digits_in_a_row = segment
        .as_bytes()
        .split(|c| !c.is_ascii_digit())
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0);
    if segment.len() <= 64 && digits_in_a_row < 4 {
        segment
    } else {
        &name[word]
    }
}

/// True when one of `words` is a word of `name`, a field's or a column's.
fn names_any(name: &str, words: &[Vec<u8>]) -> bool {
    words
        .iter()
        .any(|w| score::contains_word(name.as_bytes(), w))
}

/// The index of `literal` among the anchors, added (with no rules yet)
/// when it is not there.
fn intern(
    literals: &mut Vec<(Vec<u8>, bool)>,
    anchor_rules: &mut Vec<Vec<u32>>,
    literal: (Vec<u8>, bool),
) -> usize {
    literals
        .iter()
        .position(|l| *l == literal)
        .unwrap_or_else(|| {
            literals.push(literal);
            anchor_rules.push(Vec::new());
            literals.len() - 1
        })
}

fn group_span(caps: &Captures, group: usize) -> Option<std::ops::Range<usize>> {
    caps.get_group(group)
        .or_else(|| caps.get_group(0))
        .map(|s| s.range())
        .filter(|r| !r.is_empty())
}

/// Where in [`Engine::digit_table`] the rules for the run starting at `s`
/// are: by whether an upper-case letter stands right before it (one space
/// or `-` between allowed, as [`letters_before`] counts), whether a space
/// joins it, and its digits.
#[inline]
fn digit_table_index(buf: &[u8], s: usize, digits: u8, spaced: bool) -> usize {
    let upper = s > 0
        && (buf[s - 1].is_ascii_uppercase()
            || matches!(buf[s - 1], b' ' | b'-') && s > 1 && buf[s - 2].is_ascii_uppercase());
    (usize::from(upper) * 2 + usize::from(spaced)) * 256 + usize::from(digits)
}

/// True when an upper-case ASCII letter follows `at`, after an optional `-`.
fn letter_after(buf: &[u8], at: usize) -> bool {
    let at = if buf.get(at) == Some(&b'-') {
        at + 1
    } else {
        at
    };
    buf.get(at).is_some_and(u8::is_ascii_uppercase)
}

/// True when the bare digit run `buf[s..e]` (with the letter after it, and
/// the optional `-` before that letter, when `letter`) touches an ASCII
/// letter, digit or `_` on either side.
fn glued(buf: &[u8], s: usize, e: usize, letter: bool) -> bool {
    let end = if letter {
        e + usize::from(buf.get(e) == Some(&b'-')) + 1
    } else {
        e
    };
    (s > 0 && is_word(buf[s - 1])) || buf.get(end).is_some_and(|&b| is_word(b))
}

/// Upper-case ASCII letters right before `at`, one space or `-` between
/// allowed (`GB 82`, `Z-7102062-N`).
fn letters_before(buf: &[u8], at: usize) -> usize {
    let mut i = at;
    if i > 0 && matches!(buf[i - 1], b' ' | b'-') {
        i -= 1;
    }
    let end = i;
    while i > 0 && buf[i - 1].is_ascii_uppercase() && end - i < 8 {
        i -= 1;
    }
    end - i
}

/// True when exactly `n` upper-case ASCII letters end at `at`, with no
/// letter, digit or `_` before them.
fn letters_exact(buf: &[u8], at: usize, n: usize) -> bool {
    at >= n
        && buf[at - n..at].iter().all(u8::is_ascii_uppercase)
        && (at == n || !is_word(buf[at - n - 1]))
}

/// True when a colon lies within four bytes of `at`. The group of an IPv6
/// address holding a digit at `at` has at most four hex digits and touches
/// a colon, so without one (most digit runs) there is no address there.
#[inline]
fn colon_near(buf: &[u8], at: usize) -> bool {
    if at >= 4
        && let Some(bytes) = buf.get(at - 4..at + 4)
    {
        // Eight bytes at once: a byte of `x` is zero where the text has a
        // colon, and (x - 0x01..) & !x has its top bit set at the lowest
        // such byte (borrows only spread upwards from a zero byte).
        let x = u64::from_le_bytes(bytes.try_into().unwrap_or_default()) ^ 0x3a3a_3a3a_3a3a_3a3a;
        let zero = x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080;
        return zero != 0 || buf.get(at + 4) == Some(&b':');
    }
    let near = &buf[at.saturating_sub(4)..(at + 5).min(buf.len())];
    near.contains(&b':')
}

/// The run of hex digits and colons around the digit at `at`, when it can be
/// an IPv6 address on its own: at most 45 bytes, holding `::` or seven
/// colons, and neither glued to a word character (the pattern's bounds).
/// The caller tests [`colon_near`] first, which rules out most digits
/// cheaply; without a colon near, the group test below fails anyway.
fn ipv6_run(buf: &[u8], at: usize) -> Option<std::ops::Range<usize>> {
    const LONGEST: usize = 45;
    // The group itself: at most four hex digits, next to a colon.
    let hex = |b: u8| b.is_ascii_hexdigit();
    let mut start = at;
    while start > 0 && hex(buf[start - 1]) {
        start -= 1;
        if at - start >= 4 {
            return None;
        }
    }
    let mut end = at;
    while end < buf.len() && hex(buf[end]) {
        end += 1;
        if end - start > 4 {
            return None;
        }
    }
    // And the colon it touches leads on to more of an address: a hex digit
    // or a second colon beyond it (`1:2`, `::1`), not `{1: 'a'}`.
    let part = |b: u8| hex(b) || b == b':';
    let on_left = start >= 2 && buf[start - 1] == b':' && part(buf[start - 2]);
    let on_right = buf.get(end) == Some(&b':') && buf.get(end + 1).is_some_and(|&b| part(b));
    if !(on_left || on_right) {
        return None;
    }
    while start > 0 && part(buf[start - 1]) {
        start -= 1;
        if end - start > LONGEST {
            return None;
        }
    }
    while end < buf.len() && part(buf[end]) {
        end += 1;
        if end - start > LONGEST {
            return None;
        }
    }
    if start > 0 && is_word(buf[start - 1]) || buf.get(end).is_some_and(|&b| is_word(b)) {
        return None;
    }
    let run = &buf[start..end];
    let colons = run.iter().filter(|&&b| b == b':').count();
    (colons >= 7 || run.windows(2).any(|w| w == b"::")).then_some(start..end)
}

/// A compiled [`crate::rules::Around`].
#[derive(Debug)]
struct Shape {
    before: Option<ByteSet>,
    skip: Option<ByteSet>,
    after: Option<ByteSet>,
    within: usize,
    then_skip: Option<ByteSet>,
    then: Option<ByteSet>,
    then_line: Option<ByteSet>,
}

/// A set of bytes.
#[derive(Debug)]
struct ByteSet([bool; 256]);

impl ByteSet {
    /// Parses a one-byte regex class (`[A-Za-z0-9]`, `[^\s@]`, `:`).
    fn parse(class: &str) -> Result<ByteSet, String> {
        use regex_syntax::hir::{Class, HirKind};
        let hir = syntax::parse_with(class, &syntax::Config::new().unicode(false).utf8(false))
            .map_err(|e| format!("{class:?}: {e}"))?;
        let mut set = [false; 256];
        match hir.kind() {
            HirKind::Class(Class::Bytes(c)) => {
                for r in c.ranges() {
                    for b in r.start()..=r.end() {
                        set[usize::from(b)] = true;
                    }
                }
            }
            HirKind::Literal(lit) if lit.0.len() == 1 => set[usize::from(lit.0[0])] = true,
            _ => return Err(format!("{class:?} is not a class of single bytes")),
        }
        Ok(ByteSet(set))
    }

    fn has(&self, b: u8) -> bool {
        self.0[usize::from(b)]
    }
}

impl Shape {
    fn new(a: &crate::rules::Around) -> Result<Shape, String> {
        let parse = |c: &Option<String>| c.as_deref().map(ByteSet::parse).transpose();
        Ok(Shape {
            before: parse(&a.before)?,
            skip: parse(&a.skip)?,
            after: parse(&a.after)?,
            within: a.within,
            then_skip: parse(&a.then_skip)?,
            then: parse(&a.then)?,
            then_line: parse(&a.then_line)?,
        })
    }

    /// True when the anchor hit at `buf[start..end]` stands between the
    /// bytes the rule asks for.
    fn fits(&self, buf: &[u8], start: usize, end: usize) -> bool {
        // The start of the text reads as the end of a line before it.
        if let Some(before) = &self.before
            && !before.has(start.checked_sub(1).map_or(b'\n', |p| buf[p]))
        {
            return false;
        }
        let skip = |class: &Option<ByteSet>, mut at: usize| {
            if let Some(class) = class {
                let stop = (at + self.within).min(buf.len());
                while at < stop && class.has(buf[at]) {
                    at += 1;
                }
            }
            at
        };
        let at = skip(&self.skip, end);
        if let Some(after) = &self.after
            && !buf.get(at).is_some_and(|&b| after.has(b))
        {
            return false;
        }
        match &self.then {
            Some(then) => {
                let at = skip(&self.then_skip, at + usize::from(self.after.is_some()));
                buf.get(at).is_some_and(|&b| then.has(b))
                    && self.then_line.as_ref().is_none_or(|line| {
                        let rest = &buf[at..];
                        let mut value = rest.iter().take_while(|&&b| line.has(b)).count();
                        if matches!(rest.get(value), Some(b'"' | b'\'')) {
                            value += 1;
                        }
                        let blank = rest[value..]
                            .iter()
                            .take_while(|&&b| b == b' ' || b == b'\t')
                            .count();
                        matches!(
                            &rest[value + blank..],
                            [] | [b'\n', ..] | [b'\r'] | [b'\r', b'\n', ..]
                        )
                    })
            }
            None => true,
        }
    }
}

/// The end of the digits (joined by single separators, after an optional
/// one) that go on from `at`, just past a letter inside a number, and how
/// many digits they hold.
fn run_after_letter(buf: &[u8], mut at: usize) -> (usize, usize) {
    if buf.get(at).is_some_and(|&b| is_sep(b)) && buf.get(at + 1).is_some_and(|&b| is_digit(b)) {
        at += 1;
    }
    let mut digits = 0;
    while at < buf.len() {
        if is_digit(buf[at]) {
            digits += 1;
        } else if !(is_sep(buf[at]) && buf.get(at + 1).is_some_and(|&b| is_digit(b)) && digits > 0)
        {
            break;
        }
        at += 1;
    }
    (at, digits)
}

/// Pushes onto `out` the separator-free stretches of the digit run
/// `buf[s..e]`, each with its digits (saturating at 255).
fn bare_pieces(buf: &[u8], s: usize, e: usize, out: &mut Vec<(usize, usize, u8)>) {
    let mut at = s;
    while at < e {
        let end = at + buf[at..e].iter().take_while(|&&b| is_digit(b)).count();
        out.push((at, end, u8::try_from(end - at).unwrap_or(u8::MAX)));
        // Past the separator to the next digit.
        at = end + buf[end..e].iter().take_while(|&&b| !is_digit(b)).count();
    }
}

/// Pushes onto `out` the stretches of the digit run `buf[s..e]` joined by
/// `.` alone whose digit and dot counts `fits` accepts (`bare_pieces` finds
/// those without separators, in a tighter loop: it runs far more often).
fn dotted_stretches(
    buf: &[u8],
    s: usize,
    e: usize,
    fits: impl Fn(u8, u8) -> bool,
    out: &mut Vec<(usize, usize)>,
) {
    let mut at = s;
    while at < e {
        let (mut end, mut digits, mut dots) = (at, 0u8, 0u8);
        while end < e && (is_digit(buf[end]) || buf[end] == b'.') {
            digits = digits.saturating_add(u8::from(is_digit(buf[end])));
            dots = dots.saturating_add(u8::from(buf[end] == b'.'));
            end += 1;
        }
        if fits(digits, dots) {
            out.push((at, end));
        }
        // Past the separator to the next digit.
        at = end + buf[end..e].iter().take_while(|b| !is_digit(**b)).count();
    }
}

/// A byte of a regex word (`\w` in ASCII mode): letter, digit or `_`.
#[inline]
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[inline]
fn is_digit(b: u8) -> bool {
    b.is_ascii_digit()
}

#[inline]
fn is_sep(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.' | b'/' | b'(' | b')')
}

/// The next ASCII digit at or after a position, from a 64-byte mask that
/// serves every search falling within it.
struct NextDigit<'a> {
    buf: &'a [u8],
    /// Offset of the mask's bit 0.
    base: usize,
    mask: u64,
}

impl<'a> NextDigit<'a> {
    fn new(buf: &'a [u8]) -> Self {
        NextDigit {
            buf,
            base: usize::MAX,
            mask: 0,
        }
    }

    /// Offset of the first digit in `[at, to)`.
    fn find(&mut self, mut at: usize, to: usize) -> Option<usize> {
        while at < to {
            if at < self.base || at - self.base >= 64 {
                self.load(at);
            }
            let rest = self.mask >> (at - self.base);
            if rest != 0 {
                let found = at + rest.trailing_zeros() as usize;
                return (found < to).then_some(found);
            }
            at = self.base + 64;
        }
        None
    }

    /// Number of digits in a row from `at`.
    fn run_len(&mut self, at: usize) -> usize {
        let mut len = 0;
        loop {
            let from = at + len;
            if from >= self.buf.len() {
                return len;
            }
            if from < self.base || from - self.base >= 64 {
                self.load(from);
            }
            let shift = from - self.base;
            // Bits past the mask's end come in as ones of the complement:
            // a run reaching them goes on in the next mask.
            let ones = (!(self.mask >> shift)).trailing_zeros() as usize;
            len += ones;
            if shift + ones < 64 {
                return len;
            }
        }
    }

    fn load(&mut self, at: usize) {
        self.base = at;
        self.mask = match self
            .buf
            .get(at..at + 64)
            .and_then(|b| <&[u8; 64]>::try_from(b).ok())
        {
            Some(block) => simd::digit_mask(block),
            None => simd::digit_mask_portable(&self.buf[at..]),
        };
    }
}

/// True when a stretch of the run `buf[s..e]` (its start, or a digit right
/// after one of its separators) is one of `chars` or follows one.
fn begins_with(buf: &[u8], s: usize, e: usize, chars: crate::rules::Chars) -> bool {
    (s > 0 && chars.has(buf[s - 1]))
        || chars.has(buf[s])
        || buf[s..e]
            .windows(2)
            .any(|w| is_sep(w[0]) && (chars.has(w[0]) || chars.has(w[1])))
}

/// The digits in a row that end the run `buf[s..e]`, up to 255.
fn last_stretch(buf: &[u8], s: usize, e: usize) -> usize {
    buf[s..e]
        .iter()
        .rev()
        .take(255)
        .take_while(|b| b.is_ascii_digit())
        .count()
}

/// The digits in a row from `buf[s]`, up to 255.
fn first_stretch(buf: &[u8], s: usize) -> usize {
    buf[s..]
        .iter()
        .take(255)
        .take_while(|b| b.is_ascii_digit())
        .count()
}

/// Calls `f(start, end, digits, dots, spaced)` for every run of digits in
/// `buf[from..to]` joined by one separator (or two different ones, as in
/// `(555) 123`), with the number of digits (saturating at 255), of `.`
/// separators, and whether a space joins it.
fn digit_runs(buf: &[u8], from: usize, to: usize, mut f: impl FnMut(usize, usize, u8, u8, bool)) {
    let mut i = from;
    // Do not start inside a run that began before `from`.
    while i > 0 && i < to && is_digit(buf[i]) && is_digit(buf[i - 1]) {
        i += 1;
    }
    let mut next = NextDigit::new(buf);
    while let Some(found) = next.find(i, to) {
        i = found;
        let start = i;
        let mut digits = 0u32;
        let mut dots = 0u8;
        let mut spaced = false;
        let mut j = i;
        let n = buf.len();
        loop {
            let run = next.run_len(j);
            j += run;
            digits += run as u32;
            // Most runs end at a byte that joins nothing.
            if !buf.get(j).is_some_and(|&b| is_sep(b)) {
                break;
            }
            if j + 1 < n && is_digit(buf[j + 1]) {
                dots = dots.saturating_add(u8::from(buf[j] == b'.'));
                spaced |= buf[j] == b' ';
                j += 1;
                continue;
            }
            if j + 2 < n && is_sep(buf[j + 1]) && buf[j] != buf[j + 1] && is_digit(buf[j + 2]) {
                spaced |= buf[j] == b' ' || buf[j + 1] == b' ';
                j += 2;
                continue;
            }
            break;
        }
        f(
            start,
            j,
            u8::try_from(digits).unwrap_or(u8::MAX),
            dots,
            spaced,
        );
        i = j;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn around_tests_the_bytes_next_to_an_anchor() {
        let around = |before: Option<&str>, skip: Option<&str>, after: Option<&str>| {
            Shape::new(&crate::rules::Around {
                before: before.map(str::to_owned),
                skip: skip.map(str::to_owned),
                after: after.map(str::to_owned),
                within: 4,
                then_skip: None,
                then: None,
                then_line: None,
            })
            .unwrap()
        };
        let email = around(Some("[a-z0-9]"), None, Some("[a-z]"));
        let text = b"@x a@b a@ a@1";
        assert!(!email.fits(text, 0, 1), "nothing before");
        let word_start = around(Some("[^A-Za-z_]"), None, None);
        assert!(word_start.fits(b"name: Ann", 0, 5), "the start of the text");
        assert!(!word_start.fits(b"x_name: Ann", 2, 7));
        assert!(email.fits(text, 4, 5));
        assert!(!email.fits(text, 8, 9), "a space after");
        assert!(!email.fits(text, 11, 12), "a digit after");
        let label = around(None, Some(r#"[\s":=]"#), Some("[A-Z]"));
        let text = b"name: Ann name=\"bob\" name:     Zed";
        assert!(label.fits(text, 0, 5));
        assert!(!label.fits(text, 10, 15), "lower case after the quote");
        assert!(
            !label.fits(text, 21, 26),
            "more than `within` bytes skipped"
        );
        let quoted = Shape::new(&crate::rules::Around {
            before: None,
            skip: Some(r"[a-z_\s]".into()),
            after: Some("[:=]".into()),
            within: 4,
            then_skip: Some(r"[=>\s]".into()),
            then: Some("[\"']".into()),
            then_line: None,
        })
        .unwrap();
        let text = br#"key = "v" key_id => 'w' key = v key:     "x" key="#;
        assert!(quoted.fits(text, 0, 3));
        assert!(quoted.fits(text, 10, 13), "`=>` then a quote");
        assert!(!quoted.fits(text, 24, 27), "no quote");
        assert!(!quoted.fits(text, 32, 35), "more than `within` spaces");
        assert!(!quoted.fits(text, 45, 48), "the end of the text");
        let line = Shape::new(&crate::rules::Around {
            before: None,
            skip: Some(r"[a-z_ ]".into()),
            after: Some("[:=]".into()),
            within: 8,
            then_skip: Some(r"[ ]".into()),
            then: Some("[a-z0-9]".into()),
            then_line: Some("[a-z0-9]".into()),
        })
        .unwrap();
        let text = b"key = v1\nkey = v2 \r\nkey = v.3\nkey = v4 x\nkey = v5";
        assert!(line.fits(text, 0, 3), "the value ends its line");
        assert!(
            line.fits(text, 9, 12),
            "blanks and a carriage return after it"
        );
        assert!(!line.fits(text, 20, 23), "a byte of another class");
        assert!(!line.fits(text, 30, 33), "more after a blank");
        assert!(line.fits(text, 41, 44), "the end of the text");
        assert!(ByteSet::parse("ab").is_err());
        assert!(ByteSet::parse("[").is_err());
        assert!(ByteSet::parse("@").unwrap().has(b'@'));
    }

    /// The joining rules of `digit_runs`, one byte at a time.
    fn digit_runs_bytewise(buf: &[u8]) -> Vec<(usize, usize, u8, u8, bool)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < buf.len() {
            if !is_digit(buf[i]) {
                i += 1;
                continue;
            }
            let (start, mut digits, mut dots, mut spaced) = (i, 0u32, 0u8, false);
            loop {
                while i < buf.len() && is_digit(buf[i]) {
                    digits += 1;
                    i += 1;
                }
                let at = |k: usize| buf.get(i + k).copied().unwrap_or(0);
                if is_sep(at(0)) && is_digit(at(1)) {
                    dots += u8::from(at(0) == b'.');
                    spaced |= at(0) == b' ';
                    i += 1;
                } else if is_sep(at(0)) && is_sep(at(1)) && at(0) != at(1) && is_digit(at(2)) {
                    spaced |= at(0) == b' ' || at(1) == b' ';
                    i += 2;
                } else {
                    break;
                }
            }
            out.push((
                start,
                i,
                u8::try_from(digits).unwrap_or(u8::MAX),
                dots,
                spaced,
            ));
        }
        out
    }

    #[test]
    fn digit_runs_agree_with_a_bytewise_scan_across_mask_boundaries() {
        // Digits, separators and letters in pseudo-random runs, some longer
        // than a 64-byte mask, at every offset.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut text = Vec::new();
        while text.len() < 20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = match seed % 7 {
                0 => 70 + (seed >> 8) as usize % 140,
                _ => 1 + (seed >> 8) as usize % 6,
            };
            let pick = b"0123456789 -./()x:";
            let byte = pick[(seed >> 20) as usize % pick.len()];
            let digit = b'0' + (seed >> 32) as u8 % 10;
            text.extend((0..len).map(|k| if k % 9 == 8 { byte } else { digit }));
            text.push(byte);
        }
        for skip in [0, 1, 31, 63, 64, 65] {
            let buf = &text[skip..];
            let mut runs = Vec::new();
            digit_runs(buf, 0, buf.len(), |s, e, d, dots, sp| {
                runs.push((s, e, d, dots, sp))
            });
            assert_eq!(runs, digit_runs_bytewise(buf), "from offset {skip}");
        }
    }

    #[test]
    fn a_colon_near_is_found_eight_bytes_at_a_time_as_one_at_a_time() {
        let text = b"1:2 abcdefgh 3 ij:: kl 4  :mnopq5rstu:v6wxyz 7:";
        for at in 0..text.len() {
            let near = &text[at.saturating_sub(4)..(at + 5).min(text.len())];
            assert_eq!(colon_near(text, at), near.contains(&b':'), "at {at}");
        }
    }

    #[test]
    fn exact_letters_touch_the_run_as_a_word() {
        let t = b"GB82 PEP 3119 OSX10 x.DE89 aDE89 S1234567D";
        assert!(letters_exact(t, 2, 2));
        assert!(!letters_exact(t, 9, 2), "a space between");
        assert!(!letters_exact(t, 17, 2), "three letters");
        assert!(letters_exact(t, 24, 2), "after a dot");
        assert!(!letters_exact(t, 30, 2), "after a lower-case letter");
        assert!(letters_exact(t, 34, 1));
        assert!(!letters_exact(t, 1, 2), "not enough room");
    }

    #[test]
    fn glued_runs_touch_a_word_character() {
        let t = b"a123 456 _789 12345678Z 12345678-Zb 12345678Z-";
        assert!(glued(t, 1, 4, false), "letter before");
        assert!(!glued(t, 5, 8, false));
        assert!(glued(t, 10, 13, false), "underscore before");
        assert!(!glued(t, 14, 22, true), "letter after, then a space");
        assert!(
            glued(t, 24, 32, true),
            "letter after the dash, then a letter"
        );
        assert!(!glued(t, 36, 44, true), "letter, then a dash");
        assert!(!glued(b"42", 0, 2, false), "the ends of the text");
    }

    #[test]
    fn digit_runs_join_single_separators() {
        let text = b"card 4111 1111 1111 1111, ip 10.0.0.1 and (555) 123-4567 x";
        let mut runs = Vec::new();
        digit_runs(text, 0, text.len(), |s, e, d, dots, _| {
            runs.push((
                std::str::from_utf8(&text[s..e]).unwrap().to_owned(),
                d,
                dots,
            ))
        });
        assert_eq!(
            runs,
            [
                ("4111 1111 1111 1111".into(), 16, 0),
                ("10.0.0.1".into(), 5, 3),
                ("555) 123-4567".into(), 10, 0)
            ]
        );
    }

    #[test]
    fn a_published_name_is_the_segment_holding_its_word() {
        let published = |name: &str, word: &str| {
            let start = name.rfind(word).unwrap();
            published_name(name, start..start + word.len()).to_owned()
        };
        assert_eq!(published("Last Name", "Name"), "Last Name");
        assert_eq!(published(" customer_email ", "email"), "customer_email");
        assert_eq!(
            published("/users/ana.lima/password", "password"),
            "password"
        );
        assert_eq!(published("custom:ssn", "ssn"), "ssn");
        assert_eq!(
            published("spring.datasource.password", "password"),
            "password"
        );
        assert_eq!(published("Straße", "Straße"), "Straße");
        assert_eq!(published("user_48213377_password", "password"), "password");
        let long = format!("{}_email", "x".repeat(64));
        assert_eq!(published(&long, "email"), "email");
    }
}
