//! The `whisperspeech` engine: chunk requests → T2S → S2A → Vocos → 24 kHz audio, batched across the claimed
//! chunks (spec §1).
//!
//! Invariants: every request samples from its own seeds (T2S from the chunk seed, S2A from a seed derived from
//! it), so a chunk's audio does not depend on its batch mates; the default voice is the reference pipeline's
//! built-in speaker embedding; the fingerprint names the engine version and the BLAKE3 digests of the model files,
//! plus the precision when it is not plain f32 (the q8_0 speed mode changes the audio).

use std::path::{Path, PathBuf};

use candle_core::Device;

use super::layers::ModelOptions;
use super::s2a::{S2a, S2aRequest};
use super::t2s::{T2s, T2sRequest};
use super::vocos::{Vocos, SAMPLE_RATE};
use crate::engine::{Audio, Engine, EngineError, SynthRequest};

/// The reference pipeline's default speaker embedding (192 floats, `default_speaker.json`).
pub const DEFAULT_SPEAKER_JSON: &str = include_str!("../../../assets/default_speaker.json");

/// One request's acoustic tokens `[Q][frames]`.
pub type AcousticTokens = Vec<Vec<u32>>;

/// Version of this engine's synthesis path (part of the fingerprint).
pub const ENGINE_VERSION: &str = "ws-book-whisperspeech-1";

/// The default speaker embedding.
pub fn default_speaker() -> Vec<f32> {
    // the embedded asset is a fixed, valid JSON array
    serde_json::from_str(DEFAULT_SPEAKER_JSON).unwrap_or_default()
}

/// Where the three models are (local paths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPaths {
    /// T2S checkpoint (`.model` or `.safetensors`)
    pub t2s: PathBuf,
    /// S2A checkpoint (`.model` or `.safetensors`)
    pub s2a: PathBuf,
    /// Vocos weights (`pytorch_model.bin` or `.safetensors`)
    pub vocos: PathBuf,
    /// Vocos config (default `config.yaml` beside the weights)
    pub vocos_config: Option<PathBuf>,
}

impl ModelPaths {
    /// The standard file names in one directory: `t2s.model`, `s2a.model`, `vocos/pytorch_model.bin`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            t2s: dir.join("t2s.model"),
            s2a: dir.join("s2a.model"),
            vocos: dir.join("vocos").join("pytorch_model.bin"),
            vocos_config: None,
        }
    }

    /// The first model file that does not exist, if any.
    pub fn missing(&self) -> Option<&Path> {
        [
            Some(&self.t2s),
            Some(&self.s2a),
            Some(&self.vocos),
            self.vocos_config.as_ref(),
        ]
        .into_iter()
        .flatten()
        .find(|p| !p.is_file())
        .map(PathBuf::as_path)
    }
}

pub use super::device::select_device;

/// A short description of a device (`cpu`, `cuda:0`).
pub fn device_name(d: &Device) -> String {
    if d.is_cpu() {
        "cpu".into()
    } else if d.is_cuda() {
        "cuda".into()
    } else {
        "metal".into()
    }
}

/// BLAKE3 (first 16 hex digits) of a model file. Remembered per process by (path, length, modification time):
/// a render creates one engine per worker, and hashing a 0.9 GB checkpoint once is enough.
fn digest(path: &Path) -> Result<String, EngineError> {
    use std::sync::{Mutex, OnceLock};
    type Key = (PathBuf, u64, Option<std::time::SystemTime>);
    static SEEN: OnceLock<Mutex<std::collections::HashMap<Key, String>>> = OnceLock::new();
    let unreadable =
        |e: std::io::Error| EngineError::Unavailable(format!("cannot read model file {}: {e}", path.display()));
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    let key = (path.to_path_buf(), meta.len(), meta.modified().ok());
    let seen = SEEN.get_or_init(Default::default);
    if let Some(d) = seen.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(d);
    }
    let mut h = blake3::Hasher::new();
    h.update_reader(std::fs::File::open(path).map_err(unreadable)?)
        .map_err(unreadable)?;
    let d = h.finalize().to_hex()[..16].to_string();
    if let Ok(mut m) = seen.lock() {
        m.insert(key, d.clone());
    }
    Ok(d)
}

