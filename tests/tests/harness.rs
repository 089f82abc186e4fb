//! A whole swarm for tests and benchmarks: a real nats-server and
//! PostgreSQL, the real `shoal-dispatcher` and `shoal-worker` binaries as
//! processes, a fixture tree, tokens, and helpers to submit and inspect.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
use shoal_schemas::envelope::Signer;
use shoal_schemas::keyset::Keyset;
use shoal_testkit::{NatsServer, Postgres, Process, workspace_bin};

pub const JWT_ISSUER: &str = "https://auth.test/";
pub const JWT_AUDIENCE: &str = "shoal";
pub const TENANT: &str = "acme";
pub const FINGERPRINT_KEY: &str =
    "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e";

/// A finding's place: path, start, end, rule.
pub type Spot = (String, i64, i64, String);

/// Knobs of one swarm.
#[derive(Debug, Clone)]
pub struct Options {
    pub workers: usize,
    pub max_records: usize,
    pub ack_wait_secs: u64,
    pub max_deliver: i64,
    pub big_file_mib: usize,
    pub grace_secs: u64,
    /// Scan this existing tree instead of the fixture.
    pub tree: Option<PathBuf>,
    /// Bytes per chunk.
    pub max_bytes: u64,
    /// Slots per worker.
    pub slots: usize,
    /// The planner's queue threshold.
    pub max_queued_chunks: u64,
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
            tree: None,
            max_bytes: 1 << 20,
            slots: 2,
            max_queued_chunks: 100_000,
        }
    }
}

