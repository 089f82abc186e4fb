//! Rules are data: YAML files, one per family, embedded in the binary
//! (`detect/rules/*.yaml`). Users may load their own files too.
//!
//! ```yaml
//! rules:
//!   - id: secret.aws.access_key_id        # stable, dotted, unique
//!     name: AWS access key ID
//!     entity: AWS_ACCESS_KEY_ID           # upper snake case
//!     category: secret                    # pii | secret
//!     pattern: '\b((?:AKIA|ASIA)[A-Z2-7]{16})\b'
//!     anchors: [AKIA, ASIA]               # literals in or near every match (searched case-insensitively)
//!     exact_case: true                    # optional: the anchors are searched in the case written
//!     anchored: true                      # every match contains an anchor (tighter windows)
//!     lead: 0                             # optional: matches start at most this far before an anchor
//!     around: {after: '[A-Z2-7]'}         # optional: bytes an anchor hit must stand between (before, skip, after, within, then_skip, then, then_line)
//!     confidence: 0.9                     # base score when everything checks out
//!     validate: luhn                      # optional, a closed set (see Validator)
//!     entropy: 3.0                        # optional minimum Shannon entropy (bits/char) of the value
//!     context: {words: [aws, key], window: 64, boost: 0.1, required: false}
//!     examples: ['AKIAZ3MHTJQ5F4GKRW7E']
//!     negative_examples: ['AKIAIOSFODNN7EXAMPLE']
//!     references: ['https://docs.aws.amazon.com/...']
//! ```
//!
//! The value is the capture group named `value`, else group 1, else the whole
//! match. Every rule needs a prefilter trigger: `anchors` (literals, at least
//! one of which occurs in, or within `max_len` of, every match), or `digits`
//! (`{min, max, dots, letters_before, letters_exact, prefix, letter_after, ipv6, word, bare, letter_inside, first, last, begins, joined}`: the match contains a run of
//! digits joined by single separators with that many digits, at least `dots`
//! `.` separators, at least `letters_before` upper-case letters right before (one space or `-` between)
//! it (exactly that many, touching it, when `letters_exact`), the `prefix` character right before it, an upper-case letter
//! right after it when `letter_after`, when `ipv6` it lies in a run of
//! hex digits and colons shaped like an IPv6 address, when `word` the
//! match is a whole word made of the run, when `bare` its digits have no
//! separators between them, `first` digits stand before the run's first
//! separator and `last` after its last one, a stretch of it begins with or after one of the `begins`
//! characters, and when `joined` a separator joins its digits), or
//! `field_only: true`: no trigger in the text at all; the rule runs on the
//! whole value of a field passed from outside or of a table's cell whose
//! name one of its required context words names, and its pattern must
//! match all of that value (a person's name under `last_name`).
//!
//! Context words match whole words (`tel` in `Tel:` or `mobile_tel`, not in
//! `hotel` or `telnet`). A rule that cannot reach the reporting
//! threshold without a context word (its context is `required`, or its base
//! confidence is below the threshold) is triggered by a digit run only when
//! one of its context words is near the run: the output is the same, and far
//! fewer windows run. Its anchors, like any rule's, must be complete on their
//! own: context words never trigger a rule.

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::Error;
use crate::validate::Validator;
use shoal_schemas::Category;

