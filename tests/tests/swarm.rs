//! The swarm end to end: a real nats-server and PostgreSQL, the real
//! `shoal-dispatcher` and `shoal-worker` binaries as processes, and
//! submissions over NATS request/reply.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
use futures::StreamExt as _;
use shoal_schemas::envelope::Signer;
use shoal_schemas::keyset::Keyset;
use shoal_testkit::{NatsServer, Postgres, Process, workspace_bin};

const JWT_ISSUER: &str = "https://auth.test/";
const JWT_AUDIENCE: &str = "shoal";
const TENANT: &str = "acme";
const FINGERPRINT_KEY: &str = "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e";

/// A finding's place: path, start, end, rule.
type Spot = (String, i64, i64, String);

/// Knobs of one swarm.
#[derive(Debug, Clone)]
struct Options {
    workers: usize,
    max_records: usize,
    ack_wait_secs: u64,
    max_deliver: i64,
    big_file_mib: usize,
    grace_secs: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            workers: 2,
            max_records: 3,
            ack_wait_secs: 30,
            max_deliver: 5,
            big_file_mib: 0,
            grace_secs: 60,
        }
    }
}

/// A dispatcher, workers, NATS and PostgreSQL, with a fixture tree.
struct Swarm {
    dir: tempfile::TempDir,
    nats: NatsServer,
    /// Kept for its lifetime: the cluster stops on drop.
    _pg: Postgres,
    dispatcher: Option<Process>,
    workers: Vec<Process>,
    options: Options,
    jwt_key: SigningKey,
    untrusted_jwt_key: SigningKey,
    client: async_nats::Client,
    db: tokio_postgres::Client,
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// Files with PII and secrets in several layouts, a binary file, a nested
/// directory and (optionally) one large file.
fn write_fixture(root: &Path, big_file_mib: usize) {
    std::fs::create_dir_all(root.join("exports/2026")).unwrap();
    std::fs::create_dir_all(root.join("src/config")).unwrap();
    let files: &[(&str, &str)] = &[
        (
            "exports/users.csv",
            "id,name,email,card_number,phone\n1,Maria Lopez,maria.lopez@fastmail.com,4539 1488 0343 6467,+1 415 555 0132\n2,Tom Berg,tom.berg@proton.me,5425 2334 3010 9903,+44 20 7946 0958\n",
        ),
        (
            "exports/2026/hr.txt",
            "Employee SSN: 536-22-8790\nIBAN: DE89 3704 0044 0532 0130 00\nDate of birth: 1984-03-12\n",
        ),
        (
            "src/config/prod.env",
            "AWS_ACCESS_KEY_ID=AKIAZ3MHTJQ5F4GKRW7E\nDATABASE_URL=postgres://admin:Vh7kQ2mZpL9x@db.internal:5432/app\n",
        ),
        (
            "src/config/slack.yaml",
            "webhook: https://hooks.slack.com/services/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\n",
        ),
        (
            "README.md",
            "Nothing to see here. Version 1.2.3.4 of the tool.\n",
        ),
        (
            "notes/meeting.md",
            "Call back Jana on +49 30 901820 or jana.k@posteo.de about invoice 2291.\n",
        ),
        ("notes/empty.txt", ""),
        (
            "notes/ip.log",
            "client 203.0.113.77 connected from 2001:db8::8a2e:370:7334\n",
        ),
    ];
    for (path, text) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    std::fs::write(
        root.join("photo.bin"),
        b"\x89PNG\0\0\0 AKIAZ3MHTJQ5F4GKRW7E",
    )
    .unwrap();
    if big_file_mib > 0 {
        write_fixture_big(root, big_file_mib);
    }
}

fn write_fixture_big(root: &Path, mib: usize) {
    std::fs::create_dir_all(root.join("big")).unwrap();
    let mut text = String::with_capacity(mib << 20);
    let mut i = 0u64;
    while text.len() < mib << 20 {
        i += 1;
        if i.is_multiple_of(400) {
            text.push_str(&format!("contact person{i}@mailbox.org for the report\n"));
        } else {
            text.push_str(
                "the quick brown fox jumps over the lazy dog, lorem ipsum dolor sit amet\n",
            );
        }
    }
    std::fs::write(root.join("big/archive.txt"), text).unwrap();
}

fn pem_private(k: &SigningKey) -> String {
    k.to_pkcs8_pem(Default::default()).unwrap().to_string()
}

fn pem_public(k: &SigningKey) -> String {
    k.verifying_key()
        .to_public_key_pem(Default::default())
        .unwrap()
}

impl Swarm {
    async fn start(options: Options) -> Swarm {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        write_fixture(&tree, options.big_file_mib);
        let nats = NatsServer::start().unwrap();
        let pg = Postgres::start().unwrap();

        let signing = key(1);
        let signer = Signer::new("k1".into(), signing.clone());
        let now = shoal_schemas::ids::now_unix();
        let keyset = Keyset {
            keys: vec![signer.key_entry(now - 3600, now + 86_400)],
        };
        std::fs::write(dir.path().join("keyset.json"), keyset.to_json()).unwrap();
        std::fs::write(dir.path().join("signing.pem"), pem_private(&signing)).unwrap();
        let jwt_key = key(2);
        std::fs::write(dir.path().join("jwt.pub.pem"), pem_public(&jwt_key)).unwrap();
        std::fs::write(dir.path().join("jwt.pem"), pem_private(&jwt_key)).unwrap();
        std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();

        let d = dir.path().display();
        let config = format!(
            "name: shoal-dispatcher
nats: {{ url: \"{nats}\" }}
signing_key: {d}/signing.pem
signing_kid: k1
auth:
  issuer: \"{JWT_ISSUER}\"
  audience: {JWT_AUDIENCE}
  keys: [ {{ kid: jwt1, alg: EdDSA, pem: {d}/jwt.pub.pem }} ]
tenants:
  {TENANT}: {{ sources: [fixtures] }}
  other: {{ sources: [elsewhere] }}
sources:
  - {{ kind: fs, id: fixtures, root: {d}/tree }}
  - {{ kind: fs, id: elsewhere, root: {d}/elsewhere }}
chunks: {{ max_bytes: 1048576, max_records: {max_records} }}
jetstream: {{ ack_wait_secs: {ack_wait}, max_deliver: {max_deliver} }}
",
            nats = nats.url(),
            max_records = options.max_records,
            ack_wait = options.ack_wait_secs,
            max_deliver = options.max_deliver,
        );
        std::fs::write(dir.path().join("dispatcher.yaml"), config).unwrap();
        let mut cmd = Command::new(workspace_bin("shoal-dispatcher").unwrap());
        cmd.arg("--config")
            .arg(dir.path().join("dispatcher.yaml"))
            .env("DATABASE_URL", pg.url())
            .env("RUST_LOG", "info");
        let mut dispatcher =
            Process::spawn("shoal-dispatcher", cmd, dir.path().join("dispatcher.log")).unwrap();
        dispatcher
            .wait_for_log("Serving requests.", Duration::from_secs(30))
            .unwrap();
        dispatcher
            .wait_for_log("Sink started.", Duration::from_secs(10))
            .unwrap();
        let client = async_nats::connect(nats.url()).await.unwrap();
        let (db, connection) = tokio_postgres::connect(&pg.conninfo(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let mut swarm = Swarm {
            dir,
            nats,
            _pg: pg,
            dispatcher: Some(dispatcher),
            workers: Vec::new(),
            options: options.clone(),
            jwt_key,
            untrusted_jwt_key: key(3),
            client,
            db,
        };
        for _ in 0..options.workers {
            swarm.add_worker();
        }
        swarm
    }

    fn tree(&self) -> PathBuf {
        self.dir.path().join("tree")
    }

    fn add_worker(&mut self) -> usize {
        let i = self.workers.len();
        let d = self.dir.path().display();
        let config = format!(
            "name: w{i}
nats: {{ url: \"{}\" }}
keyset: {d}/keyset.json
slots: 2
grace_period_secs: {grace}
sources:
  - {{ kind: fs, id: fixtures, root: {d}/tree }}
",
            self.nats.url(),
            grace = self.options.grace_secs,
        );
        let path = self.dir.path().join(format!("worker{i}.yaml"));
        std::fs::write(&path, config).unwrap();
        let mut cmd = Command::new(workspace_bin("shoal-worker").unwrap());
        cmd.arg("--config")
            .arg(&path)
            .env("SHOAL_FINGERPRINT_KEY", FINGERPRINT_KEY)
            .env("RUST_LOG", "info");
        let mut worker = Process::spawn(
            "shoal-worker",
            cmd,
            self.dir.path().join(format!("worker{i}.log")),
        )
        .unwrap();
        worker
            .wait_for_log("Worker started.", Duration::from_secs(30))
            .unwrap();
        self.workers.push(worker);
        i
    }

    fn token_with(&self, key: &SigningKey, claims: serde_json::Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some("jwt1".into());
        let pem = pem_private(key);
        jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    fn claims(&self, tenant: &str, scope: &str, ttl: i64) -> serde_json::Value {
        let now = shoal_schemas::ids::now_unix();
        serde_json::json!({
            "iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "sub": "ci-pipeline",
            "tenant": tenant, "scope": scope, "iat": now, "exp": now + ttl,
        })
    }

    fn token(&self) -> String {
        self.token_with(&self.jwt_key, self.claims(TENANT, "scan:submit", 600))
    }

    async fn request(&self, subject: &str, token: Option<&str>, body: &str) -> serde_json::Value {
        let mut headers = async_nats::HeaderMap::new();
        if let Some(t) = token {
            headers.insert("Authorization", format!("Bearer {t}").as_str());
        }
        let reply = self
            .client
            .request_with_headers(subject.to_owned(), headers, body.to_owned().into())
            .await
            .unwrap();
        serde_json::from_slice(&reply.payload).unwrap()
    }

    async fn submit(&self, body: &str) -> String {
        let reply = self
            .request("shoal.submit", Some(&self.token()), body)
            .await;
        reply["scan_id"]
            .as_str()
            .unwrap_or_else(|| panic!("submission refused: {reply}"))
            .to_owned()
    }

    async fn state(&self, scan_id: &str) -> String {
        self.db
            .query_one("SELECT state FROM scans WHERE scan_id = $1", &[&scan_id])
            .await
            .map(|r| r.get(0))
            .unwrap_or_default()
    }

    async fn wait_state(&self, scan_id: &str, wanted: &[&str], timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let state = self.state(scan_id).await;
            if wanted.contains(&state.as_str()) {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "scan {scan_id} is {state:?}, not {wanted:?}, after {timeout:?}\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn findings(&self, scan_id: &str) -> BTreeSet<Spot> {
        self.db
            .query(
                "SELECT path, start_byte, end_byte, rule_id FROM findings WHERE scan_id = $1",
                &[&scan_id],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect()
    }

    async fn audit(&self) -> Vec<(String, String, Option<String>, Option<String>)> {
        self.db
            .query(
                "SELECT action, decision, reason, scan_id FROM audit ORDER BY id",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect()
    }

    async fn wait_audit(&self, reason: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self
            .audit()
            .await
            .iter()
            .any(|a| a.2.as_deref() == Some(reason))
        {
            assert!(
                Instant::now() < deadline,
                "no audit record {reason:?}: {:?}\n{}",
                self.audit().await,
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn chunk_messages(&self) -> u64 {
        let js = async_nats::jetstream::new(self.client.clone());
        let mut stream = js.get_stream("SHOAL_CHUNKS").await.unwrap();
        stream.info().await.unwrap().state.messages
    }

    fn logs(&self) -> String {
        let mut s = String::new();
        if let Some(d) = &self.dispatcher {
            s.push_str(&format!("--- dispatcher\n{}", tail(&d.log())));
        }
        for (i, w) in self.workers.iter().enumerate() {
            s.push_str(&format!("--- worker {i}\n{}", tail(&w.log())));
        }
        s
    }

    /// `shoal scan` over the same tree: (path, start, end, rule) and the
    /// raw values (`--reveal`).
    fn local_scan(&self) -> (BTreeSet<Spot>, Vec<String>) {
        let out = Command::new(workspace_bin("shoal").unwrap())
            .args(["scan", ".", "--no-ignore", "--format", "jsonl", "--reveal"])
            .current_dir(self.tree())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut set = BTreeSet::new();
        let mut values = Vec::new();
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let l = &v["location"];
            set.insert((
                l["path"].as_str().unwrap().to_owned(),
                l["start"].as_i64().unwrap(),
                l["end"].as_i64().unwrap(),
                v["rule_id"].as_str().unwrap().to_owned(),
            ));
            values.push(v["value"].as_str().unwrap().to_owned());
        }
        (set, values)
    }

    /// Every message ever stored in SHOAL_EVENTS, raw.
    async fn event_payloads(&self) -> Vec<Vec<u8>> {
        let js = async_nats::jetstream::new(self.client.clone());
        let mut stream = js.get_stream("SHOAL_EVENTS").await.unwrap();
        let last = stream.info().await.unwrap().state.last_sequence;
        let mut out = Vec::new();
        for seq in 1..=last {
            if let Ok(m) = stream.get_raw_message(seq).await {
                out.push(m.payload.to_vec());
            }
        }
        out
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n") + "\n"
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

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

    let row = swarm
        .db
        .query_one(
            "SELECT chunks_planned, chunks_done, findings FROM scans WHERE scan_id = $1",
            &[&scan_id],
        )
        .await
        .unwrap();
    let (planned, done, findings): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
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
    assert!(events.len() as i64 > findings);
    for v in &values {
        assert!(!dump.contains(v.as_str()), "raw value in PostgreSQL: {v}");
        for e in &events {
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
    let mut swarm = Swarm::start(Options {
        workers: 1,
        ack_wait_secs: 3,
        big_file_mib: 40,
        ..Options::default()
    })
    .await;
    let scan_id = swarm
        .submit(r#"{"v":1,"source":"fixtures","include":["big/**"]}"#)
        .await;
    // The big chunk is running when the worker logs its claim.
    swarm.workers[0]
        .wait_for_log("Chunk claimed.", Duration::from_secs(30))
        .unwrap();
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
    let mut swarm = Swarm::start(Options {
        workers: 1,
        big_file_mib: 24,
        ..Options::default()
    })
    .await;
    let scan_id = swarm
        .submit(r#"{"v":1,"source":"fixtures","include":["big/**"]}"#)
        .await;
    swarm.workers[0]
        .wait_for_log("Chunk claimed.", Duration::from_secs(30))
        .unwrap();
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
    let row = swarm
        .db
        .query_one(
            "SELECT chunks_planned, chunks_cancelled, findings FROM scans WHERE scan_id = $1",
            &[&scan_id],
        )
        .await
        .unwrap();
    let (planned, cancelled, findings): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
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
    // A status workers cannot read: every delivery fails transiently.
    let js = async_nats::jetstream::new(swarm.client.clone());
    let kv = js.get_key_value("shoal_scans").await.unwrap();
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
    let token = Command::new(workspace_bin("shoal").unwrap())
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
        .arg(swarm.dir.path().join("jwt.pem"))
        .output()
        .unwrap();
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
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
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(swarm.nats.url())
        .arg(&token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
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
    let mut swarm = Swarm::start(Options {
        workers: 1,
        big_file_mib: 40,
        grace_secs: 1,
        ..Options::default()
    })
    .await;
    let scan_id = swarm
        .submit(r#"{"v":1,"source":"fixtures","include":["big/**"]}"#)
        .await;
    swarm.workers[0]
        .wait_for_log("Chunk claimed.", Duration::from_secs(30))
        .unwrap();
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
    let swarm = Swarm::start(Options {
        workers: 1,
        ack_wait_secs: 1,
        big_file_mib: 48,
        ..Options::default()
    })
    .await;
    let scan_id = swarm
        .submit(r#"{"v":1,"source":"fixtures","include":["big/**"]}"#)
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
            .env("DATABASE_URL", swarm._pg.url());
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
    let out = submit.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let out = report.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
