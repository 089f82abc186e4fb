//! Whole-word search for many context words, each byte looked at once.
//!
//! A digit run of a rule gated by context words (a phone number, a tax id)
//! is worth a regex only with one of the rule's words nearby. Runs are
//! frequent in real text (tens of thousands per MiB of source code), and
//! the phone rules alone share a few dozen words, so the words are looked up
//! for all rules at once: each word start's first three bytes are looked up
//! in a bitmap, and only where that lets them through are the words
//! beginning with its first two bytes compared. The spans around successive
//! runs overlap (a table of numbers has a run every few bytes and a span of
//! some 200), so [`Near`] keeps the occurrences found in a buffer and scans
//! only the part of each new span not seen yet, at the starts of its words
//! (found with [`crate::simd::alnum_upper_masks`]).

use crate::simd;

/// A set of lower-case words, each with an id (its position).
#[derive(Debug)]
pub(crate) struct WordSet {
    words: Vec<Vec<u8>>,
    /// The words by their first byte: each word's second byte (none for a
    /// one-byte word) and id, so that a word start is compared in full only
    /// with the words that begin with its first two bytes.
    by_first: Vec<Vec<(Option<u8>, u32)>>,
    /// One bit per hash of three lower-cased bytes that can begin a word
    /// (every third byte after a two-byte word, every pair after a
    /// one-byte one): most word starts in text are ruled out by one lookup.
    starts: Vec<u64>,
    /// Some word starts with an ASCII byte that is neither a letter nor a
    /// digit.
    odd_start: bool,
    /// Some word starts with a character outside ASCII (`マイナンバー`,
    /// `身份证`): the lead byte of every such character is a word start,
    /// since those scripts need not put spaces between words.
    lead_start: bool,
}

impl WordSet {
    pub(crate) fn new() -> WordSet {
        WordSet {
            words: Vec::new(),
            by_first: vec![Vec::new(); 256],
            starts: vec![0; START_BITS / 64],
            odd_start: false,
            lead_start: false,
        }
    }

    /// Adds `word` (matched ASCII case-insensitively) unless present, and
    /// returns its id. Empty words are never found.
    pub(crate) fn add(&mut self, word: &[u8]) -> usize {
        let word = word.to_ascii_lowercase();
        if let Some(id) = self.words.iter().position(|w| *w == word) {
            return id;
        }
        let id = self.words.len();
        if let Some(&first) = word.first() {
            // Ids stay far below u32::MAX: they count a rule set's words.
            self.by_first[usize::from(first)].push((word.get(1).copied(), id as u32));
            self.odd_start |= first.is_ascii() && !first.is_ascii_alphanumeric();
            self.lead_start |= first >= 0xC0;
            let any = || (0..=255).collect::<Vec<u8>>();
            let seconds = word.get(1).map_or_else(any, |&b| vec![b]);
            let thirds = word.get(2).map_or_else(any, |&b| vec![b]);
            for &second in &seconds {
                for &third in &thirds {
                    let bit = start_bit(first, second, third);
                    self.starts[bit / 64] |= 1 << (bit % 64);
                }
            }
        }
        self.words.push(word);
        id
    }

    /// Number of words.
    pub(crate) fn len(&self) -> usize {
        self.words.len()
    }

