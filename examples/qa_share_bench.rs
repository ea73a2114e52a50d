//! QA's share of a WhisperSpeech render on the CPU (not a test): one utterance synthesised by the whole engine
//! (T2S base → S2A tiny → Vocos, random weights at the published sizes, f32, greedy) and then transcribed by
//! each Whisper model, in one run; reports render seconds, ASR seconds and `(render + ASR) / render`.
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo run --example qa_share_bench -- [N_STOKS] [WHISPER_DIR…]
//! ```
//!
//! The random-weight models are the repository's tiny engine fixtures (`tests/fixtures/whisperspeech`) grown to
//! the published sizes — every tensor's widths mapped (S2A tiny: width 384, 2 + 6 layers, 4 quantizers; T2S
//! base: width 512, 3 + 9 layers; Vocos: 8 ConvNeXt blocks, dim 384, intermediate 1152, 128 input channels),
//! layers repeated, fresh N(0, 1/√fan-in) values (the T2S end-of-speech embedding zeroed so it runs to the cap)
//! — written as safetensors into a temporary folder. The T2S text/semantic embedding widths stay the fixture's
//! (12 / 8, small projections). `N_STOKS` (default 250 = 10 s) caps the semantic tokens. WHISPER_DIR: CTranslate2
//! or Hugging Face Whisper folders (default: `tiny.en` and `base` of `~/.cache/ws-book/whisper-test`). Each
//! timing follows a warm-up run. The ASR also runs on `tests/fixtures/asr/human_jfk.wav` (11 s of real speech).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use candle_core::{DType, Device, Tensor};
use serde_json::Value as Json;
use ws_book::asr::{to_16k, AsrFiles, Transcriber};
use ws_book::engine::whisperspeech::checkpoint::{self, LoadOptions};
use ws_book::engine::whisperspeech::{ModelOptions, ModelPaths, WhisperSpeechEngine};
use ws_book::engine::{Engine, GenParams, Run, SynthRequest, VoiceSpec};
use ws_book::models::Library;

const TEXT: &str = "The quick brown fox jumps over the lazy dog, and then it runs away into the forest. ";

/// How one fixture grows: dimension sizes mapped, layer lists (`prefix` + index) extended.
struct Growth<'a> {
    dims: &'a [(usize, usize)],
    layers: &'a [(&'a str, usize, usize)],
}

fn sinusoids(len: usize, w: usize) -> Vec<f32> {
    let half = w / 2;
    let inc = 10000f64.ln() / (half as f64 - 1.0);
    let mut v = Vec::with_capacity(len * w);
    for p in 0..len {
        for f in [f64::sin, f64::cos] {
            for j in 0..half {
                v.push(f(p as f64 * (-inc * j as f64).exp()) as f32);
            }
        }
    }
    v
}

/// A fresh tensor for `name` of `shape` (special cases by name, else random).
fn fresh(name: &str, shape: &[usize], head_width: usize) -> anyhow::Result<Tensor> {
    let dev = &Device::Cpu;
    if name.ends_with("rotary.inv_freq") {
        let v: Vec<f32> = (0..head_width / 2)
            .map(|i| 1.0 / 10000f32.powf(2.0 * i as f32 / head_width as f32))
            .collect();
        return Ok(Tensor::from_vec(v, head_width / 2, dev)?);
    }
    if name.ends_with("positional_embedding") {
        return Ok(Tensor::from_vec(
            sinusoids(shape[0], shape[1]),
            (shape[0], shape[1]),
            dev,
        )?);
    }
    if name == "head.istft.window" {
        let n = shape[0];
        let v: Vec<f32> = (0..n)
            .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()) as f32)
            .collect();
        return Ok(Tensor::from_vec(v, n, dev)?);
    }
    if shape.len() == 1 {
        return Ok(Tensor::randn(0f32, 0.1, shape, dev)?);
    }
    let fan_in: usize = shape[1..].iter().product();
    Ok(Tensor::randn(0f32, (1.0 / (fan_in as f64).sqrt()) as f32, shape, dev)?)
}

