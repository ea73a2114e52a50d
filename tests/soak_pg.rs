//! A chaos soak of the render farm on a real PostgreSQL server (`pg_support`): a generated book of many
//! chunks, rendered by a coordinator (`ws-book render`) and 4 `ws-book worker --wait` processes while a
//! seeded chaos loop SIGKILLs workers (and starts new ones), freezes them (SIGSTOP, then SIGCONT), restarts
//! the database server, and SIGTERMs workers (exit 143, leases released; a new one is started). Then: every
//! chunk completed exactly once, nothing leased, every worker row stopped, no `.partial` file left, no
//! database session left, and the audio bit-identical to a single-worker SQLite render of the same book.
//!
//! Knobs (defaults: the CI size, about 40 s of chaos, ~2.5 min in all on 2 cores; the single-worker reference render dominates):
//! - `WS_BOOK_SOAK_SENTENCES` (default 120): sentences of the generated manuscript;
//! - `WS_BOOK_SOAK_SECS` (default 40): seconds of chaos (the engine delay is set so the queue lasts about
//!   that long; chaos stops earlier when the queue is done);
//! - `WS_BOOK_SOAK_SEED` (default 1): the chaos schedule's seed.
//!
//! The summary line is printed to stdout: `cargo test --test soak_pg -- --nocapture` shows it.

mod pg_support;
mod render_support;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use pg_support::{runtime, signal, states, PgServer};
use render_support::{assert_same_audio, wait_until, DemoProject};
use ws_book::store::{Store, WorkerRow};

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}

/// splitmix64: a small seeded generator, so a failing schedule can be replayed with its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// A manuscript of `sentences` short sentences in a few chapters, narration and some dialogue. Every
/// sentence has its own number: no two chunks share audio (a shared store key is reused, not rendered).
fn manuscript(sentences: u64) -> String {
    const WHO: [&str; 6] = [
        "The keeper",
        "Mira",
        "The old dog",
        "A fisherman",
        "The wind",
        "Her grandmother",
    ];
    const DID: [&str; 6] = [
        "watched the grey water",
        "counted the boats in the harbour",
        "climbed the narrow stairs",
        "listened to the gulls",
        "wrote a short letter",
        "lit the great lamp again",
    ];
    const WHEN: [&str; 5] = [
        "at dawn",
        "after supper",
        "in the rain",
        "before the storm",
        "late that night",
    ];
    let chapters = (sentences / 80).clamp(3, 12);
    let mut s = String::from("---\ntitle: The Long Watch\nauthor: ws-book soak test\nlanguage: en\n---\n");
    for i in 0..sentences {
        let ch = i * chapters / sentences;
        if i == 0 || (i - 1) * chapters / sentences != ch {
            s.push_str(&format!("\n# Chapter {}: Watch {}\n\n", ch + 1, ch + 1));
        }
        let line = match i % 7 {
            3 => format!("On day {} Mira said, \"We have {} boats left.\"", i + 1, i + 2),
            6 => format!(
                "Tomasz answered on day {}, \"Then we wait for number {}.\"",
                i + 1,
                i + 3
            ),
            _ => format!(
                "{} {} {}, on day {}.",
                WHO[(i % 6) as usize],
                DID[(i / 6 % 6) as usize],
                WHEN[(i / 36 % 5) as usize],
                i + 1
            ),
        };
        s.push_str(&line);
        s.push_str(if i % 3 == 2 { "\n\n" } else { " " });
    }
    s.push('\n');
    s
}

fn book(text: &str) -> DemoProject {
    let p = DemoProject::new();
    std::fs::write(p.story(), text).unwrap();
    p
}

/// A child process whose stdout and stderr go to files (a long soak fills no pipe).
struct Proc {
    child: Child,
    name: String,
    log: PathBuf,
}

