//! The swarm's client side: `shoal submit`, `status`, `cancel` over NATS
//! request/reply, `shoal report` from PostgreSQL, and `shoal token` to mint
//! a test token for all of them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use shoal_schemas::{ScanRequest, ScanState, ScanStatus};
use shoal_worker::nats::NatsConfig;

use crate::scan::{Hit, write_sarif, write_table};

/// How to reach the dispatcher.
#[derive(Debug, Args)]
pub struct Connection {
    /// NATS server URL(s).
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
    /// NATS credentials file.
    #[arg(long, env = "NATS_CREDS")]
    nats_creds: Option<PathBuf>,
    /// CA bundle for the NATS server's certificate.
    #[arg(long, env = "NATS_CA")]
    nats_ca: Option<PathBuf>,
    /// Subject prefix.
    #[arg(long, default_value = "shoal")]
    prefix: String,
    /// Bearer token (a JWT); prefer SHOAL_TOKEN or --token-file.
    #[arg(long, env = "SHOAL_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// File holding the bearer token.
    #[arg(long, env = "SHOAL_TOKEN_FILE")]
    token_file: Option<PathBuf>,
}

impl Connection {
    fn token(&self) -> anyhow::Result<String> {
        if let Some(t) = &self.token {
            return Ok(t.trim().to_owned());
        }
        if let Some(p) = &self.token_file {
            return Ok(std::fs::read_to_string(p)
                .with_context(|| format!("{}", p.display()))?
                .trim()
                .to_owned());
        }
        bail!("no token: set SHOAL_TOKEN, --token-file or SHOAL_TOKEN_FILE")
    }

    async fn request(&self, what: &str, payload: Vec<u8>) -> anyhow::Result<serde_json::Value> {
        let config = NatsConfig {
            url: self.nats_url.clone(),
            creds: self.nats_creds.clone(),
            tls_ca: self.nats_ca.clone(),
            prefix: self.prefix.clone(),
            ..NatsConfig::default()
        };
        let subjects = config.subjects()?;
        let client = config.connect("shoal-cli").await?;
        let subject = match what {
            "submit" => subjects.submit(),
            "status" => subjects.status(),
            _ => subjects.cancel(),
        };
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(
            "Authorization",
            format!("Bearer {}", self.token()?).as_str(),
        );
        let reply = tokio::time::timeout(
            Duration::from_secs(15),
            client.request_with_headers(subject.clone(), headers, payload.into()),
        )
        .await
        .with_context(|| format!("{subject}: no reply within 15 s"))?
        .with_context(|| format!("{subject}: is a dispatcher running?"))?;
        let body: serde_json::Value =
            serde_json::from_slice(&reply.payload).context("reply is not JSON")?;
        if let Some(err) = body.get("error") {
            bail!(
                "{} refused: {} ({})",
                what,
                err.get("message").and_then(|m| m.as_str()).unwrap_or("?"),
                err.get("code").and_then(|m| m.as_str()).unwrap_or("?")
            );
        }
        Ok(body)
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Source id configured on the dispatcher.
    #[arg(long)]
    source: String,
    /// Scan only paths matching these globs (repeatable).
    #[arg(long = "include", value_name = "GLOB")]
    include: Vec<String>,
    /// Skip paths matching these globs (repeatable).
    #[arg(long = "exclude", value_name = "GLOB")]
    exclude: Vec<String>,
    /// A label shown in status and reports.
    #[arg(long)]
    label: Option<String>,
    /// Wait until the scan ends, with a progress bar on a terminal.
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    connection: Connection,
}

pub fn submit(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let request = ScanRequest {
        v: 1,
        source: args.source.clone(),
        include: args.include.clone(),
        exclude: args.exclude.clone(),
        label: args.label.clone(),
    };
    runtime()?.block_on(async {
        let reply = args
            .connection
            .request("submit", serde_json::to_vec(&request)?)
            .await?;
        let scan_id = reply
            .get("scan_id")
            .and_then(|s| s.as_str())
            .context("reply has no scan_id")?
            .to_owned();
        if !args.wait {
            println!("{reply}");
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("shoal: scan {scan_id} accepted");
        let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} chunks {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        let status = loop {
            let body = args
                .connection
                .request("status", scan_id.clone().into_bytes())
                .await?;
            let status: ScanStatus = serde_json::from_value(body)?;
            if let Some(bar) = &bar {
                bar.set_length(status.chunks_planned);
                bar.set_position(status.chunks_done + status.chunks_failed);
                bar.set_message(format!("{} findings", status.findings));
            }
            if matches!(
                status.state,
                ScanState::Done | ScanState::Failed | ScanState::Cancelled
            ) {
                break status;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        println!("{}", serde_json::to_string(&status)?);
        Ok(
            if status.state == ScanState::Done && status.chunks_failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            },
        )
    })
}

#[derive(Debug, Args)]
pub struct ScanIdArgs {
    /// The scan id.
    scan_id: String,
    #[command(flatten)]
    connection: Connection,
}

pub fn status(args: ScanIdArgs, cancel: bool) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let what = if cancel { "cancel" } else { "status" };
        let body = args
            .connection
            .request(what, args.scan_id.clone().into_bytes())
            .await?;
        println!("{body}");
        Ok(ExitCode::SUCCESS)
    })
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Aligned columns.
    Table,
    /// One finding per line.
    Jsonl,
    /// SARIF 2.1.0.
    Sarif,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The scan id.
    scan_id: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
    /// PostgreSQL connection string.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// PEM file of certificate authorities trusted for PostgreSQL's TLS,
    /// besides the system's.
    #[arg(long, env = "DATABASE_CA")]
    database_ca: Option<PathBuf>,
}

