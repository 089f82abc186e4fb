//! Checks rules against their own examples: every example must yield the
//! rule at the default threshold, and no negative example may; and on each
//! example and negative example set between bytes that test its edges, the
//! prefilter must find exactly what the rule's pattern finds run over all the
//! text, so that a trigger field claiming too much (`lead`, `around`, a
//! digit-run filter) fails here rather than losing matches silently. Used
//! by the test suite for the built-in rules and by `shoal rules check` for
//! users'.

use crate::engine::{Engine, EngineOptions, Scanner};
use crate::rules::{Rule, RuleSet};

/// One failed expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Rule id.
    pub rule: String,
    /// What went wrong, e.g. `missed example`.
    pub what: &'static str,
    /// The example text.
    pub example: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {:?}", self.rule, self.what, self.example)
    }
}

/// Runs every rule of `set` alone over its examples and negative examples.
pub fn check_examples(set: &RuleSet) -> Result<Vec<Failure>, crate::Error> {
    let mut failures = Vec::new();
    for rule in set.rules() {
        let engine = single(set, rule, true)?;
        let reference = single(set, rule, false)?;
        let mut scanner = engine.scanner();
        let mut everywhere = reference.scanner();
        let mut out = Vec::new();
        for example in rule.examples.iter().chain(&rule.negative_examples) {
            for text in edges(example) {
                let d = differences(&mut scanner, &mut everywhere, text.as_bytes());
                let what = if !d.missed.is_empty() {
                    "the prefilter misses a match that the pattern finds"
                } else if !d.extra.is_empty() {
                    "the prefilter finds a match that the pattern alone does not"
                } else {
                    continue;
                };
                failures.push(Failure {
                    rule: rule.id.clone(),
                    what,
                    example: text,
                });
            }
        }
        if rule.exact_case {
            for example in rule.examples.iter().chain(&rule.negative_examples) {
                for text in other_cases(rule, example) {
                    if !differences(&mut scanner, &mut everywhere, text.as_bytes())
                        .missed
                        .is_empty()
                    {
                        failures.push(Failure {
                            rule: rule.id.clone(),
                            what: "exact_case, but the pattern matches an anchor written in another case",
                            example: text,
                        });
                    }
                }
            }
        }
        for example in &rule.examples {
            out.clear();
            scanner.scan_slice(example.as_bytes(), None, &mut out);
            if out.is_empty() {
                failures.push(Failure {
                    rule: rule.id.clone(),
                    what: "missed example",
                    example: example.clone(),
                });
            }
            if rule.anchored && !matches_contain_an_anchor(&engine, rule, example) {
                failures.push(Failure {
                    rule: rule.id.clone(),
                    what: "anchored, but a match of the example holds no anchor",
                    example: example.clone(),
                });
            }
            if let Some(lead) = rule.lead
                && !matches_lead_to_an_anchor(&engine, rule, lead, example)
            {
                failures.push(Failure {
                    rule: rule.id.clone(),
                    what: "a match of the example starts more than `lead` bytes before every anchor",
                    example: example.clone(),
                });
            }
        }
        for example in &rule.negative_examples {
            out.clear();
            scanner.scan_slice(example.as_bytes(), None, &mut out);
            if !out.is_empty() {
                failures.push(Failure {
                    rule: rule.id.clone(),
                    what: "negative example matched",
                    example: example.clone(),
                });
            }
        }
    }
    Ok(failures)
}

/// Where a prefiltered scan and the reference (the same rules with
/// `prefilter: false`) differ on one text: each match as `(start, end,
/// rule index)`.
#[derive(Debug, Default)]
pub struct Differences {
    /// Matches of the reference that the prefiltered scan lacks.
    pub missed: Vec<(u64, u64, usize)>,
    /// Matches of the prefiltered scan that the reference lacks.
    pub extra: Vec<(u64, u64, usize)>,
    /// Matches of the reference.
    pub reference: usize,
}

/// Scans `text` with both scanners (engines built from the same rule set,
/// the second without the prefilter) and returns where they differ.
pub fn differences(
    prefiltered: &mut Scanner<'_>,
    reference: &mut Scanner<'_>,
    text: &[u8],
) -> Differences {
    let (mut got, mut want) = (Vec::new(), Vec::new());
    prefiltered.scan_slice(text, None, &mut got);
    reference.scan_slice(text, None, &mut want);
    let key = |d: &crate::Detection| (d.start, d.end, d.rule);
    let got: Vec<_> = got.iter().map(key).collect();
    let want: Vec<_> = want.iter().map(key).collect();
    let absent = |list: &[(u64, u64, usize)], other: &[(u64, u64, usize)]| {
        list.iter()
            .filter(|d| !other.contains(d))
            .copied()
            .collect()
    };
    Differences {
        missed: absent(&want, &got),
        extra: absent(&got, &want),
        reference: want.len(),
    }
}