impl Proc {
    fn spawn(p: &DemoProject, logs: &Path, name: String, args: &[&str], delay_ms: u64) -> Proc {
        let log = logs.join(format!("{name}.log"));
        let out = logs.join(format!("{name}.out"));
        let child = p
            .cmd(args)
            .env(ws_book::engine::CHUNK_DELAY_ENV, delay_ms.to_string())
            .stdin(Stdio::null())
            .stdout(File::create(&out).unwrap())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Proc { child, name, log }
    }
    fn pid(&self) -> u32 {
        self.child.id()
    }
    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
    fn stdout(&self) -> String {
        std::fs::read_to_string(self.log.with_extension("out")).unwrap_or_default()
    }
    /// Waits (polling, at most `secs`) for the process to exit.
    fn wait(&mut self, secs: u64) -> ExitStatus {
        let t0 = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(secs),
                "{} (pid {}) still runs after {secs} s: {}",
                self.name,
                self.pid(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

struct Farm<'a> {
    p: &'a DemoProject,
    url: &'a str,
    logs: &'a Path,
    delay_ms: u64,
    started: usize,
    workers: Vec<Proc>,
}

impl Farm<'_> {
    fn start_worker(&mut self) {
        let name = format!("worker-{}", self.started);
        self.started += 1;
        let args = [
            "worker",
            "--db",
            self.url,
            "--engine",
            "espeak",
            "--wait",
            "--lease-secs",
            "2",
            "--json",
        ];
        let w = Proc::spawn(self.p, self.logs, name, &args, self.delay_ms);
        self.workers.push(w);
    }
    /// Every worker is still running (none died on its own).
    fn check_alive(&mut self) {
        for w in &mut self.workers {
            if let Some(st) = w.child.try_wait().unwrap() {
                panic!("{} (pid {}) exited on its own ({st}): {}", w.name, w.pid(), w.stderr());
            }
        }
    }
}

fn worker_rows(rt: &tokio::runtime::Runtime, url: &str) -> Option<Vec<WorkerRow>> {
    rt.block_on(async {
        let store = Store::open(url).await.ok()?;
        let w = store.workers().await.ok();
        store.close().await;
        w
    })
}

/// The pid in a worker id `host:pid:n`.
fn owner_pid(owner: &str) -> Option<u32> {
    owner.split(':').nth(1)?.parse().ok()
}

/// Waits until every running worker has registered (it then has its signal handlers, and has opened the
/// database: a worker that cannot open it at start exits instead of retrying).
fn wait_registered(rt: &tokio::runtime::Runtime, farm: &mut Farm) {
    let pids: Vec<u32> = farm.workers.iter().map(|w| w.pid()).collect();
    let t0 = Instant::now();
    loop {
        farm.check_alive();
        let rows = worker_rows(rt, farm.url).unwrap_or_default();
        if pids.iter().all(|p| rows.iter().any(|r| r.info.pid == *p)) {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "workers {pids:?} never registered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `.partial` files under `dir`, recursively.
fn partial_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = e.path();
        if path.is_dir() {
            partial_files(&path, found);
        } else if path.to_string_lossy().ends_with(".partial") {
            found.push(path);
        }
    }
}

#[derive(Default, Debug)]
struct Counts {
    kills: u32,
    freezes: u32,
    db_restarts: u32,
    sigterms: u32,
}

#[test]
fn a_render_farm_rides_out_a_chaos_soak_with_bit_identical_audio() {
    let wall = Instant::now();
    let sentences = env_u64("WS_BOOK_SOAK_SENTENCES", 120).max(10);
    let chaos_secs = env_u64("WS_BOOK_SOAK_SECS", 40).max(5);
    let seed = env_u64("WS_BOOK_SOAK_SEED", 1);
    let text = manuscript(sentences);

    // The reference: one worker, SQLite, no delay, no chaos.
    let reference = book(&text);
    let (out, v) = reference.render(&["--workers", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let chunks = v["chunks"]["total"].as_u64().unwrap();
    let reference_secs = wall.elapsed().as_secs_f64();
    eprintln!("soak: reference render of {chunks} chunks in {reference_secs:.1} s");

    // The engine delay makes the queue last about `chaos_secs` with ~4 workers busy.
    let delay_ms = (chaos_secs * 1000 * 4 / chunks).clamp(20, 5000);
    let rt = runtime();
    let server = PgServer::start();
    let url = server.fresh_db();
    let db_name = url.rsplit('/').next().unwrap().to_string();
    let p = book(&text);
    let logs = tempfile::tempdir().unwrap();
    let yaml = p.yaml().display().to_string();
    let render_args = [
        "render",
        &yaml,
        "--engine",
        "espeak",
        "--json",
        "--progress",
        "quiet",
        "--workers",
        "1",
        "--lease-secs",
        "2",
        "--db",
        &url,
    ];
    let mut render = Proc::spawn(&p, logs.path(), "render".into(), &render_args, delay_ms);
    wait_until("the render queues its chunks", || states(&rt, &url).is_some());
    let mut farm = Farm {
        p: &p,
        url: &url,
        logs: logs.path(),
        delay_ms,
        started: 0,
        workers: Vec::new(),
    };
    for _ in 0..4 {
        farm.start_worker();
    }

    // The chaos loop: one action every 0.5–2 s until the queue is done or `chaos_secs` have passed.
    let mut rng = Rng(seed);
    let mut n = Counts::default();
    let chaos = Instant::now();
    let mut last_restart = Instant::now();
    let all_done =
        |rt: &tokio::runtime::Runtime| states(rt, &url).is_some_and(|s| s.iter().all(|c| c.status == "done"));
    let max_actions = chaos_secs * 2;
    for _ in 0..max_actions {
        if chaos.elapsed() > Duration::from_secs(chaos_secs) || all_done(&rt) {
            break;
        }
        if let Some(st) = render.child.try_wait().unwrap() {
            panic!("the render exited during the chaos ({st}): {}", render.stderr());
        }
        farm.check_alive();
        std::thread::sleep(Duration::from_millis(rng.range(500, 2000)));
        let i = rng.range(0, farm.workers.len() as u64) as usize;
        match rng.range(0, 100) {
            // SIGKILL a worker and start a new one (after reaping it: a new worker releases the leases of
            // dead local workers, and a zombie still counts as alive).
            0..=29 => {
                let mut w = farm.workers.remove(i);
                signal(w.pid(), "-KILL");
                let st = w.wait(60);
                assert!(!st.success(), "{} was killed: {st}", w.name);
                n.kills += 1;
                farm.start_worker();
            }
            // Freeze a worker for 0.5–5 s (often past its 2 s lease), then let it go on.
            30..=59 => {
                let pid = farm.workers[i].pid();
                signal(pid, "-STOP");
                std::thread::sleep(Duration::from_millis(rng.range(500, 5000)));
                signal(pid, "-CONT");
                n.freezes += 1;
            }
            // SIGTERM a registered worker: it exits 143 and leaves no lease behind; start a new one.
            60..=84 => {
                wait_registered(&rt, &mut farm);
                let mut w = farm.workers.remove(i);
                signal(w.pid(), "-TERM");
                let st = w.wait(120);
                assert_eq!(st.code(), Some(143), "{} after SIGTERM: {}", w.name, w.stderr());
                let rows = states(&rt, &url).unwrap();
                let kept: Vec<_> = rows
                    .iter()
                    .filter(|c| c.lease_owner.as_deref().and_then(owner_pid) == Some(w.pid()))
                    .collect();
                assert!(kept.is_empty(), "{} kept leases after SIGTERM: {kept:?}", w.name);
                n.sigterms += 1;
                farm.start_worker();
            }
            // Restart the database server (at most every 10 s), down for 0.5–7 s: longer than the pool's
            // 5 s acquire timeout at times. Every worker is registered first (one that cannot open the
            // database at start exits instead of retrying).
            _ => {
                if last_restart.elapsed() < Duration::from_secs(10) {
                    continue;
                }
                wait_registered(&rt, &mut farm);
                server.stop();
                std::thread::sleep(Duration::from_millis(rng.range(500, 7000)));
                server.restart();
                last_restart = Instant::now();
                n.db_restarts += 1;
            }
        }
    }
    let chaos_wall = chaos.elapsed().as_secs_f64();

    // The queue drains; the coordinator assembles and exits 0.
    let st = render.wait(600 + chaos_secs * 4);
    assert_eq!(st.code(), Some(0), "render: {}", render.stderr());
    let v: serde_json::Value = serde_json::from_str(&render.stdout()).unwrap();
    assert_eq!(v["complete"], true, "{v}");
    assert_eq!(v["chunks"]["total"].as_u64(), Some(chunks), "{v}");
    farm.check_alive();
    let mut by_workers = 0;
    for w in &mut farm.workers {
        signal(w.pid(), "-TERM");
    }
    for w in &mut farm.workers {
        let st = w.wait(120);
        assert!(
            matches!(st.code(), Some(143 | 0)),
            "{} at the end: {st}: {}",
            w.name,
            w.stderr()
        );
        let r: serde_json::Value = serde_json::from_str(&w.stdout()).unwrap();
        by_workers += r["done"].as_u64().unwrap();
    }

    // Every chunk completed exactly once, none leased; every worker row stopped (killed workers' rows by the
    // workers started after them).
    let rows = states(&rt, &url).unwrap();
    assert_eq!(rows.len() as u64, chunks);
    let duplicates: u32 = rows.iter().map(|c| c.completions.saturating_sub(1)).sum();
    for c in &rows {
        assert_eq!(
            (c.status.as_str(), c.completions, c.lease_owner.as_deref()),
            ("done", 1, None),
            "chunk {}/{}: {c:?}; chunks with its store key: {}",
            c.chapter,
            c.index,
            rows.iter().filter(|o| o.store_key == c.store_key).count()
        );
    }
    let workers = worker_rows(&rt, &url).unwrap();
    let running: Vec<_> = workers.iter().filter(|w| !w.stopped).map(|w| &w.info.id).collect();
    assert!(running.is_empty(), "worker rows not stopped: {running:?}");
    let counted: u64 = workers.iter().map(|w| w.chunks_done).sum();
    assert_eq!(counted, chunks, "each completion is counted for exactly one worker");
    assert!(by_workers > 0, "the standalone workers took part");

    let mut partial = Vec::new();
    partial_files(&p.out(), &mut partial);
    assert!(partial.is_empty(), "temporary files left: {partial:?}");
    assert_same_audio(&reference, &p);

    // No database session left once every process has exited (backends end shortly after their clients).
    let t0 = Instant::now();
    let mut sessions = server.connections(&db_name);
    while sessions > 0 && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(200));
        sessions = server.connections(&db_name);
    }
    assert_eq!(sessions, 0, "sessions left on database {db_name}");

    println!(
        "soak: {chunks} chunks ({sentences} sentences, delay {delay_ms} ms), {} kills, {} freezes, {} DB \
         restarts, {} SIGTERMs, {} workers started, {duplicates} duplicate completions; reference {:.1} s, \
         chaos {chaos_wall:.1} s, wall {:.1} s (seed {seed})",
        n.kills,
        n.freezes,
        n.db_restarts,
        n.sigterms,
        farm.started,
        reference_secs,
        wall.elapsed().as_secs_f64()
    );
}