    /// Appends `(start, end, id)` for each word starting in `buf[from..to]`
    /// as a whole word of `buf`: each end at a word boundary, next to a byte
    /// that is neither a letter nor a digit, at an end of `buf`, or at a
    /// camel-case hump (see [`crate::score::boundary`]). A word may end past
    /// `to`.
    fn scan(&self, buf: &[u8], from: usize, to: usize, out: &mut Vec<(usize, usize, u32)>) {
        if self.odd_start {
            return self.scan_bytewise(buf, from, to, out);
        }
        // Every word starts with a letter, a digit or a character outside
        // ASCII: only the lead bytes of the latter, the starts of
        // alphanumeric runs and the camel-case humps inside them are
        // candidates, found 64 bytes at a time. A hump is a capital after a
        // small letter or digit, or after a capital and before a small
        // letter or digit (`IP|Address`; not the inside of `TELEMETRY`):
        // what [`crate::score::boundary`] takes, and more where the next
        // byte lies past the block.
        let mut at = from;
        let class = |b: u8| (b.is_ascii_alphanumeric(), b.is_ascii_uppercase());
        let (alnum, capital) = from
            .checked_sub(1)
            .map_or((false, false), |i| class(buf[i]));
        let mut before = u64::from(alnum);
        let mut before_small = u64::from(alnum && !capital);
        let mut before_capital = u64::from(capital);
        while at < to {
            let n = (to - at).min(64);
            let block = buf
                .get(at..at + 64)
                .and_then(|b| <&[u8; 64]>::try_from(b).ok())
                .filter(|_| n == 64);
            let (mask, upper) = match block {
                Some(block) => simd::alnum_upper_masks(block),
                None => (
                    simd::alnum_mask_portable(&buf[at..at + n]),
                    simd::upper_mask_portable(&buf[at..at + n]),
                ),
            };
            let leads = match block {
                _ if !self.lead_start => 0,
                Some(block) => simd::lead_mask(block),
                None => simd::lead_mask_portable(&buf[at..at + n]),
            };
            let small = mask & !upper;
            let after_small = small << 1 | before_small;
            let after_capital = upper << 1 | before_capital;
            let before_small_next = small >> 1 | 1 << (n - 1);
            let mut starts = mask & !(mask << 1 | before)
                | upper & (after_small | after_capital & before_small_next)
                | leads;
            while starts != 0 {
                let i = at + starts.trailing_zeros() as usize;
                starts &= starts - 1;
                self.try_words(buf, i, out);
            }
            before = mask >> (n - 1) & 1;
            before_small = small >> (n - 1) & 1;
            before_capital = upper >> (n - 1) & 1;
            at += n;
        }
    }

    /// As [`WordSet::scan`], a byte at a time: for sets with a word that
    /// starts with neither a letter nor a digit.
    fn scan_bytewise(
        &self,
        buf: &[u8],
        from: usize,
        to: usize,
        out: &mut Vec<(usize, usize, u32)>,
    ) {
        let mut prev_alnum = from > 0 && buf[from - 1].is_ascii_alphanumeric();
        for i in from..to {
            // Inside a run of letters and digits a word starts only at a
            // camel-case hump; a byte of neither kind starts one anywhere.
            if !prev_alnum || buf[i].is_ascii_uppercase() || !buf[i].is_ascii_alphanumeric() {
                self.try_words(buf, i, out);
            }
            prev_alnum = buf[i].is_ascii_alphanumeric();
        }
    }

    /// The words that start at `buf[i]` (a word start), whole; most starts
    /// are ruled out by their first three bytes.
    #[inline]
    fn try_words(&self, buf: &[u8], i: usize, out: &mut Vec<(usize, usize, u32)>) {
        let byte = |k: usize| buf.get(i + k).map_or(0, u8::to_ascii_lowercase);
        let bit = start_bit(byte(0), byte(1), byte(2));
        if self.starts[bit / 64] & (1 << (bit % 64)) != 0 {
            self.compare_words(buf, i, out);
        }
    }

    #[cold]
    fn compare_words(&self, buf: &[u8], i: usize, out: &mut Vec<(usize, usize, u32)>) {
        let second = buf.get(i + 1).map(u8::to_ascii_lowercase);
        for &(s, id) in &self.by_first[usize::from(buf[i].to_ascii_lowercase())] {
            if s.is_some() && s != second {
                continue;
            }
            let word = &self.words[id as usize];
            let end = i + word.len();
            if end <= buf.len()
                && buf[i..end].eq_ignore_ascii_case(word)
                && crate::score::is_whole_word(buf, i, end)
            {
                out.push((i, end, id));
            }
        }
    }
}

/// Bits of [`WordSet::starts`]: 2^17, 16 KiB.
const START_BITS: usize = 1 << 17;

/// The bit of a word start's first three bytes (lower-cased; 0 past the
/// end of the buffer) in [`WordSet::starts`].
#[inline]
fn start_bit(first: u8, second: u8, third: u8) -> usize {
    let key = u32::from(first) << 16 | u32::from(second) << 8 | u32::from(third);
    (key.wrapping_mul(0x9E37_79B1) >> (32 - START_BITS.trailing_zeros())) as usize
}

