//! The data sources of shoal: one module per store, each with `plan()` for the
//! dispatcher and `read()` for the worker. Sources know no detection: `plan`
//! cuts a source into [`ChunkSpec`]s small enough to scan in seconds, and
//! `read` hands each record of a chunk (a file, an object, a row, a message
//! part) to a [`RecordVisitor`] as a stream of bytes, reporting records it
//! cannot read as [`Skipped`] so the rest of the chunk goes on.
//!
//! The closed set of kinds travels on the wire as [`ChunkSpec`]; the
//! behaviour is the [`Source`] trait, built from configuration by one `match`
//! in [`build`]. Today the file-tree source (`fs`) is implemented; the other
//! kinds are refused with [`Error::Unsupported`] until their issue lands.

use std::io::Read;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shoal_schemas::{ChunkSpec, Skipped};

pub mod fs;

/// What can go wrong planning or reading a chunk as a whole. Errors of one
/// record are not errors of the chunk: they become [`Skipped`] entries.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error that retrying may fix (the store is down, a timeout).
    #[error("{what}: {source}")]
    Io {
        /// What was being read.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The chunk or configuration asks for something this source refuses
    /// (a path outside the root, a spec of another kind); retrying cannot fix it.
    #[error("invalid: {0}")]
    Invalid(String),
    /// This kind of source is not implemented in this build.
    #[error("source kind `{0}` is not supported by this build")]
    Unsupported(String),
    /// The visitor asked to stop (for example the scan was cancelled, or the
    /// findings could not be published).
    #[error("stopped: {0}")]
    Stopped(String),
}

impl Error {
    /// Whether trying the same chunk again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Io { .. } | Error::Stopped(_))
    }
}

/// Which records of a source a scan covers: globs over the record's path
/// (file path relative to the root, object key), `include` first, then
/// `exclude`. As in `.gitignore`, a glob without `/` matches at any depth
/// and a directory name covers what is below it: `*.csv` matches
/// `exports/users.csv`, `vendor` matches `a/vendor/lib.js`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    include: Option<globset::GlobSet>,
    exclude: Option<globset::GlobSet>,
}

impl Filter {
    /// A filter from glob patterns; an empty `include` means everything.
    pub fn new(include: &[String], exclude: &[String]) -> Result<Filter, Error> {
        fn set(globs: &[String]) -> Result<Option<globset::GlobSet>, Error> {
            if globs.is_empty() {
                return Ok(None);
            }
            let mut b = globset::GlobSetBuilder::new();
            for g in globs {
                let g = g.trim_start_matches("./");
                let mut forms = vec![g.to_owned(), format!("{g}/**")];
                if !g.contains('/') {
                    forms.push(format!("**/{g}"));
                    forms.push(format!("**/{g}/**"));
                }
                for form in forms {
                    let glob = globset::GlobBuilder::new(&form)
                        .literal_separator(true)
                        .build()
                        .map_err(|e| Error::Invalid(format!("glob `{g}`: {e}")))?;
                    b.add(glob);
                }
            }
            b.build()
                .map(Some)
                .map_err(|e| Error::Invalid(format!("globs: {e}")))
        }
        Ok(Filter {
            include: set(include)?,
            exclude: set(exclude)?,
        })
    }

    /// Whether a record at `path` is in the scan.
    pub fn admits(&self, path: &str) -> bool {
        self.include.as_ref().is_none_or(|s| s.is_match(path))
            && !self.exclude.as_ref().is_some_and(|s| s.is_match(path))
    }
}

/// How big a chunk may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChunkLimits {
    /// Bytes of data per chunk (a larger single record is a chunk of its own).
    pub max_bytes: u64,
    /// Records per chunk.
    pub max_records: usize,
}

impl ChunkLimits {
    /// 8 MiB: a few tens of milliseconds of detection per chunk on one core,
    /// and 128 chunk messages per scanned GiB.
    pub const DEFAULT_MAX_BYTES: u64 = 8 * 1024 * 1024;
    /// Records per chunk. Small files fill a chunk by count before bytes:
    /// at 1,024 (with the file planner's 32 KiB cap on a task's paths) a
    /// chunk of source files still holds several MiB, so the fixed cost of
    /// a chunk (about ten JetStream operations and one sink transaction) is
    /// paid half as often as at 256.
    pub const DEFAULT_MAX_RECORDS: usize = 1024;
}

