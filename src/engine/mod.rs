//! Speech engines: turn a batch of chunk requests into audio.
//!
//! An [`Engine`] knows nothing of the queue or the book: it receives [`SynthRequest`]s (text runs with
//! languages, a voice, a seed, generation parameters) and returns one mono [`Audio`] per request, in order.
//! Engines are created per worker by [`create`] (one instance per device); [`resolve_with`] turns the project's
//! `engine:` choice into a concrete engine, falling back from `auto` to the espeak draft with a warning.
//!
//! Owns the engine interface and the choice of engine. Must never import the store, worker, render, plan or
//! project modules (it receives requests, not chunks); of the crate it uses only `manuscript::Run`, `audio`
//! and `lang`.

use serde::{Deserialize, Serialize};

pub use crate::manuscript::Run;

pub mod espeak;
pub mod whisperspeech;

/// Environment variable of the failure-injection testing hook: chunks whose text contains its value fail.
pub const FAIL_CHUNKS_ENV: &str = "WS_BOOK_FAIL_CHUNKS";

/// Environment variable of the slow-engine testing hook: each batch takes at least this many milliseconds
/// (so tests can kill or freeze a worker while it holds a lease). The audio is unchanged.
pub const CHUNK_DELAY_ENV: &str = "WS_BOOK_CHUNK_DELAY_MS";

/// Errors from engines.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine cannot be used on this machine.
    #[error("{0}")]
    Unavailable(String),
    /// Synthesis of a chunk failed.
    #[error("synthesis of chunk {key} failed: {message}")]
    Synthesis {
        /// The chunk's store key.
        key: String,
        /// What went wrong.
        message: String,
    },
}

/// A voice: its name and, for cloning engines, its speaker embedding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoiceSpec {
    /// Voice library name or reference-audio path.
    pub name: String,
    /// Speaker embedding (WhisperSpeech), when the voice has one.
    pub embedding: Option<Vec<f32>>,
}

/// Generation parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenParams {
    /// Speaking rate in characters per second.
    pub cps: f64,
    /// Sampling temperature.
    pub temperature: f64,
    /// Optional top-k.
    pub top_k: Option<usize>,
}

/// One chunk to synthesise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthRequest {
    /// The chunk's store key (for messages).
    pub key: String,
    /// Language runs in order.
    pub runs: Vec<Run>,
    /// The voice.
    pub voice: VoiceSpec,
    /// Speaker (`narrator` or a character).
    pub speaker: String,
    /// Sampling seed (derived from the project seed and the store key).
    pub seed: u64,
    /// Generation parameters.
    pub params: GenParams,
}

impl SynthRequest {
    /// The text of all runs.
    pub fn text(&self) -> String {
        self.runs.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join(" ")
    }
}

/// Mono audio.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Samples in −1..1.
    pub samples: Vec<f32>,
    /// Whether generation stopped at its length cap instead of ending by itself (a runaway); QA fails such
    /// takes.
    pub capped: bool,
}

/// A speech engine instance (owned by one worker).
pub trait Engine: Send {
    /// Engine name (`espeak`, `whisperspeech`).
    fn name(&self) -> &str;
    /// Everything about the engine that determines its audio: name, version, model digests.
    fn fingerprint(&self) -> String;
    /// Output sample rate.
    fn sample_rate(&self) -> u32;
    /// The batch size `render.batch_size: auto` means for this engine on its device: WhisperSpeech on the CPU
    /// a measured value ([`whisperspeech::batch::CPU_AUTO_BATCH`]), on a GPU what its free memory holds;
    /// 1 for engines that do not batch (espeak).
    fn auto_batch(&self) -> usize {
        1
    }
    /// Synthesises a batch; one audio per request, in order.
    fn synthesize(&mut self, batch: &[SynthRequest]) -> Result<Vec<Audio>, EngineError>;
    /// The quality checks of the last [`Engine::synthesize`] call, one per request in order, when this engine
    /// checks its takes (the QA wrapper, [`crate::qa::QaEngine`]); plain engines check nothing.
    fn take_checks(&mut self) -> Option<Vec<crate::qa::ChunkQa>> {
        None
    }
}

/// A concrete engine choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// The espeak-ng draft engine.
    Espeak,
    /// WhisperSpeech.
    Whisperspeech,
}

impl EngineKind {
    /// The name as in project.yaml.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Espeak => "espeak",
            EngineKind::Whisperspeech => "whisperspeech",
        }
    }
}

/// Why WhisperSpeech cannot be used in this build, naming what is missing.
pub fn whisperspeech_unavailable() -> String {
    "the WhisperSpeech engine is not available in this build: its candle pipeline and model files \
     (T2S, S2A and Vocos checkpoints) are missing; use `--engine espeak` for a draft render"
        .to_string()
}

