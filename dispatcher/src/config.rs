//! The dispatcher's configuration: a YAML file, then the environment.
//!
//! ```yaml
//! name: shoal-dispatcher          # `iss` of the chunk tasks it signs
//! nats: { url: tls://nats.internal:4222, creds: /run/secrets/dispatcher.creds }
//! database_url: postgres://shoal@db/shoal   # better: DATABASE_URL
//! signing_key: /run/secrets/signing.pem     # PKCS#8 Ed25519 (shoal keys generate)
//! signing_kid: k-2026-11
//! auth:
//!   issuer: https://auth.example.com/
//!   audience: shoal
//!   keys:                                    # static verification keys...
//!     - { kid: ci, alg: EdDSA, pem: /etc/shoal/ci-jwt.pub.pem }
//!   jwks_url: https://auth.example.com/.well-known/jwks.json   # ...and/or a JWKS
//! tenants:
//!   acme: { sources: [billing-exports, shared-drive] }
//! sources:
//!   - { kind: fs, id: shared-drive, root: /mnt/shared }
//! chunks: { max_bytes: 8388608, max_records: 256 }
//! jetstream: { ack_wait_secs: 60, max_deliver: 5, max_queued_chunks: 100000 }
//! ```
//!
//! Environment: `NATS_URL`, `NATS_CREDS`, `NATS_CA`, `DATABASE_URL`,
//! `SHOAL_SIGNING_KEY` (path), `SHOAL_SIGNING_KID`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shoal_sources::{ChunkLimits, SourceConfig};
use shoal_worker::nats::NatsConfig;

/// The dispatcher's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatcherConfig {
    /// Issuer of the tasks it signs, and the NATS connection name.
    #[serde(default = "default_name")]
    pub name: String,
    /// NATS connection.
    #[serde(default)]
    pub nats: NatsConfig,
    /// PostgreSQL connection string; `DATABASE_URL` overrides it.
    #[serde(default)]
    pub database_url: Option<Secret>,
    /// PEM file of certificate authorities trusted for PostgreSQL's TLS
    /// besides the system's (e.g. Amazon RDS's bundle); `DATABASE_CA`
    /// overrides it.
    #[serde(default)]
    pub database_ca: Option<PathBuf>,
    /// PKCS#8 PEM of the Ed25519 key that signs chunk tasks.
    #[serde(default)]
    pub signing_key: Option<PathBuf>,
    /// Key id of `signing_key` in the workers' keyset.
    #[serde(default)]
    pub signing_kid: Option<String>,
    /// How submitters are authenticated.
    pub auth: AuthConfig,
    /// Which sources each tenant may scan.
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantPolicy>,
    /// The sources the dispatcher plans (it lists them; workers read them).
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// Chunk size limits.
    #[serde(default)]
    pub chunks: ChunkLimits,
    /// Stream and consumer settings.
    #[serde(default)]
    pub jetstream: JetStreamConfig,
}

fn default_name() -> String {
    "shoal-dispatcher".into()
}

/// A string that never shows in `Debug` (a connection string with a password).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Submitter authentication: JWTs (RFC 7519) signed with EdDSA or RS256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Required `iss`.
    pub issuer: String,
    /// Required `aud`.
    pub audience: String,
    /// Static verification keys.
    #[serde(default)]
    pub keys: Vec<StaticKey>,
    /// A JWKS URL, fetched on start and again when a token names an unknown
    /// kid (at most every `jwks_min_refresh_secs`). `https://` only, or
    /// `http://` to loopback.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// Minimum seconds between two JWKS fetches.
    #[serde(default = "default_jwks_refresh")]
    pub jwks_min_refresh_secs: u64,
    /// Claim naming the tenant.
    #[serde(default = "default_tenant_claim")]
    pub tenant_claim: String,
    /// Clock skew tolerated on `exp`/`nbf`, seconds.
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
}

fn default_jwks_refresh() -> u64 {
    30
}

fn default_tenant_claim() -> String {
    "tenant".into()
}