/// The fixture's tensors grown by `g`, with `shape_of` overriding a name's new shape.
fn grow(
    fixture: &Path,
    g: &Growth,
    head_width: usize,
    shape_of: &dyn Fn(&str) -> Option<Vec<usize>>,
) -> anyhow::Result<HashMap<String, Tensor>> {
    let ck = checkpoint::load(fixture, &Device::Cpu, LoadOptions::default())
        .with_context(|| format!("{}", fixture.display()))?;
    let mut out = HashMap::new();
    for (name, t) in &ck.tensors {
        let mut names = vec![name.clone()];
        for &(prefix, old_n, new_n) in g.layers {
            let Some(rest) = name.strip_prefix(prefix) else {
                continue;
            };
            let Some((idx, tail)) = rest.split_once('.') else {
                continue;
            };
            let Ok(i) = idx.parse::<usize>() else { continue };
            if i + 1 == old_n {
                names = (i..new_n).map(|j| format!("{prefix}{j}.{tail}")).collect();
            }
        }
        let shape = shape_of(name).unwrap_or_else(|| {
            t.dims()
                .iter()
                .map(|&d| g.dims.iter().find(|(o, _)| *o == d).map_or(d, |(_, n)| *n))
                .collect()
        });
        for n in names {
            let v = if t.dtype() == DType::F32 {
                fresh(&n, &shape, head_width)?
            } else {
                t.clone()
            };
            out.insert(n, v);
        }
    }
    Ok(out)
}

fn write_stage(dir: &Path, stem: &str, tensors: &HashMap<String, Tensor>, meta: &Json) -> anyhow::Result<PathBuf> {
    let p = dir.join(format!("{stem}.safetensors"));
    candle_core::safetensors::save(tensors, &p)?;
    std::fs::write(dir.join(format!("{stem}.json")), serde_json::to_string(meta)?)?;
    Ok(p)
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/whisperspeech")
        .join(name)
}

fn with_config(fixture_json: &str, config: Json) -> anyhow::Result<Json> {
    let mut meta: Json = serde_json::from_str(&std::fs::read_to_string(fixture(fixture_json))?)?;
    for (k, v) in config.as_object().context("config")? {
        meta["config"][k] = v.clone();
    }
    Ok(meta)
}

/// Writes the published-size random models into `dir`.
fn make_models(dir: &Path) -> anyhow::Result<ModelPaths> {
    // S2A tiny: fixture w 16 (2×8), ffn 2, depth 2 (1 + 3 layers) → w 384 (6×64), ffn 4, depth 4 (2 + 6)
    let s2a = grow(
        &fixture("s2a_tiny_a.safetensors"),
        &Growth {
            dims: &[(16, 384), (32, 1536), (64, 1536), (65, 513)],
            layers: &[("encoder.", 1, 2), ("decoder.layers.", 3, 6)],
        },
        64,
        &|_| None,
    )?;
    let s2a_meta = with_config(
        "s2a_tiny_a.json",
        serde_json::json!({"depth": 4, "n_head": 6, "head_width": 64, "ffn_mult": 4, "stoks_len": 750,
                           "stoks_codes": 513}),
    )?;
    // T2S base: fixture w 32 (2×16), ffn 2, depth 2 (1 + 3) → w 512 (8×64), ffn 4, depth 6 (3 + 9)
    let t2s_shape = |n: &str| -> Option<Vec<usize>> {
        match n {
            "encoder.positional_embedding" => Some(vec![550, 512]),
            "embeddings.positional_embedding" => Some(vec![750, 512]),
            "cps_embeddings.weight" => Some(vec![32, 512]),
            _ => None,
        }
    };
    let mut t2s = grow(
        &fixture("t2s_tiny_a.safetensors"),
        &Growth {
            dims: &[(32, 512), (64, 2048), (33, 513)],
            layers: &[("encoder.layers.", 1, 3), ("decoder.layers.", 3, 9)],
        },
        64,
        &t2s_shape,
    )?;
    // the end-of-speech code (the last one) never wins, so the T2S runs to the token cap
    let main = t2s
        .get_mut("embeddings.embedding.main.weight")
        .context("T2S embedding")?;
    let (codes, width) = main.dims2()?;
    *main = Tensor::cat(
        &[
            main.narrow(0, 0, codes - 1)?,
            Tensor::zeros((1, width), DType::F32, &Device::Cpu)?,
        ],
        0,
    )?;
    let t2s_meta = with_config(
        "t2s_tiny_a.json",
        serde_json::json!({"depth": 6, "n_head": 8, "head_width": 64, "ffn_mult": 4, "ttoks_len": 550,
                           "stoks_len": 750, "stoks_codes": 513}),
    )?;
    // Vocos at charactr/vocos-encodec-24khz's size
    let vocos = grow(
        &fixture("vocos_tiny/pytorch_model.bin"),
        &Growth {
            dims: &[(64, 384), (192, 1152), (8, 128)],
            layers: &[("backbone.convnext.", 3, 8)],
        },
        64,
        &|_| None,
    )?;
    let vdir = dir.join("vocos");
    std::fs::create_dir_all(&vdir)?;
    let yaml = std::fs::read_to_string(fixture("vocos_tiny/config.yaml"))?
        .replace("input_channels: 8", "input_channels: 128")
        .replace("dim: 64", "dim: 384")
        .replace("intermediate_dim: 192", "intermediate_dim: 1152")
        .replace("num_layers: 3", "num_layers: 8");
    std::fs::write(vdir.join("config.yaml"), yaml)?;
    let vw = vdir.join("model.safetensors");
    candle_core::safetensors::save(&vocos, &vw)?;
    Ok(ModelPaths {
        t2s: write_stage(dir, "t2s-base", &t2s, &t2s_meta)?,
        s2a: write_stage(dir, "s2a-tiny", &s2a, &s2a_meta)?,
        vocos: vw,
        vocos_config: Some(vdir.join("config.yaml")),
    })
}

