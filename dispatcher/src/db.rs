//! PostgreSQL: embedded migrations and every query shoal makes. Writes are
//! idempotent (findings keyed by `finding_id`, chunks by `chunk_id`), so a
//! redelivered event changes nothing.

use shoal_schemas::{
    AuditAction, AuditRecord, Category, ChunkOutcome, ChunkResult, Decision, Finding, Level,
    Location, ScanState, ScanStatus,
};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use tokio::sync::{RwLock, RwLockReadGuard};
use tokio_postgres::config::SslMode;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, GenericClient, NoTls, Row, Statement, ToStatement, Transaction};
use tokio_postgres_rustls::MakeRustlsConnect;

/// Migrations, in order; each runs once, in a transaction.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_findings_indexes.sql")),
];

/// A database error, with what was being done and every cause (a TLS
/// handshake error says why the certificate was refused).
#[derive(Debug, thiserror::Error)]
pub struct DbError {
    what: &'static str,
    #[source]
    source: tokio_postgres::Error,
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgreSQL, {}: {}", self.what, self.source)?;
        let mut cause = std::error::Error::source(&self.source);
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

/// A refused connection string.
#[derive(Debug, thiserror::Error)]
#[error("DATABASE_URL: {0}")]
pub struct UrlError(String);

fn at(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> DbError {
    move |source| DbError { what, source }
}

/// A scan as submitted.
#[derive(Debug, Clone)]
pub struct NewScan<'a> {
    /// Scan id.
    pub scan_id: &'a str,
    /// Tenant.
    pub tenant: &'a str,
    /// Source id.
    pub source: &'a str,
    /// Label.
    pub label: Option<&'a str>,
    /// JWT subject.
    pub submitted_by: &'a str,
    /// Include globs.
    pub include: &'a [String],
    /// Exclude globs.
    pub exclude: &'a [String],
    /// Unix seconds.
    pub submitted_at: i64,
}

/// A scan to plan again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnplannedScan {
    /// Scan id.
    pub scan_id: String,
    /// Tenant.
    pub tenant: String,
    /// Source id.
    pub source: String,
    /// Include globs.
    pub include: Vec<String>,
    /// Exclude globs.
    pub exclude: Vec<String>,
}

/// A connection, made again when it is found closed (the server restarted,
/// a proxy or an administrator ended it): the query that met the closed
/// connection fails, the next one reconnects.
pub struct Db {
    target: Target,
    client: RwLock<Client>,
    /// Bumped at each reconnection.
    generation: AtomicU64,
    /// The sink's statements, prepared on first use (after migration), with
    /// the connection generation they belong to.
    prepared: Option<(u64, Prepared)>,
}

/// Statements the sink runs for every batch, parsed and planned once.
struct Prepared {
    findings: Statement,
    results: Statement,
    refresh: Statement,
}

