//! `shoal scan` through the real binary.

use std::process::Output;

use crate::shoal;

const CARD: &str = "4539 1488 0343 6467";
const AWS: &str = "AKIAZ3MHTJQ5F4GKRW7E";

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("exports")).unwrap();
    std::fs::write(
        root.join("exports/users.csv"),
        format!("id,name,card\n1,Ana,{CARD}\n"),
    )
    .unwrap();
    std::fs::write(
        root.join(".env"),
        format!("export AWS_ACCESS_KEY_ID={AWS}\n"),
    )
    .unwrap();
    std::fs::write(root.join("blob.bin"), format!("\0\0binary {AWS}")).unwrap();
    std::fs::write(root.join(".gitignore"), "ignored.txt\n").unwrap();
    std::fs::write(root.join("ignored.txt"), "SSN: 536-22-8790\n").unwrap();
    dir
}

fn findings(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl line"))
        .collect()
}

#[test]
fn jsonl_findings_without_raw_values_binary_skipped_gitignore_respected() {
    let dir = tree();
    let out = shoal(&["scan", ".", "--format", "jsonl"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f = findings(&out);
    let mut entities: Vec<&str> = f.iter().map(|v| v["entity"].as_str().unwrap()).collect();
    entities.sort();
    assert_eq!(entities, ["AWS_ACCESS_KEY_ID", "CREDIT_CARD"]);
    let card = f.iter().find(|v| v["entity"] == "CREDIT_CARD").unwrap();
    assert_eq!(card["location"]["path"], "exports/users.csv");
    assert_eq!(card["location"]["line"], 2);
    assert_eq!(card["location"]["column"], 7);
    assert_eq!(card["preview"], "4539 **** **** 6467");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains(CARD) && !stdout.contains(AWS),
        "raw value in output: {stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 binary skipped"), "{stderr}");
    assert!(!stderr.contains(CARD) && !stderr.contains(AWS));
}

#[test]
fn no_ignore_reveal_and_fail_on() {
    let dir = tree();
    let out = shoal(
        &["scan", ".", "--format", "jsonl", "--no-ignore", "--reveal"],
        dir.path(),
    );
    let f = findings(&out);
    assert!(
        f.iter().any(|v| v["entity"] == "US_SSN"),
        "ignored file scanned with --no-ignore"
    );
    assert!(
        f.iter().any(|v| v["value"] == CARD),
        "--reveal prints raw values"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--reveal"));

    assert_eq!(
        shoal(&["scan", ".", "--fail-on", "high"], dir.path())
            .status
            .code(),
        Some(1)
    );
    let clean = tempfile::tempdir().unwrap();
    std::fs::write(clean.path().join("a.txt"), "nothing to see here\n").unwrap();
    assert_eq!(
        shoal(&["scan", ".", "--fail-on", "low"], clean.path())
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn include_exclude_and_sarif() {
    let dir = tree();
    let out = shoal(
        &["scan", ".", "--format", "jsonl", "--exclude", "*.csv"],
        dir.path(),
    );
    assert!(findings(&out).iter().all(|v| v["entity"] != "CREDIT_CARD"));
    let out = shoal(
        &["scan", ".", "--format", "jsonl", "--include", "*.csv"],
        dir.path(),
    );
    assert!(findings(&out).iter().all(|v| v["entity"] == "CREDIT_CARD"));
    let out = shoal(&["scan", ".", "--format", "sarif"], dir.path());
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| {
        r["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .is_some()
    }));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(AWS));
}

#[test]
fn rules_check_reports_a_broken_user_rule() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.yaml"),
        "rules:\n  - id: custom.ticket\n    name: Ticket id\n    entity: TICKET_ID\n    category: secret\n    pattern: '\\b(TCK-[0-9]{6})\\b'\n    anchors: ['TCK-']\n    confidence: 0.9\n    examples: ['see TCK-481973', 'TCK-12']\n    negative_examples: ['TCK-1234567']\n",
    )
    .unwrap();
    let out = shoal(&["rules", "check", "mine.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("missed example: \"TCK-12\""), "{text}");
    assert!(text.contains("1 rules, 1 failures"), "{text}");
}

#[test]
fn a_user_rule_that_does_not_compile_stops_the_scan_with_exit_2() {
    // Rules compile while the walk starts; a rule that fails must stop the
    // walk too, and nothing may be reported as scanned.
    let dir = tree();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "rules:\n  - id: custom.bad\n    name: Bad\n    entity: BAD\n    category: secret\n    pattern: '(unclosed'\n    anchors: ['zzq']\n    confidence: 0.9\n",
    )
    .unwrap();
    let out = shoal(
        &["scan", "--rules", "bad.yaml", "--format", "jsonl", "."],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("custom.bad") && err.contains("unclosed"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_kubernetes_secret_is_scanned_decoded_in_every_format() {
    const URI_B64: &str =
        "cG9zdGdyZXM6Ly9iaWxsaW5nOlZxOHItS3AybVo3eEBkYi1wcm9kLmludGVybmFsOjU0MzIvYmlsbGluZw==";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("secret.yaml"),
        format!("apiVersion: v1\ndata:\n  DATABASE_URL: {URI_B64}\nkind: Secret\n"),
    )
    .unwrap();
    let out = shoal(&["scan", ".", "--format", "jsonl"], dir.path());
    let f = findings(&out);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["entity"], "CONNECTION_STRING_CREDENTIAL");
    assert_eq!(f[0]["location"]["json_path"], "$.data.DATABASE_URL");
    assert_eq!(f[0]["location"]["line"], 3);
    assert_eq!(f[0]["location"]["column"], 17);
    // The span is the encoded value's: `  DATABASE_URL: ` starts at 21.
    assert_eq!(f[0]["location"]["start"], 37);
    assert_eq!(f[0]["location"]["end"], 37 + URI_B64.len());
    for format in ["jsonl", "table", "sarif"] {
        let out = shoal(&["scan", ".", "--format", format], dir.path());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !stdout.contains("Vq8r-Kp2mZ7x") && !stdout.contains("postgres://"),
            "{format}: decoded value in output: {stdout}"
        );
        assert!(stdout.contains("$.data.DATABASE_URL"), "{format}: {stdout}");
    }
    let out = shoal(&["scan", ".", "--format", "sarif"], dir.path());
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        sarif["runs"][0]["results"][0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "$.data.DATABASE_URL"
    );
}
