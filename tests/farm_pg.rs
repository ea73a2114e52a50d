//! A render farm on a real PostgreSQL server (started by `pg_support`): worker processes on one
//! render of the demo book with the espeak draft engine. SIGKILL a worker mid-chunk and freeze another
//! past its lease: every chunk is completed exactly once, the frozen worker's late completion is fenced,
//! and the audio is bit-identical to a single-worker SQLite render. Also: a database restart during a
//! render, and a worker of another engine version refusing to claim.

mod pg_support;
mod render_support;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use pg_support::{runtime, signal, states, PgServer};
use render_support::{assert_same_audio, reference_render, wait_until, DemoProject};
use ws_book::store::{ChunkState, PlannedChunk, RenderSpec, Store};

fn spawn_render(p: &DemoProject, url: &str, delay_ms: &str) -> Child {
    let yaml = p.yaml().display().to_string();
    p.cmd(&[
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
        url,
    ])
    .env(ws_book::engine::CHUNK_DELAY_ENV, delay_ms)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

fn spawn_worker(p: &DemoProject, url: &str, delay_ms: &str) -> Child {
    p.cmd(&[
        "worker",
        "--db",
        url,
        "--engine",
        "espeak",
        "--lease-secs",
        "2",
        "--json",
    ])
    .env(ws_book::engine::CHUNK_DELAY_ENV, delay_ms)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

fn wait_for_render(rt: &tokio::runtime::Runtime, url: &str) {
    wait_until("the render queues its chunks", || states(rt, url).is_some());
}

/// The first chunk leased by one of `pids` (worker ids are `host:pid:n`): (pid, chapter, index).
fn leased_by(rows: &[ChunkState], pids: &[u32]) -> Option<(u32, u32, u32)> {
    rows.iter().find_map(|s| {
        let owner = s.lease_owner.as_deref()?;
        let pid: u32 = owner.split(':').nth(1)?.parse().ok()?;
        (s.status == "leased" && pids.contains(&pid)).then_some((pid, s.chapter, s.index))
    })
}

#[test]
fn three_workers_sigkill_and_a_frozen_worker_still_give_bit_identical_audio() {
    let rt = runtime();
    let (reference, _) = reference_render();

    let server = PgServer::start();
    let url = server.fresh_db();
    let p = DemoProject::new();
    let render = spawn_render(&p, &url, "300");
    wait_for_render(&rt, &url);
    let mut workers: Vec<Child> = (0..3).map(|_| spawn_worker(&p, &url, "300")).collect();
    let pids: Vec<u32> = workers.iter().map(|w| w.id()).collect();

    // SIGKILL the first standalone worker seen holding a lease (mid-chunk), then freeze (SIGSTOP) another
    // one mid-chunk for longer than its lease so its chunk is taken over.
    let t0 = Instant::now();
    let (killed, killed_chunk) = loop {
        assert!(t0.elapsed() < Duration::from_secs(120), "no worker ever held a lease");
        if let Some((pid, ch, ix)) = states(&rt, &url).and_then(|s| leased_by(&s, &pids)) {
            signal(pid, "-KILL");
            break (pid, (ch, ix));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let alive: Vec<u32> = pids.iter().copied().filter(|p| *p != killed).collect();
    let (frozen, frozen_chunk) = loop {
        assert!(t0.elapsed() < Duration::from_secs(120), "no second worker held a lease");
        if let Some((pid, _, _)) = states(&rt, &url).and_then(|s| leased_by(&s, &alive)) {
            signal(pid, "-STOP");
            // Frozen now, its leases are stable: take the chunk it holds (it may have moved on between
            // the read and the signal); if it holds none (between claims), let it go and try again.
            std::thread::sleep(Duration::from_millis(50));
            if let Some((_, ch, ix)) = states(&rt, &url).and_then(|s| leased_by(&s, &[pid])) {
                break (pid, (ch, ix));
            }
            signal(pid, "-CONT");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // Wait until someone else completed the frozen worker's chunk, then let it go on: its completion
    // must be refused (the lease token no longer matches).
    let t1 = Instant::now();
    loop {
        let s = states(&rt, &url).unwrap();
        let row = s.iter().find(|s| (s.chapter, s.index) == frozen_chunk).unwrap();
        if row.status == "done" {
            break;
        }
        assert!(
            t1.elapsed() < Duration::from_secs(120),
            "the frozen worker's chunk was never taken over"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(frozen, "-CONT");

    let out = render.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["complete"], true);
    let mut lease_lost = 0;
    let mut standalone_done = 0;
    for w in workers.iter_mut() {
        let pid = w.id();
        let status = w.wait().unwrap();
        if pid == killed {
            assert!(!status.success(), "the killed worker was killed");
            continue;
        }
        let mut s = String::new();
        std::io::Read::read_to_string(w.stdout.as_mut().unwrap(), &mut s).unwrap();
        assert!(status.success(), "worker {pid} failed: {s}");
        let r: serde_json::Value = serde_json::from_str(&s).unwrap();
        standalone_done += r["done"].as_u64().unwrap();
        if pid == frozen {
            lease_lost += r["lease_lost"].as_u64().unwrap();
        }
    }
    assert!(lease_lost >= 1, "the frozen worker's late completion was fenced");
    assert!(standalone_done > 0, "the standalone workers took part");

    // Every chunk completed exactly once, including the killed and the frozen workers' chunks.
    let rows = states(&rt, &url).unwrap();
    for s in &rows {
        assert_eq!(
            (s.status.as_str(), s.completions),
            ("done", 1),
            "chunk {}/{}",
            s.chapter,
            s.index
        );
    }
    assert!(rows.iter().any(|s| (s.chapter, s.index) == killed_chunk));
    let workers_rows = rt.block_on(async {
        let s = Store::open(&url).await.unwrap();
        s.workers().await.unwrap()
    });
    let by_workers: u64 = workers_rows.iter().map(|w| w.chunks_done).sum();
    assert_eq!(
        by_workers,
        rows.len() as u64,
        "each completion is counted for exactly one worker"
    );
    assert!(
        workers_rows.len() >= 4,
        "render worker + 3 standalone workers registered"
    );

    assert_same_audio(&reference, &p);

    // `status --db URL` lists the render and the workers with host, device and RTF.
    let out = p.cmd(&["status", "--db", &url]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("project.yaml") && text.contains("RTF") && text.contains("heartbeat"),
        "{text}"
    );
    assert!(text.contains(&format!(":{frozen}:")), "{text}");
    let out = p.cmd(&["status", "--db", &url, "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["renders"][0]["done"], v["renders"][0]["total"]);
    assert!(v["workers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["rtf"].as_f64().is_some_and(|r| r > 0.0) && w["info"]["device"] == "cpu"));
}

#[test]
fn a_database_restart_during_a_render_is_ridden_out() {
    let rt = runtime();
    let (reference, _) = reference_render();

    let server = PgServer::start();
    let url = server.fresh_db();
    let p = DemoProject::new();
    let render = spawn_render(&p, &url, "200");
    wait_for_render(&rt, &url);
    let workers: Vec<Child> = (0..2).map(|_| spawn_worker(&p, &url, "200")).collect();
    let t0 = Instant::now();
    let total = states(&rt, &url).unwrap().len();
    loop {
        let done = states(&rt, &url).unwrap().iter().filter(|s| s.status == "done").count();
        assert!(done < total, "the render finished before the restart");
        if done >= 2 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no progress before the restart"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Restart the database mid-render: sessions are terminated, connections refused for longer than the
    // pool's 5 s acquire timeout, so the workers' own retry with back-off is what rides it out.
    server.stop();
    std::thread::sleep(Duration::from_secs(7));
    server.restart();
    let after = states(&rt, &url).unwrap();
    assert!(
        after.iter().any(|s| s.status != "done"),
        "the restart happened mid-render"
    );

    let out = render.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let mut reconnected = 0;
    let mut logs = String::new();
    for w in workers {
        let out = w.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        if err.contains("database unreachable") && err.contains("database reachable again") {
            reconnected += 1;
        }
        logs.push_str(&err);
    }
    assert!(reconnected >= 1, "a worker lost the database and reconnected: {logs}");
    let rows = states(&rt, &url).unwrap();
    assert!(
        rows.iter().all(|s| s.status == "done" && s.completions == 1),
        "{rows:?}"
    );
    assert_same_audio(&reference, &p);
}

#[test]
fn a_worker_gives_up_after_reconnect_secs_without_the_database() {
    let rt = runtime();
    let server = PgServer::start();
    let url = server.fresh_db();
    let p = DemoProject::new();
    let mut render = spawn_render(&p, &url, "300");
    wait_for_render(&rt, &url);
    let mut worker = p
        .cmd(&[
            "worker",
            "--db",
            &url,
            "--engine",
            "espeak",
            "--lease-secs",
            "2",
            "--reconnect-secs",
            "2",
        ])
        .env(ws_book::engine::CHUNK_DELAY_ENV, "300")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while states(&rt, &url).unwrap().iter().filter(|s| s.status == "done").count() < 2 {
        assert!(t0.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The database goes away for good: the worker retries for --reconnect-secs (plus the pool's 5 s
    // connect timeout per attempt), then exits with the error instead of the default 300 s.
    server.stop();
    let stopped = Instant::now();
    let status = loop {
        if let Some(st) = worker.try_wait().unwrap() {
            break st;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(60),
            "the worker still retries 60 s after the database went away"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = worker.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!status.success(), "{err}");
    assert!(
        err.contains("database unreachable while trying to") && err.contains("(--reconnect-secs 2), giving up"),
        "{err}"
    );
    assert!(!err.contains("database reachable again"), "{err}");
    let _ = render.kill();
    let _ = render.wait();
}

#[test]
fn a_worker_of_another_engine_version_refuses_to_claim_and_says_why() {
    let rt = runtime();
    let url = pg_support::shared().fresh_db();
    rt.block_on(async {
        let s = Store::open(&url).await.unwrap();
        let spec = RenderSpec {
            name: "book.yaml".into(),
            title: "T".into(),
            author: "A".into(),
            engine: "whisperspeech".into(),
            fingerprint: "whisperspeech/0.8.9 t2s:abc s2a:def vocos:123".into(),
            max_attempts: 3,
            audio_dir: None,
        };
        let chunk = PlannedChunk {
            chapter: 0,
            index: 0,
            plan_key: "p".into(),
            store_key: "k".into(),
            request: "{}".into(),
        };
        s.sync_plan(&spec, &["One".into()], &[chunk]).await.unwrap();
        s.close().await;
    });
    let p = DemoProject::new();
    let out = p.cmd(&["worker", "--db", &url, "--engine", "espeak"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("refuses to claim"), "{err}");
    assert!(err.contains("render `book.yaml`") && err.contains("t2s:abc"), "{err}");
    let rows = rt.block_on(async {
        let s = Store::open(&url).await.unwrap();
        let r = s.render("book.yaml").await.unwrap();
        (s.chunk_states(r.id).await.unwrap(), s.workers().await.unwrap())
    });
    assert_eq!(rows.0[0].status, "pending", "nothing was claimed");
    assert_eq!(rows.1.len(), 1, "the worker registered");
    assert!(rows.1[0].info.engine.starts_with("espeak"), "{:?}", rows.1[0].info);
}

#[test]
fn project_yaml_store_selects_postgres_and_audio_dir_keeps_audio_in_files() {
    let (reference, _) = reference_render();

    let url = pg_support::shared().fresh_db();
    let p = DemoProject::new();
    let audio_dir = p.dir.path().join("shared-audio");
    let mut yaml = std::fs::read_to_string(p.yaml()).unwrap();
    yaml.push_str(&format!("store:\n  url: {url}\n  audio_dir: {}\n", audio_dir.display()));
    std::fs::write(p.yaml(), yaml).unwrap();
    let (out, v) = p.render(&["--workers", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(v["complete"], true);
    assert!(v["db"].as_str().unwrap().starts_with("postgres://"), "{}", v["db"]);
    assert!(!p.db().exists(), "no SQLite file was created");
    // One content-addressed file per distinct chunk audio, no temporary leftovers.
    let mut files_found = Vec::new();
    for sub in std::fs::read_dir(&audio_dir).unwrap() {
        for f in std::fs::read_dir(sub.unwrap().path()).unwrap() {
            files_found.push(f.unwrap().file_name().to_string_lossy().to_string());
        }
    }
    let total = v["chunks"]["total"].as_u64().unwrap() as usize;
    assert!(!files_found.is_empty() && files_found.len() <= total, "{files_found:?}");
    assert!(
        files_found.iter().all(|f| f.ends_with(".f32le") && !f.starts_with('.')),
        "{files_found:?}"
    );
    assert_same_audio(&reference, &p);

    // audio_dir with a SQLite store is refused with a sentence naming the key.
    let q = DemoProject::new();
    let mut yaml = std::fs::read_to_string(q.yaml()).unwrap();
    yaml.push_str("store:\n  audio_dir: shared\n");
    std::fs::write(q.yaml(), yaml).unwrap();
    let (out, _) = q.render(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(err.contains("store.audio_dir needs a PostgreSQL store"), "{err}");
    // Neither a SQLite path nor a postgres URL: refused.
    let out = q.cmd(&["status", "--db", "mysql://h/db"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unsupported state database"), "{err}");
}
