//! `ws-book voices …`: the voice library (add, list, show, rm, export, import, preview).

use std::path::PathBuf;

use super::model_args::ModelArgs;
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use ws_book::engine::{self, whisperspeech, GenParams, Run, SynthRequest, VoiceSpec};
use ws_book::speaker::{audio_in, average_embeddings, speaker_model_location, AudioWindow, SpeakerEncoder};
use ws_book::voices::{file_digest, portable, validate_name, SourceRef, Voice, VoiceLibrary, DEFAULT_VOICE};

/// Arguments of `voices`.
#[derive(Debug, Args)]
pub struct VoicesArgs {
    #[command(subcommand)]
    pub command: VoicesCommand,
}

/// Voice-library subcommands.
#[derive(Debug, Subcommand)]
pub enum VoicesCommand {
    /// Add a voice from one or more reference recordings (their embeddings are averaged).
    Add(AddArgs),
    /// List the voices.
    List(ListArgs),
    /// Show one voice.
    Show(ShowArgs),
    /// Remove a voice.
    Rm(RmArgs),
    /// Write a voice to a portable JSON file.
    Export(ExportArgs),
    /// Add a voice from a file written by `voices export`.
    Import(ImportArgs),
    /// Speak a text with a voice into a WAV file.
    Preview(PreviewArgs),
}

/// The part of the reference audio used, shared by `voices add` and `debug speaker`.
#[derive(Debug, Clone, Args)]
pub struct WindowArgs {
    /// Channel to use (0 = the first, as the reference pipeline).
    #[arg(long, default_value_t = 0)]
    pub channel: usize,
    /// Start of the window, seconds.
    #[arg(long, default_value_t = 0.0)]
    pub start: f64,
    /// Length of the window, seconds (the reference uses the first 30 s).
    #[arg(long, default_value_t = 30.0)]
    pub duration: f64,
    /// Trim leading and trailing silence (below −50 dBFS) before embedding.
    #[arg(long)]
    pub trim_silence: bool,
}

impl WindowArgs {
    /// As the library type.
    pub fn window(&self) -> AudioWindow {
        AudioWindow {
            channel: self.channel,
            start: self.start,
            duration: self.duration,
            trim_silence: self.trim_silence,
        }
    }
}

/// The speaker-encoder flags, shared by `voices add` and `debug speaker`.
#[derive(Debug, Clone, Args)]
pub struct EncoderArgs {
    /// Speaker-encoder weights: speechbrain `embedding_model.ckpt` or `.safetensors` (default:
    /// $WS_BOOK_SPEAKER_MODEL, then `$WS_BOOK_HOME/models/spkrec-ecapa-voxceleb/`).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// ECAPA_TDNN constructor arguments as JSON (default: the `.json` beside the weights, else
    /// spkrec-ecapa-voxceleb's).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

impl EncoderArgs {
    /// Finds and loads the speaker encoder (on the CPU); returns it with its weights file.
    pub fn load(&self) -> anyhow::Result<(SpeakerEncoder, PathBuf)> {
        let (weights, config) = speaker_model_location(self.model.as_deref(), self.config.as_deref())?;
        let enc = SpeakerEncoder::load(&weights, config.as_deref(), &candle_core::Device::Cpu)
            .with_context(|| format!("loading the speaker encoder {}", weights.display()))?;
        Ok((enc, weights))
    }
}

/// Arguments of `voices add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Voice name: letters, digits, `-`, `_` (at most 64).
    pub name: String,
    /// Reference recordings (WAV, FLAC, MP3, Ogg/Opus, M4A…), ideally 10–30 s of clean speech each.
    #[arg(required = true)]
    pub audio: Vec<PathBuf>,
    /// Main language of the voice (code).
    #[arg(long)]
    pub lang: Option<String>,
    /// Free-text description.
    #[arg(long)]
    pub description: Option<String>,
    /// Replace an existing voice of that name.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub encoder: EncoderArgs,
    #[command(flatten)]
    pub window: WindowArgs,
}

/// Arguments of `voices list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `voices show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Voice name.
    pub name: String,
    /// Print JSON (with the embedding).
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `voices rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Voice name.
    pub name: String,
}

/// Arguments of `voices export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Voice name.
    pub name: String,
    /// Output file (JSON).
    pub file: PathBuf,
}

