//! The device check (`ws-book debug device-check`, run by `scripts/gpu-check.sh`): can this machine's device
//! run the WhisperSpeech engine exactly, and how fast? No download: the parity fixtures are the committed ones
//! (`tests/fixtures/whisperspeech/`), the throughput models are written here with random weights at the
//! published sizes ([`crate::engine::whisperspeech::random`]). Writes `gpu-check.json` and `gpu-check.md`.
//!
//! Owns the check and its report. Uses only the engine (never the store, the worker or render), so it runs
//! on a GPU host with nothing but the binary and the repository's fixtures.

pub mod bench;
pub mod parity;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::engine::whisperspeech::engine::select_device;
use crate::engine::whisperspeech::random::{self, Size};

/// What to check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// `cpu`, `cuda`, `cuda:N` or `auto`.
    pub device: String,
    /// The committed parity fixtures (`tests/fixtures/whisperspeech`).
    pub fixtures: PathBuf,
    /// Where the random-weight models are (written when missing).
    pub models: PathBuf,
    /// T2S size of the throughput runs.
    pub t2s: Size,
    /// S2A size of the throughput runs.
    pub s2a: Size,
    /// Tokens per chunk and chunks per engine run.
    pub shape: bench::Shape,
    /// A fixed batch instead of the engine's `auto`.
    pub batch: Option<usize>,
}

impl CheckOptions {
    /// The defaults for a device: on a GPU the published `small` T2S and S2A, 250 tokens (10 s) per chunk, two
    /// auto batches of chunks; on the CPU t2s-base → s2a-tiny (as BENCHMARKS.md), 75 tokens (3 s), 16 chunks;
    /// `quick` (CI): tiny models, 12 tokens, 4 chunks.
    pub fn for_device(device: &str, fixtures: PathBuf, models: PathBuf, quick: bool) -> Self {
        let cpu = device == "cpu";
        let (t2s, s2a, tokens, chunks) = match (quick, cpu) {
            (true, _) => (Size::Tiny, Size::Tiny, 12, 4),
            (false, true) => (Size::Base, Size::Tiny, 75, 16),
            (false, false) => (Size::Small, Size::Small, 250, 2),
        };
        Self {
            device: device.into(),
            fixtures,
            models,
            t2s,
            s2a,
            shape: bench::Shape { tokens, chunks },
            batch: None,
        }
    }
}

/// The report (`gpu-check.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The device as asked (`cpu`, `cuda`…).
    pub device: String,
    /// What the engine says it runs on.
    pub device_detail: String,
    /// Parity with the reference fixtures.
    pub parity: parity::Parity,
    /// Whole-engine throughput.
    pub engine: bench::EngineBench,
    /// Stage throughput.
    pub stages: bench::Stages,
    /// Model sizes of the throughput runs (`t2s-base → s2a-tiny`).
    pub models: String,
    /// Wall time of the whole check, seconds.
    pub wall_seconds: f64,
}

/// Runs the check.
pub fn run(opts: &CheckOptions) -> Result<Report, String> {
    let started = Instant::now();
    let dev = select_device(&opts.device).map_err(|e| e.to_string())?;
    let parity = parity::run(&opts.fixtures, &dev)?;
    let paths = random::model_paths(&opts.models, opts.t2s, opts.s2a);
    if paths.missing().is_some() {
        let mut sizes = vec![opts.t2s];
        if opts.s2a != opts.t2s {
            sizes.push(opts.s2a);
        }
        random::write_models(&opts.models, &sizes)?;
    }
    let paths = random::model_paths(&opts.models, opts.t2s, opts.s2a);
    let (engine, auto) = bench::engine(&paths, &dev, opts.shape, opts.batch)?;
    let stages = bench::stages(&paths, &dev, opts.shape, auto)?;
    Ok(Report {
        device: opts.device.clone(),
        device_detail: crate::engine::whisperspeech::engine::device_name(&dev),
        parity,
        engine,
        stages,
        models: format!(
            "t2s-{} → s2a-{} → vocos (random weights)",
            opts.t2s.name(),
            opts.s2a.name()
        ),
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

/// The report as Markdown (`gpu-check.md`).
pub fn markdown(r: &Report) -> String {
    let mut s = format!(
        "# Device check: {} ({})\n\nParity: **{}**; models {}; {:.0} s in all.\n\n| check | result | detail |\n|---|---|---|\n",
        r.device,
        r.device_detail,
        if r.parity.ok { "ok" } else { "FAILED" },
        r.models,
        r.wall_seconds
    );
    for c in &r.parity.checks {
        let cell = |t: &str| t.replace('|', "\\|");
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            cell(&c.name),
            if c.ok { "ok" } else { "FAILED" },
            cell(&c.detail)
        ));
    }
    s.push_str(&format!(
        "\nA row's logits have the same bits alone and in a batch on this device: {}.\n",
        r.parity.batch_independent
    ));
    let e = &r.engine;
    s.push_str(&format!(
        "\n## Whole engine ({} chunks × {} tokens, {:.1} s of audio)\n\n| batch | × real time |\n|---:|---:|\n\
         | 1 | {:.2} |\n| {} (auto) | {:.2} |\n\nauto / batch 1 = {:.2}×\n",
        e.shape.chunks, e.shape.tokens, e.audio_seconds, e.batch1_rtf, e.auto_batch, e.auto_rtf, e.speedup
    ));
    let st = &r.stages;
    s.push_str(&format!(
        "\n## Stages\n\n| stage | unit | batch 1 | batch {} |\n|---|---|---:|---:|\n",
        e.auto_batch
    ));
    for (name, b) in [("T2S", &st.t2s), ("S2A", &st.s2a), ("Vocos", &st.vocos)] {
        s.push_str(&format!("| {name} | {} | {:.1} | {:.1} |\n", b.unit, b.batch1, b.auto));
    }
    s.push_str(&format!(
        "\nT2S at batch 1 reads its decoder weights at {:.1} GB/s.\n",
        st.t2s_batch1_weight_gbps
    ));
    s
}

/// Writes `DIR/gpu-check.json` and `DIR/gpu-check.md`.
pub fn write(r: &Report, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let json = serde_json::to_string_pretty(r).map_err(|e| e.to_string())?;
    for (name, text) in [("gpu-check.json", json), ("gpu-check.md", markdown(r))] {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    Ok(())
}
