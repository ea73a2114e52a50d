//! `ws-book debug …`: developer tools for checking the engine against the reference.

use std::path::PathBuf;

use anyhow::{bail, Context};
use candle_core::DType;
use clap::{Args, Subcommand};
use ws_book::engine::whisperspeech::engine::{device_name, select_device};
use ws_book::engine::whisperspeech::{Stop, T2s, T2sOptions, T2sRequest};

/// Arguments of `debug`.
#[derive(Debug, Args)]
pub struct DebugArgs {
    #[command(subcommand)]
    pub command: DebugCommand,
}

/// Debug subcommands.
#[derive(Debug, Subcommand)]
pub enum DebugCommand {
    /// Generate semantic tokens with a T2S model and print them (without SOT/EOS).
    T2s(T2sArgs),
    /// Generate acoustic tokens `[Q][3·len − 4]` with an S2A model (un-delayed; Q = its quantizers).
    S2a(super::say::S2aArgs),
    /// Decode acoustic tokens to a 32-bit float 24 kHz WAV with Vocos.
    Vocos(super::say::VocosArgs),
    /// Print the raw ECAPA-TDNN speaker embedding of a reference recording (before L2 normalisation).
    Speaker(SpeakerArgs),
    /// Read lines on stdin and print each as the verbaliser would speak it (numbers, dates, money…).
    Normalize(NormalizeArgs),
    /// Transcribe a recording with Whisper (greedy, no timestamps, temperature 0), as QA does.
    Transcribe(TranscribeArgs),
    /// Write random-weight T2S, S2A and Vocos models at the published sizes (benchmarks; no download).
    RandomModels(RandomModelsArgs),
    /// The device check of `scripts/gpu-check.sh`: parity fixtures on the device, then throughput; writes
    /// OUT/gpu-check.json and OUT/gpu-check.md.
    DeviceCheck(DeviceCheckArgs),
}

/// Arguments of `debug random-models`.
#[derive(Debug, Args)]
pub struct RandomModelsArgs {
    /// Sizes of T2S and S2A to write, comma-separated: tiny, base, small.
    #[arg(long, value_delimiter = ',', default_value = "tiny,base,small")]
    pub sizes: Vec<String>,
    /// Folder to write `t2s-SIZE.safetensors`, `s2a-SIZE.safetensors` (with `.json`) and `vocos/` into.
    pub dir: PathBuf,
}

/// Arguments of `debug device-check`.
#[derive(Debug, Args)]
pub struct DeviceCheckArgs {
    /// Device: cpu, cuda, cuda:N or auto.
    #[arg(long, default_value = "cuda")]
    pub device: String,
    /// Output folder for gpu-check.json and gpu-check.md.
    #[arg(long, default_value = "gpu-check")]
    pub out: PathBuf,
    /// The parity fixtures (the repository's `tests/fixtures/whisperspeech`).
    #[arg(long, default_value = "tests/fixtures/whisperspeech")]
    pub fixtures: PathBuf,
    /// Folder of the random-weight models (written there when missing; default OUT/models).
    #[arg(long)]
    pub models: Option<PathBuf>,
    /// Tiny models and short chunks (CI: checks the check, not the device).
    #[arg(long)]
    pub quick: bool,
    /// A fixed batch instead of the engine's auto batch.
    #[arg(long)]
    pub batch: Option<usize>,
    /// Semantic tokens per chunk (25 per second of audio; default by device).
    #[arg(long)]
    pub tokens: Option<usize>,
    /// Chunks per engine run (rounded up to whole batches; default by device).
    #[arg(long)]
    pub chunks: Option<usize>,
    /// T2S size: tiny, base, small (default by device).
    #[arg(long)]
    pub t2s_size: Option<String>,
    /// S2A size: tiny, base, small (default by device).
    #[arg(long)]
    pub s2a_size: Option<String>,
}