/// Arguments of `voices import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A file written by `voices export`.
    pub file: PathBuf,
    /// Store it under another name.
    #[arg(long)]
    pub name: Option<String>,
    /// Replace an existing voice of that name.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `voices preview`.
#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// Voice name.
    pub name: String,
    /// Text to speak (default: a short introduction).
    pub text: Option<String>,
    /// Output WAV (32-bit float).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Language of the text (default: the voice's language, else en).
    #[arg(long)]
    pub lang: Option<String>,
    /// WhisperSpeech models (default: the default preset, if it is in the model library); when they are
    /// absent the espeak-ng draft engine speaks, with a warning.
    #[command(flatten)]
    pub models: ModelArgs,
    /// Device: auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// RNG seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// Runs `voices`.
pub fn run(a: VoicesArgs) -> anyhow::Result<i32> {
    let rt = runtime()?;
    rt.block_on(async {
        match a.command {
            VoicesCommand::Add(a) => add(a).await,
            VoicesCommand::List(a) => list(a).await,
            VoicesCommand::Show(a) => show(a).await,
            VoicesCommand::Rm(a) => rm(a).await,
            VoicesCommand::Export(a) => export(a).await,
            VoicesCommand::Import(a) => import(a).await,
            VoicesCommand::Preview(a) => preview(a).await,
        }
    })
}

async fn add(a: AddArgs) -> anyhow::Result<i32> {
    validate_name(&a.name)?;
    if a.name == DEFAULT_VOICE {
        bail!("`default` is the built-in voice; choose another name");
    }
    if let Some(l) = &a.lang {
        ws_book::lang::resolve(l).with_context(|| format!("--lang: unknown language `{l}`"))?;
    }
    let lib = VoiceLibrary::open_default().await?;
    if !a.force && lib.exists(&a.name).await? {
        bail!("voice `{}` exists already; pass --force to replace it", a.name);
    }
    // the recordings first: a missing or unusable file is reported before any model is looked for
    let window = a.window.window();
    let clips = a
        .audio
        .iter()
        .map(|p| audio_in::load_reference(p, &window))
        .collect::<Result<Vec<_>, _>>()?;
    let (enc, weights) = a.encoder.load()?;
    let mut embs = Vec::new();
    let mut sources = Vec::new();
    for (p, audio) in a.audio.iter().zip(&clips) {
        let seconds = audio.samples.len() as f64 / f64::from(audio.sample_rate);
        embs.push(enc.embed(audio)?);
        sources.push(SourceRef {
            file: p
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            blake3: file_digest(p).with_context(|| format!("reading {}", p.display()))?,
            seconds,
        });
        println!("{}: {seconds:.2} s at {} Hz", p.display(), audio.sample_rate);
    }
    let voice = Voice {
        name: a.name.clone(),
        lang: a
            .lang
            .clone()
            .map(|l| ws_book::lang::resolve(&l).unwrap_or_default().to_string()),
        description: a.description.clone(),
        embedding: average_embeddings(&embs),
        sources,
        model: file_digest(&weights)?,
        created: String::new(),
        builtin: false,
    };
    lib.add(&voice, a.force).await?;
    println!(
        "added voice `{}` ({} reference file(s), {}-d embedding) to {}",
        voice.name,
        embs.len(),
        voice.embedding.len(),
        lib.path().display()
    );
    Ok(0)
}

fn summary(v: &Voice) -> serde_json::Value {
    serde_json::json!({
        "name": v.name, "lang": v.lang, "description": v.description, "builtin": v.builtin,
        "dims": v.embedding.len(), "embedding_blake3": v.embedding_digest(),
        "sources": v.sources, "model": v.model, "created": v.created,
    })
}