/// A dispatcher, workers, NATS and PostgreSQL, with a fixture tree.
pub struct Swarm {
    pub dir: tempfile::TempDir,
    pub nats: NatsServer,
    /// The cluster; it stops on drop (`None` once a test stopped it).
    pub pg: Option<Postgres>,
    pub dispatcher: Option<Process>,
    pub workers: Vec<Process>,
    pub options: Options,
    pub tree: PathBuf,
    pub jwt_key: SigningKey,
    pub untrusted_jwt_key: SigningKey,
    pub client: async_nats::Client,
    pub db: tokio_postgres::Client,
}

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// Files with PII and secrets in several layouts, a binary file, a nested
/// directory and (optionally) one large file.
pub fn write_fixture(root: &Path, big_file_mib: usize) {
    std::fs::create_dir_all(root.join("exports/2026")).unwrap();
    std::fs::create_dir_all(root.join("src/config")).unwrap();
    let files: &[(&str, &str)] = &[
        (
            "exports/users.csv",
            "id,name,email,card_number,phone\n1,Maria Lopez,maria.lopez@fastmail.com,4539 1488 0343 6467,+1 415 623 0132\n2,Tom Berg,tom.berg@proton.me,5425 2334 3010 9903,+44 20 7183 0958\n",
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
            "client 81.2.69.77 connected from 2a01:4f8::8a2e:370:7334\n",
        ),
        // A Kubernetes Secret: the connection string is found decoded.
        (
            "deploy/secret.yaml",
            "apiVersion: v1\ndata:\n  DATABASE_URL: cG9zdGdyZXM6Ly9iaWxsaW5nOlZxOHItS3AybVo3eEBkYi1wcm9kLmludGVybmFsOjU0MzIvYmlsbGluZw==\nkind: Secret\n",
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

pub fn write_fixture_big(root: &Path, mib: usize) {
    std::fs::create_dir_all(root.join("big")).unwrap();
    let mut text = String::with_capacity(mib << 20);
    let mut i = 0u64;
    while text.len() < mib << 20 {
        i += 1;
        if i.is_multiple_of(400) {
            text.push_str(&format!("contact person{i}@mailbox.org for the report\n"));
        } else {
            // Work for the engine that finds nothing: digit runs and an `@`
            // that opens a regex window but is no address. Tests need this
            // chunk to outlast ack waits and grace periods; plain prose
            // became too fast to scan once context words stopped opening
            // windows.
            text.push_str(&format!(
                "order {i} of 7 lines: version 3.11.{} build {}; ping admin@localhost\n",
                i % 97,
                i % 89
            ));
        }
    }
    std::fs::write(root.join("big/archive.txt"), text).unwrap();
}

/// Starts `shoal-dispatcher` with `<dir>/dispatcher.yaml` and waits until
/// it serves requests and runs its sink.
pub fn spawn_dispatcher(dir: &Path, database_url: &str, log: &str) -> Process {
    let mut cmd = Command::new(workspace_bin("shoal-dispatcher").unwrap());
    cmd.arg("--config")
        .arg(dir.join("dispatcher.yaml"))
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "info");
    let mut dispatcher = Process::spawn("shoal-dispatcher", cmd, dir.join(log)).unwrap();
    dispatcher
        .wait_for_log("Serving requests.", Duration::from_secs(30))
        .unwrap();
    dispatcher
        .wait_for_log("Sink started.", Duration::from_secs(10))
        .unwrap();
    dispatcher
}

pub fn pem_private(k: &SigningKey) -> String {
    k.to_pkcs8_pem(Default::default()).unwrap().to_string()
}

pub fn pem_public(k: &SigningKey) -> String {
    k.verifying_key()
        .to_public_key_pem(Default::default())
        .unwrap()
}

impl Swarm {
    pub async fn start(options: Options) -> Swarm {
        let dir = tempfile::tempdir().unwrap();
        let tree = match &options.tree {
            Some(t) => t.clone(),
            None => {
                let t = dir.path().join("tree");
                write_fixture(&t, options.big_file_mib);
                t
            }
        };
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
  - {{ kind: fs, id: fixtures, root: {tree} }}
  - {{ kind: fs, id: elsewhere, root: {d}/elsewhere }}
chunks: {{ max_bytes: {max_bytes}, max_records: {max_records} }}
jetstream: {{ ack_wait_secs: {ack_wait}, max_deliver: {max_deliver}, max_queued_chunks: {max_queued} }}
",
            nats = nats.url(),
            max_records = options.max_records,
            max_bytes = options.max_bytes,
            tree = tree.display(),
            ack_wait = options.ack_wait_secs,
            max_deliver = options.max_deliver,
            max_queued = options.max_queued_chunks,
        );
        std::fs::write(dir.path().join("dispatcher.yaml"), config).unwrap();
        let dispatcher = spawn_dispatcher(dir.path(), &pg.url(), "dispatcher.log");
        let client = async_nats::connect(nats.url()).await.unwrap();
        let (db, connection) = tokio_postgres::connect(&pg.conninfo(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let mut swarm = Swarm {
            dir,
            nats,
            pg: Some(pg),
            dispatcher: Some(dispatcher),
            workers: Vec::new(),
            options: options.clone(),
            tree,
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

    /// A swarm scanning only the big file, once a worker has claimed its
    /// chunk (so the chunk is running); returns the scan id.
    pub async fn start_big_chunk(options: Options) -> (Swarm, String) {
        let swarm = Swarm::start(options).await;
        let scan_id = swarm
            .submit(r#"{"v":1,"source":"fixtures","include":["big/**"]}"#)
            .await;
        (swarm, scan_id)
    }

    /// Waits until worker `i` logs that it claimed a chunk.
    pub fn wait_claimed(&mut self, i: usize) {
        self.workers[i]
            .wait_for_log("Chunk claimed.", Duration::from_secs(30))
            .unwrap();
    }

    pub fn database_url(&self) -> String {
        self.pg.as_ref().map(Postgres::url).unwrap_or_default()
    }

    pub fn tree(&self) -> PathBuf {
        self.tree.clone()
    }

    pub fn add_worker(&mut self) -> usize {
        let i = self.workers.len();
        let d = self.dir.path().display();
        let config = format!(
            "name: w{i}
nats: {{ url: \"{}\" }}
keyset: {d}/keyset.json
slots: {slots}
grace_period_secs: {grace}
sources:
  - {{ kind: fs, id: fixtures, root: {tree} }}
",
            self.nats.url(),
            slots = self.options.slots,
            tree = self.tree.display(),
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

    pub fn token_with(&self, key: &SigningKey, claims: serde_json::Value) -> String {
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

    pub fn claims(&self, tenant: &str, scope: &str, ttl: i64) -> serde_json::Value {
        let now = shoal_schemas::ids::now_unix();
        serde_json::json!({
            "iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "sub": "ci-pipeline",
            "tenant": tenant, "scope": scope, "iat": now, "exp": now + ttl,
        })
    }

    pub fn token(&self) -> String {
        self.token_with(&self.jwt_key, self.claims(TENANT, "scan:submit", 600))
    }

    pub async fn request(
        &self,
        subject: &str,
        token: Option<&str>,
        body: &str,
    ) -> serde_json::Value {
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

    pub async fn submit(&self, body: &str) -> String {
        let reply = self
            .request("shoal.submit", Some(&self.token()), body)
            .await;
        reply["scan_id"]
            .as_str()
            .unwrap_or_else(|| panic!("submission refused: {reply}"))
            .to_owned()
    }

    pub async fn state(&self, scan_id: &str) -> String {
        self.db
            .query_one("SELECT state FROM scans WHERE scan_id = $1", &[&scan_id])
            .await
            .map(|r| r.get(0))
            .unwrap_or_default()
    }

    pub async fn wait_state(&self, scan_id: &str, wanted: &[&str], timeout: Duration) -> String {
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

    /// Integer columns of the scan's row, e.g. `"chunks_planned, findings"`.
    pub async fn scan_numbers(&self, scan_id: &str, columns: &str) -> Vec<i64> {
        let row = self
            .db
            .query_one(
                &format!("SELECT {columns} FROM scans WHERE scan_id = $1"),
                &[&scan_id],
            )
            .await
            .unwrap();
        (0..row.len()).map(|i| row.get(i)).collect()
    }

    pub async fn findings(&self, scan_id: &str) -> BTreeSet<Spot> {
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

    pub async fn audit(&self) -> Vec<(String, String, Option<String>, Option<String>)> {
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

    /// Polls `ready` until it holds; fails, with the logs, after `timeout`.
    pub async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut ready: impl AsyncFnMut() -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        while !ready().await {
            assert!(
                Instant::now() < deadline,
                "{what}: not within {timeout:?}\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_audit(&self, reason: &str, timeout: Duration) {
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

    pub async fn chunk_messages(&self) -> u64 {
        let js = async_nats::jetstream::new(self.client.clone());
        let mut stream = js.get_stream("SHOAL_CHUNKS").await.unwrap();
        stream.info().await.unwrap().state.messages
    }

    pub fn logs(&self) -> String {
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
    pub fn local_scan(&self) -> (BTreeSet<Spot>, Vec<String>) {
        let out = succeeded(
            Command::new(workspace_bin("shoal").unwrap())
                .args(["scan", ".", "--no-ignore", "--format", "jsonl", "--reveal"])
                .current_dir(self.tree()),
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

    /// Every message ever stored in SHOAL_EVENTS: subject and raw payload.
    pub async fn event_payloads(&self) -> Vec<(String, Vec<u8>)> {
        let js = async_nats::jetstream::new(self.client.clone());
        let mut stream = js.get_stream("SHOAL_EVENTS").await.unwrap();
        let last = stream.info().await.unwrap().state.last_sequence;
        let mut out = Vec::new();
        for seq in 1..=last {
            if let Ok(m) = stream.get_raw_message(seq).await {
                out.push((m.subject.to_string(), m.payload.to_vec()));
            }
        }
        out
    }
}

/// Runs `cmd` to its end and asserts that it succeeded (showing its stderr).
pub fn succeeded(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n") + "\n"
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}
