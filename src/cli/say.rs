//! `ws-book say`, `ws-book debug s2a`, `ws-book debug vocos`: the WhisperSpeech stages from the command line.

use std::path::{Path, PathBuf};

use super::model_args::ModelArgs;

use anyhow::{bail, Context};
use clap::Args;
use ws_book::engine::whisperspeech::engine::{default_speaker, device_name, select_device};
use ws_book::engine::whisperspeech::layers::ModelOptions;
use ws_book::engine::whisperspeech::{S2a, S2aRequest, Vocos, WhisperSpeechEngine};
use ws_book::engine::{Engine, GenParams, Run, SynthRequest, VoiceSpec};

/// Reads a JSON argument given inline or as a path to a JSON file.
fn json_arg<T: serde::de::DeserializeOwned>(arg: &str, what: &str) -> anyhow::Result<T> {
    let t = arg.trim_start();
    let text = if t.starts_with('[') || t.starts_with('{') {
        arg.to_string()
    } else {
        std::fs::read_to_string(arg)
            .with_context(|| format!("{what}: `{arg}` is neither inline JSON nor a readable file"))?
    };
    serde_json::from_str(&text).with_context(|| format!("{what}: bad JSON"))
}

/// A voice by name: `default` is the reference pipeline's built-in speaker.
fn voice_embedding(name: &str) -> anyhow::Result<Vec<f32>> {
    match name {
        "default" => Ok(default_speaker()),
        other => bail!("unknown voice `{other}`; the built-in voice is `default` (or pass --speaker JSON)"),
    }
}

/// Writes mono 32-bit float WAV (unclipped).
pub fn write_wav_f32(path: &Path, rate: u32, samples: &[f32]) -> anyhow::Result<()> {
    std::fs::write(path, ws_book::audio::wav::wav_f32(rate, samples))
        .with_context(|| format!("writing {}", path.display()))
}

