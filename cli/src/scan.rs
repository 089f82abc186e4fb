//! `shoal scan PATH...`: the in-process scan of file trees.
//!
//! Files are listed first (honouring `.gitignore` unless `--no-ignore`, and
//! `--include`/`--exclude` globs), then scanned by `--threads` workers, each
//! with its own scanner, streaming every file in bounded memory. Binary files
//! (a NUL byte in the first 8 KiB) are skipped and counted.

use std::fs::File;
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use shoal_detect::privacy::{FingerprintKey, RecordContext, to_finding};
use shoal_detect::{Engine, EngineOptions, RuleSet};
use shoal_schemas::{Finding, Level, Location};

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
struct Hit {
    finding: Finding,
    value: Option<String>,
}

#[derive(Default)]
struct Totals {
    files: AtomicU64,
    bytes: AtomicU64,
    binary: AtomicU64,
    errors: AtomicU64,
}

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let mut sources: Vec<(String, String)> = shoal_detect::rules::BUILTIN
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect();
    for f in &args.rule_files {
        sources.push((
            f.display().to_string(),
            std::fs::read_to_string(f).with_context(|| format!("{}", f.display()))?,
        ));
    }
    let rules = RuleSet::from_sources(sources)?;
    let engine = Engine::new(
        &rules,
        EngineOptions {
            threshold: args.min_level.threshold(),
            ..EngineOptions::default()
        },
    )?;
    let key = match &args.fingerprint_key {
        Some(hex) => FingerprintKey::from_hex(hex)?,
        None => FingerprintKey::random()?,
    };
    let files = list_files(&args)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    let progress = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(files.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });

    let scan_id = format!("s_local_{}", shoal_schemas::ids::random_hex(8)?);
    let totals = Totals::default();
    let next = AtomicUsize::new(0);
    let hits: Mutex<Vec<Hit>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut scanner = engine.scanner();
                let mut detections = Vec::new();
                let mut local = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    detections.clear();
                    // A bug that panics on one file costs that file, not the scan:
                    // it is counted as an error and the thread goes on with a
                    // fresh scanner.
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        scan_file(&mut scanner, path, &mut detections)
                    }));
                    let outcome = outcome.unwrap_or_else(|_| {
                        scanner = engine.scanner();
                        detections.clear();
                        Err(std::io::Error::other(
                            "internal error while scanning (a bug; please report it)",
                        ))
                    });
                    match outcome {
                        Ok(Some(bytes)) => {
                            totals.files.fetch_add(1, Ordering::Relaxed);
                            totals.bytes.fetch_add(bytes, Ordering::Relaxed);
                        }
                        Ok(None) => {
                            totals.binary.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            totals.errors.fetch_add(1, Ordering::Relaxed);
                            eprintln!("shoal: {}: {e}", path.display());
                        }
                    }
                    let location = Location {
                        source: "local".into(),
                        path: display_path(path),
                        ..Location::default()
                    };
                    let ctx = RecordContext {
                        scan_id: &scan_id,
                        tenant: "local",
                        chunk_id: "local",
                        location: &location,
                    };
                    for d in &detections {
                        local.push(Hit {
                            finding: to_finding(&engine, &key, &ctx, d),
                            value: args
                                .reveal
                                .then(|| String::from_utf8_lossy(&d.value).into_owned()),
                        });
                    }
                    if let Some(bar) = &progress {
                        bar.inc(1);
                    }
                }
                if let Ok(mut all) = hits.lock() {
                    all.append(&mut local);
                }
            });
        }
    });
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let mut hits = hits.into_inner().unwrap_or_default();
    hits.sort_by(|a, b| {
        a.finding
            .location
            .path
            .cmp(&b.finding.location.path)
            .then(a.finding.location.start.cmp(&b.finding.location.start))
    });

    let elapsed = started.elapsed();
    let bytes = totals.bytes.load(Ordering::Relaxed);
    let summary = serde_json::json!({
        "files": totals.files.load(Ordering::Relaxed),
        "bytes": bytes,
        "binary_skipped": totals.binary.load(Ordering::Relaxed),
        "errors": totals.errors.load(Ordering::Relaxed),
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
        Format::Sarif => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&sarif(&engine, &hits))?
        )?,
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

fn list_files(args: &ScanArgs) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for root in &args.paths {
        let mut overrides = ignore::overrides::OverrideBuilder::new(root);
        for glob in &args.include {
            overrides
                .add(glob)
                .with_context(|| format!("--include {glob}"))?;
        }
        for glob in &args.exclude {
            overrides
                .add(&format!("!{glob}"))
                .with_context(|| format!("--exclude {glob}"))?;
        }
        let walker = ignore::WalkBuilder::new(root)
            .hidden(false)
            .git_ignore(!args.no_ignore)
            .git_exclude(!args.no_ignore)
            .git_global(false)
            .ignore(!args.no_ignore)
            .parents(!args.no_ignore)
            .require_git(false)
            .overrides(overrides.build()?)
            .filter_entry(|e| e.file_name() != ".git")
            .build();
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_some_and(|t| t.is_file()) => files.push(e.into_path()),
                Ok(_) => {}
                Err(e) => eprintln!("shoal: {e}"),
            }
        }
    }
    Ok(files)
}

/// Scans one file; `Ok(None)` when it is binary.
fn scan_file(
    scanner: &mut shoal_detect::Scanner<'_>,
    path: &Path,
    out: &mut Vec<shoal_detect::Detection>,
) -> std::io::Result<Option<u64>> {
    let mut file = File::open(path)?;
    let mut head = vec![0u8; 8192];
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    head.truncate(n);
    if memchr_nul(&head) {
        return Ok(None);
    }
    let bytes = scanner.scan_reader(std::io::Cursor::new(head).chain(file), None, out)?;
    Ok(Some(bytes))
}

fn memchr_nul(bytes: &[u8]) -> bool {
    bytes.contains(&0)
}

fn display_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    text.strip_prefix("./").unwrap_or(&text).to_owned()
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

fn write_table(out: &mut impl std::io::Write, hits: &[Hit]) -> std::io::Result<()> {
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
        let location = format!(
            "{}:{}:{}",
            f.location.path, f.location.line, f.location.column
        );
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
            serde_json::json!({
                "ruleId": f.rule_id,
                "level": match f.level { Level::High => "error", Level::Medium => "warning", Level::Low => "note" },
                "message": {"text": format!("{} ({}) found: {}", f.entity, level_name(f.level), f.preview)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": f.location.path},
                    "region": {
                        "startLine": f.location.line,
                        "startColumn": f.location.column,
                        "byteOffset": f.location.start,
                        "byteLength": f.location.end - f.location.start,
                    }
                }}],
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