fn random_models(a: RandomModelsArgs) -> anyhow::Result<i32> {
    use ws_book::engine::whisperspeech::random::{self, Size};
    let sizes = a
        .sizes
        .iter()
        .map(|s| Size::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    random::write_models(&a.dir, &sizes).map_err(anyhow::Error::msg)?;
    println!(
        "wrote random-weight models ({}) to {}",
        a.sizes.join(", "),
        a.dir.display()
    );
    Ok(0)
}

fn device_check(a: DeviceCheckArgs) -> anyhow::Result<i32> {
    use ws_book::device_check::{self, CheckOptions};
    use ws_book::engine::whisperspeech::random::Size;
    let models = a.models.clone().unwrap_or_else(|| a.out.join("models"));
    let mut o = CheckOptions::for_device(&a.device, a.fixtures.clone(), models, a.quick);
    let size = |s: &Option<String>| s.as_deref().map(Size::parse).transpose().map_err(anyhow::Error::msg);
    o.t2s = size(&a.t2s_size)?.unwrap_or(o.t2s);
    o.s2a = size(&a.s2a_size)?.unwrap_or(o.s2a);
    o.shape.tokens = a.tokens.unwrap_or(o.shape.tokens).max(2);
    o.shape.chunks = a.chunks.unwrap_or(o.shape.chunks).max(1);
    o.batch = a.batch.filter(|&b| b > 0);
    let report = device_check::run(&o).map_err(anyhow::Error::msg)?;
    device_check::write(&report, &a.out).map_err(anyhow::Error::msg)?;
    print!("{}", device_check::markdown(&report));
    println!(
        "\nwrote {} and {}",
        a.out.join("gpu-check.json").display(),
        a.out.join("gpu-check.md").display()
    );
    Ok(if report.parity.ok { 0 } else { 1 })
}

/// Arguments of `debug transcribe`.
#[derive(Debug, Args)]
pub struct TranscribeArgs {
    /// Whisper model: a size (tiny, base, small, medium, large-v3, `.en` variants), a hub repository
    /// (openai/whisper-…, Systran/faster-whisper-…), a model folder (Hugging Face or CTranslate2 layout) or a
    /// library name.
    #[arg(long)]
    pub model: String,
    /// Language of the speech (a Whisper code such as en, pl, de); detected when absent.
    #[arg(long)]
    pub lang: Option<String>,
    /// Device: auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Never download (use only models already in the library or the hub cache).
    #[arg(long)]
    pub offline: bool,
    /// Print one JSON object (`text`, `language`, `tokens`, `seconds`, `capped`, `model`, `device`).
    #[arg(long)]
    pub json: bool,
    /// The recording (any format FFmpeg reads; resampled to 16 kHz, first channel).
    pub audio: PathBuf,
}

fn transcribe(a: TranscribeArgs) -> anyhow::Result<i32> {
    use ws_book::asr::{load_audio, Transcriber};
    use ws_book::models::{Fetch, Resolver};
    let device = select_device(&a.device)?;
    if !a.json {
        println!("device {}, dtype f32", device_name(&device));
    }
    let lang = match &a.lang {
        Some(l) => Some(
            ws_book::lang::resolve(l)
                .ok_or_else(|| anyhow::anyhow!("--lang {l}: not a Whisper language code (e.g. en, pl, de, fr)"))?,
        ),
        None => None,
    };
    let res = Resolver::from_env(a.offline).with_progress(ws_book::models::BarProgress::boxed);
    let model = res
        .resolve_asr(&a.model, std::path::Path::new("."), Fetch::Allow)
        .with_context(|| format!("Whisper model `{}`", a.model))?;
    let mut t = Transcriber::load(&model.files, &device)
        .with_context(|| format!("loading Whisper model {}", model.entry.name))?;
    let pcm = load_audio(&a.audio)?;
    let t0 = std::time::Instant::now();
    let out = t.transcribe(&[(&pcm, lang)])?.remove(0);
    let secs = t0.elapsed().as_secs_f64();
    if a.json {
        let v = serde_json::json!({
            "text": out.text, "language": out.language, "tokens": out.tokens, "seconds": out.seconds,
            "capped": out.capped, "model": model.entry.name, "device": device_name(&device),
            "transcribe_s": secs,
        });
        println!("{v}");
    } else {
        println!("{}", out.text);
        println!(
            "{:.2} s of {} speech in {secs:.2} s ({}, {} tokens{})",
            out.seconds,
            out.language,
            model.entry.name,
            out.tokens.len(),
            if out.capped { ", hit the token cap" } else { "" }
        );
    }
    Ok(0)
}

/// Arguments of `debug normalize`.
#[derive(Debug, Args)]
pub struct NormalizeArgs {
    /// Language (code, name or BCP 47 tag): en, pl, de, fr, es and it have rules; others print the text unchanged.
    #[arg(long)]
    pub lang: String,
    /// Print one JSON object per line: the input, the spoken text and the spans with their class.
    #[arg(long)]
    pub json: bool,
}

fn normalize(a: NormalizeArgs) -> anyhow::Result<i32> {
    use std::io::{BufRead, Write};
    use ws_book::manuscript::normalize;
    let code = ws_book::lang::resolve(&a.lang).with_context(|| {
        let hint = ws_book::lang::suggest(&a.lang)
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        format!("unknown language `{}`{hint}", a.lang)
    })?;
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line.context("reading stdin")?;
        let spoken = normalize::normalize(&line, code);
        if a.json {
            let spans = normalize::spans(&line, code);
            let v = serde_json::json!({ "text": line, "spoken": spoken, "lang": code, "spans": spans });
            writeln!(out, "{v}")?;
        } else {
            writeln!(out, "{spoken}")?;
        }
    }
    Ok(0)
}