impl Default for ChunkLimits {
    fn default() -> Self {
        ChunkLimits {
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_records: Self::DEFAULT_MAX_RECORDS,
        }
    }
}

/// One record of a chunk, handed to a visitor as a stream of bytes.
pub struct Record<'a> {
    /// File path, object key, `schema.table`, ... as reported in findings.
    pub path: String,
    /// Archive member or message part, when the record is inside one.
    pub member: Option<String>,
    /// Primary key or message id, when the record is a row or a message.
    pub row: Option<String>,
    /// Column, JSON key or CSV header the bytes sit under, when known.
    pub field: Option<String>,
    /// The bytes.
    pub reader: &'a mut dyn Read,
}

/// Receives the records of a chunk.
pub trait RecordVisitor {
    /// One record. An error stops the chunk.
    fn record(&mut self, record: Record<'_>) -> Result<(), Error>;
    /// A record that could not be read; the chunk goes on.
    fn skipped(&mut self, skipped: Skipped);
}

/// A store shoal can scan.
pub trait Source: Send + Sync {
    /// The configured id, e.g. `billing-bucket`.
    fn id(&self) -> &str;
    /// The kind, as in [`ChunkSpec::kind`].
    fn kind(&self) -> &'static str;
    /// Cuts the records `filter` admits into chunks, handing each to `emit`
    /// as soon as it is complete, so planning a large source holds one chunk
    /// in memory. An error from `emit` stops planning.
    fn plan(
        &self,
        filter: &Filter,
        limits: &ChunkLimits,
        emit: &mut dyn FnMut(ChunkSpec) -> Result<(), Error>,
    ) -> Result<(), Error>;
    /// Reads the records of one chunk.
    fn read(&self, spec: &ChunkSpec, visitor: &mut dyn RecordVisitor) -> Result<(), Error>;
}

/// How to reach one source, by id. Workers and the dispatcher each have a
/// list of these; a worker reads with credentials from its own environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    /// A directory tree on a file system the process can read.
    Fs {
        /// Source id, a subject token (`[A-Za-z0-9_-]`).
        id: String,
        /// The directory (or single file) to scan.
        root: std::path::PathBuf,
        /// Honour `.gitignore`, `.ignore` and similar files while planning.
        #[serde(default)]
        respect_ignore: bool,
    },
    /// An S3 bucket (not implemented yet).
    S3 {
        /// Source id.
        id: String,
        /// Bucket name.
        bucket: String,
    },
}

impl SourceConfig {
    /// The source id.
    pub fn id(&self) -> &str {
        match self {
            SourceConfig::Fs { id, .. } | SourceConfig::S3 { id, .. } => id,
        }
    }
}

/// Builds the source a configuration describes.
pub fn build(config: &SourceConfig) -> Result<Arc<dyn Source>, Error> {
    shoal_schemas::subjects::check_token(config.id())
        .map_err(|e| Error::Invalid(format!("source id: {e}")))?;
    match config {
        SourceConfig::Fs {
            id,
            root,
            respect_ignore,
        } => Ok(Arc::new(
            fs::FsSource::new(id.clone(), root.clone()).respect_ignore(*respect_ignore),
        )),
        SourceConfig::S3 { .. } => Err(Error::Unsupported("s3".into())),
    }
}

/// Sources by id.
#[derive(Clone, Default)]
pub struct Sources {
    by_id: std::collections::HashMap<String, Arc<dyn Source>>,
}

impl Sources {
    /// Builds every configured source; duplicate ids are refused.
    pub fn from_configs(configs: &[SourceConfig]) -> Result<Sources, Error> {
        let mut s = Sources::default();
        for c in configs {
            s.insert(build(c)?)?;
        }
        Ok(s)
    }

    /// Adds a source; its id must be new.
    pub fn insert(&mut self, source: Arc<dyn Source>) -> Result<(), Error> {
        let id = source.id().to_owned();
        if self.by_id.insert(id.clone(), source).is_some() {
            return Err(Error::Invalid(format!("duplicate source id `{id}`")));
        }
        Ok(())
    }

    /// The source with this id.
    pub fn get(&self, id: &str) -> Option<&Arc<dyn Source>> {
        self.by_id.get(id)
    }

    /// The ids, sorted.
    pub fn ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.by_id.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.ids()).finish()
    }
}
