//! The findings store against a real PostgreSQL.

use shoal_dispatcher::db::Db;
use shoal_schemas::{Category, Finding, Level, Location};
use shoal_testkit::Postgres;

fn finding(i: u32) -> Finding {
    // Optional fields set on every other finding, so that NULLs and values
    // both travel through the binary COPY.
    let some = |s: &str| i.is_multiple_of(2).then(|| format!("{s}{i}"));
    Finding {
        v: 1,
        finding_id: format!("f_{i:04}"),
        scan_id: "s_db".into(),
        tenant: "acme".into(),
        chunk_id: format!("c_{}", i / 10),
        rule_id: "pii.email".into(),
        entity: "EMAIL".into(),
        category: if i.is_multiple_of(3) {
            Category::Secret
        } else {
            Category::Pii
        },
        confidence: 0.75,
        level: Level::Medium,
        location: Location {
            source: "fixtures".into(),
            path: format!("dir/é file {:04}.txt", i),
            member: some("inner.zip/"),
            row: some("row-"),
            start: u64::from(i) * 100 + (1 << 40),
            end: u64::from(i) * 100 + (1 << 40) + 12,
            line: i + 1,
            column: 7,
            field: some("email_"),
            json_path: some("$.a["),
            page: i.is_multiple_of(2).then_some(i),
        },
        preview: "m***@example.org".into(),
        fingerprint: format!("hmac-sha256:{i:064x}"),
    }
}

#[tokio::test]
async fn findings_are_stored_whole_and_once() {
    let pg = Postgres::start().unwrap();
    let mut db = Db::connect(&pg.url()).await.unwrap();
    db.migrate().await.unwrap();
    let first: Vec<Finding> = (0..1500).map(finding).collect();
    assert_eq!(db.add_findings(&first).await.unwrap(), 1500);
    // A redelivered batch, overlapping a new one: only the new rows count.
    let second: Vec<Finding> = (1000..2000).map(finding).collect();
    assert_eq!(db.add_findings(&second).await.unwrap(), 500);
    assert_eq!(db.add_findings(&second).await.unwrap(), 0);
    assert_eq!(db.add_findings(&[]).await.unwrap(), 0);
    let stored = db.findings("s_db").await.unwrap();
    let expected: Vec<Finding> = (0..2000).map(finding).collect();
    assert_eq!(stored, expected);
}
