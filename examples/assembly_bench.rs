//! Benchmark: assembly + mastering + encoding speed (× real time) and peak memory on a long synthetic book.
//!
//! `cargo run --release --example assembly_bench -- populate DB HOURS` stores a synthetic book of HOURS
//! hours (10 s chunks of speech-like noise bursts, 60 per chapter) in a fresh database; then
//! `cargo run --release --example assembly_bench -- assemble DB OUT_DIR [FORMATS]` assembles it and prints
//! the speed and the process's peak resident memory (VmHWM). Run the two phases as separate processes so
//! the peak memory is that of assembly alone.

use std::time::Instant;

use ws_book::assembly::{assemble, AssemblyOptions, BookAssembly, ChapterAssembly};
use ws_book::audio::encode::OutFormat;
use ws_book::audio::loudness::AUDIOBOOK;
use ws_book::audio::stitch::ChunkSlot;
use ws_book::project::PauseOptions;
use ws_book::store::{PlannedChunk, RenderSpec, Store, StoredAudio};

const CHUNK_S: usize = 10;
const PER_CHAPTER: usize = 60;

fn synthetic(i: usize) -> Vec<f32> {
    // Deterministic "speech": 250 ms noise bursts at varying levels separated by short gaps.
    let mut x = 0x2545F4914F6CDD1Du64 ^ (i as u64).wrapping_mul(0x9E3779B97F4A7C15);
    (0..24_000 * CHUNK_S)
        .map(|n| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let burst = (n / 6000) % 4 != 3;
            let env = 0.2 + 0.15 * ((n as f32 / 2400.0).sin());
            if burst {
                ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * env
            } else {
                0.0
            }
        })
        .collect()
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn book_layout(n_chunks: usize) -> (Vec<String>, Vec<PlannedChunk>) {
    let chapters: Vec<String> = (0..n_chunks.div_ceil(PER_CHAPTER))
        .map(|i| format!("Chapter {}", i + 1))
        .collect();
    let chunks = (0..n_chunks)
        .map(|i| PlannedChunk {
            chapter: (i / PER_CHAPTER) as u32,
            index: (i % PER_CHAPTER) as u32,
            plan_key: format!("p{i}"),
            store_key: format!("synthetic-{i}"),
            request: "{}".into(),
        })
        .collect();
    (chapters, chunks)
}

fn spec() -> RenderSpec {
    RenderSpec {
        name: "synthetic".into(),
        title: "Synthetic Book".into(),
        author: "Bench".into(),
        engine: "espeak".into(),
        fingerprint: "synthetic".into(),
        max_attempts: 3,
        audio_dir: None,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: assembly_bench populate DB HOURS | assemble DB OUT_DIR [m4b,mp3,opus]";
    let mode = args.first().ok_or_else(|| anyhow::anyhow!(usage))?;
    let db = args.get(1).ok_or_else(|| anyhow::anyhow!(usage))?;
    let store = Store::open(db).await?;
    if mode == "populate" {
        let hours: f64 = args.get(2).ok_or_else(|| anyhow::anyhow!(usage))?.parse()?;
        let n = (hours * 3600.0 / CHUNK_S as f64).ceil() as usize;
        let (chapters, chunks) = book_layout(n);
        store.sync_plan(&spec(), &chapters, &chunks).await?;
        let mut i = 0;
        loop {
            let c = store.claim("populate", "synthetic", 64, 600_000).await?;
            if c.is_empty() {
                break;
            }
            for cl in c {
                let idx: usize = cl.store_key.trim_start_matches("synthetic-").parse()?;
                store
                    .complete(
                        &cl,
                        "populate",
                        &StoredAudio {
                            sample_rate: 24_000,
                            samples: synthetic(idx),
                        },
                        0.0,
                    )
                    .await?;
                i += 1;
            }
        }
        println!("populated {i} chunks ({hours} h) into {db}");
        return Ok(());
    }
    let out = std::path::PathBuf::from(args.get(2).ok_or_else(|| anyhow::anyhow!(usage))?);
    let formats: Vec<OutFormat> = args
        .get(3)
        .map(String::as_str)
        .unwrap_or("m4b,mp3")
        .split(',')
        .filter_map(OutFormat::parse)
        .collect();
    let r = store.render("synthetic").await?;
    let states = store.chunk_states(r.id).await?;
    let n_ch = states.iter().map(|s| s.chapter).max().map(|m| m + 1).unwrap_or(0) as usize;
    let book = BookAssembly {
        title: "Synthetic Book".into(),
        author: "Bench".into(),
        chapters: (0..n_ch)
            .map(|c| ChapterAssembly {
                index: c,
                title: format!("Chapter {}", c + 1),
                slots: states
                    .iter()
                    .filter(|s| s.chapter as usize == c)
                    .map(|s| ChunkSlot {
                        key: s.store_key.clone(),
                        paragraph_end: s.index % 5 == 4,
                    })
                    .collect(),
                complete: true,
                sections: vec![],
                file_stem: None,
            })
            .collect(),
        cover: None,
        genre: "Audiobook".into(),
        draft: false,
        tags: Default::default(),
    };
    let before = vm_hwm_kb();
    let t = Instant::now();
    let opts = AssemblyOptions {
        pauses: PauseOptions::default(),
        preset: AUDIOBOOK,
        formats: formats.clone(),
        out_dir: out.clone(),
        rate: 24_000,
        owner: "synthetic".into(),
    };
    let res = assemble(&store, &book, &opts, &std::sync::atomic::AtomicBool::new(false)).await?;
    let s = t.elapsed().as_secs_f64();
    let audio: f64 = res.loudness.iter().map(|l| l.duration).sum();
    println!(
        "assembled {} chapters, {:.2} h of audio, formats {:?}: {:.1} s wall = {:.0}× real time; peak RSS {} MiB (before assembly {} MiB)",
        res.chapters,
        audio / 3600.0,
        formats.iter().map(|f| f.ext()).collect::<Vec<_>>(),
        s,
        audio / s,
        vm_hwm_kb() / 1024,
        before / 1024
    );
    Ok(())
}
