//! Throughput of the full rule set, in MiB/s.
//!
//! `cargo bench -p shoal-detect --bench throughput [-- DIR...]`
//!
//! Corpus (a): real text gathered from the machine — by default the Python
//! standard library and the C headers in /usr/include (text files only, at
//! most `SHOAL_BENCH_MIB` MiB, default 128), or the directories given.
//! Corpus (b): a dense synthetic corpus of PII and secrets made here.
//! Each is scanned single-threaded and with every core, from memory (warm),
//! after a warm-up pass, keeping the best of `SHOAL_BENCH_ROUNDS` rounds
//! (default 3); rule compilation is timed separately.
//! `SHOAL_BENCH_REFERENCE=1` also runs every rule's pattern over all the
//! text (no prefilter; slow) and prints where the findings differ.
//! `SHOAL_BENCH_FINDINGS=FILE` writes the findings of corpus (a) to FILE
//! (record, span and rule of each, never the value) to compare two builds,
//! and the path of each record, in order, to FILE.records, to read them.
//! `SHOAL_BENCH_TOP=N` lists the N rules with the most windows (default 8).
//! `SHOAL_BENCH_SPLIT=1` also times, on one thread over corpus (a), the
//! anchor literal search alone and engines holding part of the rules, to
//! show where the time goes (the first engine to read a record pays for
//! bringing it from memory: on this machine about 0.17 ms per MiB).
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use shoal_detect::{Engine, EngineOptions, RuleSet};

fn collect(dir: &Path, budget: &mut usize, out: &mut Vec<Vec<u8>>, paths: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if *budget == 0 {
            return;
        }
        if path.is_dir() {
            collect(&path, budget, out, paths);
        } else if let Ok(bytes) = std::fs::read(&path) {
            if bytes.is_empty() || bytes[..bytes.len().min(8192)].contains(&0) {
                continue;
            }
            let take = bytes.len().min(*budget);
            *budget -= take;
            out.push(bytes[..take].to_vec());
            paths.push(path);
        }
    }
}

fn synthetic(mib: usize) -> Vec<Vec<u8>> {
    let lines = [
        "customer_name: Maria Kovacs, email maria.kovacs@brightline-logistics.hu, phone +447911123456\n",
        "card_number: 4539 1488 0343 6467 exp 09/27 SSN: 536-22-8790 IBAN GB82 WEST 1234 5698 7654 32\n",
        "export AWS_ACCESS_KEY_ID=AKIAZ3MHTJQ5F4GKRW7E\nDATABASE_URL=postgres://billing:Vq8r-Kp2mZ7x@db-prod.internal:5432/billing\n",
        "Accepted password for root from 81.2.69.77 port 52144 ssh2; DOB: 1984-03-12; NHS number: 943 476 5919\n",
        "plain filler text about the quarterly report, nothing sensitive in this line at all, just words\n",
    ];
    let mut out = Vec::new();
    let mut doc = Vec::new();
    let mut i = 0usize;
    while out.len() * 65536 < mib * 1024 * 1024 {
        while doc.len() < 65536 {
            doc.extend_from_slice(lines[i % lines.len()].as_bytes());
            i += 1;
        }
        out.push(std::mem::take(&mut doc));
    }
    out
}

/// The prefilter's counters over `docs` and the rules with the most
/// windows; with `list_to`, every finding is written to that file as well.
fn stats(
    engine: &Engine,
    docs: &[Vec<u8>],
    list_to: Option<&std::ffi::OsStr>,
) -> (shoal_detect::ScanStats, Vec<(u64, String)>) {
    let mut scanner = engine.scanner();
    let mut out = Vec::new();
    // Record, span and rule of each finding, never the value.
    let mut list = list_to.map(|_| String::new());
    for (i, doc) in docs.iter().enumerate() {
        out.clear();
        scanner.scan_slice(doc, None, &mut out);
        if let Some(list) = &mut list {
            for d in &out {
                list.push_str(&format!(
                    "{i} {} {} {}\n",
                    d.start,
                    d.end,
                    engine.rule(d.rule).id
                ));
            }
        }
    }
    if let (Some(list), Some(path)) = (list, list_to) {
        std::fs::write(path, list).expect("write the findings list");
    }
    let mut top: Vec<(u64, String)> = scanner
        .rule_windows()
        .iter()
        .enumerate()
        .map(|(i, &n)| (n, engine.rule(i).id.clone()))
        .collect();
    top.sort_unstable_by(|a, b| b.cmp(a));
    top.truncate(
        std::env::var("SHOAL_BENCH_TOP")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(8),
    );
    (scanner.stats(), top)
}

