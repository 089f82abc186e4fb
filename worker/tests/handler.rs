use std::sync::Arc;

use ed25519_dalek::SigningKey;
use shoal_detect::privacy::FingerprintKey;
use shoal_schemas::envelope::{AUD_WORKER, Signer, Verifier};
use shoal_schemas::keyset::Keyset;
use shoal_schemas::{ChunkOutcome, ChunkSpec, ChunkTask, Decision, FileRef};
use shoal_sources::{ChunkLimits, Filter, RecordVisitor, Source, Sources};
use shoal_worker::local::{LocalBus, LocalQueue};
use shoal_worker::transport::Queue as _;
use shoal_worker::{Ack, ChunkRunner, Fingerprints, Settings, Worker};

const CARD: &str = "4539 1488 0343 6467";

fn signer(seed: u8) -> Signer {
    Signer::new(format!("k{seed}"), SigningKey::from_bytes(&[seed; 32]))
}

struct Fixture {
    _dir: tempfile::TempDir,
    worker: Worker<LocalBus>,
    bus: Arc<LocalBus>,
    signer: Signer,
    digest: String,
}

/// A source whose reads panic: a stand-in for a bug in a reader.
struct Panicky;

impl Source for Panicky {
    fn id(&self) -> &str {
        "panicky"
    }
    fn kind(&self) -> &'static str {
        "fs"
    }
    fn plan(
        &self,
        _: &Filter,
        _: &ChunkLimits,
        _: &mut dyn FnMut(ChunkSpec) -> Result<(), shoal_sources::Error>,
    ) -> Result<(), shoal_sources::Error> {
        Ok(())
    }
    fn read(&self, _: &ChunkSpec, _: &mut dyn RecordVisitor) -> Result<(), shoal_sources::Error> {
        panic!("reader bug")
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cards.txt"),
        format!("card number: {CARD}\n"),
    )
    .unwrap();
    let engine = Arc::new(shoal_worker::config::build_engine(&[], 0.5).unwrap());
    let digest = engine.digest().to_owned();
    let mut sources = Sources::from_configs(&[shoal_sources::SourceConfig::Fs {
        id: "tree".into(),
        root: dir.path().into(),
        respect_ignore: false,
    }])
    .unwrap();
    sources.insert(Arc::new(Panicky)).unwrap();
    let runner = Arc::new(ChunkRunner::new(
        engine,
        sources,
        Fingerprints::PerTenant(FingerprintKey::from_hex(&"11".repeat(32)).unwrap()),
        "w1".into(),
    ));
    let signer = signer(7);
    let now = shoal_schemas::ids::now_unix();
    let keyset = Keyset {
        keys: vec![signer.key_entry(now - 60, now + 3600)],
    };
    let bus = Arc::new(LocalBus::default());
    let worker = Worker::new(
        runner,
        Verifier::new(keyset),
        bus.clone(),
        Settings::default(),
    );
    Fixture {
        _dir: dir,
        worker,
        bus,
        signer,
        digest,
    }
}

fn task(f: &Fixture, chunk: u64, source: &str) -> ChunkTask {
    let now = shoal_schemas::ids::now_unix();
    ChunkTask {
        v: 1,
        iss: "test".into(),
        aud: AUD_WORKER.into(),
        jti: shoal_schemas::ids::new_jti().unwrap(),
        iat: now,
        nbf: now - 1,
        exp: now + 600,
        tenant: "acme".into(),
        scan_id: "s_test".into(),
        chunk_id: shoal_schemas::ids::chunk_id("s_test", chunk),
        source: source.into(),
        spec: ChunkSpec::Fs {
            files: vec![FileRef {
                path: "cards.txt".into(),
                size: 0,
            }],
        },
        ruleset: f.digest.clone(),
    }
}

async fn deliver(f: &Fixture, queue: &Arc<LocalQueue>, payload: Vec<u8>) -> shoal_worker::Handled {
    queue.push(payload);
    let d = queue.next().await.unwrap().unwrap();
    f.worker.handle(&d).await
}

#[tokio::test]
async fn a_valid_chunk_is_scanned_published_and_acked() {
    let f = fixture();
    let q = LocalQueue::new(3);
    let h = deliver(&f, &q, f.signer.sign_task(&task(&f, 0, "tree")).unwrap()).await;
    assert_eq!(h.ack, Ack::Ack);
    let result = h.result.unwrap();
    assert_eq!(result.outcome, ChunkOutcome::Done);
    assert_eq!((result.records, result.findings), (1, 1));
    let findings = f.bus.take_findings();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].finding.entity, "CREDIT_CARD");
    assert!(
        findings[0].value.is_none(),
        "the swarm's sink gets no value"
    );
    let json = serde_json::to_string(&findings[0].finding).unwrap();
    assert!(!json.contains(CARD) && !json.contains("4539148803436467"));
    assert_eq!(f.bus.results().len(), 1);
}

