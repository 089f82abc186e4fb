//! The swarm against one process, on the same corpus and the same two cores.
//!
//! ```text
//! cargo build --release --workspace --bins
//! cargo bench -p shoal-testkit --bench swarm
//! ```
//!
//! Corpus: text files copied from the Python standard library, C headers and
//! Perl modules already on the machine, repeated up to `SHOAL_BENCH_MIB`
//! (default 512). It reports, each as the median of `SHOAL_BENCH_ROUNDS`
//! (default 3) alternating rounds:
//! - `shoal scan --threads 2` wall time, against submit-to-done through a
//!   dispatcher and two workers on local NATS and PostgreSQL, each with a
//!   worker's default slots, one per core (`SHOAL_BENCH_SLOTS` sets them);
//! - JetStream messages per scanned GiB at the default chunk size;
//! - the workers' peak RSS;
//! - chunks planned, signed and published per second (a tree of small files,
//!   one file per chunk, no workers).
#![allow(clippy::print_stdout)]

#[path = "../tests/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::{Options, Swarm};
use shoal_testkit::workspace_bin;

const SOURCES: &[&str] = &["/usr/lib/python3", "/usr/include", "/usr/share/perl"];

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The cores this process may use, as a worker counts them.
fn cores() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// Copies text files into `dest` until `limit` bytes, repeating the sources.
fn build_corpus(dest: &Path, limit: u64) -> (u64, u64) {
    let mut roots: Vec<PathBuf> = Vec::new();
    for s in SOURCES {
        let p = Path::new(s);
        let parent = p.parent().unwrap();
        let prefix = p.file_name().unwrap().to_string_lossy().into_owned();
        if let Ok(entries) = std::fs::read_dir(parent) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    roots.push(e.path());
                }
            }
        }
    }
    let mut files = Vec::new();
    let mut stack = roots;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                files.push(e.path());
            }
        }
    }
    files.sort();
    let (mut bytes, mut count) = (0u64, 0u64);
    for copy in 0.. {
        let before = bytes;
        for f in &files {
            if bytes >= limit {
                return (bytes, count);
            }
            let Ok(data) = std::fs::read(f) else { continue };
            if data.is_empty() || data[..data.len().min(8192)].contains(&0) {
                continue;
            }
            let target = dest
                .join(format!("c{copy}"))
                .join(f.strip_prefix("/").unwrap());
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(&target, &data).unwrap();
            bytes += data.len() as u64;
            count += 1;
        }
        if bytes == before {
            break;
        }
    }
    (bytes, count)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU seconds (user + system) of process `pid`, and of its waited-for
/// children when `children` is set.
fn cpu_secs(pid: u32, children: bool) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the parenthesised command name: state is field 3.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // utime, stime, cutime, cstime are fields 14..=17 (indices 11..=14 here).
    let ticks = if children {
        f[11] + f[12] + f[13] + f[14]
    } else {
        f[11] + f[12]
    };
    ticks / 100.0
}

/// CPU seconds of `pid` and its direct children (PostgreSQL's backends).
fn tree_cpu_secs(pid: u32) -> f64 {
    let mut total = cpu_secs(pid, true);
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let ppid = std::fs::read_to_string(format!("/proc/{child}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')').and_then(|(_, r)| {
                    r.split_whitespace()
                        .nth(1)
                        .and_then(|p| p.parse::<u32>().ok())
                })
            });
        if ppid == Some(pid) {
            total += cpu_secs(child, false);
        }
    }
    total
}

/// CPU seconds of the swarm's parts: NATS, PostgreSQL, dispatcher, workers.
fn swarm_cpu(swarm: &Swarm) -> [f64; 4] {
    [
        cpu_secs(swarm.nats.pid(), false),
        swarm.pg.as_ref().map_or(0.0, |pg| tree_cpu_secs(pg.pid())),
        swarm
            .dispatcher
            .as_ref()
            .map_or(0.0, |d| cpu_secs(d.pid(), false)),
        swarm.workers.iter().map(|w| cpu_secs(w.pid(), false)).sum(),
    ]
}

/// Waits for the scan's status in KV `shoal_scans` to reach `wanted`,
/// watching the key (no polling: a poll loop would load the server it
/// measures).
async fn wait_state(swarm: &Swarm, scan_id: &str, wanted: &str) {
    use futures::StreamExt as _;
    let js = async_nats::jetstream::new(swarm.client.clone());
    let kv = js.get_key_value("shoal_scans").await.unwrap();
    let mut watch = kv.watch_with_history(scan_id).await.unwrap();
    let deadline = Duration::from_secs(600);
    loop {
        let entry = tokio::time::timeout(deadline, watch.next())
            .await
            .unwrap_or_else(|_| panic!("{}", swarm.logs()))
            .expect("watch ended")
            .unwrap();
        let status: serde_json::Value = serde_json::from_slice(&entry.value).unwrap();
        if status["state"] == wanted {
            return;
        }
    }
}

async fn messages(swarm: &Swarm, stream: &str) -> u64 {
    let js = async_nats::jetstream::new(swarm.client.clone());
    let mut s = js.get_stream(stream).await.unwrap();
    s.info().await.unwrap().state.last_sequence
}