/// A trigger on runs of digits, for numbers without any literal in them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigitsTrigger {
    /// Fewest digits in the run.
    pub min: u8,
    /// Most digits in the run.
    pub max: u8,
    /// Fewest `.` separators in a candidate, when given; the candidates
    /// are then the run's stretches joined by `.` alone, each of `min..=max`
    /// digits (`192.0.2.0/255.255.255.0` holds two).
    #[serde(default)]
    pub dots: Option<u8>,
    /// Fewest ASCII upper-case letters right before the run (one space or
    /// `-` between them allowed), e.g. 2 for the country code of an IBAN,
    /// 1 for the `Z` of a Spanish NIE written `Z-7102062-N`.
    #[serde(default)]
    pub letters_before: u8,
    /// Exactly `letters_before` upper-case letters touch the run, with no
    /// space between and no letter, digit or `_` before them (an IBAN's
    /// `GB82`, not `PEP 3119` or `OSX10`).
    #[serde(default)]
    pub letters_exact: bool,
    /// An ASCII character that must stand right before the run, e.g. `+`.
    #[serde(default)]
    pub prefix: Option<char>,
    /// An upper-case ASCII letter must follow the run (after an optional
    /// `-`), as in a Spanish NIF `12345678Z`.
    #[serde(default)]
    pub letter_after: bool,
    /// The run lies in a run of hex digits and colons that can be an IPv6
    /// address (`::` or seven colons, at most 45 bytes, not glued to a word
    /// character); the regex then runs on that run alone.
    #[serde(default)]
    pub ipv6: bool,
    /// The digits of every match stand as a whole word: no letter, digit or
    /// `_` right before the run's first digit nor right after its last (or
    /// after the letter that follows, with `letter_after`). A run without
    /// separators glued to one on either side opens no window.
    #[serde(default)]
    pub word: bool,
    /// The match's digits stand together, without separators: only
    /// separator-free stretches of `min..=max` digits of a run are
    /// candidates (so `2019-08-09` is no 8-digit candidate).
    #[serde(default)]
    pub bare: bool,
    /// One upper-case ASCII letter may stand inside the number, right after
    /// a digit (`2A` in a Corsican INSEE number): a run followed by a
    /// letter and more digits is also a candidate, its digits counted
    /// across the letter. The pattern says which letters.
    #[serde(default)]
    pub letter_inside: bool,
    /// The run's first stretch, up to its first separator (or the letter
    /// inside it), has exactly this many digits: the `YYMMDD` before the
    /// `-` of a Korean resident number or the century sign of a Finnish
    /// identity code, which a timestamp's ten digits in a row do not have.
    #[serde(default)]
    pub first: Option<u8>,
    /// The run's last stretch, after its last separator, has exactly this
    /// many digits: the check digit after the `-` of a Chilean RUT, which
    /// a date's `2019-08-09` does not have.
    #[serde(default)]
    pub last: Option<u8>,
    /// A stretch of the run (its start, or a digit right after one of its
    /// separators) begins with one of these characters or right after one:
    /// `+0` for a national phone number, written `0…` or `+49…` (an epoch
    /// timestamp's `1…` is neither).
    #[serde(default)]
    pub begins: Option<Chars>,
    /// The match's digits are joined by a separator somewhere (`555-0100`,
    /// as the pattern asks): a run of bare digits holds none.
    #[serde(default)]
    pub joined: bool,
}

/// A set of ASCII characters, written in a rule file as a string of them
/// (`'+0'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chars(u128);

impl Chars {
    /// True when `b` is one of the characters.
    pub fn has(self, b: u8) -> bool {
        b < 128 && self.0 >> b & 1 == 1
    }
}

impl<'de> Deserialize<'de> for Chars {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Chars, D::Error> {
        let text = String::deserialize(d)?;
        if text.is_empty() || !text.is_ascii() {
            return Err(serde::de::Error::custom(
                "expected one or more ASCII characters",
            ));
        }
        Ok(Chars(text.bytes().fold(0, |set, b| set | 1 << b)))
    }
}

/// A cheap test of the bytes around an anchor hit, run before any regex.
/// Each class is written like a regex class, e.g. `'[A-Za-z0-9._%+\-]'`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Around {
    /// The byte right before the anchor is in this class; at the start of
    /// the text, a line break stands for it (`[^A-Za-z]` passes there,
    /// `[a-z0-9]` fails).
    #[serde(default)]
    pub before: Option<String>,
    /// Bytes of this class after the anchor are skipped, at most `within`.
    #[serde(default)]
    pub skip: Option<String>,
    /// The first byte after the anchor and the skipped bytes is in this
    /// class (a hit at the end of the text fails).
    #[serde(default)]
    pub after: Option<String>,
    /// Most bytes skipped, by `skip` and by `then_skip` each; default 32.
    #[serde(default = "Around::default_within")]
    pub within: usize,
    /// Bytes of this class after the `after` byte are skipped too.
    #[serde(default)]
    pub then_skip: Option<String>,
    /// The first byte after those is in this class: `after: '[:=]'`,
    /// `then_skip: '[=>\s]'`, `then: '["'']'` ask for an assignment of a
    /// quoted value.
    #[serde(default)]
    pub then: Option<String>,
    /// From the `then` byte on, the line holds only bytes of this class,
    /// then perhaps one closing quote (the end of a quoted list item,
    /// `- "DB_PASSWORD=…"`), then at most spaces, tabs and a carriage
    /// return before its end (or the end of the text): the value of a
    /// `key = value` line, which a line of code (`tokens =
    /// tokenize.generate_tokens(...)`) is not.
    #[serde(default)]
    pub then_line: Option<String>,
}