fn default_leeway() -> u64 {
    30
}

/// A static JWT verification key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticKey {
    /// The `kid` tokens carry.
    pub kid: String,
    /// `EdDSA` or `RS256`.
    pub alg: String,
    /// PEM of the public key (SPKI `PUBLIC KEY`, or `RSA PUBLIC KEY`).
    pub pem: PathBuf,
}

/// What one tenant may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantPolicy {
    /// Source ids the tenant may scan.
    pub sources: Vec<String>,
}

/// Stream and consumer settings, applied when they are created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JetStreamConfig {
    /// The workers' ack wait; they send progress every third of it.
    pub ack_wait_secs: u64,
    /// Deliveries before a chunk is given up and marked failed.
    pub max_deliver: i64,
    /// Duplicate window of both streams: re-planning a scan within it
    /// publishes nothing twice.
    pub duplicate_window_secs: u64,
    /// How long a chunk task stays valid (`exp - iat`).
    pub task_ttl_secs: u64,
    /// How long events (findings, results, audit) stay in SHOAL_EVENTS.
    pub events_max_age_secs: u64,
    /// Planning pauses while the work queue holds this many chunks or more.
    pub max_queued_chunks: u64,
}

impl JetStreamConfig {
    /// Hard limit of SHOAL_CHUNKS (DiscardPolicy::New refuses beyond it):
    /// the planner's threshold plus room for a few scans planning at once.
    pub fn chunks_max_msgs(&self) -> i64 {
        i64::try_from(self.max_queued_chunks.saturating_add(16 * 256)).unwrap_or(i64::MAX)
    }
}

impl Default for JetStreamConfig {
    fn default() -> Self {
        JetStreamConfig {
            ack_wait_secs: 60,
            max_deliver: 5,
            duplicate_window_secs: 2 * 3600,
            task_ttl_secs: 24 * 3600,
            events_max_age_secs: 7 * 24 * 3600,
            max_queued_chunks: 100_000,
        }
    }
}

/// A configuration problem.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl DispatcherConfig {
    /// Reads `path`, then applies the environment, then checks it.
    pub fn load(path: &Path) -> Result<DispatcherConfig, ConfigError> {
        let err = |message: String| ConfigError {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let mut config: DispatcherConfig =
            serde_yaml_ng::from_str(&text).map_err(|e| err(e.to_string()))?;
        config.nats = config.nats.with_env();
        if let Ok(url) = std::env::var("DATABASE_URL") {
            config.database_url = Some(Secret(url));
        }
        if let Ok(p) = std::env::var("DATABASE_CA") {
            config.database_ca = Some(p.into());
        }
        if let Ok(p) = std::env::var("SHOAL_SIGNING_KEY") {
            config.signing_key = Some(p.into());
        }
        if let Ok(k) = std::env::var("SHOAL_SIGNING_KID") {
            config.signing_kid = Some(k);
        }
        config.check().map_err(err)?;
        Ok(config)
    }

    /// Checks what serde cannot: ids are subject tokens, policies name
    /// configured sources.
    pub fn check(&self) -> Result<(), String> {
        let token = |what: &str, t: &str| {
            shoal_schemas::subjects::check_token(t).map_err(|e| format!("{what}: {e}"))
        };
        for s in &self.sources {
            token("source id", s.id())?;
        }
        for (tenant, policy) in &self.tenants {
            token("tenant", tenant)?;
            for s in &policy.sources {
                if !self.sources.iter().any(|c| c.id() == s) {
                    return Err(format!("tenant {tenant}: source `{s}` is not configured"));
                }
            }
        }
        for k in &self.auth.keys {
            if k.alg != "EdDSA" && k.alg != "RS256" {
                return Err(format!("auth key {}: alg must be EdDSA or RS256", k.kid));
            }
        }
        if self.auth.keys.is_empty() && self.auth.jwks_url.is_none() {
            return Err("auth: give `keys` or `jwks_url`".into());
        }
        Ok(())
    }
}
