//! Speaker embeddings for voice cloning: reference audio → 192-d ECAPA-TDNN embedding, as WhisperSpeech's
//! `Pipeline.extract_spk_emb` computes it (spec §7).
//!
//! [`audio_in`] decodes and checks the reference file, [`resample`] is speechbrain's resampler (to 16 kHz),
//! [`fbank`] the log-mel features with sentence mean normalisation, [`ecapa`] the network in candle.
//! [`SpeakerEncoder`] ties them together; [`speaker_model_location`] is the one place that finds the weights.

use std::path::{Path, PathBuf};

use candle_core::Device;

pub mod audio_in;
pub mod ecapa;
pub mod fbank;
pub mod resample;

pub use audio_in::{AudioWindow, ReferenceAudio};
pub use ecapa::{Ecapa, EcapaConfig};

use crate::engine::whisperspeech::checkpoint::CheckpointError;

/// Environment variable naming the speaker-encoder weights (`embedding_model.ckpt` or `.safetensors`).
pub const SPEAKER_MODEL_ENV: &str = "WS_BOOK_SPEAKER_MODEL";
/// Folder of the speaker encoder in the model library (`$WS_BOOK_HOME/models/…`).
pub const SPEAKER_MODEL_DIR: &str = "spkrec-ecapa-voxceleb";
/// Sample rate the encoder works at.
pub const RATE: u32 = 16_000;

