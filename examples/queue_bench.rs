//! Benchmark: claim + complete throughput of the SQLite queue (chunks/s).
//!
//! `cargo run --release --example queue_bench -- [CHUNKS] [CLAIMERS] [BATCH] [AUDIO_SAMPLES]`
//! (defaults 20000 chunks, 1 claimer, batch 1, 240 samples of audio per chunk).

use std::time::Instant;

use ws_book::store::{PlannedChunk, RenderSpec, Store, StoredAudio};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let n = *args.first().unwrap_or(&20_000);
    let claimers = *args.get(1).unwrap_or(&1);
    let batch = *args.get(2).unwrap_or(&1) as u32;
    let samples = *args.get(3).unwrap_or(&240);
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("bench.db").display().to_string()).await?;
    let spec = RenderSpec {
        name: "bench".into(),
        title: "Bench".into(),
        author: "".into(),
        engine: "espeak".into(),
        fingerprint: "fp".into(),
        max_attempts: 3,
        audio_dir: None,
    };
    let per_chapter = 100;
    let chapters: Vec<String> = (0..n.div_ceil(per_chapter)).map(|i| format!("Chapter {i}")).collect();
    let chunks: Vec<PlannedChunk> = (0..n)
        .map(|i| PlannedChunk {
            chapter: (i / per_chapter) as u32,
            index: (i % per_chapter) as u32,
            plan_key: format!("plan-{i}"),
            store_key: format!("key-{i}"),
            request: format!("{{\"i\":{i}}}"),
        })
        .collect();
    let t = Instant::now();
    store.sync_plan(&spec, &chapters, &chunks).await?;
    let sync_s = t.elapsed().as_secs_f64();
    let audio = StoredAudio {
        sample_rate: 24_000,
        samples: (0..samples).map(|i| (i as f32 * 0.01).sin()).collect(),
    };
    let t = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..claimers {
        let store = store.clone();
        let audio = audio.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("w{w}");
            let mut done = 0u64;
            loop {
                let c = store.claim(&id, "fp", batch, 60_000).await?;
                if c.is_empty() {
                    break;
                }
                let items: Vec<_> = c.iter().map(|cl| (cl, &audio)).collect();
                store.complete_batch(&items, &id, 0.0).await?;
                done += c.len() as u64;
            }
            anyhow::Ok(done)
        }));
    }
    let mut done = 0;
    for t in tasks {
        done += t.await??;
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "sqlite queue: {n} chunks synced in {sync_s:.2} s ({:.0}/s); {done} claim+complete with {claimers} claimer(s), batch {batch}, {samples} samples each: {s:.2} s = {:.0} chunks/s",
        n as f64 / sync_s,
        done as f64 / s
    );
    Ok(())
}
