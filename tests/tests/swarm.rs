//! The swarm end to end: a real nats-server and PostgreSQL, the real
//! `shoal-dispatcher` and `shoal-worker` binaries as processes, and
//! submissions over NATS request/reply.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use shoal_schemas::envelope::Signer;
use shoal_testkit::workspace_bin;

use crate::harness::{
    JWT_AUDIENCE, JWT_ISSUER, Options, Swarm, TENANT, contains, key, spawn_dispatcher, succeeded,
    tail,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_store_what_shoal_scan_finds_and_no_raw_value_leaves_them() {
    let swarm = Swarm::start(Options::default()).await;
    let scan_id = swarm.submit(r#"{"v":1,"source":"fixtures"}"#).await;
    let state = swarm
        .wait_state(&scan_id, &["done", "failed"], Duration::from_secs(60))
        .await;
    assert_eq!(state, "done", "{}", swarm.logs());
    let stored = swarm.findings(&scan_id).await;
    let (local, values) = swarm.local_scan();
    assert!(local.len() >= 10, "fixture too weak: {local:?}");
    assert_eq!(stored, local, "swarm and shoal scan disagree");
    // The Secret's entry, found decoded, is named in PostgreSQL too.
    let decoded: Vec<(String, Option<String>)> = swarm
        .db
        .query(
            "SELECT rule_id, json_path FROM findings WHERE scan_id = $1 AND path = 'deploy/secret.yaml'",
            &[&scan_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        decoded,
        [(
            "secret.uri.postgres".to_owned(),
            Some("$.data.DATABASE_URL".to_owned())
        )]
    );

    let n = swarm
        .scan_numbers(&scan_id, "chunks_planned, chunks_done, findings")
        .await;
    let (planned, done, findings) = (n[0], n[1], n[2]);
    assert!(planned >= 3, "several chunks expected, got {planned}");
    assert_eq!((done, findings), (planned, local.len() as i64));
    let workers: BTreeSet<String> = swarm
        .db
        .query(
            "SELECT DISTINCT worker FROM chunks WHERE scan_id = $1",
            &[&scan_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(workers.len(), 2, "both workers took chunks: {workers:?}");

    // The raw values are nowhere: not in PostgreSQL, not on the bus, not in logs.
    let dump: String = swarm
        .db
        .query_one(
            "SELECT coalesce(string_agg(f::text, E'\\n'), '') FROM findings f",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let events = swarm.event_payloads().await;
    // A chunk's findings travel in batches: one message per chunk here.
    let batches: Vec<shoal_schemas::FindingBatch> = events
        .iter()
        .filter(|(subject, _)| subject.starts_with("shoal.findings."))
        .map(|(_, p)| shoal_schemas::codec::from_msgpack(p).unwrap())
        .collect();
    let batched: usize = batches.iter().map(|b| b.findings.len()).sum();
    assert_eq!(batched as i64, findings);
    assert!(batches.len() as i64 <= planned, "{} batches", batches.len());
    assert!(batches.iter().all(|b| b.seq == 0 && !b.findings.is_empty()));
    assert!(!events.iter().any(|(s, _)| s.starts_with("shoal.finding.")));
    for v in &values {
        assert!(!dump.contains(v.as_str()), "raw value in PostgreSQL: {v}");
        for (_, e) in &events {
            assert!(!contains(e, v), "raw value on the bus: {v}");
        }
        assert!(
            !swarm.logs().contains(v.as_str()),
            "raw value in a log: {v}"
        );
    }
    let accepted = swarm.audit().await;
    assert_eq!(
        accepted[0],
        (
            "submit".into(),
            "accepted".into(),
            None,
            Some(scan_id.clone())
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_chunk_loses_nothing_and_duplicates_nothing() {
    let (mut swarm, scan_id) = Swarm::start_big_chunk(Options {
        workers: 1,
        ack_wait_secs: 3,
        big_file_mib: 40,
        ..Options::default()
    })
    .await;
    // The big chunk is running when the worker logs its claim.
    swarm.wait_claimed(0);
    tokio::time::sleep(Duration::from_millis(700)).await;
    shoal_testkit::signal(swarm.workers[0].pid(), libc_sigkill());
    assert!(swarm.workers[0].wait(Duration::from_secs(5)).is_some());
    assert_ne!(
        swarm.state(&scan_id).await,
        "done",
        "the chunk ended before the kill"
    );
    swarm.add_worker();
    let state = swarm
        .wait_state(&scan_id, &["done", "failed"], Duration::from_secs(90))
        .await;
    assert_eq!(state, "done", "{}", swarm.logs());
    let delivered: i64 = swarm
        .db
        .query_one(
            "SELECT count(*) FROM chunks WHERE scan_id = $1 AND state = 'done'",
            &[&scan_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(delivered, 1);
    assert!(
        swarm.workers[1].log().contains("Chunk claimed."),
        "the chunk was redelivered to the new worker"
    );
    let stored = swarm.findings(&scan_id).await;
    let (local, _) = swarm.local_scan();
    let local_big: BTreeSet<_> = local
        .into_iter()
        .filter(|f| f.0.starts_with("big/"))
        .collect();
    assert_eq!(stored.len(), local_big.len());
    assert_eq!(stored, local_big);
    let rows: i64 = swarm
        .db
        .query_one(
            "SELECT count(*) FROM findings WHERE scan_id = $1",
            &[&scan_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows as usize, local_big.len(), "no duplicate rows");
}

fn libc_sigkill() -> i32 {
    9
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_running_chunk_finish_and_exits_zero() {
    let (mut swarm, scan_id) = Swarm::start_big_chunk(Options {
        workers: 1,
        big_file_mib: 24,
        ..Options::default()
    })
    .await;
    swarm.wait_claimed(0);
    shoal_testkit::signal(swarm.workers[0].pid(), 15);
    let status = swarm.workers[0].wait(Duration::from_secs(60));
    assert_eq!(status.map(|s| s.code()), Some(Some(0)), "{}", swarm.logs());
    let state = swarm
        .wait_state(&scan_id, &["done", "failed"], Duration::from_secs(30))
        .await;
    assert_eq!(
        state,
        "done",
        "the running chunk finished: {}",
        swarm.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_envelope_is_terminated_unread_and_audited() {
    let swarm = Swarm::start(Options::default()).await;
    let now = shoal_schemas::ids::now_unix();
    let task = shoal_schemas::ChunkTask {
        v: 1,
        iss: "mallory".into(),
        aud: shoal_schemas::envelope::AUD_WORKER.into(),
        jti: "forged-jti".into(),
        iat: now,
        nbf: now,
        exp: now + 600,
        tenant: TENANT.into(),
        scan_id: "s_forged".into(),
        chunk_id: "s_forged-c00000000".into(),
        source: "fixtures".into(),
        spec: shoal_schemas::ChunkSpec::Fs {
            files: vec![shoal_schemas::FileRef {
                path: "src/config/prod.env".into(),
                size: 0,
            }],
        },
        ruleset: String::new(),
    };
    // The trusted kid, an untrusted key.
    let forged = Signer::new("k1".into(), key(66)).sign_task(&task).unwrap();
    let js = async_nats::jetstream::new(swarm.client.clone());
    js.publish("shoal.chunk.acme.fs", forged.into())
        .await
        .unwrap()
        .await
        .unwrap();
    swarm
        .wait_audit("bad_signature", Duration::from_secs(30))
        .await;
    let row = swarm
        .db
        .query_one(
            "SELECT action, actor, chunk_id FROM audit WHERE reason = 'bad_signature'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), "chunk_refused");
    assert!(row.get::<_, &str>(1).starts_with('w'));
    assert_eq!(row.get::<_, Option<&str>>(2), None);
    let findings: i64 = swarm
        .db
        .query_one("SELECT count(*) FROM findings", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(findings, 0, "nothing was read");
    let chunks: i64 = swarm
        .db
        .query_one("SELECT count(*) FROM chunks", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(chunks, 0, "no result for a forged chunk");
    // Terminated: never redelivered, gone from the work queue.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(swarm.chunk_messages().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_envelope_is_refused() {
    let swarm = Swarm::start(Options {
        max_records: 100,
        ..Options::default()
    })
    .await;
    let mut captured = swarm.client.subscribe("shoal.chunk.>").await.unwrap();
    swarm.client.flush().await.unwrap();
    let scan_id = swarm.submit(r#"{"v":1,"source":"fixtures"}"#).await;
    swarm
        .wait_state(&scan_id, &["done"], Duration::from_secs(60))
        .await;
    let envelope = tokio::time::timeout(Duration::from_secs(5), captured.next())
        .await
        .unwrap()
        .unwrap()
        .payload;
    let before = swarm.findings(&scan_id).await.len();
    // The same valid envelope as a new message (another Msg-Id).
    let js = async_nats::jetstream::new(swarm.client.clone());
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", "replay-1");
    js.publish_with_headers("shoal.chunk.acme.fs", headers, envelope)
        .await
        .unwrap()
        .await
        .unwrap();
    swarm.wait_audit("replay", Duration::from_secs(30)).await;
    assert_eq!(swarm.findings(&scan_id).await.len(), before);
    assert_eq!(swarm.state(&scan_id).await, "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_and_forbidden_sources_are_refused_with_codes_and_nothing_queued() {
    let swarm = Swarm::start(Options {
        workers: 0,
        ..Options::default()
    })
    .await;
    let body = r#"{"v":1,"source":"fixtures"}"#;
    let code =
        |reply: serde_json::Value| reply["error"]["code"].as_str().unwrap_or("none").to_owned();
    let cases: Vec<(&str, Option<String>, &str, &str)> = vec![
        ("missing token", None, body, "unauthenticated"),
        (
            "garbage token",
            Some("not.a.jwt".into()),
            body,
            "unauthenticated",
        ),
        (
            "expired token",
            Some(swarm.token_with(&swarm.jwt_key, swarm.claims(TENANT, "scan:submit", -300))),
            body,
            "unauthenticated",
        ),
        (
            "untrusted key",
            Some(swarm.token_with(
                &swarm.untrusted_jwt_key,
                swarm.claims(TENANT, "scan:submit", 600),
            )),
            body,
            "unauthenticated",
        ),
        (
            "wrong audience",
            Some(swarm.token_with(&swarm.jwt_key, {
                let mut c = swarm.claims(TENANT, "scan:submit", 600);
                c["aud"] = "someone-else".into();
                c
            })),
            body,
            "unauthenticated",
        ),
        (
            "missing scope",
            Some(swarm.token_with(&swarm.jwt_key, swarm.claims(TENANT, "scan:read", 600))),
            body,
            "forbidden",
        ),
        (
            "source outside the tenant's policy",
            Some(swarm.token()),
            r#"{"v":1,"source":"elsewhere"}"#,
            "forbidden",
        ),
        (
            "unknown field",
            Some(swarm.token()),
            r#"{"v":1,"source":"fixtures","sauce":1}"#,
            "invalid",
        ),
        (
            "bad glob",
            Some(swarm.token()),
            r#"{"v":1,"source":"fixtures","include":["a[b"]}"#,
            "invalid",
        ),
    ];
    for (what, token, body, expected) in &cases {
        let reply = swarm.request("shoal.submit", token.as_deref(), body).await;
        assert_eq!(code(reply.clone()), *expected, "{what}: {reply}");
    }
    let audit = swarm.audit().await;
    assert_eq!(audit.len(), cases.len());
    assert!(audit.iter().all(|a| a.0 == "submit" && a.1 == "refused"));
    let reasons: Vec<&str> = audit.iter().filter_map(|a| a.2.as_deref()).collect();
    assert_eq!(
        reasons,
        [
            "missing_token",
            "malformed_token",
            "expired",
            "bad_signature",
            "wrong_audience",
            "missing_scope",
            "source_not_allowed",
            "invalid",
            "invalid"
        ]
    );
    let scans: i64 = swarm
        .db
        .query_one("SELECT count(*) FROM scans", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(scans, 0);
    assert_eq!(swarm.chunk_messages().await, 0, "nothing queued");
    // Status of someone else's scan is not found.
    let other = swarm.token_with(&swarm.jwt_key, swarm.claims("other", "scan:submit", 600));
    let reply = swarm.request("shoal.status", Some(&other), "s_nope").await;
    assert_eq!(code(reply), "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_the_remaining_chunks() {
    let mut swarm = Swarm::start(Options {
        workers: 0,
        max_records: 1,
        ..Options::default()
    })
    .await;
    let scan_id = swarm.submit(r#"{"v":1,"source":"fixtures"}"#).await;
    swarm
        .wait_state(&scan_id, &["running"], Duration::from_secs(30))
        .await;
    let reply = swarm
        .request("shoal.cancel", Some(&swarm.token()), &scan_id)
        .await;
    assert_eq!(reply["cancel_requested"], true, "{reply}");
    swarm.add_worker();
    let state = swarm
        .wait_state(&scan_id, &["cancelled", "done"], Duration::from_secs(60))
        .await;
    assert_eq!(state, "cancelled");
    let n = swarm
        .scan_numbers(&scan_id, "chunks_planned, chunks_cancelled, findings")
        .await;
    let (planned, cancelled, findings) = (n[0], n[1], n[2]);
    assert!(planned >= 8);
    assert_eq!((cancelled, findings), (planned, 0));
    assert!(
        swarm
            .audit()
            .await
            .iter()
            .any(|a| a.0 == "cancel" && a.3.as_deref() == Some(scan_id.as_str()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_that_keeps_failing_is_marked_failed_from_the_advisory() {
    let mut swarm = Swarm::start(Options {
        workers: 0,
        max_records: 100,
        max_deliver: 2,
        ..Options::default()
    })
    .await;
    let scan_id = swarm.submit(r#"{"v":1,"source":"fixtures"}"#).await;
    swarm
        .wait_state(&scan_id, &["running"], Duration::from_secs(30))
        .await;
    // A status workers cannot read: every delivery fails transiently. It is
    // written after the dispatcher's own "running" reaches KV (PostgreSQL
    // says running a moment before), or that would overwrite it.
    let js = async_nats::jetstream::new(swarm.client.clone());
    let kv = js.get_key_value("shoal_scans").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !kv
        .get(&scan_id)
        .await
        .unwrap()
        .is_some_and(|v| contains(&v, r#""state":"running""#))
    {
        assert!(Instant::now() < deadline, "no running status in KV");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kv.put(&scan_id, "not json".into()).await.unwrap();
    swarm.add_worker();
    let state = swarm
        .wait_state(&scan_id, &["done", "failed"], Duration::from_secs(60))
        .await;
    assert_eq!(state, "done");
    let row = swarm
        .db
        .query_one(
            "SELECT state, error FROM chunks WHERE scan_id = $1",
            &[&scan_id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), "failed");
    assert!(row.get::<_, &str>(1).contains("max deliveries"));
    swarm
        .wait_audit("max_deliveries", Duration::from_secs(5))
        .await;
    assert_eq!(
        swarm.chunk_messages().await,
        0,
        "the given-up message is dropped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_client_submits_with_a_token_minted_by_shoal() {
    let swarm = Swarm::start(Options::default()).await;
    let python = shoal_testkit::repo_root().join(".tools/venv/bin/python");
    assert!(
        python.is_file(),
        "{} missing: run scripts/test (it installs nats-py)",
        python.display()
    );
    let token = succeeded(
        Command::new(workspace_bin("shoal").unwrap())
            .args([
                "token",
                "--kid",
                "jwt1",
                "--iss",
                JWT_ISSUER,
                "--aud",
                JWT_AUDIENCE,
            ])
            .args(["--tenant", TENANT, "--sub", "python-client", "--key"])
            .arg(swarm.dir.path().join("jwt.pem")),
    );
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();
    let script = r#"
import asyncio, json, sys
import nats

async def main():
    nc = await nats.connect(sys.argv[1])
    reply = await nc.request(
        "shoal.submit",
        json.dumps({"v": 1, "source": "fixtures", "include": ["**/*.csv"]}).encode(),
        timeout=10,
        headers={"Authorization": "Bearer " + sys.argv[2]},
    )
    print(reply.data.decode())
    await nc.close()

asyncio.run(main())
"#;
    let out = succeeded(
        Command::new(&python)
            .arg("-c")
            .arg(script)
            .arg(swarm.nats.url())
            .arg(&token),
    );
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let scan_id = reply["scan_id"].as_str().unwrap().to_owned();
    swarm
        .wait_state(&scan_id, &["done"], Duration::from_secs(60))
        .await;
    let stored = swarm.findings(&scan_id).await;
    assert!(!stored.is_empty());
    assert!(stored.iter().all(|f| f.0.ends_with(".csv")), "{stored:?}");
    let by: String = swarm
        .db
        .query_one(
            "SELECT submitted_by FROM scans WHERE scan_id = $1",
            &[&scan_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(by, "python-client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_grace_period_a_running_chunk_is_given_back() {
    let (mut swarm, scan_id) = Swarm::start_big_chunk(Options {
        workers: 1,
        big_file_mib: 40,
        grace_secs: 1,
        ..Options::default()
    })
    .await;
    swarm.wait_claimed(0);
    shoal_testkit::signal(swarm.workers[0].pid(), 15);
    let status = swarm.workers[0].wait(Duration::from_secs(20));
    assert_eq!(status.map(|s| s.code()), Some(Some(0)), "{}", swarm.logs());
    assert!(swarm.workers[0].log().contains("Grace period over"));
    assert_ne!(swarm.state(&scan_id).await, "done");
    // Given back with a Nak: the next worker takes it at once, not after the ack wait (30 s).
    let started = Instant::now();
    swarm.add_worker();
    swarm
        .wait_state(&scan_id, &["done"], Duration::from_secs(25))
        .await;
    assert!(started.elapsed() < Duration::from_secs(25));
    assert!(swarm.workers[1].log().contains("redelivery=true"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_acks_keep_a_chunk_longer_than_the_ack_wait() {
    let (swarm, scan_id) = Swarm::start_big_chunk(Options {
        workers: 1,
        ack_wait_secs: 2,
        big_file_mib: 64,
        ..Options::default()
    })
    .await;
    swarm
        .wait_state(&scan_id, &["done"], Duration::from_secs(60))
        .await;
    let elapsed: i64 = swarm
        .db
        .query_one(
            "SELECT elapsed_ms FROM chunks WHERE scan_id = $1",
            &[&scan_id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        elapsed > 1500,
        "the chunk must outlast the ack wait, took {elapsed} ms"
    );
    let log = swarm.workers[0].log();
    assert_eq!(
        log.matches("Chunk claimed.").count(),
        1,
        "never redelivered:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_submits_waits_and_reports() {
    let swarm = Swarm::start(Options::default()).await;
    let shoal = workspace_bin("shoal").unwrap();
    let env = |c: &mut Command| {
        c.env("NATS_URL", swarm.nats.url())
            .env("SHOAL_TOKEN", swarm.token())
            .env("DATABASE_URL", swarm.database_url());
    };
    let mut submit = Command::new(&shoal);
    submit.args([
        "submit",
        "--source",
        "fixtures",
        "--exclude",
        "big",
        "--wait",
    ]);
    env(&mut submit);
    let out = succeeded(&mut submit);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["state"], "done");
    let scan_id = status["scan_id"].as_str().unwrap().to_owned();

    let mut st = Command::new(&shoal);
    st.args(["status", &scan_id]);
    env(&mut st);
    let out = st.output().unwrap();
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["findings"], status["findings"]);

    let mut report = Command::new(&shoal);
    report.args(["report", &scan_id, "--format", "jsonl"]);
    env(&mut report);
    let out = succeeded(&mut report);
    let lines = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        lines.lines().count() as u64,
        status["findings"].as_u64().unwrap()
    );
    let (local, values) = swarm.local_scan();
    assert_eq!(lines.lines().count(), local.len());
    for v in values {
        assert!(!lines.contains(&v), "raw value in the report");
    }

    let mut sarif = Command::new(&shoal);
    sarif.args(["report", &scan_id, "--format", "sarif"]);
    env(&mut sarif);
    let out = sarif.output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    assert_eq!(
        doc["runs"][0]["results"].as_array().unwrap().len(),
        local.len()
    );

    // A bad token: a clear refusal and a non-zero exit.
    let mut bad = Command::new(&shoal);
    bad.args(["submit", "--source", "fixtures"]);
    env(&mut bad);
    bad.env("SHOAL_TOKEN", "nope");
    let out = bad.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unauthenticated"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_tests_pass_against_a_live_swarm_and_fail_clearly() {
    let swarm = Swarm::start(Options {
        workers: 0,
        ..Options::default()
    })
    .await;
    let dir = swarm.dir.path();
    let out = succeeded(
        Command::new(workspace_bin("shoal-dispatcher").unwrap())
            .arg("--config")
            .arg(dir.join("dispatcher.yaml"))
            .arg("--self-test")
            .env("DATABASE_URL", swarm.database_url()),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("self-test ok"));

    std::fs::write(
        dir.join("w.yaml"),
        format!(
            "nats: {{ url: \"{}\" }}\nkeyset: {}/keyset.json\n",
            swarm.nats.url(),
            dir.display()
        ),
    )
    .unwrap();
    let worker = |keyset: &str| {
        Command::new(workspace_bin("shoal-worker").unwrap())
            .arg("--config")
            .arg(dir.join("w.yaml"))
            .arg("--self-test")
            .env("SHOAL_FINGERPRINT_KEY", "11".repeat(32))
            .env("SHOAL_KEYSET", keyset)
            .output()
            .unwrap()
    };
    let ok = worker(&dir.join("keyset.json").display().to_string());
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        stdout.contains("self-test ok") && stdout.contains("rules"),
        "{stdout}"
    );
    let bad = worker("/nonexistent/keyset.json");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/nonexistent/keyset.json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_postgresql_a_submission_is_unavailable_and_queues_nothing() {
    let mut swarm = Swarm::start(Options {
        workers: 0,
        ..Options::default()
    })
    .await;
    drop(swarm.pg.take());
    let reply = swarm
        .request(
            "shoal.submit",
            Some(&swarm.token()),
            r#"{"v":1,"source":"fixtures"}"#,
        )
        .await;
    assert_eq!(reply["error"]["code"], "unavailable", "{reply}");
    assert_eq!(swarm.chunk_messages().await, 0);
    // A refusal for a missing token still answers with its own code.
    let reply = swarm
        .request("shoal.submit", None, r#"{"v":1,"source":"fixtures"}"#)
        .await;
    assert_eq!(reply["error"]["code"], "unauthenticated", "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_killed_while_planning_resumes_without_queueing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let files = 1500;
    for i in 0..files {
        let d = dir.path().join(format!("d{}", i / 100));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join(format!("f{i:05}.txt")),
            format!("mail{i}@mailbox.org\n"),
        )
        .unwrap();
    }
    let mut swarm = Swarm::start(Options {
        workers: 0,
        max_records: 1,
        tree: Some(dir.path().to_path_buf()),
        ..Options::default()
    })
    .await;
    let scan_id = swarm.submit(r#"{"v":1,"source":"fixtures"}"#).await;
    // Some chunks are recorded, planning is not over: kill the dispatcher.
    swarm
        .wait_until("chunks recorded", Duration::from_secs(30), async || {
            let recorded: i64 = swarm
                .db
                .query_one(
                    "SELECT count(*) FROM chunks WHERE scan_id = $1",
                    &[&scan_id],
                )
                .await
                .unwrap()
                .get(0);
            recorded > 0
        })
        .await;
    let mut old = swarm.dispatcher.take().unwrap();
    shoal_testkit::signal(old.pid(), 9);
    assert!(old.wait(Duration::from_secs(5)).is_some());
    assert_eq!(
        swarm.state(&scan_id).await,
        "planning",
        "planning ended before the kill"
    );
    let published_before = swarm.chunk_messages().await;
    assert!(published_before > 0 && published_before < files);

    let dispatcher = spawn_dispatcher(swarm.dir.path(), &swarm.database_url(), "dispatcher2.log");
    swarm.dispatcher = Some(dispatcher);
    swarm
        .wait_state(&scan_id, &["running"], Duration::from_secs(60))
        .await;
    let planned = swarm.scan_numbers(&scan_id, "chunks_planned").await[0];
    assert_eq!(planned as u64, files, "{}", swarm.logs());
    assert_eq!(swarm.chunk_messages().await, files, "no chunk queued twice");
    swarm.add_worker();
    swarm.add_worker();
    swarm
        .wait_state(&scan_id, &["done"], Duration::from_secs(120))
        .await;
    assert_eq!(swarm.findings(&scan_id).await.len() as u64, files);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planning_waits_while_the_work_queue_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let files = 800u64;
    for i in 0..files {
        std::fs::write(dir.path().join(format!("f{i:05}.txt")), "nothing\n").unwrap();
    }
    let mut swarm = Swarm::start(Options {
        workers: 0,
        max_records: 1,
        max_queued_chunks: 300,
        tree: Some(dir.path().to_path_buf()),
        ..Options::default()
    })
    .await;
    let scan_id = swarm.submit(r#"{"v":1,"source":"fixtures"}"#).await;
    // Without workers, planning reaches the threshold and stops near it.
    swarm
        .wait_until("300 chunks queued", Duration::from_secs(60), async || {
            swarm.chunk_messages().await >= 300
        })
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let queued = swarm.chunk_messages().await;
    assert!((300..300 + 256).contains(&queued), "queued {queued}");
    assert_eq!(swarm.state(&scan_id).await, "planning");
    swarm.add_worker();
    swarm.add_worker();
    swarm
        .wait_state(&scan_id, &["done"], Duration::from_secs(120))
        .await;
    let planned = swarm.scan_numbers(&scan_id, "chunks_planned").await[0];
    assert_eq!(planned as u64, files);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_adds_the_batch_subject_to_an_older_events_stream() {
    let mut swarm = Swarm::start(Options {
        workers: 0,
        ..Options::default()
    })
    .await;
    // A SHOAL_EVENTS made before findings were batched lacks their subject.
    swarm.dispatcher = None;
    let js = async_nats::jetstream::new(swarm.client.clone());
    let events_config = |js: async_nats::jetstream::Context| async move {
        let mut stream = js.get_stream("SHOAL_EVENTS").await.unwrap();
        stream.info().await.unwrap().config.clone()
    };
    let mut config = events_config(js.clone()).await;
    config.subjects.retain(|s| s != "shoal.findings.>");
    js.update_stream(&config).await.unwrap();

    let dispatcher = spawn_dispatcher(swarm.dir.path(), &swarm.database_url(), "dispatcher2.log");
    swarm.dispatcher = Some(dispatcher);
    let config = events_config(js.clone()).await;
    assert!(
        config.subjects.iter().any(|s| s == "shoal.findings.>"),
        "{:?}",
        config.subjects
    );
    assert_eq!(
        config.retention,
        async_nats::jetstream::stream::RetentionPolicy::Limits
    );

    swarm.add_worker();
    let scan_id = swarm.submit(r#"{"v":1,"source":"fixtures"}"#).await;
    let state = swarm
        .wait_state(&scan_id, &["done", "failed"], Duration::from_secs(60))
        .await;
    assert_eq!(state, "done", "{}", swarm.logs());
    assert_eq!(swarm.findings(&scan_id).await, swarm.local_scan().0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dispatcher_reconnects_when_postgresql_ends_its_connections() {
    let swarm = Swarm::start(Options::default()).await;
    let body = r#"{"v":1,"source":"fixtures"}"#;
    let first = swarm.submit(body).await;
    swarm
        .wait_state(&first, &["done"], Duration::from_secs(60))
        .await;
    // What a server restart or an administrator does to the dispatcher's
    // connections (its API's and its sink's); the test's own survives.
    let ended: i64 = swarm
        .db
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()) t",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(ended >= 2, "{ended} connections ended");
    // A request that meets the closed connection before its close is noticed
    // is refused as unavailable; the next one reconnects.
    let mut second = None;
    for _ in 0..20 {
        let reply = swarm
            .request("shoal.submit", Some(&swarm.token()), body)
            .await;
        if let Some(id) = reply["scan_id"].as_str() {
            second = Some(id.to_owned());
            break;
        }
        assert_eq!(reply["error"]["code"], "unavailable", "{reply}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let second = second.expect("no submission accepted after the connections ended");
    // The sink reconnects too: the second scan is stored whole.
    swarm
        .wait_state(&second, &["done"], Duration::from_secs(60))
        .await;
    let (a, b) = (swarm.findings(&first).await, swarm.findings(&second).await);
    assert!(!a.is_empty());
    assert_eq!(a, b);
    assert!(
        swarm.logs().contains("Reconnected to PostgreSQL."),
        "{}",
        tail(&swarm.logs())
    );
}
