//! The worker's configuration: a YAML file, then the environment.
//!
//! ```yaml
//! name: worker-a            # default: host name and process id
//! nats:
//!   url: tls://nats.internal:4222
//!   creds: /run/secrets/worker.creds
//!   tls_ca: /etc/shoal/ca.pem
//! keyset: /etc/shoal/keyset.json
//! slots: 2                  # chunks in flight; default: one per core
//! grace_period_secs: 30
//! sources:
//!   - { kind: fs, id: shared-drive, root: /mnt/shared }
//! ```
//!
//! Environment: `NATS_URL`, `NATS_CREDS`, `NATS_CA` (see
//! [`NatsConfig::with_env`]), `SHOAL_KEYSET`, `SHOAL_WORKER_SLOTS`, and the
//! fingerprint master key in `SHOAL_FINGERPRINT_KEY` (64 hex digits; never in
//! the file, which may be world-readable in an image).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shoal_sources::SourceConfig;

use crate::nats::NatsConfig;

/// The worker's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerConfig {
    /// Name in chunk results, audit records and the NATS connection.
    #[serde(default)]
    pub name: Option<String>,
    /// NATS connection.
    #[serde(default)]
    pub nats: NatsConfig,
    /// Trusted keyset of the dispatchers' signing keys.
    #[serde(default)]
    pub keyset: Option<PathBuf>,
    /// Chunks run at once; default: one per core.
    #[serde(default)]
    pub slots: Option<usize>,
    /// How long running chunks may take to finish after SIGTERM.
    #[serde(default = "default_grace")]
    pub grace_period_secs: u64,
    /// Clock skew tolerated on envelope times.
    #[serde(default = "default_skew")]
    pub clock_skew_secs: i64,
    /// Lowest confidence reported (0.5 = medium).
    #[serde(default = "default_threshold")]
    pub threshold: f32,
    /// Extra rule files, added to the built-in rules.
    #[serde(default)]
    pub rules: Vec<PathBuf>,
    /// The sources this worker can read.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
}

fn default_grace() -> u64 {
    30
}

fn default_skew() -> i64 {
    shoal_schemas::envelope::Verifier::DEFAULT_SKEW_SECS
}

fn default_threshold() -> f32 {
    0.5
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            name: None,
            nats: NatsConfig::default(),
            keyset: None,
            slots: None,
            grace_period_secs: default_grace(),
            clock_skew_secs: default_skew(),
            threshold: default_threshold(),
            rules: Vec::new(),
            sources: Vec::new(),
        }
    }
}

/// A configuration problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl WorkerConfig {
    /// Reads `path` (if given), then applies the environment.
    pub fn load(path: Option<&Path>) -> Result<WorkerConfig, ConfigError> {
        let mut config = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.display().to_string(),
                    source,
                })?;
                serde_yaml_ng::from_str(&text).map_err(|e| ConfigError::Invalid {
                    path: p.display().to_string(),
                    message: e.to_string(),
                })?
            }
            None => WorkerConfig::default(),
        };
        config.nats = config.nats.with_env();
        if let Ok(k) = std::env::var("SHOAL_KEYSET") {
            config.keyset = Some(k.into());
        }
        if let Some(n) = std::env::var("SHOAL_WORKER_SLOTS")
            .ok()
            .and_then(|s| s.parse().ok())
        {
            config.slots = Some(n);
        }
        Ok(config)
    }

    /// The worker's name.
    pub fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/etc/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_else(|_| "worker".into());
            format!("{host}-{}", std::process::id())
        })
    }
}

/// The built-in rules plus `rule_files`, parsed and checked (not compiled).
pub fn load_rules(rule_files: &[PathBuf]) -> Result<shoal_detect::RuleSet, ConfigError> {
    let mut sources: Vec<(String, String)> = shoal_detect::rules::BUILTIN
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect();
    for f in rule_files {
        let text = std::fs::read_to_string(f).map_err(|source| ConfigError::Read {
            path: f.display().to_string(),
            source,
        })?;
        sources.push((f.display().to_string(), text));
    }
    shoal_detect::RuleSet::from_sources(sources).map_err(invalid_rules)
}

/// The detection engine of `rules`, reporting from `threshold` up.
pub fn compile_rules(
    rules: &shoal_detect::RuleSet,
    threshold: f32,
) -> Result<shoal_detect::Engine, ConfigError> {
    shoal_detect::Engine::new(
        rules,
        shoal_detect::EngineOptions {
            threshold,
            ..shoal_detect::EngineOptions::default()
        },
    )
    .map_err(invalid_rules)
}

/// The detection engine of the built-in rules plus `rule_files`, reporting
/// from `threshold` up.
pub fn build_engine(
    rule_files: &[PathBuf],
    threshold: f32,
) -> Result<shoal_detect::Engine, ConfigError> {
    compile_rules(&load_rules(rule_files)?, threshold)
}

fn invalid_rules(e: shoal_detect::Error) -> ConfigError {
    ConfigError::Invalid {
        path: "rules".into(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_example_parses() {
        let text = "name: worker-a\nnats:\n  url: tls://nats.internal:4222\n  creds: /run/secrets/worker.creds\nkeyset: /etc/shoal/keyset.json\nslots: 2\nsources:\n  - { kind: fs, id: shared-drive, root: /mnt/shared }\n";
        let c: WorkerConfig = serde_yaml_ng::from_str(text).unwrap();
        assert_eq!(c.slots, Some(2));
        assert_eq!(c.sources[0].id(), "shared-drive");
        assert_eq!(c.grace_period_secs, 30);
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(serde_yaml_ng::from_str::<WorkerConfig>("slot: 2\n").is_err());
        assert!(serde_yaml_ng::from_str::<WorkerConfig>("nats: {urls: x}\n").is_err());
    }
}
