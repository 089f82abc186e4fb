//! `shoal-worker`: pulls signed chunks from JetStream and scans them.
// The self-test reports on stdout.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use shoal_detect::privacy::FingerprintKey;
use shoal_schemas::envelope::Verifier;
use shoal_schemas::keyset::Keyset;
use shoal_worker::config::{WorkerConfig, build_engine};
use shoal_worker::nats::{JetStreamBus, JetStreamQueue};
use shoal_worker::{ChunkRunner, Fingerprints, Settings, Worker};

/// A shoal worker.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Configuration file (YAML).
    #[arg(long, env = "SHOAL_WORKER_CONFIG")]
    config: Option<PathBuf>,
    /// Load the configuration, keys and rules, reach NATS, then exit.
    #[arg(long)]
    self_test: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    shoal_worker::process::main("shoal-worker", run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let config = WorkerConfig::load(args.config.as_deref())?;
    let name = config.name();
    let keyset_path = config
        .keyset
        .clone()
        .context("no keyset: set `keyset` in the configuration or SHOAL_KEYSET")?;
    let keyset = Keyset::from_json(
        &std::fs::read_to_string(&keyset_path)
            .with_context(|| format!("{}", keyset_path.display()))?,
    )
    .with_context(|| format!("{}", keyset_path.display()))?;
    let verifier = Verifier::new(keyset).with_skew(config.clock_skew_secs);
    let key = FingerprintKey::from_hex(
        &std::env::var("SHOAL_FINGERPRINT_KEY")
            .context("SHOAL_FINGERPRINT_KEY (64 hex digits) is not set")?,
    )?;
    let engine = Arc::new(build_engine(&config.rules, config.threshold)?);
    let sources = shoal_sources::Sources::from_configs(&config.sources)?;
    let client = config.nats.connect(&name).await?;
    let js = async_nats::jetstream::new(client.clone());
    let mut queue = JetStreamQueue::bind(&js).await?;
    let ack_wait = queue.ack_wait().await?;
    let bus = JetStreamBus::bind(js, config.nats.subjects()?).await?;
    if args.self_test {
        println!(
            "shoal-worker self-test ok: {} rules ({}), sources {:?}, keyset of {} keys, consumer ack wait {:?}",
            engine.rule_count(),
            engine.digest(),
            sources.ids(),
            verifier.keyset().keys.len(),
            ack_wait
        );
        return Ok(());
    }
    let slots = config
        .slots
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let runner = Arc::new(ChunkRunner::new(
        engine,
        sources,
        Fingerprints::PerTenant(key),
        name.clone(),
    ));
    let settings = Settings {
        progress_every: (ack_wait / 3).max(Duration::from_millis(100)),
        ..Settings::default()
    };
    let worker = Arc::new(Worker::new(runner, verifier, Arc::new(bus), settings));
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let (abort_tx, abort) = tokio::sync::watch::channel(false);
    let grace = Duration::from_secs(config.grace_period_secs);
    tokio::spawn(async move {
        shoal_worker::process::shutdown_signal().await;
        tracing::info!(
            grace_secs = grace.as_secs(),
            "Stopping: no more pulls, finishing running chunks."
        );
        let _ = stop_tx.send(true);
        tokio::time::sleep(grace).await;
        tracing::warn!("Grace period over: giving running chunks back.");
        let _ = abort_tx.send(true);
        // Keep the senders alive until the process exits.
        std::future::pending::<()>().await;
    });
    tracing::info!(worker = %name, slots, "Worker started.");
    shoal_worker::run(worker, Arc::new(queue), slots, stop, abort).await;
    // The last acks (Naks of chunks given back) are buffered in the client:
    // send them before the process exits, or they wait out the ack wait.
    if let Err(e) = client.flush().await {
        tracing::warn!(error = %e, "Final flush failed.");
    }
    tracing::info!("Worker stopped.");
    Ok(())
}