pub fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let findings = runtime()?.block_on(async {
        let db = shoal_dispatcher::db::Db::connect_with_ca(
            &args.database_url,
            args.database_ca.as_deref(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        if db.status(&args.scan_id).await?.is_none() {
            bail!("no scan {}", args.scan_id);
        }
        Ok(db.findings(&args.scan_id).await?)
    })?;
    let hits: Vec<Hit> = findings
        .into_iter()
        .map(|finding| Hit {
            finding,
            value: None,
        })
        .collect();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        ReportFormat::Table => write_table(&mut out, &hits)?,
        ReportFormat::Jsonl => {
            for h in &hits {
                use std::io::Write as _;
                writeln!(out, "{}", serde_json::to_string(&h.finding)?)?;
            }
        }
        ReportFormat::Sarif => {
            let engine = shoal_worker::config::build_engine(&[], 0.5)?;
            write_sarif(&mut out, &engine, &hits)?;
        }
    }
    std::io::Write::flush(&mut out)?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// PKCS#8 PEM private key (Ed25519 from `shoal keys generate`, or RSA).
    #[arg(long)]
    key: PathBuf,
    /// Key id, as the dispatcher knows the public key.
    #[arg(long)]
    kid: String,
    /// `EdDSA` or `RS256`.
    #[arg(long, default_value = "EdDSA")]
    alg: String,
    /// Issuer.
    #[arg(long)]
    iss: String,
    /// Audience.
    #[arg(long)]
    aud: String,
    /// Subject (who submits).
    #[arg(long, default_value = "shoal-cli")]
    sub: String,
    /// Tenant.
    #[arg(long)]
    tenant: String,
    /// Scopes, space-separated.
    #[arg(long, default_value = "scan:submit")]
    scope: String,
    /// Lifetime in seconds (negative: already expired, for tests).
    #[arg(long, default_value_t = 3600, allow_negative_numbers = true)]
    ttl: i64,
}

pub fn token(args: TokenArgs) -> anyhow::Result<ExitCode> {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let pem = std::fs::read(&args.key).with_context(|| format!("{}", args.key.display()))?;
    let (alg, key) = match args.alg.as_str() {
        "EdDSA" => (Algorithm::EdDSA, EncodingKey::from_ed_pem(&pem)?),
        "RS256" => (Algorithm::RS256, EncodingKey::from_rsa_pem(&pem)?),
        other => bail!("--alg {other}: EdDSA or RS256"),
    };
    let mut header = Header::new(alg);
    header.kid = Some(args.kid);
    let now = shoal_schemas::ids::now_unix();
    let claims = serde_json::json!({
        "iss": args.iss, "aud": args.aud, "sub": args.sub, "tenant": args.tenant,
        "scope": args.scope, "iat": now, "exp": now + args.ttl,
    });
    println!("{}", jsonwebtoken::encode(&header, &claims, &key)?);
    Ok(ExitCode::SUCCESS)
}