impl Around {
    /// Default skip bound: 32 bytes.
    pub const fn default_within() -> usize {
        32
    }
}

/// Context words that raise (or, when required, gate) a match's confidence.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextSpec {
    /// Words looked for, case-insensitively, near the match or in its field
    /// name, as whole words: bounded by bytes that are neither letters nor
    /// digits or by a camel-case hump (`phone` in `phone_number`,
    /// `phoneNumber` and `homePhone`, not in `telephone`).
    pub words: Vec<String>,
    /// Bytes before and after the match to look in: on the match's own
    /// line, and on the lines above it when it leads its line (nothing but
    /// punctuation or markup before it, or a generic key such as `value`) or is a
    /// cell of delimited text; never on the lines below it.
    #[serde(default = "ContextSpec::default_window")]
    pub window: usize,
    /// Added to the confidence when a word is found.
    #[serde(default = "ContextSpec::default_boost")]
    pub boost: f32,
    /// When true, a match without a context word is dropped.
    #[serde(default)]
    pub required: bool,
    /// Words that make a match less likely (e.g. `version` near an IPv4
    /// address), looked for on the match's own line within the window;
    /// each found lowers the confidence by 0.3.
    #[serde(default)]
    pub penalty_words: Vec<String>,
}

impl ContextSpec {
    /// Default window: 64 bytes each side.
    pub const fn default_window() -> usize {
        64
    }
    /// Default boost: 0.2.
    pub const fn default_boost() -> f32 {
        0.2
    }
}

/// One rule, as written in a rule file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable dotted id, e.g. `pii.credit_card.visa`.
    pub id: String,
    /// Human name.
    pub name: String,
    /// Entity, upper snake case.
    pub entity: String,
    /// PII or secret.
    pub category: Category,
    /// Regular expression (Rust `regex` syntax).
    pub pattern: String,
    /// Literals of which at least one occurs in every match. An anchor
    /// that starts with a line break (`\nFrom:`) also stands, without it,
    /// at a record's start, where the pattern takes `\A` for the break.
    #[serde(default)]
    pub anchors: Vec<String>,
    /// The anchors are searched in the case written rather than in any
    /// case: every match of the pattern holds one of them exactly as
    /// written (a vendor prefix such as `ghp_` or `AKIA`). The literal search
    /// runs markedly faster on such literals. Checked against the examples
    /// written in other cases.
    #[serde(default)]
    pub exact_case: bool,
    /// True when every match contains one of the anchors (not merely lies
    /// near one): windows then need reach only as far as the pattern's own
    /// longest match. Checked against the examples.
    #[serde(default)]
    pub anchored: bool,
    /// Every match starts at most this many bytes before the start of an
    /// anchor (a label such as `token` or `name:` near the front of the
    /// match): windows then reach only this far back. Checked against the
    /// examples.
    #[serde(default)]
    pub lead: Option<usize>,
    /// Bytes an anchor hit must stand between before its window is worth a
    /// regex (e.g. an `@` between the two halves of an address).
    #[serde(default)]
    pub around: Option<Around>,
    /// Digit-run trigger, for rules without anchors.
    #[serde(default)]
    pub digits: Option<DigitsTrigger>,
    /// The rule has no trigger in the text: it runs only on the value of a
    /// field or a table's cell whose name one of its context words names
    /// (a database column `last_name`, a CSV header's `First Name`), and
    /// its pattern must match that whole value, spaces and double quotes
    /// around it aside. For values no pattern alone can tell from other
    /// text, such as a person's name. Needs required context words and
    /// neither `anchors` nor `digits`.
    #[serde(default)]
    pub field_only: bool,
    /// Longest match in bytes (bounds the confirmation window); default 256.
    #[serde(default = "Rule::default_max_len")]
    pub max_len: usize,
    /// Base confidence in 0..1.
    pub confidence: f32,
    /// Validator of the value.
    #[serde(default)]
    pub validate: Option<Validator>,
    /// Minimum Shannon entropy of the value, bits per character.
    #[serde(default)]
    pub entropy: Option<f32>,
    /// Context words.
    #[serde(default)]
    pub context: Option<ContextSpec>,
    /// Texts that must yield this rule at the default threshold.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Texts that must not.
    #[serde(default)]
    pub negative_examples: Vec<String>,
    /// Where the format is documented.
    #[serde(default)]
    pub references: Vec<String>,
}