#[tokio::test]
async fn forged_envelope_is_terminated_unread_and_audited() {
    let f = fixture();
    let q = LocalQueue::new(3);
    // The trusted kid, signed with a key nobody trusts.
    let forged = Signer::new(f.signer.kid().to_owned(), SigningKey::from_bytes(&[9; 32]))
        .sign_task(&task(&f, 0, "tree"))
        .unwrap();
    let h = deliver(&f, &q, forged).await;
    assert_eq!(h.ack, Ack::Term);
    assert_eq!(h.error, Some("bad_signature"));
    assert!(h.result.is_none());
    assert!(f.bus.take_findings().is_empty(), "nothing was read");
    let audits = f.bus.audits();
    assert_eq!(audits.len(), 1);
    assert_eq!(audits[0].decision, Decision::Refused);
    assert_eq!(audits[0].reason.as_deref(), Some("bad_signature"));
    assert_eq!(
        audits[0].chunk_id, None,
        "claims of a forged envelope are not trusted"
    );
}

#[tokio::test]
async fn replayed_envelope_is_refused_but_redelivery_is_not() {
    let f = fixture();
    let q = LocalQueue::new(3);
    let envelope = f.signer.sign_task(&task(&f, 0, "tree")).unwrap();
    assert_eq!(deliver(&f, &q, envelope.clone()).await.ack, Ack::Ack);
    // The same bytes as a new message: a replay.
    let h = deliver(&f, &q, envelope).await;
    assert_eq!(h.ack, Ack::Term);
    assert_eq!(h.error, Some("replay"));
    assert_eq!(f.bus.audits()[0].reason.as_deref(), Some("replay"));
}

#[tokio::test]
async fn a_panic_in_a_chunk_becomes_a_nak() {
    let f = fixture();
    let q = LocalQueue::new(3);
    let h = deliver(&f, &q, f.signer.sign_task(&task(&f, 0, "panicky")).unwrap()).await;
    assert_eq!(h.ack, Ack::Nak(shoal_worker::ack::PANIC_DELAY));
    assert_eq!(h.error, Some("panic"));
}

#[tokio::test]
async fn a_cancelled_scan_is_acked_without_reading() {
    let f = fixture();
    let q = LocalQueue::new(3);
    f.bus.cancel("s_test");
    let h = deliver(&f, &q, f.signer.sign_task(&task(&f, 0, "tree")).unwrap()).await;
    assert_eq!(h.ack, Ack::Ack);
    assert_eq!(h.result.unwrap().outcome, ChunkOutcome::Cancelled);
    assert!(f.bus.take_findings().is_empty());
}

#[tokio::test]
async fn an_unknown_source_is_offered_to_another_worker() {
    let f = fixture();
    let q = LocalQueue::new(3);
    let h = deliver(
        &f,
        &q,
        f.signer.sign_task(&task(&f, 0, "elsewhere")).unwrap(),
    )
    .await;
    assert_eq!(h.ack, Ack::Nak(shoal_worker::ack::ELSEWHERE_DELAY));
}

#[tokio::test]
async fn an_expired_envelope_is_terminated_and_audited() {
    let f = fixture();
    let q = LocalQueue::new(3);
    let mut t = task(&f, 0, "tree");
    t.iat -= 7200;
    t.nbf -= 7200;
    t.exp = t.iat + 60;
    let h = deliver(&f, &q, f.signer.sign_task(&t).unwrap()).await;
    assert_eq!(h.ack, Ack::Term);
    assert_eq!(h.error, Some("expired"));
    assert_eq!(f.bus.audits().len(), 1);
}

#[tokio::test]
async fn a_pooled_scanner_finds_the_same_in_the_next_chunk() {
    let f = fixture();
    let q = LocalQueue::new(3);
    let mut seen = Vec::new();
    for chunk in 0..3 {
        // Another scan each time: the bus de-duplicates findings by id, and
        // the id depends on the scan, not the chunk.
        let mut t = task(&f, chunk, "tree");
        t.scan_id = format!("s_pool{chunk}");
        t.chunk_id = shoal_schemas::ids::chunk_id(&t.scan_id, chunk);
        let h = deliver(&f, &q, f.signer.sign_task(&t).unwrap()).await;
        assert_eq!(h.result.unwrap().findings, 1);
        assert_eq!(h.ack, Ack::Ack);
        let found: Vec<(u64, u64, String)> = f
            .bus
            .take_findings()
            .into_iter()
            .map(|l| {
                (
                    l.finding.location.start,
                    l.finding.location.end,
                    l.finding.preview,
                )
            })
            .collect();
        seen.push(found);
    }
    assert_eq!(seen[0].len(), 1);
    assert!(seen.iter().all(|s| *s == seen[0]), "{seen:?}");
}