fn main() {
    let mib = env_num("SHOAL_BENCH_MIB", 512);
    let rounds = env_num("SHOAL_BENCH_ROUNDS", 3).max(1);
    let corpus = tempfile::tempdir().unwrap();
    let (bytes, files) = build_corpus(corpus.path(), mib << 20);
    let gib = bytes as f64 / (1u64 << 30) as f64;
    println!(
        "corpus: {files} files, {:.0} MiB, from {SOURCES:?}",
        bytes as f64 / (1u64 << 20) as f64
    );
    let shoal = workspace_bin("shoal").expect("cargo build --release --workspace --bins");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut swarm = Swarm::start(Options {
            workers: 2,
            // A worker's default: one slot per core.
            slots: env_num("SHOAL_BENCH_SLOTS", cores()) as usize,
            max_records: shoal_sources::ChunkLimits::DEFAULT_MAX_RECORDS,
            max_bytes: shoal_sources::ChunkLimits::DEFAULT_MAX_BYTES,
            ack_wait_secs: 60,
            tree: Some(corpus.path().to_path_buf()),
            ..Options::default()
        })
        .await;
        let local = || {
            let started = Instant::now();
            let status = Command::new(&shoal)
                .args(["scan", "--no-ignore", "--format", "jsonl", "--threads", "2"])
                .arg(corpus.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success());
            started.elapsed().as_secs_f64()
        };
        local(); // warm the page cache
        let before = swarm_cpu(&swarm);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = swarm_cpu(&swarm);
        println!(
            "CPU seconds of an idle swarm over 2 s [nats, postgres, dispatcher, workers]: {:.2?}",
            [0, 1, 2, 3].map(|i| after[i] - before[i])
        );
        let (mut local_s, mut swarm_s) = (Vec::new(), Vec::new());
        let (mut local_cpu, mut swarm_cpu_s) = (Vec::new(), Vec::new());
        let myself = std::process::id();
        let (mut chunk_msgs, mut event_msgs, mut findings) = (0u64, 0u64, 0i64);
        for _ in 0..rounds {
            let c = cpu_secs(myself, true) - cpu_secs(myself, false);
            local_s.push(local());
            local_cpu.push(cpu_secs(myself, true) - cpu_secs(myself, false) - c);
            let before = swarm_cpu(&swarm);
            let (c0, e0) = (
                messages(&swarm, "SHOAL_CHUNKS").await,
                messages(&swarm, "SHOAL_EVENTS").await,
            );
            let started = Instant::now();
            let scan_id = swarm.submit(r#"{"v":1,"source":"fixtures"}"#).await;
            wait_state(&swarm, &scan_id, "done").await;
            swarm_s.push(started.elapsed().as_secs_f64());
            let after = swarm_cpu(&swarm);
            swarm_cpu_s.push([0, 1, 2, 3].map(|i| after[i] - before[i]));
            chunk_msgs = messages(&swarm, "SHOAL_CHUNKS").await - c0;
            event_msgs = messages(&swarm, "SHOAL_EVENTS").await - e0;
            findings = swarm
                .db
                .query_one("SELECT findings FROM scans WHERE scan_id = $1", &[&scan_id])
                .await
                .unwrap()
                .get(0);
        }
        let (l, s) = (median(local_s.clone()), median(swarm_s.clone()));
        let mibs = |secs: f64| bytes as f64 / (1u64 << 20) as f64 / secs;
        println!("shoal scan --threads 2: {local_s:.2?} s, median {l:.2} s ({:.0} MiB/s)", mibs(l));
        println!("swarm, 2 workers x {} slot(s): {swarm_s:.2?} s, median {s:.2} s ({:.0} MiB/s)", swarm.options.slots, mibs(s));
        println!("swarm overhead: {:+.1}%", (s / l - 1.0) * 100.0);
        println!("CPU seconds, shoal scan: {local_cpu:.2?}");
        println!("CPU seconds, swarm [nats, postgres, dispatcher, workers]: {swarm_cpu_s:.2?}");
        println!(
            "JetStream messages per GiB: {:.0} chunk tasks + {:.0} events ({findings} findings per scan)",
            chunk_msgs as f64 / gib,
            event_msgs as f64 / gib
        );
        let rss: Vec<f64> = swarm.workers.iter().map(|w| peak_rss_mib(w.pid())).collect();
        println!("worker peak RSS: {rss:.0?} MiB");
        swarm.workers.clear();
    });

    // Planning rate: many one-file chunks, no workers.
    let many = tempfile::tempdir().unwrap();
    let n = env_num("SHOAL_BENCH_PLAN_FILES", 20_000);
    for i in 0..n {
        let d = many.path().join(format!("d{}", i / 1000));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(format!("f{i}.txt")), "hello\n").unwrap();
    }
    runtime.block_on(async {
        let swarm = Swarm::start(Options {
            workers: 0,
            max_records: 1,
            tree: Some(many.path().to_path_buf()),
            ..Options::default()
        })
        .await;
        let started = Instant::now();
        let scan_id = swarm.submit(r#"{"v":1,"source":"fixtures"}"#).await;
        wait_state(&swarm, &scan_id, "running").await;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "planning: {n} chunks planned, signed, published and recorded in {secs:.2} s ({:.0} chunks/s)",
            n as f64 / secs
        );
    });
}
