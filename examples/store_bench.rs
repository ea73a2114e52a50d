//! Benchmark: claim + complete throughput of the store on PostgreSQL vs SQLite, with 1, 4 and 16
//! concurrent claimers (chunks/s), and a double-claim check (every chunk claimed and completed once). Each
//! claimer is a registered worker with its own id (as each worker loop of a farm is), so completions update
//! its `workers` row like a real worker's do.
//!
//! `cargo run --example store_bench -- [CHUNKS] [AUDIO_SAMPLES] [BATCH]` (defaults 4000 chunks, 240
//! samples, batch 1: claim 1 + complete 1; with BATCH > 1 each claim takes BATCH chunks, completed in one
//! transaction).
//! PostgreSQL: `$WS_BOOK_BENCH_PG` (a `postgres://` URL of an empty database), else a temporary server
//! started like the tests do (Debian `postgresql` package; `initdb` + `pg_ctl`).

#[path = "../tests/pg_support/mod.rs"]
mod pg_support;

use std::collections::HashSet;
use std::time::Instant;

use ws_book::store::{PlannedChunk, RenderSpec, Store, StoredAudio, WorkerInfo};

struct Run {
    backend: &'static str,
    claimers: usize,
    chunks_per_s: f64,
    double_claims: usize,
}

async fn run(
    location: &str,
    backend: &'static str,
    n: usize,
    claimers: usize,
    samples: usize,
    batch: u32,
) -> anyhow::Result<Run> {
    let store = Store::open(location).await?;
    let spec = RenderSpec {
        name: format!("bench-{claimers}-{batch}"),
        title: "Bench".into(),
        author: "".into(),
        engine: "espeak".into(),
        fingerprint: format!("fp-{claimers}-{batch}"),
        max_attempts: 3,
        audio_dir: None,
    };
    let per_chapter = 100;
    let chapters: Vec<String> = (0..n.div_ceil(per_chapter)).map(|i| format!("Chapter {i}")).collect();
    let chunks: Vec<PlannedChunk> = (0..n)
        .map(|i| PlannedChunk {
            chapter: (i / per_chapter) as u32,
            index: (i % per_chapter) as u32,
            plan_key: format!("plan-{claimers}-{batch}-{i}"),
            store_key: format!("key-{claimers}-{batch}-{i}"),
            request: format!("{{\"i\":{i}}}"),
        })
        .collect();
    let sync = store.sync_plan(&spec, &chapters, &chunks).await?;
    let audio = StoredAudio {
        sample_rate: 24_000,
        samples: (0..samples).map(|i| (i as f32 * 0.01).sin()).collect(),
    };
    let t = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..claimers {
        let store = store.clone();
        let audio = audio.clone();
        let fp = spec.fingerprint.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("w{w}-{claimers}-{batch}");
            // Registered like a real worker, so each completion also updates its counters row.
            store
                .register_worker(&WorkerInfo {
                    id: id.clone(),
                    host: "bench".into(),
                    pid: std::process::id(),
                    device: "cpu".into(),
                    engine: fp.clone(),
                })
                .await?;
            let mut mine = Vec::new();
            loop {
                let c = store.claim(&id, &fp, batch, 60_000).await?;
                if c.is_empty() {
                    break;
                }
                let items: Vec<_> = c.iter().map(|cl| (cl, &audio)).collect();
                store.complete_batch(&items, &id, 0.0).await?;
                mine.extend(c.iter().map(|cl| cl.chunk_id));
            }
            anyhow::Ok(mine)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let s = t.elapsed().as_secs_f64();
    let distinct: HashSet<_> = all.iter().collect();
    let states = store.chunk_states(sync.render_id).await?;
    let twice = states.iter().filter(|c| c.completions != 1).count();
    store.close().await;
    anyhow::ensure!(all.len() == n, "{backend}: {} of {n} chunks completed", all.len());
    Ok(Run {
        backend,
        claimers,
        chunks_per_s: all.len() as f64 / s,
        double_claims: (all.len() - distinct.len()) + twice,
    })
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let n = *args.first().unwrap_or(&4000);
    let samples = *args.get(1).unwrap_or(&240);
    let batch = *args.get(2).unwrap_or(&1) as u32;
    let server;
    let pg_url = match std::env::var("WS_BOOK_BENCH_PG") {
        Ok(u) => u,
        Err(_) => {
            server = tokio::task::spawn_blocking(pg_support::PgServer::start).await?;
            server.fresh_db()
        }
    };
    let dir = tempfile::tempdir()?;
    let mut runs = Vec::new();
    for claimers in [1usize, 4, 16] {
        let sqlite = dir.path().join(format!("bench-{claimers}.db")).display().to_string();
        runs.push(run(&sqlite, "SQLite", n, claimers, samples, batch).await?);
        runs.push(run(&pg_url, "PostgreSQL", n, claimers, samples, batch).await?);
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("store_bench: {n} chunks per run, claim {batch} + complete {batch} per round trip pair, {samples} samples of audio");
    println!(
        "load average at the end: {}",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    println!();
    println!("| claimers | SQLite chunks/s | PostgreSQL chunks/s | PostgreSQL / SQLite | double claims (SQLite, PG) |");
    println!("|---:|---:|---:|---:|---|");
    for claimers in [1usize, 4, 16] {
        let s = runs
            .iter()
            .find(|r| r.claimers == claimers && r.backend == "SQLite")
            .unwrap();
        let p = runs
            .iter()
            .find(|r| r.claimers == claimers && r.backend == "PostgreSQL")
            .unwrap();
        println!(
            "| {claimers} | {:.0} | {:.0} | {:.2}x | {}, {} |",
            s.chunks_per_s,
            p.chunks_per_s,
            p.chunks_per_s / s.chunks_per_s,
            s.double_claims,
            p.double_claims
        );
    }
    anyhow::ensure!(runs.iter().all(|r| r.double_claims == 0), "double claims seen");
    Ok(())
}