impl Prepared {
    async fn new(client: &Client) -> Result<Prepared, DbError> {
        Ok(Prepared {
            findings: client
                .prepare(INSERT_FINDINGS)
                .await
                .map_err(at("prepare finding insert"))?,
            results: client
                .prepare(UPSERT_RESULTS)
                .await
                .map_err(at("prepare chunk results"))?,
            refresh: client
                .prepare(REFRESH_SCAN)
                .await
                .map_err(at("prepare scan refresh"))?,
        })
    }
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

/// How connections are made: the parsed connection string and, unless it
/// may go unencrypted, the TLS connector.
#[derive(Clone)]
struct Target {
    config: tokio_postgres::Config,
    tls: Option<MakeRustlsConnect>,
}

/// Every host is loopback or a Unix socket.
fn is_local(config: &tokio_postgres::Config) -> bool {
    config.get_hosts().iter().all(|h| match h {
        tokio_postgres::config::Host::Tcp(name) => {
            matches!(name.as_str(), "127.0.0.1" | "localhost" | "::1")
        }
        tokio_postgres::config::Host::Unix(_) => true,
    })
}

impl Target {
    /// TLS is required, with the server's certificate and host name checked
    /// against the system's roots and `ca`, except with `sslmode=disable`, or
    /// for a loopback or Unix-socket server when neither `sslmode=require`
    /// nor `ca` asks for it.
    fn new(url: &str, ca: Option<&Path>) -> Result<Target, UrlError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| UrlError(format!("not a connection string: {e}")))?;
        let plaintext = match config.get_ssl_mode() {
            SslMode::Disable => true,
            SslMode::Require => false,
            _ => is_local(&config) && ca.is_none(),
        };
        if plaintext {
            config.ssl_mode(SslMode::Disable);
            return Ok(Target { config, tls: None });
        }
        config.ssl_mode(SslMode::Require);
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some(ca) = ca {
            let certs = CertificateDer::pem_file_iter(ca)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| UrlError(format!("database CA {}: {e}", ca.display())))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(UrlError(format!(
                    "database CA {}: no certificate in it",
                    ca.display()
                )));
            }
        }
        if roots.is_empty() {
            return Err(UrlError(
                "TLS to PostgreSQL needs trusted roots: install the system's CA certificates or give a database CA file".into(),
            ));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| UrlError(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Target {
            config,
            tls: Some(MakeRustlsConnect::new(tls)),
        })
    }

    /// Opens a connection; it runs on a task of its own.
    async fn open(&self) -> Result<Client, DbError> {
        let client = match &self.tls {
            None => {
                let (client, connection) =
                    self.config.connect(NoTls).await.map_err(at("connect"))?;
                tokio::spawn(watch(connection));
                client
            }
            Some(tls) => {
                let (client, connection) = self
                    .config
                    .connect(tls.clone())
                    .await
                    .map_err(at("connect"))?;
                tokio::spawn(watch(connection));
                client
            }
        };
        Ok(client)
    }
}

/// Replaces `client` with a new connection when it is closed, counting the
/// reconnection in `generation`.
async fn reopen_if_closed(
    target: &Target,
    generation: &AtomicU64,
    client: &mut Client,
) -> Result<(), DbError> {
    if client.is_closed() {
        *client = target.open().await?;
        generation.fetch_add(1, Ordering::Relaxed);
        tracing::info!("Reconnected to PostgreSQL.");
    }
    Ok(())
}

/// Drives a connection until it ends.
async fn watch<F>(connection: F)
where
    F: std::future::Future<Output = Result<(), tokio_postgres::Error>>,
{
    if let Err(e) = connection.await {
        tracing::error!(error = %e, "PostgreSQL connection lost.");
    }
}

impl Db {
    /// Connects to `url` (see [`Db::connect_with_ca`]).
    pub async fn connect(url: &str) -> Result<Db, Box<dyn std::error::Error + Send + Sync>> {
        Db::connect_with_ca(url, None).await
    }

