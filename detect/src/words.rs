//! Whole-word search for many context words in one pass.
//!
//! A digit run of a rule gated by context words (a phone number, a tax id)
//! is worth a regex only with one of the rule's words nearby. Runs are
//! frequent in real text (tens of thousands per MiB of source code), and
//! the phone rules alone share a few dozen words, so the words around a run
//! are looked up once for all rules: one pass over the text that, at each
//! word start, tries only the words beginning with that letter.

/// A set of lower-case words, each with an id (its position).
#[derive(Debug)]
pub(crate) struct WordSet {
    words: Vec<Vec<u8>>,
    /// Ids of the words by their first byte.
    by_first: Vec<Vec<u32>>,
}

impl WordSet {
    pub(crate) fn new() -> WordSet {
        WordSet {
            words: Vec::new(),
            by_first: vec![Vec::new(); 256],
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
            self.by_first[usize::from(first)].push(id as u32);
        }
        self.words.push(word);
        id
    }

    /// Number of words.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.words.len()
    }

    /// Sets bit `id` of `found` (one bit per word, `len().div_ceil(64)`
    /// words long, cleared here first) for each word occurring in `text` as
    /// a whole word: not glued to an ASCII letter or digit on either side,
    /// the ends of `text` counting as boundaries.
    pub(crate) fn find_all(&self, text: &[u8], found: &mut Vec<u64>) {
        found.clear();
        found.resize(self.words.len().div_ceil(64), 0);
        let mut prev_alnum = false;
        for (i, &b) in text.iter().enumerate() {
            if !prev_alnum {
                for &id in &self.by_first[usize::from(b.to_ascii_lowercase())] {
                    let word = &self.words[id as usize];
                    let end = i + word.len();
                    if end <= text.len()
                        && text[i..end].eq_ignore_ascii_case(word)
                        && text.get(end).is_none_or(|c| !c.is_ascii_alphanumeric())
                    {
                        found[id as usize / 64] |= 1 << (id % 64);
                    }
                }
            }
            prev_alnum = b.is_ascii_alphanumeric();
        }
    }
}

/// True when any of the word ids `ids` is set in `found`.
pub(crate) fn any_found(found: &[u64], ids: &[usize]) -> bool {
    ids.iter().any(|&id| found[id / 64] & (1 << (id % 64)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_whole_words_case_insensitively() {
        let mut set = WordSet::new();
        let tel = set.add(b"tel");
        let phone = set.add(b"Phone");
        let social = set.add(b"social security");
        let ph = set.add(b"ph.");
        assert_eq!(set.add(b"TEL"), tel);
        assert_eq!(set.len(), 4);
        let mut found = Vec::new();
        let hits = |set: &WordSet, text: &[u8], found: &mut Vec<u64>| {
            set.find_all(text, found);
            (0..set.len())
                .filter(|&id| any_found(found, &[id]))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            hits(&set, b"Tel: 555 and PHONE_2", &mut found),
            [tel, phone]
        );
        assert_eq!(hits(&set, b"mobile_tel=1", &mut found), [tel]);
        assert!(hits(&set, b"hotel telnet telephone 1phone", &mut found).is_empty());
        assert_eq!(
            hits(&set, b"SOCIAL SECURITY no; Ph. 12", &mut found),
            [social, ph]
        );
        assert_eq!(hits(&set, b"phone", &mut found), [phone]);
        assert!(hits(&set, b"", &mut found).is_empty());
    }
}