/// Arguments of `debug speaker`.
#[derive(Debug, Args)]
pub struct SpeakerArgs {
    #[command(flatten)]
    pub encoder: super::voices::EncoderArgs,
    /// Reference audio.
    pub audio: PathBuf,
    #[command(flatten)]
    pub window: super::voices::WindowArgs,
    /// Print one JSON object (`embedding`, `dims`, `sample_rate`, `seconds`, `model`).
    #[arg(long)]
    pub json: bool,
}

fn speaker(a: SpeakerArgs) -> anyhow::Result<i32> {
    use ws_book::speaker::audio_in;
    let (enc, weights) = a.encoder.load()?;
    let audio = audio_in::load_reference(&a.audio, &a.window.window())?;
    let t0 = std::time::Instant::now();
    let emb = enc.embed(&audio)?;
    let secs = t0.elapsed().as_secs_f64();
    let seconds = audio.samples.len() as f64 / f64::from(audio.sample_rate);
    if a.json {
        let v = serde_json::json!({
            "embedding": emb, "dims": emb.len(), "sample_rate": audio.sample_rate, "seconds": seconds,
            "model": weights.display().to_string(), "embed_s": secs,
        });
        println!("{v}");
    } else {
        println!(
            "{}",
            emb.iter().map(|x| format!("{x:.6}")).collect::<Vec<_>>().join(" ")
        );
        println!(
            "{} values from {seconds:.2} s at {} Hz in {secs:.2} s ({})",
            emb.len(),
            audio.sample_rate,
            weights.display()
        );
    }
    Ok(0)
}