    /// Connects to `url`, over TLS unless `sslmode=disable` says otherwise
    /// or the server is on loopback or a Unix socket; `ca` is a PEM file of
    /// certificate authorities trusted besides the system's.
    pub async fn connect_with_ca(
        url: &str,
        ca: Option<&Path>,
    ) -> Result<Db, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Db::open(Target::new(url, ca)?).await?)
    }

    async fn open(target: Target) -> Result<Db, DbError> {
        let client = target.open().await?;
        Ok(Db {
            target,
            client: RwLock::new(client),
            generation: AtomicU64::new(0),
            prepared: None,
        })
    }

    /// A second connection to the same server with the same settings (the
    /// sink's, which writes in transactions).
    pub async fn connect_again(&self) -> Result<Db, DbError> {
        Db::open(self.target.clone()).await
    }

    /// The connection, made again if it was closed.
    async fn client(&self) -> Result<RwLockReadGuard<'_, Client>, DbError> {
        {
            let client = self.client.read().await;
            if !client.is_closed() {
                return Ok(client);
            }
        }
        let mut client = self.client.write().await;
        reopen_if_closed(&self.target, &self.generation, &mut client).await?;
        Ok(client.downgrade())
    }

    /// As [`Db::client`], with the connection to oneself.
    async fn client_mut(&mut self) -> Result<&mut Client, DbError> {
        reopen_if_closed(&self.target, &self.generation, self.client.get_mut()).await?;
        Ok(self.client.get_mut())
    }

    /// Applies the migrations not applied yet, under an advisory lock so
    /// that two dispatchers starting together do not race.
    pub async fn migrate(&mut self) -> Result<Vec<i32>, DbError> {
        let tx = self
            .client_mut()
            .await?
            .transaction()
            .await
            .map_err(at("migrate"))?;
        tx.execute("SELECT pg_advisory_xact_lock(7347281)", &[])
            .await
            .map_err(at("migration lock"))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS shoal_migrations (
                 version integer PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(at("migrations table"))?;
        let done: Vec<i32> = tx
            .query("SELECT version FROM shoal_migrations", &[])
            .await
            .map_err(at("migrations"))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut applied = Vec::new();
        for (version, sql) in MIGRATIONS {
            if done.contains(version) {
                continue;
            }
            tx.batch_execute(sql).await.map_err(at("migration"))?;
            tx.execute(
                "INSERT INTO shoal_migrations (version) VALUES ($1)",
                &[version],
            )
            .await
            .map_err(at("migration record"))?;
            applied.push(*version);
        }
        tx.commit().await.map_err(at("migrate commit"))?;
        Ok(applied)
    }

    /// Stores an audit record.
    pub async fn audit(&self, r: &AuditRecord) -> Result<(), DbError> {
        audit(&*self.client().await?, r).await
    }

    /// Records a new scan, state `planning`.
    pub async fn create_scan(&self, s: &NewScan<'_>) -> Result<(), DbError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO scans (scan_id, tenant, source, label, submitted_by, include_globs, exclude_globs, state, submitted_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'planning', to_timestamp($8::bigint))",
                &[
                    &s.scan_id,
                    &s.tenant,
                    &s.source,
                    &s.label,
                    &s.submitted_by,
                    &s.include,
                    &s.exclude,
                    &s.submitted_at,
                ],
            )
            .await
            .map_err(at("scan insert"))?;
        Ok(())
    }

    /// Records published chunks with their stream sequences.
    pub async fn add_chunks(
        &self,
        scan_id: &str,
        chunk_ids: &[String],
        sequences: &[i64],
    ) -> Result<(), DbError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO chunks (chunk_id, scan_id, stream_seq)
                 SELECT c, $1, s FROM unnest($2::text[], $3::bigint[]) AS t(c, s)
                 ON CONFLICT (chunk_id) DO UPDATE SET stream_seq = EXCLUDED.stream_seq",
                &[&scan_id, &chunk_ids, &sequences],
            )
            .await
            .map_err(at("chunk insert"))?;
        Ok(())
    }

    /// Ends planning: `running` with the number of chunks, or `failed`.
    pub async fn planned(
        &self,
        scan_id: &str,
        chunks: i64,
        error: Option<&str>,
    ) -> Result<(), DbError> {
        self.client()
            .await?
            .execute(
                "UPDATE scans SET chunks_planned = $2, error = $3, updated_at = now(),
                     state = CASE WHEN $3::text IS NULL THEN 'running' ELSE 'failed' END,
                     finished_at = CASE WHEN $3::text IS NULL THEN NULL ELSE now() END
                 WHERE scan_id = $1 AND state = 'planning'",
                &[&scan_id, &chunks, &error],
            )
            .await
            .map_err(at("scan planned"))?;
        Ok(())
    }

    /// Stores findings; those already stored are left as they are.
    pub async fn add_findings(&self, findings: &[Finding]) -> Result<u64, DbError> {
        add_findings(&*self.client().await?, INSERT_FINDINGS, findings).await
    }

    /// Recounts a scan's chunks and closes it when every chunk is done,
    /// failed or cancelled. Returns its status.
    pub async fn refresh_scan(&self, scan_id: &str) -> Result<Option<ScanStatus>, DbError> {
        refresh_scan(&*self.client().await?, REFRESH_SCAN, scan_id).await
    }

    /// Begins a transaction for a batch of the sink's writes, with its
    /// statements prepared once per connection.
    pub async fn begin(&mut self) -> Result<Tx<'_>, DbError> {
        self.client_mut().await?;
        let generation = *self.generation.get_mut();
        let client = self.client.get_mut();
        let prepared = match self.prepared.take() {
            Some((g, p)) if g == generation => p,
            _ => Prepared::new(client).await?,
        };
        let (_, prepared) = &*self.prepared.insert((generation, prepared));
        let tx = client.transaction().await.map_err(at("begin"))?;
        Ok(Tx { tx, prepared })
    }

    /// Sets the cancel flag (see [`Db::refresh_scan`] for the status).
    pub async fn request_cancel(&self, scan_id: &str) -> Result<(), DbError> {
        self.client()
            .await?
            .execute(
                "UPDATE scans SET cancel_requested = true, updated_at = now() WHERE scan_id = $1",
                &[&scan_id],
            )
            .await
            .map_err(at("scan cancel"))?;
        Ok(())
    }

    /// Scans whose planning did not finish (the dispatcher stopped during
    /// it): id, tenant, source, include and exclude globs.
    pub async fn unplanned(&self) -> Result<Vec<UnplannedScan>, DbError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT scan_id, tenant, source, include_globs, exclude_globs
                 FROM scans WHERE state = 'planning' ORDER BY submitted_at",
                &[],
            )
            .await
            .map_err(at("unplanned scans"))?;
        Ok(rows
            .iter()
            .map(|r| UnplannedScan {
                scan_id: r.get(0),
                tenant: r.get(1),
                source: r.get(2),
                include: r.get(3),
                exclude: r.get(4),
            })
            .collect())
    }

    /// A scan's status.
    pub async fn status(&self, scan_id: &str) -> Result<Option<ScanStatus>, DbError> {
        let row = self
            .client()
            .await?
            .query_opt(
                concat!(
                    "SELECT ",
                    status_columns!(),
                    " FROM scans s WHERE s.scan_id = $1"
                ),
                &[&scan_id],
            )
            .await
            .map_err(at("scan status"))?;
        Ok(row.map(|r| status_of(&r)))
    }

    /// A scan's findings, by path and position.
    pub async fn findings(&self, scan_id: &str) -> Result<Vec<Finding>, DbError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT finding_id, scan_id, tenant, chunk_id, rule_id, entity, category, confidence,
                        level, source, path, member, row_key, start_byte, end_byte, line, col, field,
                        json_path, page, preview, fingerprint
                 FROM findings WHERE scan_id = $1 ORDER BY path, start_byte, rule_id",
                &[&scan_id],
            )
            .await
            .map_err(at("findings"))?;
        Ok(rows.iter().map(finding_of).collect())
    }
}

