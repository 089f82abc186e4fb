//! `shoal scan PATH...`: the in-process scan of file trees.
//!
//! This drives the swarm's own per-chunk code (`shoal_worker`) through an
//! in-process queue: each PATH is a file-tree source (honouring `.gitignore`
//! unless `--no-ignore`, and `--include`/`--exclude` globs) cut into chunks,
//! signed with a key made for this run, and run by `--threads` worker slots
//! that verify, read, detect and publish to an in-memory bus. Files stream in
//! bounded memory; binary files (a NUL byte in the first 8 KiB) are skipped
//! and counted.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use ed25519_dalek::SigningKey;
use shoal_detect::Engine;
use shoal_detect::privacy::FingerprintKey;
use shoal_schemas::envelope::{AUD_WORKER, Signer, Verifier};
use shoal_schemas::keyset::Keyset;
use shoal_schemas::{ChunkSpec, ChunkTask, Finding, Level};
use shoal_sources::fs::FsSource;
use shoal_sources::{ChunkLimits, Filter, Sources};
use shoal_worker::config::{compile_rules, load_rules};
use shoal_worker::local::{LocalBus, LocalQueue};
use shoal_worker::{ChunkRunner, Fingerprints, Settings, Worker};

/// Chunks of a local scan: small enough that every core gets work on small
/// trees, large enough that the per-chunk cost (signature check, hand-over
/// to a blocking thread, about 1 ms) stays small; at most 96 files, so that a
/// chunk result lists every skipped file (`ChunkResult::MAX_SKIPPED` is 100)
/// and the binary-file count is exact.
const LOCAL_CHUNKS: ChunkLimits = ChunkLimits {
    max_bytes: 16 * 1024 * 1024,
    max_records: 96,
};

fn invalid(e: impl std::fmt::Display) -> shoal_sources::Error {
    shoal_sources::Error::Invalid(e.to_string())
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// One finding per line, JSON.
    Jsonl,
    /// One JSON document with findings and a summary.
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
}

/// A confidence band, as given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LevelArg {
    /// Low and above.
    Low,
    /// Medium and above.
    Medium,
    /// High only.
    High,
}

impl LevelArg {
    fn level(self) -> Level {
        match self {
            LevelArg::Low => Level::Low,
            LevelArg::Medium => Level::Medium,
            LevelArg::High => Level::High,
        }
    }

    /// The lowest confidence in the band (low reports from 0.3).
    fn threshold(self) -> f32 {
        match self {
            LevelArg::Low => 0.3,
            LevelArg::Medium => 0.5,
            LevelArg::High => 0.8,
        }
    }
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files and directories to scan.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Report findings from this confidence band up.
    #[arg(long, value_enum, default_value_t = LevelArg::Medium)]
    min_level: LevelArg,
    /// Exit with status 1 when a finding reaches this band.
    #[arg(long, value_enum)]
    fail_on: Option<LevelArg>,
    /// Scan only files matching these globs (repeatable).
    #[arg(long = "include", value_name = "GLOB")]
    include: Vec<String>,
    /// Skip files matching these globs (repeatable).
    #[arg(long = "exclude", value_name = "GLOB")]
    exclude: Vec<String>,
    /// Do not honour .gitignore, .ignore and similar files.
    #[arg(long)]
    no_ignore: bool,
    /// Worker threads; default: every core.
    #[arg(long)]
    threads: Option<usize>,
    /// Also load these rule files.
    #[arg(long = "rules", value_name = "FILE")]
    rule_files: Vec<PathBuf>,
    /// HMAC key for fingerprints, 64 hex digits; default: a random key per run.
    #[arg(long, env = "SHOAL_FINGERPRINT_KEY", hide_env_values = true)]
    fingerprint_key: Option<String>,
    /// Print raw values. Local scans only: the swarm never carries them.
    #[arg(long)]
    reveal: bool,
}

