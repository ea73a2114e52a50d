//! The throughput part of the device check, on random-weight models at the published sizes: the whole engine
//! at batch 1 and at its `auto` batch (rtf = seconds of audio per second, aggregate), then T2S, S2A and Vocos
//! alone. Every timing follows a warm-up call of the same shape; T2S's zero EOS embedding makes every chunk
//! run to the token cap, so both engine runs synthesise exactly the same audio length.

use std::time::Instant;

use candle_core::Device;
use serde::Serialize;

use crate::engine::whisperspeech::engine::default_speaker;
use crate::engine::whisperspeech::vocos::SAMPLE_RATE;
use crate::engine::whisperspeech::{ModelPaths, S2aRequest, T2sRequest, WhisperSpeechEngine};
use crate::engine::{Engine, GenParams, Run, SynthRequest, VoiceSpec};

/// How big the bench runs are.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Shape {
    /// Semantic tokens per chunk (25 per second of audio).
    pub tokens: usize,
    /// Chunks per engine run (a multiple of the auto batch).
    pub chunks: usize,
}

/// The whole-engine figures.
#[derive(Debug, Clone, Serialize)]
pub struct EngineBench {
    /// Seconds of audio per second, chunks one at a time.
    pub batch1_rtf: f64,
    /// The batch `render.batch_size: auto` picks on this device.
    pub auto_batch: usize,
    /// Seconds of audio per second at the auto batch.
    pub auto_rtf: f64,
    /// `auto_rtf / batch1_rtf`.
    pub speedup: f64,
    /// Audio seconds per run.
    pub audio_seconds: f64,
    /// Chunks per run and tokens per chunk.
    pub shape: Shape,
}

/// One stage alone at batch 1 and at the auto batch.
#[derive(Debug, Clone, Serialize)]
pub struct StageBench {
    /// What the rates count (`tokens/s`, `frames/s`, `× real time`).
    pub unit: String,
    /// Rate at batch 1.
    pub batch1: f64,
    /// Rate at the auto batch.
    pub auto: f64,
}

/// The stage figures.
#[derive(Debug, Clone, Serialize)]
pub struct Stages {
    /// T2S semantic tokens per second.
    pub t2s: StageBench,
    /// S2A acoustic frames per second.
    pub s2a: StageBench,
    /// Vocos seconds of audio per second.
    pub vocos: StageBench,
    /// T2S weight bytes read per decoder step at batch 1 divided by the step time, in GB/s (the batch-1 bound
    /// is memory bandwidth: compare with the device's).
    pub t2s_batch1_weight_gbps: f64,
}

type Res<T> = Result<T, String>;

const TEXTS: [&str; 4] = [
    "The quick brown fox jumps over the lazy dog, and then it runs away into the forest.",
    "A short line.",
    "She opened the door, looked out at the rain, and decided the letter could wait another day.",
    "Numbers, names and places all come out of the same narrator's voice.",
];

fn request(i: usize) -> SynthRequest {
    SynthRequest {
        key: format!("bench{i}"),
        runs: vec![Run {
            text: TEXTS[i % TEXTS.len()].into(),
            lang: "en".into(),
        }],
        voice: VoiceSpec {
            name: "default".into(),
            embedding: None,
        },
        speaker: "narrator".into(),
        seed: i as u64,
        params: GenParams {
            cps: 15.0,
            temperature: 0.7,
            top_k: None,
        },
    }
}

/// Synthesises `reqs` in batches of `batch`; returns (audio seconds, wall seconds).
fn timed(e: &mut WhisperSpeechEngine, reqs: &[SynthRequest], batch: usize) -> Res<(f64, f64)> {
    e.synthesize(&reqs[..batch.min(reqs.len())])
        .map_err(|x| x.to_string())?; // warm-up
    let t = Instant::now();
    let mut samples = 0usize;
    for b in reqs.chunks(batch.max(1)) {
        samples += e
            .synthesize(b)
            .map_err(|x| x.to_string())?
            .iter()
            .map(|a| a.samples.len())
            .sum::<usize>();
    }
    Ok((samples as f64 / SAMPLE_RATE as f64, t.elapsed().as_secs_f64()))
}

/// The whole engine at batch 1 and at `auto`, the same chunks in both runs.
pub fn engine(paths: &ModelPaths, dev: &Device, shape: Shape, batch: Option<usize>) -> Res<(EngineBench, usize)> {
    let mut e = WhisperSpeechEngine::load(paths, dev).map_err(|x| x.to_string())?;
    e.max_stoks = Some(shape.tokens);
    let auto = batch.unwrap_or_else(|| e.auto_batch());
    let n = shape.chunks.max(auto).div_ceil(auto) * auto;
    let reqs: Vec<SynthRequest> = (0..n).map(request).collect();
    let (audio, s1) = timed(&mut e, &reqs, 1)?;
    let (audio_b, sb) = timed(&mut e, &reqs, auto)?;
    if (audio - audio_b).abs() > 1e-9 {
        return Err(format!(
            "batch {auto} produced {audio_b:.2} s of audio where batch 1 produced {audio:.2} s"
        ));
    }
    let (batch1_rtf, auto_rtf) = (audio / s1, audio / sb);
    let bench = EngineBench {
        batch1_rtf,
        auto_batch: auto,
        auto_rtf,
        speedup: auto_rtf / batch1_rtf,
        audio_seconds: audio,
        shape: Shape { chunks: n, ..shape },
    };
    Ok((bench, auto))
}