/// The words of a [`WordSet`] found so far in one buffer, for spans asked
/// about in roughly increasing order (those around successive digit runs).
#[derive(Debug, Default)]
pub(crate) struct Near {
    /// The part of the buffer scanned: `lo..hi`.
    lo: usize,
    hi: usize,
    /// `(start, end, id)` of each word starting in `lo..hi`, by start.
    found: Vec<(usize, usize, u32)>,
    more: Vec<(usize, usize, u32)>,
    /// One bit per word id: the words of the last span asked about.
    bits: Vec<u64>,
}

impl Near {
    /// Forgets the buffer (call before a new one).
    pub(crate) fn clear(&mut self) {
        self.found.clear();
        (self.lo, self.hi) = (0, 0);
    }

    /// Sets the bit of each word lying whole in `buf[from..to]`, as a whole
    /// word of `buf` (see [`WordSet::scan`]); read them with [`Near::bits`]
    /// and [`any_found`].
    pub(crate) fn look(&mut self, set: &WordSet, buf: &[u8], from: usize, to: usize) {
        if self.lo == self.hi || from > self.hi {
            // Nothing scanned that the span can use.
            self.found.clear();
            (self.lo, self.hi) = (from, from);
        }
        if from < self.lo {
            self.more.clear();
            set.scan(buf, from, self.lo, &mut self.more);
            self.more.append(&mut self.found);
            std::mem::swap(&mut self.found, &mut self.more);
            self.lo = from;
        }
        if to > self.hi {
            set.scan(buf, self.hi, to, &mut self.found);
            self.hi = to;
        }
        self.bits.clear();
        self.bits.resize(set.len().div_ceil(64), 0);
        let first = self.found.partition_point(|&(s, _, _)| s < from);
        for &(_, end, id) in self.found[first..].iter().take_while(|&&(s, _, _)| s < to) {
            if end <= to {
                self.bits[id as usize / 64] |= 1 << (id % 64);
            }
        }
    }

    /// The bits set by the last [`Near::look`].
    pub(crate) fn bits(&self) -> &[u64] {
        &self.bits
    }
}