/// One batch of the sink's writes, committed together: findings, chunk
/// results and the scans they close become visible at once, and a durable
/// commit costs one WAL flush per batch rather than one per statement.
/// Dropped without [`Tx::commit`], it rolls back.
pub struct Tx<'a> {
    tx: Transaction<'a>,
    prepared: &'a Prepared,
}

impl std::fmt::Debug for Tx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tx")
    }
}

impl Tx<'_> {
    /// Stores findings; those already stored are left as they are.
    pub async fn add_findings(&self, findings: &[Finding]) -> Result<u64, DbError> {
        add_findings(&self.tx, &self.prepared.findings, findings).await
    }

    /// Records chunk results in one statement. The first final result of a
    /// chunk wins: later ones, in this batch or after it, change nothing.
    pub async fn chunk_results(&self, results: &[ChunkResult]) -> Result<u64, DbError> {
        let mut seen = std::collections::HashSet::new();
        let results: Vec<&ChunkResult> = results
            .iter()
            .filter(|r| seen.insert(r.chunk_id.as_str()))
            .collect();
        if results.is_empty() {
            return Ok(0);
        }
        macro_rules! col {
            ($f:expr) => {
                results.iter().map($f).collect::<Vec<_>>()
            };
        }
        self.tx
            .execute(
                &self.prepared.results,
                &[
                    &col!(|r| r.chunk_id.as_str()),
                    &col!(|r| r.scan_id.as_str()),
                    &col!(|r| match r.outcome {
                        ChunkOutcome::Done => "done",
                        ChunkOutcome::Failed => "failed",
                        ChunkOutcome::Cancelled => "cancelled",
                    }),
                    &col!(|r| r.worker.as_str()),
                    &col!(|r| r.records as i64),
                    &col!(|r| r.bytes as i64),
                    &col!(|r| r.findings as i64),
                    &col!(|r| r.skipped_total as i64),
                    &col!(|r| serde_json::to_string(&r.skipped).unwrap_or_default()),
                    &col!(|r| r.error.as_deref()),
                    &col!(|r| r.elapsed_ms as i64),
                ],
            )
            .await
            .map_err(at("chunk results"))
    }

    /// Stores an audit record.
    pub async fn audit(&self, r: &AuditRecord) -> Result<(), DbError> {
        audit(&self.tx, r).await
    }

    /// Marks the chunk published at `sequence` failed (max deliveries);
    /// returns its scan and chunk ids.
    pub async fn fail_chunk_at(
        &self,
        sequence: i64,
        reason: &str,
    ) -> Result<Option<(String, String)>, DbError> {
        let row = self
            .tx
            .query_opt(
                "UPDATE chunks SET state = 'failed', error = $2, updated_at = now()
                 WHERE stream_seq = $1 AND state = 'queued'
                 RETURNING scan_id, chunk_id",
                &[&sequence, &reason],
            )
            .await
            .map_err(at("chunk failed"))?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// As [`Db::refresh_scan`], within the batch.
    pub async fn refresh_scan(&self, scan_id: &str) -> Result<Option<ScanStatus>, DbError> {
        refresh_scan(&self.tx, &self.prepared.refresh, scan_id).await
    }

    /// Commits the batch.
    pub async fn commit(self) -> Result<(), DbError> {
        self.tx.commit().await.map_err(at("commit"))
    }
}