fn run(scanners: &mut [shoal_detect::Scanner<'_>], docs: &[Vec<u8>]) -> (f64, usize) {
    let total: usize = docs.iter().map(Vec::len).sum();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let found = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for scanner in scanners.iter_mut() {
            s.spawn(|| {
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(doc) = docs.get(i) else { break };
                    out.clear();
                    scanner.scan_slice(doc, None, &mut out);
                    found.fetch_add(out.len(), std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    (total as f64 / (1024.0 * 1024.0) / secs, found.into_inner())
}

/// Milliseconds per MiB of one thread over `docs`, best of `rounds`, for
/// `pass` (which scans one record).
fn ms_per_mib(docs: &[Vec<u8>], rounds: usize, mut pass: impl FnMut(&[u8])) -> f64 {
    let mib = docs.iter().map(Vec::len).sum::<usize>() as f64 / 1048576.0;
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            docs.iter().for_each(|d| pass(d));
            t.elapsed().as_secs_f64() * 1e3 / mib
        })
        .fold(f64::MAX, f64::min)
}

/// Where one thread's time goes on `docs`: the literal search alone, then
/// engines holding all the rules, the anchor rules, the digit rules, and all
/// but the IPv6 one (an engine of part of the rules does part of the work;
/// the differences say what each part costs, the search for digit runs
/// included in every engine with a digit rule).
/// `whole` is the engine of all of `set`.
fn split(set: &RuleSet, whole: &Engine, docs: &[Vec<u8>], rounds: usize) {
    literal_parts(whole, docs, rounds);
    let scan = |engine: &Engine| {
        let mut scanner = engine.scanner();
        let mut out = Vec::new();
        ms_per_mib(docs, rounds, |d| {
            out.clear();
            scanner.scan_slice(d, None, &mut out);
        })
    };
    println!(
        "  all rules ({} rules): {:.3}",
        whole.rule_count(),
        scan(whole)
    );
    type Keep = fn(&shoal_detect::Rule) -> bool;
    let parts: [(&str, Keep); 3] = [
        ("anchor rules", |r| r.digits.is_none()),
        ("digit rules", |r| r.digits.is_some()),
        ("all rules but IPv6", |r| !r.digits.is_some_and(|t| t.ipv6)),
    ];
    for (name, keep) in parts {
        let mut part = set.clone();
        part.retain(keep);
        let engine = Engine::new(&part, EngineOptions::default()).expect("engine");
        println!(
            "  {name} ({} rules): {:.3}",
            part.rules().len(),
            scan(&engine)
        );
    }
}

/// The anchor literal search alone over all the anchors, then over parts
/// of them by length: its floor is set by the short ones (see the README's
/// "What bounds it").
fn literal_parts(whole: &Engine, docs: &[Vec<u8>], rounds: usize) {
    let all = whole.anchor_literals();
    // Never in text: its bytes are control characters.
    let never = (vec![1u8, 2, 3], false);
    let long: Vec<_> = all.iter().filter(|(l, _)| l.len() >= 5).cloned().collect();
    let long_and_never: Vec<_> = long.iter().cloned().chain([never]).collect();
    let short: Vec<_> = all
        .iter()
        .filter(|(l, _)| (3..5).contains(&l.len()))
        .cloned()
        .collect();
    let time = |set: &[(Vec<u8>, bool)]| {
        let mut search = shoal_detect::LiteralSearch::new(set).expect("literals");
        ms_per_mib(docs, rounds, |d| {
            search.count(d).expect("literal search");
        })
    };
    println!(
        "  split, one thread, ms per MiB: anchor literal search alone {:.3}",
        time(all)
    );
    let parts = [
        (format!("the {} of five bytes or more", long.len()), long),
        (
            "those and one three-byte literal never found".to_owned(),
            long_and_never,
        ),
        (format!("the {} of three or four bytes", short.len()), short),
    ];
    let timed: Vec<String> = parts
        .into_iter()
        .map(|(name, set)| format!("{name} {:.3}", time(&set)))
        .collect();
    println!(
        "  literal search by anchor length ({} in all): {}",
        all.len(),
        timed.join(", ")
    );
}

/// Compares the findings with those of every rule's pattern run over all
/// the text (no prefilter), which the prefilter must equal; prints each
/// difference (record, span, rule; never the value).
fn compare_with_reference(set: &RuleSet, engine: &Engine, docs: &[Vec<u8>]) {
    let t = Instant::now();
    let reference = Engine::new(
        set,
        EngineOptions {
            prefilter: false,
            ..EngineOptions::default()
        },
    )
    .expect("engine");
    let (mut a, mut b) = (engine.scanner(), reference.scanner());
    let (mut total, mut missed, mut extra) = (0, 0, 0);
    for (i, doc) in docs.iter().enumerate() {
        let d = shoal_detect::check::differences(&mut a, &mut b, doc);
        total += d.reference;
        for (what, list, count) in [
            ("missed", &d.missed, &mut missed),
            ("extra", &d.extra, &mut extra),
        ] {
            for m in list {
                *count += 1;
                println!(
                    "    {what}: record {i} {}..{} {}",
                    m.0,
                    m.1,
                    engine.rule(m.2).id
                );
            }
        }
    }
    println!(
        "  against every pattern over all the text ({:.0} s): {total} findings, {missed} missed by the prefilter, {extra} found only by it",
        t.elapsed().as_secs_f64()
    );
}

fn main() {
    let mib: usize = std::env::var("SHOAL_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128);
    let args: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    let dirs = if args.is_empty() {
        let mut d = vec![PathBuf::from("/usr/include")];
        for py in ["/usr/lib/python3.11", "/usr/lib/python3"] {
            d.insert(0, PathBuf::from(py));
        }
        if let Ok(out) = std::process::Command::new("python3")
            .args([
                "-c",
                "import sysconfig;print(sysconfig.get_paths()['stdlib'])",
            ])
            .output()
        {
            d.insert(
                0,
                PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()),
            );
        }
        d
    } else {
        args
    };
    let mut budget = mib * 1024 * 1024;
    let mut real = Vec::new();
    let mut paths = Vec::new();
    for d in &dirs {
        collect(d, &mut budget, &mut real, &mut paths);
    }
    let t = Instant::now();
    let set = RuleSet::builtin().expect("rules");
    let engine = Engine::new(&set, EngineOptions::default()).expect("engine");
    let compile = t.elapsed();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "rules: {} compiled in {:.0} ms",
        engine.rule_count(),
        compile.as_secs_f64() * 1e3
    );
    let synth = synthetic(mib.min(64));
    let rounds: usize = std::env::var("SHOAL_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    // SHOAL_BENCH_ONLY=real|synthetic runs one corpus (for profiling).
    let only = std::env::var("SHOAL_BENCH_ONLY").unwrap_or_default();
    for (name, docs) in [("real text", &real), ("synthetic PII/secrets", &synth)] {
        if !only.is_empty() && !name.starts_with(only.as_str()) {
            continue;
        }
        let total: usize = docs.iter().map(Vec::len).sum();
        // One scanner per thread, kept across rounds as a worker keeps its
        // own: the warm-up pass fills each regex's lazy DFA cache, which a
        // long-running scanner builds once.
        let mut scanners: Vec<_> = (0..cores).map(|_| engine.scanner()).collect();
        run(&mut scanners, docs); // warm-up
        // The best of a few rounds: this machine is shared, and a round
        // slowed down by a neighbour says nothing about the engine.
        let mut best = |threads: usize| {
            (0..rounds)
                .map(|_| run(&mut scanners[..threads], docs))
                .fold((0.0f64, 0), |a, b| if b.0 > a.0 { b } else { a })
        };
        let (one, found) = best(1);
        let (all, _) = best(cores);
        println!(
            "{name}: {:.1} MiB in {} records, {found} findings: 1 thread {one:.0} MiB/s, {cores} threads {all:.0} MiB/s ({:.0} MiB/s per core)",
            total as f64 / 1048576.0,
            docs.len(),
            all / cores as f64
        );
        // SHOAL_BENCH_FINDINGS=FILE lists corpus (a)'s findings, to compare
        // the output of two builds.
        let list_to = std::env::var_os("SHOAL_BENCH_FINDINGS").filter(|_| name == "real text");
        let (st, top) = stats(&engine, docs, list_to.as_deref());
        if let Some(list) = &list_to {
            let mut records = list.clone();
            records.push(".records");
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            std::fs::write(records, names.join("\n") + "\n").expect("write the records list");
        }
        let per_mib = |n: u64| n as f64 / (st.bytes as f64 / 1048576.0);
        println!(
            "  per MiB: {:.0} anchor hits, {:.0} digit triggers, {:.0} regex windows, {:.0} regex matches",
            per_mib(st.anchor_hits),
            per_mib(st.digit_triggers),
            per_mib(st.windows),
            per_mib(st.matches)
        );
        let top: Vec<String> = top
            .iter()
            .map(|(n, id)| format!("{id} {:.0}", per_mib(*n)))
            .collect();
        println!("  most windows per MiB: {}", top.join(", "));
        if std::env::var_os("SHOAL_BENCH_SPLIT").is_some() && name == "real text" {
            split(&set, &engine, docs, rounds);
        }
        if std::env::var_os("SHOAL_BENCH_REFERENCE").is_some() {
            compare_with_reference(&set, &engine, docs);
        }
    }
}