fn rate(work: impl Fn(usize) -> Res<f64>, batch: usize) -> Res<f64> {
    work(1.min(batch))?; // warm-up
    let t = Instant::now();
    let units = work(batch)?;
    Ok(units / t.elapsed().as_secs_f64())
}

/// T2S, S2A and Vocos alone at batch 1 and at `auto`.
pub fn stages(paths: &ModelPaths, dev: &Device, shape: Shape, auto: usize) -> Res<Stages> {
    use crate::engine::whisperspeech::{S2a, T2s, Vocos};
    let f32 = candle_core::DType::F32;
    let t2s = T2s::load(&paths.t2s, dev, f32).map_err(|x| x.to_string())?;
    let t2s_run = |b: usize| -> Res<f64> {
        let reqs: Vec<T2sRequest> = (0..b)
            .map(|i| T2sRequest {
                temperature: 0.0,
                max_tokens: Some(shape.tokens),
                ..T2sRequest::new(TEXTS[i % TEXTS.len()], 0, i as u64)
            })
            .collect();
        let out = t2s.generate(&reqs).map_err(|x| x.to_string())?;
        Ok(out.iter().map(|o| o.tokens.len()).sum::<usize>() as f64)
    };
    let t2s_b1 = rate(t2s_run, 1)?;
    let t2s_bench = StageBench {
        unit: "tokens/s".into(),
        batch1: t2s_b1,
        auto: rate(t2s_run, auto)?,
    };
    let weight_bytes: usize = t2s_weight_bytes(&t2s);
    drop(t2s);
    let s2a = S2a::load(&paths.s2a, dev, f32).map_err(|x| x.to_string())?;
    let stoks: Vec<u32> = (0..shape.tokens).map(|i| ((7 * i + 3) % 512) as u32).collect();
    let spk = default_speaker();
    let s2a_run = |b: usize| -> Res<f64> {
        let reqs: Vec<S2aRequest> = (0..b)
            .map(|i| S2aRequest {
                temperature: 0.0,
                ..S2aRequest::new(stoks.clone(), spk.clone(), i as u64)
            })
            .collect();
        let out = s2a.generate(&reqs).map_err(|x| x.to_string())?;
        Ok(out.iter().map(|o| o[0].len()).sum::<usize>() as f64)
    };
    let s2a_bench = StageBench {
        unit: "frames/s".into(),
        batch1: rate(s2a_run, 1)?,
        auto: rate(s2a_run, auto)?,
    };
    drop(s2a);
    let vocos = Vocos::load(&paths.vocos, paths.vocos_config.as_deref(), dev).map_err(|x| x.to_string())?;
    let frames = 3 * shape.tokens;
    let vocos_run = |b: usize| -> Res<f64> {
        let codes: Vec<Vec<Vec<u32>>> = (0..b)
            .map(|r| {
                (0..4)
                    .map(|q| {
                        (0..frames)
                            .map(|f| ((13 * f + 101 * q + 7 * r) % 1024) as u32)
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let audio = vocos.decode(&codes).map_err(|x| x.to_string())?;
        Ok(audio.iter().map(Vec::len).sum::<usize>() as f64 / SAMPLE_RATE as f64)
    };
    Ok(Stages {
        t2s: t2s_bench,
        s2a: s2a_bench,
        vocos: StageBench {
            unit: "× real time".into(),
            batch1: rate(vocos_run, 1)?,
            auto: rate(vocos_run, auto)?,
        },
        t2s_batch1_weight_gbps: weight_bytes as f64 * t2s_b1 / 1e9,
    })
}

/// Bytes of the T2S decoder weights one generation step reads (the decoder's share of the parameters, in
/// the model dtype; the encoder runs once per chunk).
fn t2s_weight_bytes(t2s: &crate::engine::whisperspeech::T2s) -> usize {
    let c = &t2s.config;
    let w = c.n_head * c.head_width;
    let dec_layers = 2 * c.depth - (2.0 * c.depth as f64 * t2s.tunables.encoder_depth_ratio) as usize;
    // self-attention 4·w², cross-attention 4·w² (q and out per step), MLP 2·ffn·w², unembedding
    let per_layer = (4 + 2 + 2 * c.ffn_mult) * w * w;
    (dec_layers * per_layer + w * (c.stoks_codes + 1)) * t2s.dtype().size_in_bytes()
}