impl Rule {
    /// Default longest match.
    pub const fn default_max_len() -> usize {
        256
    }
}

/// A rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    rules: Vec<Rule>,
}

/// The built-in rule files, embedded at compile time.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "secrets-cloud.yaml",
        include_str!("../rules/secrets-cloud.yaml"),
    ),
    (
        "secrets-vcs.yaml",
        include_str!("../rules/secrets-vcs.yaml"),
    ),
    (
        "secrets-saas.yaml",
        include_str!("../rules/secrets-saas.yaml"),
    ),
    (
        "secrets-generic.yaml",
        include_str!("../rules/secrets-generic.yaml"),
    ),
    (
        "pii-contact.yaml",
        include_str!("../rules/pii-contact.yaml"),
    ),
    (
        "pii-financial.yaml",
        include_str!("../rules/pii-financial.yaml"),
    ),
    (
        "pii-national-ids.yaml",
        include_str!("../rules/pii-national-ids.yaml"),
    ),
    (
        "pii-personal.yaml",
        include_str!("../rules/pii-personal.yaml"),
    ),
];

/// A set of rules, checked for unique ids and well-formed fields.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
    digest: String,
}

impl RuleSet {
    /// The built-in rules.
    pub fn builtin() -> Result<RuleSet, Error> {
        RuleSet::from_sources(
            BUILTIN
                .iter()
                .map(|(name, text)| ((*name).to_owned(), (*text).to_owned())),
        )
    }

    /// Rules from `(file name, YAML text)` pairs.
    pub fn from_sources(
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Result<RuleSet, Error> {
        let mut rules = Vec::new();
        let mut hasher = Sha256::new();
        for (name, text) in files {
            let file: RuleFile = serde_yaml_ng::from_str(&text).map_err(|e| Error::RuleFile {
                file: name.clone(),
                reason: e.to_string(),
            })?;
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(text.as_bytes());
            hasher.update([0]);
            rules.extend(file.rules);
        }
        let set = RuleSet {
            rules,
            digest: format!("sha256:{}", shoal_schemas::ids::hex(&hasher.finalize())),
        };
        set.check()?;
        Ok(set)
    }

    fn check(&self) -> Result<(), Error> {
        let mut ids = std::collections::HashSet::new();
        for r in &self.rules {
            let bad = |reason: String| Error::Rule {
                id: r.id.clone(),
                reason,
            };
            if !ids.insert(r.id.as_str()) {
                return Err(bad("duplicate rule id".into()));
            }
            if r.id.is_empty()
                || !r
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_')
            {
                return Err(bad("id must be lower-case dotted (a-z 0-9 . _)".into()));
            }
            if r.entity.is_empty()
                || !r
                    .entity
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(bad(format!(
                    "entity {:?} must be UPPER_SNAKE_CASE",
                    r.entity
                )));
            }
            if !(0.0..=1.0).contains(&r.confidence) {
                return Err(bad("confidence must be within 0..1".into()));
            }
            if r.field_only {
                if !r.anchors.is_empty() || r.digits.is_some() {
                    return Err(bad(
                        "`field_only` rules have neither `anchors` nor `digits`".into(),
                    ));
                }
                if !r
                    .context
                    .as_ref()
                    .is_some_and(|c| c.required && !c.words.is_empty())
                {
                    return Err(bad(
                        "`field_only` needs context words with `required: true`: they name its fields"
                            .into(),
                    ));
                }
            } else if r.anchors.is_empty() && r.digits.is_none() {
                return Err(bad(
                    "needs `anchors` or `digits` as a prefilter trigger, or `field_only`".into(),
                ));
            }
            if r.anchors.iter().any(String::is_empty) {
                return Err(bad("empty anchor".into()));
            }
            if r.exact_case && r.anchors.is_empty() {
                return Err(bad("`exact_case` needs `anchors`".into()));
            }
            if r.max_len == 0 || r.max_len > crate::engine::MAX_MATCH_LEN {
                return Err(bad(format!(
                    "max_len must be within 1..={}",
                    crate::engine::MAX_MATCH_LEN
                )));
            }
        }
        Ok(())
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// `sha256:<hex>` over the rule files' names and texts.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Keeps only rules for which `keep` is true.
    pub fn retain(&mut self, keep: impl FnMut(&Rule) -> bool) {
        self.rules.retain(keep);
    }
}