const INSERT_FINDINGS: &str =
    "INSERT INTO findings (finding_id, scan_id, tenant, chunk_id, rule_id,
         entity, category, confidence, level, source, path, member, row_key, start_byte,
         end_byte, line, col, field, json_path, page, preview, fingerprint)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
         $6::text[], $7::text[], $8::float8[], $9::text[], $10::text[], $11::text[],
         $12::text[], $13::text[], $14::int8[], $15::int8[], $16::int4[], $17::int4[],
         $18::text[], $19::text[], $20::int4[], $21::text[], $22::text[])
     ON CONFLICT (finding_id) DO NOTHING";

const UPSERT_RESULTS: &str = "INSERT INTO chunks (chunk_id, scan_id, state, worker, records, bytes,
         findings, skipped_total, skipped, error, elapsed_ms)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[],
         $6::int8[], $7::int8[], $8::int8[], $9::text[], $10::text[], $11::int8[])
     ON CONFLICT (chunk_id) DO UPDATE SET state = EXCLUDED.state, worker = EXCLUDED.worker,
         records = EXCLUDED.records, bytes = EXCLUDED.bytes, findings = EXCLUDED.findings,
         skipped_total = EXCLUDED.skipped_total, skipped = EXCLUDED.skipped,
         error = EXCLUDED.error, elapsed_ms = EXCLUDED.elapsed_ms, updated_at = now()
     WHERE chunks.state = 'queued'";