/// A finding plus, with `--reveal` only, its raw value.
pub(crate) struct Hit {
    pub(crate) finding: Finding,
    pub(crate) value: Option<String>,
}

/// What the chunk results add up to.
#[derive(Default)]
struct Totals {
    files: u64,
    bytes: u64,
    binary: u64,
    errors: u64,
}

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    // Rules are parsed now and compiled while the walk starts.
    let rules = load_rules(&args.rule_files)?;
    let digest = rules.digest().to_owned();
    let key = match &args.fingerprint_key {
        Some(hex) => FingerprintKey::from_hex(hex)?,
        None => FingerprintKey::random()?,
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);

    // The same pipeline as the swarm: every PATH is a file-tree source, cut
    // into chunks, signed with a key made for this run, queued in process
    // and run by `threads` worker slots.
    let mut sources = Sources::default();
    for (i, path) in args.paths.iter().enumerate() {
        std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
        let id = if i == 0 {
            "local".to_owned()
        } else {
            format!("local-{}", i + 1)
        };
        let source = FsSource::new(id, path.clone())
            .respect_ignore(!args.no_ignore)
            .display_root(true);
        sources.insert(Arc::new(source))?;
    }
    let filter = Filter::new(&args.include, &args.exclude)?;
    let mut seed = [0u8; 32];
    shoal_schemas::ids::fill_random(&mut seed)?;
    let signer = Signer::new("local".into(), SigningKey::from_bytes(&seed));
    let now = shoal_schemas::ids::now_unix();
    let keyset = Keyset {
        keys: vec![signer.key_entry(now - 60, now + 7 * 86_400)],
    };
    let scan_id = format!("s_local_{}", shoal_schemas::ids::random_hex(8)?);
    let queue = LocalQueue::new(3);

    // The bar's length grows as planning finds files.
    let progress = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let bus = Arc::new(match progress.clone() {
        Some(bar) => LocalBus::with_result_hook(move |r| bar.inc(r.records + r.skipped_total)),
        None => LocalBus::default(),
    });
    let planned: Vec<(String, Arc<dyn shoal_sources::Source>)> = sources
        .ids()
        .into_iter()
        .filter_map(|id| sources.get(id).map(|s| (id.to_owned(), s.clone())))
        .collect();
    // Nobody stops a local scan early: it ends when the queue is drained.
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let (_abort_tx, abort) = tokio::sync::watch::channel(false);
    // Set when the scan cannot run (the rules do not compile): the walk stops.
    let give_up = std::sync::atomic::AtomicBool::new(false);
    // Planning walks the trees on a thread of its own while the slots scan
    // what it has queued so far, as the dispatcher does for the swarm.
    let plan = || -> Result<(), shoal_sources::Error> {
        let mut chunks = 0u64;
        for (id, source) in &planned {
            source.plan(&filter, &LOCAL_CHUNKS, &mut |spec| {
                if give_up.load(std::sync::atomic::Ordering::Relaxed) {
                    return Err(invalid("stopped"));
                }
                if let (Some(bar), ChunkSpec::Fs { files }) = (&progress, &spec) {
                    bar.inc_length(files.len() as u64);
                }
                let task = ChunkTask {
                    v: 1,
                    iss: "shoal-scan".into(),
                    aud: AUD_WORKER.into(),
                    jti: shoal_schemas::ids::new_jti().map_err(invalid)?,
                    iat: now,
                    nbf: now,
                    exp: now + 7 * 86_400,
                    tenant: "local".into(),
                    scan_id: scan_id.clone(),
                    chunk_id: shoal_schemas::ids::chunk_id(&scan_id, chunks),
                    source: id.clone(),
                    spec,
                    ruleset: digest.clone(),
                };
                chunks += 1;
                queue.push(signer.sign_task(&task).map_err(invalid)?);
                Ok(())
            })?;
        }
        Ok(())
    };
    let (engine, planning) = std::thread::scope(|scope| {
        let planner = scope.spawn(|| {
            let outcome = plan();
            // Closed whatever happened, so that the slots finish.
            queue.close();
            outcome
        });
        let engine = compile_rules(&rules, args.min_level.threshold())
            .map(Arc::new)
            .map_err(anyhow::Error::from)
            .and_then(|engine| {
                let runner = Arc::new(ChunkRunner::new(
                    engine.clone(),
                    sources,
                    Fingerprints::Shared(key),
                    "local".into(),
                ));
                let settings = Settings {
                    reveal: args.reveal,
                    ..Settings::default()
                };
                let worker = Arc::new(Worker::new(
                    runner,
                    Verifier::new(keyset),
                    bus.clone(),
                    settings,
                ));
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(threads)
                    .enable_all()
                    .build()?;
                runtime.block_on(shoal_worker::run(
                    worker,
                    Arc::new(queue.clone()),
                    threads,
                    stop,
                    abort,
                ));
                Ok(engine)
            });
        if engine.is_err() {
            give_up.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        (engine, planner.join())
    });
    let engine = engine?;
    match planning {
        Ok(outcome) => outcome?,
        Err(panic) => std::panic::resume_unwind(panic),
    }

    let mut totals = Totals::default();
    for r in bus.results() {
        totals.files += r.records;
        totals.bytes += r.bytes;
        for s in &r.skipped {
            if s.kind == "binary" {
                totals.binary += 1;
            } else {
                totals.errors += 1;
                eprintln!("shoal: {}: {}", s.location, s.message);
            }
        }
        if let Some(e) = &r.error {
            totals.errors += 1;
            eprintln!("shoal: chunk {}: {e}", r.chunk_id);
        }
    }
    for sequence in queue.failed() {
        totals.errors += 1;
        eprintln!("shoal: chunk #{sequence} failed after 3 attempts (see the messages above)");
    }
    let mut hits: Vec<Hit> = bus
        .take_findings()
        .into_iter()
        .map(|f| Hit {
            finding: f.finding,
            value: f.value.map(|v| String::from_utf8_lossy(&v).into_owned()),
        })
        .collect();
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    hits.sort_by(|a, b| {
        a.finding
            .location
            .path
            .cmp(&b.finding.location.path)
            .then(a.finding.location.start.cmp(&b.finding.location.start))
    });

    let elapsed = started.elapsed();
    let bytes = totals.bytes;
    let summary = serde_json::json!({
        "files": totals.files,
        "bytes": bytes,
        "binary_skipped": totals.binary,
        "errors": totals.errors,
        "findings": hits.len(),
        "rules": engine.rule_count(),
        "ruleset": engine.digest(),
        "elapsed_ms": elapsed.as_millis() as u64,
    });
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        Format::Table => write_table(&mut out, &hits)?,
        Format::Jsonl => {
            for h in &hits {
                writeln!(out, "{}", serde_json::to_string(&finding_json(h))?)?;
            }
        }
        Format::Json => {
            let doc = serde_json::json!({
                "findings": hits.iter().map(finding_json).collect::<Vec<_>>(),
                "summary": summary,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Sarif => write_sarif(&mut out, &engine, &hits)?,
    }
    out.flush()?;
    if args.reveal {
        eprintln!("shoal: --reveal printed raw values; this is only possible in a local scan");
    }
    eprintln!(
        "shoal: {} files ({:.1} MiB), {} binary skipped, {} errors, {} findings in {:.2}s ({:.0} MiB/s)",
        summary["files"],
        bytes as f64 / (1024.0 * 1024.0),
        summary["binary_skipped"],
        summary["errors"],
        hits.len(),
        elapsed.as_secs_f64(),
        bytes as f64 / (1024.0 * 1024.0) / elapsed.as_secs_f64().max(1e-9)
    );
    let failed = args
        .fail_on
        .is_some_and(|band| hits.iter().any(|h| h.finding.level >= band.level()));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn finding_json(h: &Hit) -> serde_json::Value {
    let mut v = serde_json::to_value(&h.finding).unwrap_or_default();
    if let (Some(value), Some(obj)) = (&h.value, v.as_object_mut()) {
        obj.insert("value".into(), serde_json::Value::String(value.clone()));
    }
    v
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Low => "low",
        Level::Medium => "medium",
        Level::High => "high",
    }
}

pub(crate) fn write_table(out: &mut impl std::io::Write, hits: &[Hit]) -> std::io::Result<()> {
    if hits.is_empty() {
        return writeln!(out, "no findings");
    }
    let reveal = hits.iter().any(|h| h.value.is_some());
    writeln!(
        out,
        "{:<6} {:<24} {:<48} {:<24} RULE{}",
        "LEVEL",
        "ENTITY",
        "LOCATION",
        "PREVIEW",
        if reveal { "  VALUE" } else { "" }
    )?;
    for h in hits {
        let f = &h.finding;
        let mut location = format!(
            "{}:{}:{}",
            f.location.path, f.location.line, f.location.column
        );
        if let Some(path) = &f.location.json_path {
            location = format!("{location} {path}");
        }
        write!(
            out,
            "{:<6} {:<24} {:<48} {:<24} {}",
            level_name(f.level),
            f.entity,
            location,
            f.preview,
            f.rule_id
        )?;
        if let Some(v) = &h.value {
            write!(out, "  {}", v.escape_debug())?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Writes a SARIF 2.1.0 log.
pub(crate) fn write_sarif(
    out: &mut impl std::io::Write,
    engine: &Engine,
    hits: &[Hit],
) -> std::io::Result<()> {
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&sarif(engine, hits)).map_err(std::io::Error::other)?
    )
}

/// A SARIF 2.1.0 log with one run.
fn sarif(engine: &Engine, hits: &[Hit]) -> serde_json::Value {
    let mut rule_ids: Vec<&str> = hits.iter().map(|h| h.finding.rule_id.as_str()).collect();
    rule_ids.sort_unstable();
    rule_ids.dedup();
    let rules: Vec<serde_json::Value> = rule_ids
        .iter()
        .filter_map(|id| {
            (0..engine.rule_count())
                .map(|i| engine.rule(i))
                .find(|r| r.id == *id)
        })
        .map(|r| {
            serde_json::json!({
                "id": r.id,
                "name": r.entity,
                "shortDescription": {"text": r.name},
                "helpUri": r.references.first(),
                "properties": {"category": r.category, "entity": r.entity},
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = hits
        .iter()
        .map(|h| {
            let f = &h.finding;
            let mut location = serde_json::json!({"physicalLocation": {
                "artifactLocation": {"uri": f.location.path},
                "region": {
                    "startLine": f.location.line,
                    "startColumn": f.location.column,
                    "byteOffset": f.location.start,
                    "byteLength": f.location.end - f.location.start,
                }
            }});
            // A value found decoded (a Kubernetes Secret's entry) names
            // its entry; the region covers the encoded characters.
            if let Some(path) = &f.location.json_path {
                location["logicalLocations"] =
                    serde_json::json!([{"fullyQualifiedName": path, "kind": "member"}]);
            }
            serde_json::json!({
                "ruleId": f.rule_id,
                "level": match f.level { Level::High => "error", Level::Medium => "warning", Level::Low => "note" },
                "message": {"text": format!("{} ({}) found: {}", f.entity, level_name(f.level), f.preview)},
                "locations": [location],
                "partialFingerprints": {"shoal/v1": f.fingerprint},
                "properties": {"confidence": f.confidence, "findingId": f.finding_id},
            })
        })
        .collect();
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "shoal",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/shoal",
                "rules": rules,
            }},
            "results": results,
        }]
    })
}