/// The fingerprint's precision part: empty for plain f32 (older fingerprints stay valid), else
/// ` precision:f16`, ` precision:bf16`, ` precision:f32+q8_0` — a non-default precision changes the audio, so
/// workers of another precision never claim a render's chunks and its content keys are its own.
pub fn precision_suffix(options: ModelOptions) -> String {
    if options.quantize || options.dtype != candle_core::DType::F32 {
        format!(" precision:{}", options.label().replace(" + ", "+"))
    } else {
        String::new()
    }
}

/// The WhisperSpeech engine (one instance per worker/device).
pub struct WhisperSpeechEngine {
    t2s: T2s,
    s2a: S2a,
    vocos: Vocos,
    fingerprint: String,
    default_speaker: Vec<f32>,
    device: Device,
    options: ModelOptions,
    /// cap on semantic tokens per chunk (testing and bounded latency; `None` = the model's cap)
    pub max_stoks: Option<usize>,
}

impl std::fmt::Debug for WhisperSpeechEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperSpeechEngine")
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

impl WhisperSpeechEngine {
    /// Loads the three models (f32) on `device`; a missing file is an error naming it.
    pub fn load(paths: &ModelPaths, device: &Device) -> Result<Self, EngineError> {
        Self::load_with(paths, device, ModelOptions::default())
    }

    /// [`WhisperSpeechEngine::load`] with load options for T2S and S2A (dtype, the q8_0 CPU speed mode);
    /// Vocos always runs f32.
    pub fn load_with(paths: &ModelPaths, device: &Device, options: ModelOptions) -> Result<Self, EngineError> {
        if let Some(p) = paths.missing() {
            return Err(EngineError::Unavailable(format!(
                "WhisperSpeech model file {} is missing (set engine.models.t2s/s2a/vocos in project.yaml)",
                p.display()
            )));
        }
        if device.is_cpu() && options.dtype != candle_core::DType::F32 {
            return Err(EngineError::Unavailable(format!(
                "dtype {} is a GPU precision: on the CPU half-precision matmuls are slower than f32 and change the \
                 audio; use `--dtype f32` (the default) there, or `engine.quantize: true` for the CPU speed mode",
                options.label()
            )));
        }
        let un = |what: &str, p: &Path, e: &dyn std::fmt::Display| {
            EngineError::Unavailable(format!("loading the {what} model {}: {e}", p.display()))
        };
        let t2s = T2s::load_with(&paths.t2s, device, options).map_err(|e| un("T2S", &paths.t2s, &e))?;
        let s2a = S2a::load_with(&paths.s2a, device, options).map_err(|e| un("S2A", &paths.s2a, &e))?;
        let vocos = Vocos::load(&paths.vocos, paths.vocos_config.as_deref(), device)
            .map_err(|e| un("Vocos", &paths.vocos, &e))?;
        let mut fp = format!(
            "whisperspeech {ENGINE_VERSION} t2s:{} s2a:{} vocos:{}",
            digest(&paths.t2s)?,
            digest(&paths.s2a)?,
            digest(&paths.vocos)?
        );
        let cfg = match &paths.vocos_config {
            Some(c) => Some(c.clone()),
            None => paths
                .vocos
                .parent()
                .map(|d| d.join("config.yaml"))
                .filter(|p| p.is_file()),
        };
        if let Some(c) = cfg {
            fp.push_str(&format!(" vocos-config:{}", digest(&c)?));
        }
        fp.push_str(&precision_suffix(options));
        let default_speaker = default_speaker();
        if default_speaker.len() != s2a.speaker_width() {
            return Err(EngineError::Unavailable(format!(
                "the S2A model takes {}-value speaker embeddings; the default speaker has {}",
                s2a.speaker_width(),
                default_speaker.len()
            )));
        }
        Ok(Self {
            t2s,
            s2a,
            vocos,
            fingerprint: fp,
            default_speaker,
            device: device.clone(),
            options,
            max_stoks: None,
        })
    }