/// The columns of a scan's row (alias `s`) that [`status_of`] reads, in its
/// order.
macro_rules! status_columns {
    () => {
        "s.scan_id, s.tenant, s.source, s.state, s.chunks_planned, s.chunks_done,
         s.chunks_failed, s.findings, s.bytes, extract(epoch from s.submitted_at)::bigint,
         extract(epoch from s.updated_at)::bigint, s.cancel_requested, s.error"
    };
}
use status_columns;

/// Recounts a scan and returns its status.
const REFRESH_SCAN: &str = concat!(
    "UPDATE scans s SET chunks_done = c.done, chunks_failed = c.failed,
         chunks_cancelled = c.cancelled, records = c.records, bytes = c.bytes,
         findings = c.findings, updated_at = now(),
         state = CASE WHEN s.state = 'running'
                       AND c.done + c.failed + c.cancelled >= s.chunks_planned
                      THEN CASE WHEN s.cancel_requested THEN 'cancelled' ELSE 'done' END
                      ELSE s.state END,
         finished_at = CASE WHEN s.state = 'running'
                       AND c.done + c.failed + c.cancelled >= s.chunks_planned
                      THEN now() ELSE s.finished_at END
     FROM (SELECT count(*) FILTER (WHERE state = 'done') AS done,
                  count(*) FILTER (WHERE state = 'failed') AS failed,
                  count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
                  coalesce(sum(records), 0)::bigint AS records,
                  coalesce(sum(bytes), 0)::bigint AS bytes,
                  coalesce(sum(findings), 0)::bigint AS findings
           FROM chunks WHERE scan_id = $1) c
     WHERE s.scan_id = $1
     RETURNING ",
    status_columns!()
);

async fn audit(c: &(impl GenericClient + Sync), r: &AuditRecord) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO audit (at, actor, tenant, action, decision, reason, source, scan_id, chunk_id, detail)
         VALUES (to_timestamp($1::bigint), $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &r.at,
            &r.actor,
            &r.tenant,
            &action_name(r.action),
            &match r.decision {
                Decision::Accepted => "accepted",
                Decision::Refused => "refused",
            },
            &r.reason,
            &r.source,
            &r.scan_id,
            &r.chunk_id,
            &r.detail,
        ],
    )
    .await
    .map_err(at("audit insert"))?;
    Ok(())
}

async fn add_findings<S>(
    c: &(impl GenericClient + Sync),
    query: &S,
    findings: &[Finding],
) -> Result<u64, DbError>
where
    S: ?Sized + ToStatement + Sync + Send,
{
    if findings.is_empty() {
        return Ok(0);
    }
    macro_rules! col {
        ($f:expr) => {
            findings.iter().map($f).collect::<Vec<_>>()
        };
    }
    let params: [&(dyn ToSql + Sync); 22] = [
        &col!(|f| f.finding_id.as_str()),
        &col!(|f| f.scan_id.as_str()),
        &col!(|f| f.tenant.as_str()),
        &col!(|f| f.chunk_id.as_str()),
        &col!(|f| f.rule_id.as_str()),
        &col!(|f| f.entity.as_str()),
        &col!(|f| category_name(f.category)),
        &col!(|f| f.confidence),
        &col!(|f| level_name(f.level)),
        &col!(|f| f.location.source.as_str()),
        &col!(|f| f.location.path.as_str()),
        &col!(|f| f.location.member.as_deref()),
        &col!(|f| f.location.row.as_deref()),
        &col!(|f| f.location.start as i64),
        &col!(|f| f.location.end as i64),
        &col!(|f| f.location.line as i32),
        &col!(|f| f.location.column as i32),
        &col!(|f| f.location.field.as_deref()),
        &col!(|f| f.location.json_path.as_deref()),
        &col!(|f| f.location.page.map(|p| p as i32)),
        &col!(|f| f.preview.as_str()),
        &col!(|f| f.fingerprint.as_str()),
    ];
    c.execute(query, &params)
        .await
        .map_err(at("finding insert"))
}

