//! `shoal-dispatcher`: serves submissions, plans and signs chunks, and runs
//! the findings sink.
// The self-test reports on stdout.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use shoal_dispatcher::auth::Authenticator;
use shoal_dispatcher::config::DispatcherConfig;
use shoal_dispatcher::db::Db;
use shoal_dispatcher::{Dispatcher, Parts};
use shoal_schemas::envelope::Signer;

/// What this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Role {
    /// The request API, the planner and the sink.
    All,
    /// The request API and the planner.
    Api,
    /// The findings sink only.
    Sink,
}

/// The shoal dispatcher.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Configuration file (YAML).
    #[arg(long, env = "SHOAL_DISPATCHER_CONFIG")]
    config: PathBuf,
    /// What to run.
    #[arg(long, value_enum, default_value_t = Role::All)]
    role: Role,
    /// Load the configuration and keys, reach NATS and PostgreSQL, set up
    /// streams and apply migrations, then exit.
    #[arg(long)]
    self_test: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    shoal_worker::process::main("shoal-dispatcher", run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let config = DispatcherConfig::load(&args.config)?;
    let key_path = config
        .signing_key
        .clone()
        .context("no signing key: set `signing_key` or SHOAL_SIGNING_KEY")?;
    let kid = config
        .signing_kid
        .clone()
        .context("no signing key id: set `signing_kid` or SHOAL_SIGNING_KID")?;
    let pem =
        std::fs::read_to_string(&key_path).with_context(|| format!("{}", key_path.display()))?;
    let signer =
        Signer::from_pkcs8_pem(kid, &pem).with_context(|| format!("{}", key_path.display()))?;
    let auth = Authenticator::new(config.auth.clone())?;
    let jwks_keys = auth.prefetch().await?;
    let sources = shoal_sources::Sources::from_configs(&config.sources)?;
    let ruleset = shoal_detect::RuleSet::builtin()?.digest().to_owned();
    let url = config
        .database_url
        .clone()
        .context("no database: set DATABASE_URL")?;
    let mut db = Db::connect_with_ca(&url.0, config.database_ca.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let applied = db.migrate().await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "Migrations applied.");
    }
    // The sink writes in transactions, so on a connection of its own.
    let sink_db = if matches!(args.role, Role::All | Role::Sink) {
        Some(db.connect_again().await?)
    } else {
        None
    };
    let client = config.nats.connect(&config.name).await?;
    let dispatcher = Dispatcher::new(Parts {
        config,
        client,
        db,
        auth,
        signer,
        sources,
        ruleset,
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    if args.self_test {
        println!("shoal-dispatcher self-test ok: {dispatcher:?}, {jwks_keys} JWKS keys");
        return Ok(());
    }
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shoal_worker::process::shutdown_signal().await;
        tracing::info!("Stopping.");
        let _ = stop_tx.send(true);
        std::future::pending::<()>().await;
    });
    let mut tasks = tokio::task::JoinSet::new();
    if matches!(args.role, Role::All | Role::Api) {
        let resumed = dispatcher.resume().await?;
        if resumed > 0 {
            tracing::info!(scans = resumed, "Unfinished planning resumed.");
        }
        let (d, stop) = (dispatcher.clone(), stop.clone());
        tasks.spawn(async move { d.serve(stop).await });
    }
    if let Some(sink_db) = sink_db {
        let (d, stop) = (dispatcher.clone(), stop.clone());
        tasks.spawn(async move { shoal_dispatcher::sink::run(d, sink_db, stop).await });
    }
    while let Some(done) = tasks.join_next().await {
        done?.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}