fn request() -> SynthRequest {
    SynthRequest {
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
    }
}

fn load_whisper(dir: &Path, lib: &Path) -> anyhow::Result<Transcriber> {
    let d = if dir.join("model.safetensors").is_file() {
        dir.to_path_buf()
    } else {
        let name = dir
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("m")
            .replace('.', "-");
        Library::new(lib)
            .convert_asr(dir, &format!("whisper-{name}"), &name, false)?
            .dir
    };
    Ok(Transcriber::load(&AsrFiles::in_dir(&d), &Device::Cpu)?)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().map(|s| s.parse()).transpose()?.unwrap_or(250);
    let mut whispers: Vec<PathBuf> = args.iter().skip(1).map(PathBuf::from).collect();
    if whispers.is_empty() {
        let cache = PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/ws-book/whisper-test");
        whispers = vec![cache.join("tiny.en"), cache.join("base")];
    }
    let tmp = tempfile::tempdir()?;
    let paths = make_models(tmp.path())?;
    let mut e = WhisperSpeechEngine::load_with(&paths, &Device::Cpu, ModelOptions::default())?;
    let asrs: Vec<(String, Transcriber)> = whispers
        .iter()
        .map(|w| Ok((w.display().to_string(), load_whisper(w, tmp.path())?)))
        .collect::<anyhow::Result<_>>()?;
    println!(
        "# threads {} · load {}",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into()),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    e.max_stoks = Some(4);
    e.synthesize(&[request()])?; // warm-up
    e.max_stoks = Some(n);
    let t = Instant::now();
    let audio = e.synthesize(&[request()])?.remove(0);
    let render_s = t.elapsed().as_secs_f64();
    let secs = audio.samples.len() as f64 / f64::from(audio.sample_rate);
    println!(
        "render (engine {}): {secs:.2} s of audio in {render_s:.2} s",
        e.describe()
    );
    let pcm = to_16k(&audio.samples, audio.sample_rate);
    for (name, mut asr) in asrs {
        asr.transcribe(&[(&pcm[..pcm.len().min(16000)], Some("en"))])?; // warm-up
        let t = Instant::now();
        let got = asr.transcribe(&[(&pcm, Some("en"))])?;
        let qa_s = t.elapsed().as_secs_f64();
        let ph = asr.phases();
        println!(
            "QA {name}: {qa_s:.2} s (mel {:.2} / enc {:.2} / dec {:.2}, {} tokens) · render + QA = {:.2}× the render (QA adds {:.0} %)",
            ph.mel_s,
            ph.encode_s,
            ph.decode_s,
            got[0].tokens.len(),
            (render_s + qa_s) / render_s,
            100.0 * qa_s / render_s
        );
        // random-weight speech is noise to Whisper (it may run to the token cap): also real speech of about
        // the same length, which decodes a realistic number of tokens
        let jfk = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/asr/human_jfk.wav");
        if let Ok(real) = ws_book::asr::load_audio(&jfk) {
            let t = Instant::now();
            let got = asr.transcribe(&[(&real, Some("en"))])?;
            let qa_s = t.elapsed().as_secs_f64();
            println!(
                "QA {name} on human_jfk ({:.1} s of real speech): {qa_s:.2} s ({} tokens) · QA adds {:.0} % to this render",
                real.len() as f64 / 16000.0,
                got[0].tokens.len(),
                100.0 * qa_s / render_s
            );
        }
    }
    Ok(())
}