async fn refresh_scan<S>(
    c: &(impl GenericClient + Sync),
    query: &S,
    scan_id: &str,
) -> Result<Option<ScanStatus>, DbError>
where
    S: ?Sized + ToStatement + Sync + Send,
{
    let row = c
        .query_opt(query, &[&scan_id])
        .await
        .map_err(at("scan refresh"))?;
    Ok(row.map(|r| status_of(&r)))
}

fn status_of(r: &Row) -> ScanStatus {
    ScanStatus {
        v: 1,
        scan_id: r.get(0),
        tenant: r.get(1),
        source: r.get(2),
        state: match r.get::<_, &str>(3) {
            "planning" => ScanState::Planning,
            "running" => ScanState::Running,
            "done" => ScanState::Done,
            "cancelled" => ScanState::Cancelled,
            _ => ScanState::Failed,
        },
        chunks_planned: r.get::<_, i64>(4) as u64,
        chunks_done: r.get::<_, i64>(5) as u64,
        chunks_failed: r.get::<_, i64>(6) as u64,
        findings: r.get::<_, i64>(7) as u64,
        bytes: r.get::<_, i64>(8) as u64,
        submitted_at: r.get(9),
        updated_at: r.get(10),
        cancel_requested: r.get(11),
        error: r.get(12),
    }
}

fn finding_of(r: &Row) -> Finding {
    let confidence: f64 = r.get(7);
    Finding {
        v: 1,
        finding_id: r.get(0),
        scan_id: r.get(1),
        tenant: r.get(2),
        chunk_id: r.get(3),
        rule_id: r.get(4),
        entity: r.get(5),
        category: if r.get::<_, &str>(6) == "secret" {
            Category::Secret
        } else {
            Category::Pii
        },
        confidence,
        level: Level::of(confidence),
        location: Location {
            source: r.get(9),
            path: r.get(10),
            member: r.get(11),
            row: r.get(12),
            start: r.get::<_, i64>(13) as u64,
            end: r.get::<_, i64>(14) as u64,
            line: r.get::<_, i32>(15) as u32,
            column: r.get::<_, i32>(16) as u32,
            field: r.get(17),
            json_path: r.get(18),
            page: r.get::<_, Option<i32>>(19).map(|p| p as u32),
        },
        preview: r.get(20),
        fingerprint: r.get(21),
    }
}

fn category_name(c: Category) -> &'static str {
    match c {
        Category::Pii => "pii",
        Category::Secret => "secret",
    }
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Low => "low",
        Level::Medium => "medium",
        Level::High => "high",
    }
}

fn action_name(a: AuditAction) -> &'static str {
    match a {
        AuditAction::Submit => "submit",
        AuditAction::Status => "status",
        AuditAction::Cancel => "cancel",
        AuditAction::ChunkRefused => "chunk_refused",
        AuditAction::ChunkFailed => "chunk_failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_unless_local_or_disabled() {
        // Without system roots (no CA certificates installed) a TLS target
        // is an error, which is not plaintext either.
        let plaintext = |url: &str| Target::new(url, None).is_ok_and(|t| t.tls.is_none());
        assert!(plaintext("postgres://u@127.0.0.1:5432/db"));
        assert!(plaintext("host=/run/postgresql dbname=x"));
        assert!(plaintext("postgres://u:p@db.internal/db?sslmode=disable"));
        assert!(!plaintext("postgres://u:p@db.internal/db"));
        assert!(!plaintext("postgres://u:p@db.internal/db?sslmode=prefer"));
        assert!(!plaintext("postgres://u@127.0.0.1:5432/db?sslmode=require"));
        if let Ok(target) = Target::new("postgres://u@db.internal/db", None) {
            assert_eq!(target.config.get_ssl_mode(), SslMode::Require);
        }
        assert!(Target::new("postgres://u@db/db?sslmode=verify-full", None).is_err());
        assert!(Target::new("postgres://u@db/db", Some(Path::new("/nonexistent.pem"))).is_err());
    }
}
