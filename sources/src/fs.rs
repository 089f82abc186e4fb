//! File trees: a chunk is a batch of files below the source's root, read whole
//! and streamed. Paths in chunks are relative and `/`-separated; `read`
//! refuses any that would leave the root (`..`, absolute paths, or a symlink
//! swapped in since planning). Binary files (a NUL byte in the first 8 KiB)
//! are skipped with kind `binary`.

use std::fs::File;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use shoal_schemas::{ChunkSpec, FileRef, Skipped};

use crate::{ChunkLimits, Error, Filter, Record, RecordVisitor, Source};

/// How much of a file is sniffed for a NUL byte.
pub const SNIFF_BYTES: usize = 8192;

/// A directory tree (or one file).
#[derive(Debug, Clone)]
pub struct FsSource {
    id: String,
    root: PathBuf,
    respect_ignore: bool,
    display_root: bool,
    /// The root with symlinks resolved, once.
    canonical_root: std::sync::OnceLock<Option<PathBuf>>,
}

impl FsSource {
    /// The tree at `root`.
    pub fn new(id: String, root: PathBuf) -> FsSource {
        FsSource {
            id,
            root,
            respect_ignore: false,
            display_root: false,
            canonical_root: std::sync::OnceLock::new(),
        }
    }

    /// Honour `.gitignore`, `.ignore` and similar files while planning.
    pub fn respect_ignore(mut self, yes: bool) -> FsSource {
        self.respect_ignore = yes;
        self
    }

    /// Report paths with the root in front (as `shoal scan` shows them)
    /// rather than relative to it (as the swarm stores them).
    pub fn display_root(mut self, yes: bool) -> FsSource {
        self.display_root = yes;
        self
    }

    fn display(&self, rel: &str) -> String {
        if !self.display_root {
            return rel.to_owned();
        }
        let root = self.root.to_string_lossy();
        let root = root.strip_prefix("./").unwrap_or(&root);
        if rel.is_empty() {
            root.to_owned()
        } else if root == "." {
            rel.to_owned()
        } else {
            format!("{}/{rel}", root.trim_end_matches('/'))
        }
    }

    /// Opens a chunk's relative path below the root, refusing escapes: a
    /// path that is not plain and relative, a final symlink (`O_NOFOLLOW`),
    /// or a file whose real path (read back from the open descriptor, so no
    /// race) lies outside the root because a directory was swapped for a
    /// symlink. One extra `readlink` per file, not one per path component.
    fn open_confined(&self, rel: &str) -> Result<File, Refusal> {
        if rel.is_empty() {
            return File::open(&self.root).map_err(Refusal::Io);
        }
        let p = Path::new(rel);
        if !p.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(Refusal::Outside(format!(
                "path `{rel}` is not a plain relative path"
            )));
        }
        let full = self.root.join(p);
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
        let file = match options.open(&full) {
            Ok(f) => f,
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(Refusal::Outside(format!("path `{rel}` is a symlink")));
            }
            Err(e) => return Err(Refusal::Io(e)),
        };
        let root = self
            .canonical_root
            .get_or_init(|| self.root.canonicalize().ok());
        let real = opened_path(&file).or_else(|| full.canonicalize().ok());
        match (root, real) {
            (Some(root), Some(real)) if !real.starts_with(root) => Err(Refusal::Outside(format!(
                "path `{rel}` leads outside the source's root"
            ))),
            _ => Ok(file),
        }
    }
}

/// Why a file of a chunk is not read.
enum Refusal {
    Outside(String),
    Io(std::io::Error),
}

/// The path the kernel opened, on Linux.
fn opened_path(file: &File) -> Option<PathBuf> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd as _;
        std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        None
    }
}