/// True when any of the word ids `ids` is set in `found`.
pub(crate) fn any_found(found: &[u64], ids: &[usize]) -> bool {
    ids.iter().any(|&id| found[id / 64] & (1 << (id % 64)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> (WordSet, [usize; 4]) {
        let mut set = WordSet::new();
        let tel = set.add(b"tel");
        let phone = set.add(b"Phone");
        let social = set.add(b"social security");
        let ph = set.add(b"ph.");
        assert_eq!(set.add(b"TEL"), tel);
        assert_eq!(set.len(), 4);
        (set, [tel, phone, social, ph])
    }

    fn hits(set: &WordSet, near: &mut Near, text: &[u8], from: usize, to: usize) -> Vec<usize> {
        near.look(set, text, from, to);
        let bits = near.bits();
        (0..set.len())
            .filter(|&id| any_found(bits, &[id]))
            .collect()
    }

    #[test]
    fn finds_whole_words_case_insensitively() {
        let (set, [tel, phone, social, ph]) = words();
        let mut near = Near::default();
        let mut all = |text: &[u8]| {
            near.clear();
            hits(&set, &mut near, text, 0, text.len())
        };
        assert_eq!(all(b"Tel: 555 and PHONE_2"), [tel, phone]);
        assert_eq!(all(b"mobile_tel=1"), [tel]);
        assert!(all(b"hotel telnet telephone 1phone").is_empty());
        assert_eq!(all(b"SOCIAL SECURITY no; Ph. 12"), [social, ph]);
        assert_eq!(all(b"phone"), [phone]);
        assert!(all(b"").is_empty());
        // Camel case: a capital after a small letter or digit, or the last
        // capital of an acronym, starts a word.
        assert_eq!(all(b"\"homeTel\": 1"), [tel]);
        assert_eq!(all(b"userPhone=1 phoneNumber=2 PhoneNo"), [phone]);
        assert_eq!(all(b"SSNTel"), [tel]);
        assert!(all(b"TELEMETRY HOTEL Telnet hoTelnet phonebook2").is_empty());
    }

    #[test]
    fn a_span_holds_only_words_whole_in_it_and_whole_in_the_buffer() {
        let (set, [tel, phone, ..]) = words();
        let text = b"xtel 12 phone 34 hotel";
        let mut near = Near::default();
        // `tel` glued to the `x` before the span is no word; `phone` must
        // lie whole in the span.
        assert!(hits(&set, &mut near, text, 1, 10).is_empty());
        assert_eq!(hits(&set, &mut near, text, 1, 13), [phone]);
        assert!(hits(&set, &mut near, text, 9, 22).is_empty());
        near.clear();
        assert_eq!(hits(&set, &mut near, b"tel 1", 0, 5), [tel]);
    }

    #[test]
    fn word_starts_found_by_mask_match_a_bytewise_scan() {
        let (set, _) = words();
        assert!(!set.odd_start);
        // Words at every offset from a 64-byte mask edge, glued and not.
        let mut text = Vec::new();
        for k in 0..70 {
            text.extend(std::iter::repeat_n(b'a' + (k % 26) as u8, k % 7));
            text.extend_from_slice(match k % 4 {
                0 => b" Tel ",
                1 => b"-phone;xtel ",
                2 => b"userPhone;XTEL",
                _ => b"SSNTel;phoneNo",
            });
        }
        for from in (0..text.len()).step_by(5) {
            for to in [
                from,
                from + 1,
                from + 63,
                from + 64,
                from + 65,
                from + 200,
                text.len(),
            ] {
                let to = to.min(text.len());
                let (mut fast, mut slow) = (Vec::new(), Vec::new());
                set.scan(&text, from, to, &mut fast);
                set.scan_bytewise(&text, from, to, &mut slow);
                assert_eq!(fast, slow, "{from}..{to}");
            }
        }
    }

    #[test]
    fn words_in_other_scripts_start_at_any_character() {
        let mut set = WordSet::new();
        let my_number = set.add("マイナンバー".as_bytes());
        let card = set.add("身份证".as_bytes());
        let tel = set.add(b"tel");
        assert!(set.lead_start && !set.odd_start);
        let mut near = Near::default();
        let mut all = |text: &str| {
            near.clear();
            hits(&set, &mut near, text.as_bytes(), 0, text.len())
        };
        // Glued to the characters around it, as Japanese and Chinese write.
        assert_eq!(all("私のマイナンバーは1234"), [my_number]);
        assert_eq!(all("x身份证号：1"), [card]);
        assert_eq!(all("tel: マイナンバ"), [tel]);
        // The mask path against the bytewise scan, at every offset from a
        // mask edge.
        let mut text = Vec::new();
        for k in 0..70 {
            text.extend(std::iter::repeat_n(b'a' + (k % 26) as u8, k % 5));
            text.extend_from_slice(
                ["のマイナンバー ", "身份证", "ü tel;", "xマイナンバー"][k % 4].as_bytes(),
            );
        }
        for from in (0..text.len()).step_by(5) {
            for to in [from, from + 63, from + 64, from + 200, text.len()] {
                let to = to.min(text.len());
                let (mut fast, mut slow) = (Vec::new(), Vec::new());
                set.scan(&text, from, to, &mut fast);
                set.scan_bytewise(&text, from, to, &mut slow);
                assert_eq!(fast, slow, "{from}..{to}");
            }
        }
    }

    #[test]
    fn spans_in_any_order_see_the_same_words() {
        let (set, _) = words();
        let text = b"ph. 1 tel 2 phone 3 social security 4 tel; hotel phone".repeat(3);
        let mut spans = Vec::new();
        for from in (0..text.len()).step_by(7) {
            for len in [0, 5, 19, 40] {
                spans.push((from, (from + len).min(text.len())));
            }
        }
        // Forward, backward, jumping: each span alone is the reference.
        let mut orders = vec![spans.clone()];
        orders.push(spans.iter().rev().copied().collect());
        orders.push(
            spans
                .iter()
                .step_by(3)
                .chain(spans.iter().skip(1).step_by(2))
                .copied()
                .collect(),
        );
        for order in orders {
            let mut near = Near::default();
            for &(from, to) in &order {
                let mut alone = Near::default();
                assert_eq!(
                    hits(&set, &mut near, &text, from, to),
                    hits(&set, &mut alone, &text, from, to),
                    "span {from}..{to}"
                );
            }
        }
    }
}