/// Arguments of `debug t2s`.
#[derive(Debug, Args)]
pub struct T2sArgs {
    /// T2S model: a `.model` file, or a `.safetensors` file with its `.json` beside it.
    #[arg(long)]
    pub model: PathBuf,
    /// Text to speak (single language; see --runs for code-switching).
    #[arg(long, conflicts_with = "runs")]
    pub text: Option<String>,
    /// Language of --text (code, name or BCP 47 tag).
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// Code-switched text as JSON: [["text","en"],["tekst","pl"]].
    #[arg(long)]
    pub runs: Option<String>,
    /// Speaking rate, characters per second.
    #[arg(long, default_value_t = 15.0)]
    pub cps: f32,
    #[command(flatten)]
    pub sampling: super::say::SamplingArgs,
    /// Stop after this many tokens (the model's cap is stoks_len − 1).
    #[arg(long)]
    pub max_tokens: Option<usize>,
    /// Semantic-token prompt, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub prompt: Option<Vec<u32>>,
    /// Weights dtype: f32 (default), f16, bf16.
    #[arg(long, default_value = "f32")]
    pub dtype: String,
    /// Run the decoder with q8_0-quantized matmuls (CPU speed mode).
    #[arg(long)]
    pub quantize: bool,
    /// Device: auto, cpu, cuda or cuda:N (cuda needs a build with the `cuda` feature).
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs `debug`.
pub fn run(a: DebugArgs) -> anyhow::Result<i32> {
    match a.command {
        DebugCommand::T2s(a) => t2s(a),
        DebugCommand::S2a(a) => super::say::s2a(a),
        DebugCommand::Vocos(a) => super::say::vocos(a),
        DebugCommand::Speaker(a) => speaker(a),
        DebugCommand::Transcribe(a) => transcribe(a),
        DebugCommand::Normalize(a) => normalize(a),
        DebugCommand::RandomModels(a) => random_models(a),
        DebugCommand::DeviceCheck(a) => device_check(a),
    }
}

fn parse_lang(tag: &str) -> anyhow::Result<usize> {
    let code = ws_book::lang::resolve(tag).with_context(|| {
        let hint = ws_book::lang::suggest(tag)
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        format!("unknown language `{tag}`{hint}")
    })?;
    ws_book::lang::id(code).with_context(|| format!("language `{code}` has no id"))
}

fn t2s(a: T2sArgs) -> anyhow::Result<i32> {
    let runs: Vec<(String, usize)> = match (&a.text, &a.runs) {
        (Some(t), None) => vec![(t.clone(), parse_lang(&a.lang)?)],
        (None, Some(j)) => {
            let v: Vec<(String, String)> =
                serde_json::from_str(j).context("--runs must be JSON like [[\"text\",\"en\"],[\"tekst\",\"pl\"]]")?;
            v.into_iter()
                .map(|(t, l)| Ok((t, parse_lang(&l)?)))
                .collect::<anyhow::Result<_>>()?
        }
        _ => bail!("give --text or --runs"),
    };
    let dtype = match a.dtype.as_str() {
        "f32" => DType::F32,
        "f16" => DType::F16,
        "bf16" => DType::BF16,
        d => bail!("unknown dtype `{d}` (f32, f16, bf16)"),
    };
    let device = select_device(&a.device)?;
    let t0 = std::time::Instant::now();
    let model = T2s::load_with(
        &a.model,
        &device,
        T2sOptions {
            dtype,
            quantize: a.quantize,
        },
    )
    .with_context(|| format!("loading the T2S model {}", a.model.display()))?;
    let load_s = t0.elapsed().as_secs_f64();
    let req = T2sRequest {
        runs,
        cps: a.cps,
        temperature: a.sampling.temperature,
        top_k: a.sampling.top_k,
        seed: a.sampling.seed,
        max_tokens: a.max_tokens,
        prompt: a.prompt,
    };
    let t1 = std::time::Instant::now();
    let out = model.generate(&[req])?.remove(0);
    let gen_s = t1.elapsed().as_secs_f64();
    let dev = device_name(&device);
    let stop = match out.stop {
        Stop::Eos => "eos",
        Stop::Cap => "cap",
    };
    if a.json {
        let v = serde_json::json!({
            "tokens": out.tokens, "stop": stop, "device": dev, "dtype": format!("{dtype:?}").to_lowercase(),
            "quantized": model.is_quantized(), "eos": model.eos(), "load_s": load_s, "generate_s": gen_s,
        });
        println!("{v}");
    } else {
        println!(
            "device {dev}, dtype {}{}, eos {}",
            format!("{dtype:?}").to_lowercase(),
            if model.is_quantized() { " (q8_0 decoder)" } else { "" },
            model.eos()
        );
        println!(
            "{}",
            out.tokens.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
        );
        println!(
            "{} tokens, stop: {stop}, {:.2} s ({:.1} tokens/s)",
            out.tokens.len(),
            gen_s,
            out.tokens.len() as f64 / gen_s.max(1e-9)
        );
    }
    Ok(0)
}