/// Errors computing a speaker embedding.
#[derive(Debug, thiserror::Error)]
pub enum SpeakerError {
    /// The reference audio cannot be used.
    #[error("{path}: {message}")]
    BadAudio {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The speaker-encoder weights or config are missing or do not fit.
    #[error("{path}: {message}")]
    Model {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// No speaker-encoder model was found.
    #[error("no speaker-encoder model: {0}")]
    NoModel(String),
    /// Reading the checkpoint failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A tensor operation failed.
    #[error("speaker encoder: {0}")]
    Candle(#[from] candle_core::Error),
}

/// Finds the speaker-encoder weights and config: `explicit` (`--model`), else `$WS_BOOK_SPEAKER_MODEL`, else
/// the model library's `spkrec-ecapa-voxceleb` (see `crate::models`), else
/// `$WS_BOOK_HOME/models/spkrec-ecapa-voxceleb/embedding_model.{safetensors,ckpt}`. The config is `config`
/// (`--config`), else a `.json` with the weights' stem beside them, else `None` (the spkrec defaults).
pub fn speaker_model_location(
    explicit: Option<&Path>,
    config: Option<&Path>,
) -> Result<(PathBuf, Option<PathBuf>), SpeakerError> {
    let weights = if let Some(p) = explicit {
        p.to_path_buf()
    } else if let Some(p) = std::env::var_os(SPEAKER_MODEL_ENV).filter(|v| !v.is_empty()) {
        PathBuf::from(p)
    } else if let Some(e) = crate::models::Library::default_location()
        .find(Some(crate::models::reference::SPEAKER_REPO), SPEAKER_MODEL_DIR)
        .filter(|e| e.kind == crate::models::ModelKind::Speaker)
    {
        // the model library's conversion (`ws-book models fetch` / `models import`): its `model.json` is the
        // ECAPA config
        let config = config.map(Path::to_path_buf).or_else(|| Some(e.dir.join("model.json")));
        return Ok((e.weights(), config));
    } else {
        let dir = crate::home::models_dir().join(SPEAKER_MODEL_DIR);
        let found = ["embedding_model.safetensors", "embedding_model.ckpt"]
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file());
        match found {
            Some(p) => p,
            None => {
                return Err(SpeakerError::NoModel(format!(
                    "voice cloning needs speechbrain's spkrec-ecapa-voxceleb `embedding_model.ckpt` (or its \
                     `.safetensors` conversion) in {}; get it with `ws-book models fetch` or `ws-book models import`, \
                     or point --model / ${SPEAKER_MODEL_ENV} at the file",
                    dir.display()
                )))
            }
        }
    };
    if !weights.is_file() {
        return Err(SpeakerError::Model {
            path: weights,
            message: "speaker-encoder weights not found (expected embedding_model.ckpt or .safetensors)".into(),
        });
    }
    let config = match config {
        Some(c) => Some(c.to_path_buf()),
        None => Some(weights.with_extension("json")).filter(|j| j.is_file()),
    };
    Ok((weights, config))
}

/// Reads an `ECAPA_TDNN` constructor-argument JSON (missing keys take the spkrec defaults).
pub fn read_config(path: Option<&Path>) -> Result<EcapaConfig, SpeakerError> {
    let Some(path) = path else {
        return Ok(EcapaConfig::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| SpeakerError::Model {
        path: path.to_path_buf(),
        message: format!("cannot read the config: {e}"),
    })?;
    serde_json::from_str(&text).map_err(|e| SpeakerError::Model {
        path: path.to_path_buf(),
        message: format!("bad ECAPA_TDNN config JSON (keys: channels, kernel_sizes, dilations, attention_channels, res2net_scale, se_channels, lin_neurons, global_context): {e}"),
    })
}

/// Intermediate results of one embedding (for parity checks and `debug speaker`).
#[derive(Debug, Clone)]
pub struct EmbeddingTrace {
    /// The audio at 16 kHz.
    pub resampled: Vec<f32>,
    /// Log-mel features before mean normalisation, `frames × 80`.
    pub fbank: Vec<f32>,
    /// The raw embedding (not normalised).
    pub embedding: Vec<f32>,
}

/// Fbank + ECAPA-TDNN: reference audio → raw speaker embedding.
pub struct SpeakerEncoder {
    fbank: fbank::Fbank,
    ecapa: Ecapa,
    /// The weights file.
    pub model_path: PathBuf,
}

impl SpeakerEncoder {
    /// Loads the encoder from `weights` (+ optional config JSON) on `device`.
    pub fn load(weights: &Path, config: Option<&Path>, device: &Device) -> Result<Self, SpeakerError> {
        let cfg = read_config(config)?;
        Ok(Self {
            fbank: fbank::Fbank::new(),
            ecapa: Ecapa::load(weights, cfg, device)?,
            model_path: weights.to_path_buf(),
        })
    }

    /// Loads the encoder found by [`speaker_model_location`] on the CPU.
    pub fn locate(explicit: Option<&Path>, config: Option<&Path>) -> Result<Self, SpeakerError> {
        let (w, c) = speaker_model_location(explicit, config)?;
        Self::load(&w, c.as_deref(), &Device::Cpu)
    }

    /// The network's configuration.
    pub fn config(&self) -> &EcapaConfig {
        self.ecapa.config()
    }

    /// Embeds decoded reference audio, keeping the intermediate results.
    pub fn trace(&self, audio: &ReferenceAudio) -> Result<EmbeddingTrace, SpeakerError> {
        let resampled = resample::resample(&audio.samples, audio.sample_rate, RATE);
        let fb = self.fbank.compute(&resampled);
        let mut feats = fb.clone();
        fbank::mean_normalize(&mut feats, fbank::N_MELS);
        let frames = feats.len() / fbank::N_MELS;
        let embedding = self.ecapa.embed(&feats, frames)?;
        Ok(EmbeddingTrace {
            resampled,
            fbank: fb,
            embedding,
        })
    }

    /// Embeds decoded reference audio: the raw embedding.
    pub fn embed(&self, audio: &ReferenceAudio) -> Result<Vec<f32>, SpeakerError> {
        Ok(self.trace(audio)?.embedding)
    }

    /// Decodes, checks and embeds a file.
    pub fn embed_file(&self, path: &Path, window: &AudioWindow) -> Result<Vec<f32>, SpeakerError> {
        let audio = audio_in::load_reference(path, window)?;
        self.embed(&audio)
    }
}

/// `v / ‖v‖` (unchanged when the norm is 0).
pub fn l2_normalize(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
    if n == 0.0 {
        return v.to_vec();
    }
    v.iter().map(|x| (f64::from(*x) / n) as f32).collect()
}

/// The voice embedding of several references: the mean of their L2-normalised embeddings.
pub fn average_embeddings(embs: &[Vec<f32>]) -> Vec<f32> {
    let Some(first) = embs.first() else {
        return Vec::new();
    };
    let mut acc = vec![0f64; first.len()];
    for e in embs {
        for (a, x) in acc.iter_mut().zip(l2_normalize(e)) {
            *a += f64::from(x);
        }
    }
    acc.iter().map(|a| (a / embs.len() as f64) as f32).collect()
}

/// Cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb).max(1e-30)
}