/// The sampling flags of `debug t2s` and `debug s2a`.
#[derive(Debug, Args)]
pub struct SamplingArgs {
    /// Sampling temperature; 0 = greedy (argmax, lowest index on a tie).
    #[arg(long, default_value_t = 0.7)]
    pub temperature: f32,
    /// Keep only the k most likely tokens when sampling.
    #[arg(long)]
    pub top_k: Option<usize>,
    /// RNG seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Arguments of `debug s2a`.
#[derive(Debug, Args)]
pub struct S2aArgs {
    /// S2A model: a `.model` file, or a `.safetensors` file with its `.json` beside it.
    #[arg(long)]
    pub model: PathBuf,
    /// Semantic tokens, JSON array inline or a path to a JSON file.
    #[arg(long)]
    pub stoks: String,
    /// Speaker embedding, JSON array (192 floats) inline or a path.
    #[arg(long, conflicts_with = "voice")]
    pub speaker: Option<String>,
    /// Named voice (`default`).
    #[arg(long)]
    pub voice: Option<String>,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Device: auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Run the decoder with q8_0-quantized matmuls (CPU speed mode).
    #[arg(long)]
    pub quantize: bool,
    /// Print one JSON object (`atoks`, `device`, `dtype`, …).
    #[arg(long)]
    pub json: bool,
}

/// Runs `debug s2a`.
pub fn s2a(a: S2aArgs) -> anyhow::Result<i32> {
    let device = select_device(&a.device)?;
    let stoks: Vec<u32> = json_arg(&a.stoks, "--stoks")?;
    let speaker: Vec<f32> = match (&a.speaker, &a.voice) {
        (Some(s), _) => json_arg(s, "--speaker")?,
        (None, Some(v)) => voice_embedding(v)?,
        (None, None) => default_speaker(),
    };
    let opts = ModelOptions {
        quantize: a.quantize,
        ..ModelOptions::default()
    };
    if !a.json {
        println!("device {}, dtype {}", device_name(&device), opts.label());
    }
    let model = S2a::load_with(&a.model, &device, opts)
        .with_context(|| format!("loading the S2A model {}", a.model.display()))?;
    let t0 = std::time::Instant::now();
    let req = S2aRequest {
        temperature: a.sampling.temperature,
        top_k: a.sampling.top_k,
        ..S2aRequest::new(stoks, speaker, a.sampling.seed)
    };
    let atoks = model.generate(&[req])?.remove(0);
    let secs = t0.elapsed().as_secs_f64();
    if a.json {
        let v = serde_json::json!({
            "atoks": atoks, "device": device_name(&device), "dtype": "f32", "quantized": model.is_quantized(),
            "conditioned": model.is_conditioned(), "generate_s": secs,
        });
        println!("{v}");
    } else {
        for row in &atoks {
            println!("{}", row.iter().map(u32::to_string).collect::<Vec<_>>().join(" "));
        }
        println!(
            "{} quantizers × {} frames, {secs:.2} s",
            atoks.len(),
            atoks.first().map_or(0, Vec::len)
        );
    }
    Ok(0)
}

/// Arguments of `debug vocos`.
#[derive(Debug, Args)]
pub struct VocosArgs {
    /// Vocos weights: `pytorch_model.bin` (plain state_dict) or `.safetensors`.
    #[arg(long)]
    pub model: PathBuf,
    /// Config (Vocos `config.yaml` layout, YAML or JSON); default `config.yaml` beside the weights.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Acoustic tokens `[Q][L]`, JSON inline or a path (an object with `atoks` is accepted too).
    #[arg(long)]
    pub atoks: String,
    /// Output WAV (32-bit float, 24 kHz, unclipped).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Device: auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
}

/// Runs `debug vocos`.
pub fn vocos(a: VocosArgs) -> anyhow::Result<i32> {
    let device = select_device(&a.device)?;
    println!("device {}, dtype f32", device_name(&device));
    let v: serde_json::Value = json_arg(&a.atoks, "--atoks")?;
    let grid = v.get("atoks").cloned().unwrap_or(v);
    let codes: Vec<Vec<u32>> = serde_json::from_value(grid).context("--atoks must be [[codes…], …] ([Q][L])")?;
    let model = Vocos::load(&a.model, a.config.as_deref(), &device)
        .with_context(|| format!("loading the Vocos model {}", a.model.display()))?;
    let audio = model.decode(&[codes])?.remove(0);
    write_wav_f32(&a.output, model.sample_rate(), &audio)?;
    let peak = audio.iter().fold(0f32, |m, x| m.max(x.abs()));
    println!(
        "{} samples ({:.2} s) at {} Hz, peak {peak:.4} → {}",
        audio.len(),
        audio.len() as f64 / 24_000.0,
        model.sample_rate(),
        a.output.display()
    );
    Ok(0)
}

/// Arguments of `say`.
#[derive(Debug, Args)]
pub struct SayArgs {
    /// The text to speak.
    pub text: String,
    /// Voice (`default`, the reference pipeline's built-in speaker).
    #[arg(long, default_value = "default")]
    pub voice: String,
    /// Language code of the text.
    #[arg(long, default_value = "en")]
    pub lang: String,
    #[command(flatten)]
    pub models: ModelArgs,
    /// Speaking rate, characters per second.
    #[arg(long, default_value_t = 15.0)]
    pub cps: f64,
    /// Sampling temperature; 0 = greedy.
    #[arg(long, default_value_t = 0.7)]
    pub temperature: f64,
    /// RNG seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Device: auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Output WAV (32-bit float, 24 kHz).
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Runs `say`.
pub fn say(a: SayArgs) -> anyhow::Result<i32> {
    let device = select_device(&a.device)?;
    let opts = a.models.options();
    println!("device {}, dtype {}", device_name(&device), opts.label());
    let paths = a
        .models
        .resolve("whisperspeech")
        .unwrap_or_else(|| Err("no models".into()))
        .map_err(anyhow::Error::msg)?;
    let code = ws_book::lang::resolve(&a.lang).with_context(|| format!("unknown language `{}`", a.lang))?;
    let mut engine = WhisperSpeechEngine::load_with(&paths, &device, opts)?;
    let req = SynthRequest {
        key: "say".into(),
        runs: vec![Run {
            text: a.text.replace('\n', " "),
            lang: code.to_string(),
        }],
        voice: VoiceSpec {
            name: a.voice.clone(),
            embedding: Some(voice_embedding(&a.voice)?),
        },
        speaker: "narrator".into(),
        seed: a.seed,
        params: GenParams {
            cps: a.cps,
            temperature: a.temperature,
            top_k: None,
        },
    };
    let t0 = std::time::Instant::now();
    let audio = engine.synthesize(&[req])?.remove(0);
    let secs = t0.elapsed().as_secs_f64();
    write_wav_f32(&a.output, audio.sample_rate, &audio.samples)?;
    let dur = audio.samples.len() as f64 / f64::from(audio.sample_rate);
    println!(
        "{dur:.2} s of audio in {secs:.2} s ({:.2}× real time) → {}",
        dur / secs.max(1e-9),
        a.output.display()
    );
    Ok(0)
}