/// True when every match of the rule's pattern in `example` contains one of
/// its anchors (case-insensitively), as `anchored: true` promises. `engine`
/// holds this rule alone.
fn matches_contain_an_anchor(engine: &Engine, rule: &Rule, example: &str) -> bool {
    engine.pattern(0).find_iter(example.as_bytes()).all(|m| {
        let text = &example.as_bytes()[..m.end()];
        (m.start()..m.end()).any(|p| anchor_at(rule, text, p))
    })
}

/// True when an anchor starts within `lead` bytes after the start of every
/// match of the rule's pattern in `example`, as `lead` promises.
fn matches_lead_to_an_anchor(engine: &Engine, rule: &Rule, lead: usize, example: &str) -> bool {
    let text = example.as_bytes();
    engine
        .pattern(0)
        .find_iter(text)
        .all(|m| (m.start()..=(m.start() + lead).min(text.len())).any(|p| anchor_at(rule, text, p)))
}

/// True when one of the rule's anchors (in any case, or as written for an
/// `exact_case` rule) lies whole in `text` from `p`; at the text's start,
/// an anchor's leading line break may be the start itself, as the engine
/// takes it.
fn anchor_at(rule: &Rule, text: &[u8], p: usize) -> bool {
    rule.anchors.iter().any(|a| {
        let a = a.as_bytes();
        let at_start = (p == 0 && a.len() > 1 && a[0] == b'\n').then(|| &a[1..]);
        [Some(a), at_start].into_iter().flatten().any(|a| {
            text.get(p..p + a.len()).is_some_and(|w| {
                if rule.exact_case {
                    w == a
                } else {
                    w.eq_ignore_ascii_case(a)
                }
            })
        })
    })
}

/// `example` written in other cases: all upper, all lower, and with each
/// occurrence of an anchor (found in any case) in upper, lower and swapped
/// case. The rule's matches in them must hold an anchor as written, or the
/// search for anchors in their written case would miss them.
fn other_cases(rule: &Rule, example: &str) -> Vec<String> {
    let mut out = vec![example.to_ascii_uppercase(), example.to_ascii_lowercase()];
    let swap = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_uppercase() {
                    c.to_ascii_lowercase()
                } else {
                    c.to_ascii_uppercase()
                }
            })
            .collect()
    };
    let lower = example.to_ascii_lowercase();
    for anchor in &rule.anchors {
        let a = anchor.to_ascii_lowercase();
        for (at, _) in lower.match_indices(&a) {
            let found = &example[at..at + a.len()];
            for other in [found.to_ascii_uppercase(), a.clone(), swap(found)] {
                if other != found {
                    out.push(format!(
                        "{}{other}{}",
                        &example[..at],
                        &example[at + a.len()..]
                    ));
                }
            }
        }
    }
    out
}

/// `example` alone and set between bytes that test a trigger's edges: word
/// and digit characters glued on, separators, quotes, a line break, a
/// repeat; and with tabs, then line breaks, in place of its spaces.
fn edges(example: &str) -> Vec<String> {
    const EDGES: [&str; 9] = ["", " ", "x", "Q", "1", "_", ".", "-", "\""];
    let mut out = Vec::with_capacity(EDGES.len() * EDGES.len() + 2);
    for before in EDGES {
        for after in EDGES {
            out.push(format!("{before}{example}{after}"));
        }
    }
    out.push(format!("{example}\n{example}"));
    out.push(format!("id {example}, {example}"));
    // Other white space where the example has spaces: a pattern's `\s`
    // takes them, so must the anchors.
    out.push(example.replace(' ', "\t"));
    out.push(example.replace(' ', "\n"));
    out
}

/// `rule` alone, with or without the prefilter.
fn single(set: &RuleSet, rule: &Rule, prefilter: bool) -> Result<Engine, crate::Error> {
    let mut one = set.clone();
    one.retain(|r| r.id == rule.id);
    Engine::new(
        &one,
        EngineOptions {
            prefilter,
            ..EngineOptions::default()
        },
    )
}