impl Source for FsSource {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "fs"
    }

    fn plan(
        &self,
        filter: &Filter,
        limits: &ChunkLimits,
        emit: &mut dyn FnMut(ChunkSpec) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let meta = std::fs::metadata(&self.root).map_err(|source| Error::Io {
            what: self.root.display().to_string(),
            source,
        })?;
        if meta.is_file() {
            return emit(ChunkSpec::Fs {
                files: vec![FileRef {
                    path: String::new(),
                    size: meta.len(),
                }],
            });
        }
        let walker = ignore::WalkBuilder::new(&self.root)
            .hidden(false)
            .git_ignore(self.respect_ignore)
            .git_exclude(self.respect_ignore)
            .git_global(false)
            .ignore(self.respect_ignore)
            .parents(self.respect_ignore)
            .require_git(false)
            .follow_links(false)
            .sort_by_file_path(|a, b| a.cmp(b))
            .filter_entry(|e| e.file_name() != ".git")
            .build();
        let mut files = Vec::new();
        let mut bytes = 0u64;
        // Paths are capped so that a chunk task stays far below its 64 KiB.
        let mut path_bytes = 0usize;
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(source = %self.id, error = %e, "Entry skipped while planning.");
                    continue;
                }
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let Ok(rel) = entry.path().strip_prefix(&self.root) else {
                continue;
            };
            let Some(rel) = rel.to_str() else {
                tracing::warn!(source = %self.id, path = %rel.display(), "Path not UTF-8, skipped.");
                continue;
            };
            let rel = rel.replace(std::path::MAIN_SEPARATOR, "/");
            if !filter.admits(&rel) {
                continue;
            }
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            let full = !files.is_empty()
                && (bytes + size > limits.max_bytes
                    || files.len() >= limits.max_records
                    || path_bytes + rel.len() > 32 * 1024);
            if full {
                emit(ChunkSpec::Fs {
                    files: std::mem::take(&mut files),
                })?;
                bytes = 0;
                path_bytes = 0;
            }
            bytes += size;
            path_bytes += rel.len() + 16;
            files.push(FileRef { path: rel, size });
        }
        if !files.is_empty() {
            emit(ChunkSpec::Fs { files })?;
        }
        Ok(())
    }

    fn read(&self, spec: &ChunkSpec, visitor: &mut dyn RecordVisitor) -> Result<(), Error> {
        let ChunkSpec::Fs { files } = spec else {
            return Err(Error::Invalid(format!(
                "a `{}` chunk sent to file source `{}`",
                spec.kind(),
                self.id
            )));
        };
        for f in files {
            let skip = |kind: &str, message: String| Skipped {
                location: self.display(&f.path),
                kind: kind.to_owned(),
                message,
            };
            let mut file = match self.open_confined(&f.path) {
                Ok(file) => file,
                Err(Refusal::Outside(message)) => {
                    visitor.skipped(skip("outside_root", message));
                    continue;
                }
                Err(Refusal::Io(e)) => {
                    let kind = if e.kind() == std::io::ErrorKind::NotFound {
                        "not_found"
                    } else {
                        "io"
                    };
                    visitor.skipped(skip(kind, e.to_string()));
                    continue;
                }
            };
            let mut head = vec![0u8; SNIFF_BYTES];
            let mut n = 0;
            let sniffed = loop {
                if n == head.len() {
                    break Ok(());
                }
                match file.read(&mut head[n..]) {
                    Ok(0) => break Ok(()),
                    Ok(k) => n += k,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            if let Err(e) = sniffed {
                visitor.skipped(skip("io", e.to_string()));
                continue;
            }
            head.truncate(n);
            if head.contains(&0) {
                visitor.skipped(skip("binary", "binary content (NUL byte)".into()));
                continue;
            }
            let mut reader = std::io::Cursor::new(head).chain(file);
            visitor.record(Record {
                path: self.display(&f.path),
                member: None,
                row: None,
                field: None,
                reader: &mut reader,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Collect(Vec<(String, Vec<u8>)>, Vec<Skipped>);

    impl RecordVisitor for Collect {
        fn record(&mut self, r: Record<'_>) -> Result<(), Error> {
            let mut buf = Vec::new();
            r.reader.read_to_end(&mut buf).map_err(|source| Error::Io {
                what: r.path.clone(),
                source,
            })?;
            self.0.push((r.path, buf));
            Ok(())
        }
        fn skipped(&mut self, s: Skipped) {
            self.1.push(s);
        }
    }

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        for (p, body) in [
            ("a/one.txt", "1".repeat(600)),
            ("a/b/two.txt", "2".repeat(600)),
            ("three.log", "3".repeat(600)),
            ("four.txt", "4".repeat(10)),
        ] {
            std::fs::write(dir.path().join(p), body).unwrap();
        }
        std::fs::write(dir.path().join("bin.dat"), b"ab\0cd").unwrap();
        dir
    }

    fn plan(src: &FsSource, filter: &Filter, limits: ChunkLimits) -> Vec<Vec<String>> {
        let mut chunks = Vec::new();
        src.plan(filter, &limits, &mut |spec| {
            let ChunkSpec::Fs { files } = spec else {
                panic!()
            };
            chunks.push(files.into_iter().map(|f| f.path).collect());
            Ok(())
        })
        .unwrap();
        chunks
    }

    #[test]
    fn plans_every_file_once_within_limits() {
        let dir = tree();
        let src = FsSource::new("t".into(), dir.path().into());
        let limits = ChunkLimits {
            max_bytes: 1000,
            max_records: 2,
        };
        let chunks = plan(&src, &Filter::default(), limits);
        let mut all: Vec<String> = chunks.iter().flatten().cloned().collect();
        all.sort();
        assert_eq!(
            all,
            [
                "a/b/two.txt",
                "a/one.txt",
                "bin.dat",
                "four.txt",
                "three.log"
            ]
        );
        assert!(chunks.iter().all(|c| c.len() <= 2), "{chunks:?}");
        assert!(chunks.len() >= 3, "{chunks:?}");
    }

    #[test]
    fn filter_include_then_exclude() {
        let dir = tree();
        let src = FsSource::new("t".into(), dir.path().into());
        let filter = Filter::new(&["**/*.txt".into()], &["a/b/**".into()]).unwrap();
        let all: Vec<String> = plan(&src, &filter, ChunkLimits::default())
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(all, ["a/one.txt", "four.txt"]);
        let filter = Filter::new(&["a".into()], &["b".into()]).unwrap();
        let all: Vec<String> = plan(&src, &filter, ChunkLimits::default())
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(all, ["a/one.txt"], "directory names cover their contents");
        let filter = Filter::new(&["*.log".into()], &[]).unwrap();
        assert!(filter.admits("deep/down/x.log") && !filter.admits("x.txt"));
    }

    #[test]
    fn read_streams_text_and_skips_binary_and_escapes() {
        let dir = tree();
        let src = FsSource::new("t".into(), dir.path().join("a"));
        let spec = ChunkSpec::Fs {
            files: [
                "one.txt",
                "../three.log",
                "/etc/passwd",
                "gone.txt",
                "b/two.txt",
            ]
            .iter()
            .map(|p| FileRef {
                path: (*p).into(),
                size: 0,
            })
            .collect(),
        };
        let mut c = Collect(Vec::new(), Vec::new());
        src.read(&spec, &mut c).unwrap();
        let names: Vec<&str> = c.0.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, ["one.txt", "b/two.txt"]);
        assert_eq!(c.0[0].1.len(), 600);
        let kinds: Vec<&str> = c.1.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(kinds, ["outside_root", "outside_root", "not_found"]);

        let src = FsSource::new("t".into(), dir.path().into());
        let spec = ChunkSpec::Fs {
            files: vec![FileRef {
                path: "bin.dat".into(),
                size: 5,
            }],
        };
        let mut c = Collect(Vec::new(), Vec::new());
        src.read(&spec, &mut c).unwrap();
        assert!(c.0.is_empty());
        assert_eq!(c.1[0].kind, "binary");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn read_refuses_a_directory_swapped_for_a_symlink() {
        let dir = tree();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("two.txt"), "s").unwrap();
        std::fs::remove_dir_all(dir.path().join("a/b")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("a/b")).unwrap();
        let src = FsSource::new("t".into(), dir.path().into());
        let spec = ChunkSpec::Fs {
            files: vec![FileRef {
                path: "a/b/two.txt".into(),
                size: 1,
            }],
        };
        let mut c = Collect(Vec::new(), Vec::new());
        src.read(&spec, &mut c).unwrap();
        assert!(c.0.is_empty());
        assert_eq!(c.1[0].kind, "outside_root");
    }

    #[cfg(unix)]
    #[test]
    fn read_refuses_a_symlink_out_of_the_root() {
        let dir = tree();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("link")).unwrap();
        let src = FsSource::new("t".into(), dir.path().into());
        // Planning does not follow the link...
        let all: Vec<String> = plan(&src, &Filter::default(), ChunkLimits::default())
            .into_iter()
            .flatten()
            .collect();
        assert!(!all.contains(&"link".to_owned()));
        // ...and a chunk naming it is refused.
        let spec = ChunkSpec::Fs {
            files: vec![FileRef {
                path: "link".into(),
                size: 1,
            }],
        };
        let mut c = Collect(Vec::new(), Vec::new());
        src.read(&spec, &mut c).unwrap();
        assert!(c.0.is_empty());
        assert_eq!(c.1[0].kind, "outside_root");
    }

    #[test]
    fn display_root_prefixes_paths() {
        let src = FsSource::new("t".into(), "./tree".into()).display_root(true);
        assert_eq!(src.display("x/y.txt"), "tree/x/y.txt");
        assert_eq!(src.display(""), "tree");
        let src = FsSource::new("t".into(), ".".into()).display_root(true);
        assert_eq!(src.display("y.txt"), "y.txt");
    }
}