    /// The device and dtype line (`device cpu, dtype f32`, or `dtype f32 + q8_0` in the speed mode).
    pub fn describe(&self) -> String {
        format!("device {}, dtype {}", device_name(&self.device), self.options.label())
    }

    /// Synthesises a batch and also returns each request's acoustic tokens `[Q][frames]`.
    pub fn synthesize_with_tokens(
        &mut self,
        batch: &[SynthRequest],
    ) -> Result<(Vec<Audio>, Vec<AcousticTokens>), EngineError> {
        let fail = |i: usize, m: String| EngineError::Synthesis {
            key: batch.get(i).map(|r| r.key.clone()).unwrap_or_default(),
            message: m,
        };
        let mut t2s_reqs = Vec::with_capacity(batch.len());
        for (i, r) in batch.iter().enumerate() {
            let runs = r
                .runs
                .iter()
                .map(|run| {
                    crate::lang::id(&run.lang)
                        .map(|id| (run.text.clone(), id))
                        .ok_or_else(|| fail(i, format!("language `{}` has no WhisperSpeech id", run.lang)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            t2s_reqs.push(T2sRequest {
                runs,
                cps: r.params.cps as f32,
                temperature: r.params.temperature as f32,
                top_k: r.params.top_k,
                seed: r.seed,
                max_tokens: self.max_stoks,
                prompt: None,
            });
        }
        let stoks = self.t2s.generate(&t2s_reqs).map_err(|e| match e {
            super::T2sError::Request { index, msg } => fail(index, msg),
            e => fail(0, e.to_string()),
        })?;
        let cap = self.s2a.config.stoks_len - 1;
        let mut s2a_reqs = Vec::with_capacity(batch.len());
        for (i, (r, out)) in batch.iter().zip(&stoks).enumerate() {
            let mut toks = out.tokens.clone();
            toks.truncate(cap);
            if toks.len() < 2 {
                return Err(fail(i, "the T2S model produced no speech for this text".into()));
            }
            let speaker = match &r.voice.embedding {
                Some(e) => e.clone(),
                None => self.default_speaker.clone(),
            };
            s2a_reqs.push(S2aRequest {
                stoks: toks,
                speaker,
                temperature: r.params.temperature as f32,
                top_k: r.params.top_k,
                // a stream independent of the T2S one
                seed: r.seed ^ 0x9e37_79b9_7f4a_7c15,
                prompt: None,
            });
        }
        let atoks = self.s2a.generate(&s2a_reqs).map_err(|e| match e {
            super::S2aError::Request { index, msg } => fail(index, msg),
            e => fail(0, e.to_string()),
        })?;
        let audio = self.vocos.decode(&atoks).map_err(|e| fail(0, e.to_string()))?;
        let audio = audio
            .into_iter()
            .zip(&stoks)
            .map(|(samples, out)| Audio {
                sample_rate: SAMPLE_RATE,
                samples,
                capped: out.stop == super::Stop::Cap,
            })
            .collect();
        Ok((audio, atoks))
    }
}

impl Engine for WhisperSpeechEngine {
    fn name(&self) -> &str {
        "whisperspeech"
    }
    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
    fn sample_rate(&self) -> u32 {
        SAMPLE_RATE
    }
    fn auto_batch(&self) -> usize {
        super::batch::auto_batch(&self.device, &self.t2s.config, &self.s2a.config, self.options.dtype)
    }
    fn synthesize(&mut self, batch: &[SynthRequest]) -> Result<Vec<Audio>, EngineError> {
        Ok(self.synthesize_with_tokens(batch)?.0)
    }
}