/// Turns `auto` / `whisperspeech` / `espeak` into an engine kind given the WhisperSpeech model locations (`Err` = why they cannot be used: a missing setting or
/// file). `whisperspeech` fails with that reason; `auto` uses WhisperSpeech when every model file exists and
/// otherwise falls back to the espeak draft with a warning.
pub fn resolve_with(
    choice: &str,
    models: Option<&Result<whisperspeech::ModelPaths, String>>,
) -> Result<(EngineKind, Option<String>), EngineError> {
    let usable = match models {
        Some(Ok(p)) => match p.missing() {
            None => Ok(()),
            Some(f) => Err(format!("WhisperSpeech model file {} is missing", f.display())),
        },
        Some(Err(e)) => Err(e.clone()),
        None => Err(whisperspeech_unavailable()),
    };
    match (choice, usable) {
        ("whisperspeech" | "auto", Ok(())) => Ok((EngineKind::Whisperspeech, None)),
        ("whisperspeech", Err(e)) => Err(EngineError::Unavailable(e)),
        ("auto", Err(e)) if models.is_some() => Ok((
            EngineKind::Espeak,
            Some(format!(
                "DRAFT render: {e}; rendering with the espeak-ng draft engine instead (robotic voice, for proofing)"
            )),
        )),
        (c, _) => resolve_plain(c),
    }
}

fn resolve_plain(choice: &str) -> Result<(EngineKind, Option<String>), EngineError> {
    match choice {
        "espeak" => Ok((EngineKind::Espeak, None)),
        "whisperspeech" => Err(EngineError::Unavailable(whisperspeech_unavailable())),
        "auto" => Ok((
            EngineKind::Espeak,
            Some(format!(
                "DRAFT render: {}; rendering with the espeak-ng draft engine instead (robotic voice, for proofing)",
                whisperspeech_unavailable().trim_end_matches("; use `--engine espeak` for a draft render")
            )),
        )),
        other => Err(EngineError::Unavailable(format!(
            "unknown engine `{other}`; use auto, whisperspeech or espeak"
        ))),
    }
}

/// Creates an engine instance for one worker. With [`FAIL_CHUNKS_ENV`] set (a testing hook), the engine
/// fails every request whose text contains its value.
pub fn create(kind: EngineKind) -> Result<Box<dyn Engine>, EngineError> {
    create_with(kind, None, "auto")
}

/// [`create`] with the WhisperSpeech model locations and device (`auto`, `cpu`, `cuda`, `cuda:N`).
pub fn create_with(
    kind: EngineKind,
    models: Option<&whisperspeech::ModelPaths>,
    device: &str,
) -> Result<Box<dyn Engine>, EngineError> {
    create_with_options(kind, models, device, whisperspeech::ModelOptions::default())
}

/// [`create_with`] with the WhisperSpeech precision options (`quantize`: the q8_0 CPU speed mode).
pub fn create_with_options(
    kind: EngineKind,
    models: Option<&whisperspeech::ModelPaths>,
    device: &str,
    options: whisperspeech::ModelOptions,
) -> Result<Box<dyn Engine>, EngineError> {
    let engine: Box<dyn Engine> = match (kind, models) {
        (EngineKind::Espeak, _) => Box::new(espeak::EspeakEngine::new()?),
        (EngineKind::Whisperspeech, Some(m)) => {
            let dev = whisperspeech::engine::select_device(device)?;
            Box::new(whisperspeech::WhisperSpeechEngine::load_with(m, &dev, options)?)
        }
        (EngineKind::Whisperspeech, None) => return Err(EngineError::Unavailable(whisperspeech_unavailable())),
    };
    let delay = std::env::var(CHUNK_DELAY_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&ms| ms > 0)
        .map(std::time::Duration::from_millis);
    let needle = std::env::var(FAIL_CHUNKS_ENV).ok().filter(|n| !n.is_empty());
    if delay.is_none() && needle.is_none() {
        return Ok(engine);
    }
    Ok(Box::new(HookedEngine {
        inner: engine,
        delay,
        needle,
    }))
}

/// The testing hooks around an engine ([`FAIL_CHUNKS_ENV`], [`CHUNK_DELAY_ENV`]): a batch with a request whose
/// text contains `needle` fails at once; any other batch sleeps `delay`, then is delegated.
struct HookedEngine {
    inner: Box<dyn Engine>,
    delay: Option<std::time::Duration>,
    needle: Option<String>,
}

impl Engine for HookedEngine {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn fingerprint(&self) -> String {
        self.inner.fingerprint()
    }
    fn sample_rate(&self) -> u32 {
        self.inner.sample_rate()
    }
    fn auto_batch(&self) -> usize {
        self.inner.auto_batch()
    }
    fn synthesize(&mut self, batch: &[SynthRequest]) -> Result<Vec<Audio>, EngineError> {
        if let Some(needle) = &self.needle {
            if let Some(r) = batch.iter().find(|r| r.text().contains(needle.as_str())) {
                return Err(EngineError::Synthesis {
                    key: r.key.clone(),
                    message: format!("injected failure ({FAIL_CHUNKS_ENV}={needle:?})"),
                });
            }
        }
        if let Some(delay) = self.delay {
            std::thread::sleep(delay);
        }
        self.inner.synthesize(batch)
    }
}
