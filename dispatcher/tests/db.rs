//! The findings store against a real PostgreSQL.

use shoal_dispatcher::db::{Db, NewScan};
use shoal_schemas::{Category, ChunkOutcome, ChunkResult, Finding, Level, Location, ScanState};
use shoal_testkit::Postgres;

fn finding(i: u32) -> Finding {
    // Optional fields set on every other finding, so that NULLs and values
    // both travel through the insert.
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

fn result(chunk: &str, outcome: ChunkOutcome, findings: u64) -> ChunkResult {
    ChunkResult {
        v: 1,
        scan_id: "s_tx".into(),
        tenant: "acme".into(),
        chunk_id: chunk.into(),
        worker: "w1".into(),
        outcome,
        records: 3,
        bytes: 100,
        findings,
        skipped: Vec::new(),
        skipped_total: 0,
        elapsed_ms: 5,
        error: None,
    }
}

#[tokio::test]
async fn a_sink_batch_commits_whole_and_the_first_result_of_a_chunk_wins() {
    let pg = Postgres::start().unwrap();
    let mut db = Db::connect(&pg.url()).await.unwrap();
    db.migrate().await.unwrap();
    db.create_scan(&NewScan {
        scan_id: "s_tx",
        tenant: "acme",
        source: "fixtures",
        label: None,
        submitted_by: "alice",
        include: &[],
        exclude: &[],
        submitted_at: 1_800_000_000,
    })
    .await
    .unwrap();
    let chunks = vec!["s_tx-c0".to_owned(), "s_tx-c1".to_owned()];
    db.add_chunks("s_tx", &chunks, &[1, 2]).await.unwrap();
    db.planned("s_tx", 2, None).await.unwrap();

    // A batch dropped before its commit leaves nothing behind.
    {
        let tx = db.begin().await.unwrap();
        tx.chunk_results(&[result("s_tx-c0", ChunkOutcome::Done, 7)])
            .await
            .unwrap();
        let status = tx.refresh_scan("s_tx").await.unwrap().unwrap();
        assert_eq!(status.chunks_done, 1);
    }
    let status = db.status("s_tx").await.unwrap().unwrap();
    assert_eq!((status.chunks_done, status.state), (0, ScanState::Running));

    // One batch carrying two results of c0 (a redelivery): the first counts.
    let tx = db.begin().await.unwrap();
    let stored = tx
        .chunk_results(&[
            result("s_tx-c0", ChunkOutcome::Done, 7),
            result("s_tx-c0", ChunkOutcome::Failed, 0),
        ])
        .await
        .unwrap();
    assert_eq!(stored, 1);
    let status = tx.refresh_scan("s_tx").await.unwrap().unwrap();
    assert_eq!((status.chunks_done, status.findings), (1, 7));
    tx.commit().await.unwrap();

    // A later batch: c0 again (ignored, its result is final) and c1, which
    // closes the scan.
    let tx = db.begin().await.unwrap();
    let stored = tx
        .chunk_results(&[
            result("s_tx-c0", ChunkOutcome::Failed, 0),
            result("s_tx-c1", ChunkOutcome::Done, 2),
        ])
        .await
        .unwrap();
    assert_eq!(stored, 1);
    let status = tx.refresh_scan("s_tx").await.unwrap().unwrap();
    tx.commit().await.unwrap();
    assert_eq!(status.state, ScanState::Done);
    assert_eq!(
        (
            status.chunks_done,
            status.chunks_failed,
            status.findings,
            status.bytes
        ),
        (2, 0, 9, 200)
    );
    assert_eq!(db.status("s_tx").await.unwrap(), Some(status));
}
