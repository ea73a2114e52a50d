//! S2A, Vocos and whole-engine throughput at the published sizes with random weights (not a test).
//!
//! ```text
//! /work/ws-ref/bin/python examples/s2a_bench_reference.py make /tmp/wsbench     # checkpoints, once
//! RAYON_NUM_THREADS=2 cargo run --release --example s2a_bench -- s2a /tmp/wsbench tiny 250 1 8
//! RAYON_NUM_THREADS=2 cargo run --release --example s2a_bench -- vocos /tmp/wsbench 750 1 8
//! RAYON_NUM_THREADS=2 cargo run --release --example s2a_bench -- engine /tmp/wsbench 250
//! ```
//! The checkpoints are written by `examples/s2a_bench_reference.py make` with the reference classes, so the
//! PyTorch side (the same script) runs the very same weights. `s2a SIZE N BATCH…` times `S2a::generate` (encoder,
//! prefill and 3·N − 1 decoder steps, greedy) on the same semantic tokens as the script (token i is
//! `(7·i + 3) % 512`) in f32 and in the q8_0 speed mode, and reports frames/s (batch·(3N − 4) frames per run).
//! `vocos L BATCH…` decodes `L` frames of the script's codes per row. `engine N` runs the whole
//! `WhisperSpeechEngine` (t2s-base → s2a-tiny → Vocos) on one utterance capped at `N` semantic tokens (250 =
//! 10 s at 25 Hz) and reports × real time. Threads: `RAYON_NUM_THREADS`. Each timing follows a warm-up run.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use candle_core::Device;
use ws_book::engine::whisperspeech::engine::default_speaker;
use ws_book::engine::whisperspeech::{ModelOptions, ModelPaths, S2a, S2aRequest, Vocos, WhisperSpeechEngine};
use ws_book::engine::{Engine, GenParams, Run, SynthRequest, VoiceSpec};

const TEXT: &str = "The quick brown fox jumps over the lazy dog, and then it runs away into the forest. ";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        bail!("usage: s2a_bench s2a DIR SIZE N [BATCH…] | vocos DIR L [BATCH…] | engine DIR [N]");
    }
    let dir = PathBuf::from(&args[1]);
    let nums = |from: usize| -> anyhow::Result<Vec<usize>> {
        let v = args
            .get(from..)
            .unwrap_or_default()
            .iter()
            .map(|s| s.parse::<usize>().with_context(|| format!("`{s}` is not a number")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(if v.is_empty() { vec![1, 8] } else { v })
    };
    match args[0].as_str() {
        "s2a" => {
            let size = args.get(2).context("give the size (tiny, base)")?;
            let n: usize = args.get(3).context("give N semantic tokens")?.parse()?;
            bench_s2a(&dir, size, n, &nums(4)?)
        }
        "vocos" => {
            let l: usize = args.get(2).context("give L frames")?.parse()?;
            bench_vocos(&dir, l, &nums(3)?)
        }
        "engine" => {
            let n = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(250);
            bench_engine(&dir, n)
        }
        w => bail!("unknown bench `{w}` (s2a, vocos, engine)"),
    }
}

fn opts(quantize: bool) -> ModelOptions {
    ModelOptions {
        quantize,
        ..ModelOptions::default()
    }
}

fn bench_s2a(dir: &Path, size: &str, n: usize, batches: &[usize]) -> anyhow::Result<()> {
    let path = dir.join(format!("s2a-{size}.model"));
    let stoks: Vec<u32> = (0..n).map(|i| ((7 * i + 3) % 512) as u32).collect();
    let spk = default_speaker();
    for quantize in [false, true] {
        let m = S2a::load_with(&path, &Device::Cpu, opts(quantize)).with_context(|| path.display().to_string())?;
        let req = |len: usize| S2aRequest {
            temperature: 0.0,
            ..S2aRequest::new(stoks[..len].to_vec(), spk.clone(), 0)
        };
        m.generate(&[req(4)])?; // warm-up
        for &bs in batches {
            let reqs: Vec<S2aRequest> = (0..bs).map(|_| req(n)).collect();
            let t = Instant::now();
            let out = m.generate(&reqs)?;
            let s = t.elapsed().as_secs_f64();
            let frames: usize = out.iter().map(|o| o[0].len()).sum();
            println!(
                "candle s2a-{size} {} batch {bs}: {frames} frames in {s:.3} s = {:.1} frames/s",
                opts(quantize).label(),
                frames as f64 / s
            );
        }
    }
    Ok(())
}

fn bench_vocos(dir: &Path, l: usize, batches: &[usize]) -> anyhow::Result<()> {
    let v = Vocos::load(&dir.join("vocos/pytorch_model.bin"), None, &Device::Cpu)?;
    let grid = |b: usize, len: usize| -> Vec<Vec<u32>> {
        (0..4)
            .map(|q| (0..len).map(|f| ((13 * f + 101 * q + 7 * b) % 1024) as u32).collect())
            .collect()
    };
    v.decode(&[grid(0, 16)])?; // warm-up
    let mut first_row: Option<Vec<f32>> = None;
    for &bs in batches {
        let codes: Vec<Vec<Vec<u32>>> = (0..bs).map(|b| grid(b, l)).collect();
        let t = Instant::now();
        let audio = v.decode(&codes)?;
        let s = t.elapsed().as_secs_f64();
        // row 0 has the same codes at every batch size: the output must not depend on the batch
        match &first_row {
            None => first_row = audio.first().cloned(),
            Some(r) if audio.first() != Some(r) => {
                println!("WARNING: row 0 at batch {bs} differs from the first batch")
            }
            Some(_) => {}
        }
        let secs = audio.iter().map(Vec::len).sum::<usize>() as f64 / 24_000.0;
        println!(
            "candle vocos f32 batch {bs}: {l} frames × {bs} = {secs:.1} s of audio in {s:.3} s = {:.1}× real time",
            secs / s
        );
    }
    Ok(())
}

fn bench_engine(dir: &Path, n: usize) -> anyhow::Result<()> {
    let paths = ModelPaths {
        t2s: dir.join("t2s-base.model"),
        s2a: dir.join("s2a-tiny.model"),
        vocos: dir.join("vocos/pytorch_model.bin"),
        vocos_config: None,
    };
    let req = || SynthRequest {
        key: "bench".into(),
        runs: vec![Run {
            text: TEXT.repeat(3),
            lang: "en".into(),
        }],
        voice: VoiceSpec {
            name: "default".into(),
            embedding: None,
        },
        speaker: "narrator".into(),
        seed: 0,
        params: GenParams {
            cps: 15.0,
            temperature: 0.0,
            top_k: None,
        },
    };
    for quantize in [false, true] {
        let mut e = WhisperSpeechEngine::load_with(&paths, &Device::Cpu, opts(quantize))?;
        e.max_stoks = Some(4);
        e.synthesize(&[req()])?; // warm-up
        e.max_stoks = Some(n);
        let t = Instant::now();
        let audio = e.synthesize(&[req()])?.remove(0);
        let s = t.elapsed().as_secs_f64();
        let secs = audio.samples.len() as f64 / f64::from(audio.sample_rate);
        println!(
            "candle engine t2s-base+s2a-tiny+vocos {}: {secs:.2} s of audio in {s:.2} s = {:.2}× real time",
            e.describe(),
            secs / s
        );
    }
    Ok(())
}
