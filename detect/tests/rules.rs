//! The built-in rules: each rule's examples are found, its negative examples
//! are not, and the rule list is what the snapshot says.

use shoal_detect::check::check_examples;
use shoal_detect::rules::RuleSet;

#[test]
fn every_example_found_and_no_negative_example_matches() {
    let set = RuleSet::builtin().expect("built-in rules load");
    let failures = check_examples(&set).expect("rules compile");
    let report: Vec<String> = failures.iter().map(ToString::to_string).collect();
    assert!(
        report.is_empty(),
        "{} failures:\n{}",
        report.len(),
        report.join("\n")
    );
}

#[test]
fn at_least_150_rules_each_with_examples_and_references() {
    let set = RuleSet::builtin().unwrap();
    assert!(set.rules().len() >= 150, "only {} rules", set.rules().len());
    for r in set.rules() {
        assert!(!r.examples.is_empty(), "{} has no example", r.id);
        assert!(
            !r.negative_examples.is_empty(),
            "{} has no negative example",
            r.id
        );
        assert!(!r.references.is_empty(), "{} has no reference", r.id);
    }
}

/// A snapshot of the rule list: a rule added, removed or renamed shows in review.
#[test]
fn rule_list_snapshot() {
    let set = RuleSet::builtin().unwrap();
    let list: String = set
        .rules()
        .iter()
        .map(|r| format!("{} {} {:?}\n", r.id, r.entity, r.category))
        .collect();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rules.snapshot");
    if std::env::var_os("SHOAL_UPDATE_SNAPSHOT").is_some() {
        std::fs::write(&path, &list).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        list == expected,
        "rule list changed; review and run with SHOAL_UPDATE_SNAPSHOT=1 to accept.\n--- snapshot\n{expected}\n--- now\n{list}"
    );
}