async fn list(a: ListArgs) -> anyhow::Result<i32> {
    let lib = VoiceLibrary::open_default().await?;
    let voices = lib.list().await?;
    if a.json {
        let v: Vec<_> = voices.iter().map(summary).collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    println!("{:<24} {:<5} {:>7}  description", "name", "lang", "sources");
    for v in &voices {
        println!(
            "{:<24} {:<5} {:>7}  {}",
            v.name,
            v.lang.as_deref().unwrap_or("-"),
            if v.builtin {
                "built-in".to_string()
            } else {
                v.sources.len().to_string()
            },
            v.description.as_deref().unwrap_or("")
        );
    }
    Ok(0)
}

async fn show(a: ShowArgs) -> anyhow::Result<i32> {
    let lib = VoiceLibrary::open_default().await?;
    let v = lib.get(&a.name).await?;
    if a.json {
        let mut j = summary(&v);
        j["embedding"] = serde_json::json!(v.embedding);
        println!("{}", serde_json::to_string_pretty(&j)?);
        return Ok(0);
    }
    println!("name:        {}", v.name);
    println!("language:    {}", v.lang.as_deref().unwrap_or("-"));
    println!("description: {}", v.description.as_deref().unwrap_or("-"));
    println!(
        "embedding:   {} values, blake3 {}",
        v.embedding.len(),
        v.embedding_digest()
    );
    if !v.builtin {
        println!(
            "model:       blake3 {}",
            if v.model.is_empty() { "-" } else { &v.model }
        );
        println!("created:     {}", v.created);
    }
    for s in &v.sources {
        println!("source:      {} ({:.2} s, blake3 {})", s.file, s.seconds, s.blake3);
    }
    Ok(0)
}

async fn rm(a: RmArgs) -> anyhow::Result<i32> {
    let lib = VoiceLibrary::open_default().await?;
    lib.remove(&a.name).await?;
    println!("removed voice `{}`", a.name);
    Ok(0)
}

async fn export(a: ExportArgs) -> anyhow::Result<i32> {
    let lib = VoiceLibrary::open_default().await?;
    let v = lib.get(&a.name).await?;
    portable::export(&v, &a.file)?;
    println!("exported voice `{}` to {}", v.name, a.file.display());
    Ok(0)
}

async fn import(a: ImportArgs) -> anyhow::Result<i32> {
    let mut v = portable::read(&a.file)?;
    if let Some(n) = a.name {
        validate_name(&n)?;
        v.name = n;
    }
    let lib = VoiceLibrary::open_default().await?;
    lib.add(&v, a.force).await?;
    println!(
        "imported voice `{}` (embedding blake3 {}) into {}",
        v.name,
        v.embedding_digest(),
        lib.path().display()
    );
    Ok(0)
}

async fn preview(a: PreviewArgs) -> anyhow::Result<i32> {
    let lib = VoiceLibrary::open_default().await?;
    let v = lib.get(&a.name).await?;
    let lang_arg = a.lang.clone().or(v.lang.clone()).unwrap_or_else(|| "en".into());
    let lang = ws_book::lang::resolve(&lang_arg).with_context(|| format!("unknown language `{lang_arg}`"))?;
    let text = a
        .text
        .clone()
        .unwrap_or_else(|| format!("Hello. This is the voice {}, reading a short preview.", v.name));
    let models = a.models.resolve("auto");
    let (kind, warning) = engine::resolve_with("auto", models.as_ref())?;
    if let Some(w) = warning {
        eprintln!("warning: DRAFT preview (the espeak-ng draft engine ignores the voice's embedding): {w}");
    }
    // like `say`: the first line states the device and dtype (the draft engine runs on the CPU)
    match kind {
        engine::EngineKind::Whisperspeech => {
            let device = whisperspeech::engine::select_device(&a.device)?;
            println!(
                "device {}, dtype {}",
                whisperspeech::engine::device_name(&device),
                a.models.options().label()
            );
        }
        engine::EngineKind::Espeak => println!("device cpu, espeak-ng draft engine"),
    }
    let paths = models.and_then(Result::ok);
    let mut eng = engine::create_with_options(kind, paths.as_ref(), &a.device, a.models.options())?;
    let req = SynthRequest {
        key: format!("preview-{}", v.name),
        runs: vec![Run {
            text: text.replace('\n', " "),
            lang: lang.to_string(),
        }],
        voice: VoiceSpec {
            name: v.name.clone(),
            embedding: Some(v.embedding.clone()),
        },
        speaker: "narrator".into(),
        seed: a.seed,
        params: GenParams {
            cps: 15.0,
            temperature: 0.7,
            top_k: None,
        },
    };
    let audio = eng.synthesize(&[req])?.remove(0);
    super::say::write_wav_f32(&a.output, audio.sample_rate, &audio.samples)?;
    println!(
        "{:.2} s with voice `{}` ({} engine) → {}",
        audio.samples.len() as f64 / f64::from(audio.sample_rate.max(1)),
        v.name,
        eng.name(),
        a.output.display()
    );
    Ok(0)
}
