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

/// Runs `openssl` with `args` in `dir`.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (Debian package openssl) is needed to make certificates");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A certificate authority and a server certificate it signed for
/// `localhost` and 127.0.0.1, as PEM files in `dir`: `ca.pem`, `server.pem`,
/// `server.key`.
fn test_pki(dir: &std::path::Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        dir,
        &[
            &["req", "-x509", "-days", "2", "-subj", "/CN=shoal test CA"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.pem"],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            &["req", "-subj", "/CN=localhost"][..],
            &ec,
            &["-keyout", "server.key", "-out", "server.csr"],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.pem",
        ],
    );
}

#[tokio::test]
async fn tls_to_postgresql_is_verified_and_never_falls_back_to_plaintext() {
    let pki = tempfile::tempdir().unwrap();
    test_pki(pki.path());
    let read = |name: &str| std::fs::read_to_string(pki.path().join(name)).unwrap();
    let pg = Postgres::start_tls(&read("server.pem"), &read("server.key")).unwrap();
    let ca = pki.path().join("ca.pem");

    // With the CA given, TLS is required even on loopback, and it works.
    let mut db = Db::connect_with_ca(&pg.url(), Some(&ca)).await.unwrap();
    db.migrate().await.unwrap();
    assert!(db.status("s_none").await.unwrap().is_none());
    let (observer, connection) = tokio_postgres::connect(&pg.conninfo(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let encrypted: i64 = observer
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE s.ssl AND a.backend_type = 'client backend'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(encrypted, 1, "the Db's connection is the one encrypted");

    // Asking for TLS without trusting the server's CA: refused, not downgraded.
    let refused = Db::connect(&format!("{}?sslmode=require", pg.url())).await;
    let message = refused
        .expect_err("an untrusted certificate was accepted")
        .to_string();
    assert!(message.contains("UnknownIssuer"), "{message}");
    // The trusted CA, but the server is reached (through `hostaddr`) under a
    // name its certificate does not carry: refused.
    let wrong_name = format!(
        "postgres://shoal@db.example:{}/postgres?hostaddr=127.0.0.1",
        pg.port()
    );
    let message = Db::connect_with_ca(&wrong_name, Some(&ca))
        .await
        .expect_err("a certificate for localhost was accepted for db.example")
        .to_string();
    assert!(message.contains("not valid for name"), "{message}");

    // A server without TLS is refused when TLS is required.
    let plain = Postgres::start().unwrap();
    let message = Db::connect_with_ca(&plain.url(), Some(&ca))
        .await
        .expect_err("TLS fell back to plaintext")
        .to_string();
    assert!(message.contains("TLS"), "{message}");
}
