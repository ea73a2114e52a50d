//! Project voices → speaker embeddings at render time.
//!
//! A voice in project.yaml is `default` (the built-in speaker), a voice-library name, or a path to reference
//! audio (anything that is not a valid library name: it has a `.` or `/`), relative to the project folder.
//! A path is embedded with the ECAPA-TDNN speaker encoder on first use and cached in the voice library by the
//! file's BLAKE3 digest (and the encoder's), so later renders do not decode it again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{file_digest, validate_name, VoiceError, VoiceLibrary, DEFAULT_VOICE};
use crate::speaker::{AudioWindow, SpeakerEncoder};

/// What a project voice refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoiceSource {
    /// The built-in `default`.
    Builtin,
    /// A voice-library name.
    Library(String),
    /// Reference audio (resolved against the project folder).
    File(PathBuf),
}

impl VoiceSource {
    /// Classifies a voice as written in project.yaml.
    pub fn classify(voice: &str, base_dir: &Path) -> Self {
        if voice == DEFAULT_VOICE {
            VoiceSource::Builtin
        } else if validate_name(voice).is_ok() {
            VoiceSource::Library(voice.to_string())
        } else {
            VoiceSource::File(base_dir.join(voice))
        }
    }
}

/// Resolves voices, opening the library and loading the speaker encoder only when needed.
pub struct VoiceResolver {
    base_dir: PathBuf,
    speaker_model: Option<PathBuf>,
    library: Option<VoiceLibrary>,
    encoder: Option<(SpeakerEncoder, String)>,
    memo: HashMap<String, Vec<f32>>,
}

impl VoiceResolver {
    /// A resolver for a project in `base_dir`.
    pub fn new(base_dir: &Path) -> Self {
        Self {
            base_dir: base_dir.to_path_buf(),
            speaker_model: None,
            library: None,
            encoder: None,
            memo: HashMap::new(),
        }
    }

    /// Uses these speaker-encoder weights (project.yaml `engine.models.speaker`) instead of the lookup of
    /// [`crate::speaker::speaker_model_location`].
    pub fn with_speaker_model(mut self, weights: Option<PathBuf>) -> Self {
        self.speaker_model = weights;
        self
    }

    async fn library(&mut self) -> Result<&VoiceLibrary, VoiceError> {
        open_library(&mut self.library).await
    }

    /// Checks that `voice` exists (library name known, reference file present) without computing anything.
    pub async fn check(&mut self, speaker: &str, voice: &str) -> Result<(), VoiceError> {
        let perr = |message: String| VoiceError::Project {
            speaker: speaker.to_string(),
            voice: voice.to_string(),
            message,
        };
        match VoiceSource::classify(voice, &self.base_dir) {
            VoiceSource::Builtin => Ok(()),
            VoiceSource::Library(name) => {
                let lib = self.library().await?;
                if lib.find(&name).await?.is_some() {
                    Ok(())
                } else {
                    Err(perr(format!(
                        "no such voice in the voice library {}; add it with `ws-book voices add {name} AUDIO…`, \
                         or give a path to reference audio (e.g. `voices/{name}.wav`)",
                        lib.path().display()
                    )))
                }
            }
            VoiceSource::File(p) => {
                if p.is_file() {
                    Ok(())
                } else {
                    Err(perr(format!("reference audio {} not found", p.display())))
                }
            }
        }
    }

    /// The embedding for `voice` (used by `speaker`, for messages).
    pub async fn embedding(&mut self, speaker: &str, voice: &str) -> Result<Vec<f32>, VoiceError> {
        if let Some(e) = self.memo.get(voice) {
            return Ok(e.clone());
        }
        self.check(speaker, voice).await?;
        let perr = |message: String| VoiceError::Project {
            speaker: speaker.to_string(),
            voice: voice.to_string(),
            message,
        };
        let e = match VoiceSource::classify(voice, &self.base_dir) {
            VoiceSource::Builtin => crate::engine::whisperspeech::engine::default_speaker(),
            VoiceSource::Library(name) => self.library().await?.get(&name).await?.embedding,
            VoiceSource::File(p) => {
                let digest = file_digest(&p).map_err(|e| perr(format!("cannot read {}: {e}", p.display())))?;
                let loaded = match self.encoder.take() {
                    Some(x) => x,
                    None => {
                        let enc = SpeakerEncoder::locate(self.speaker_model.as_deref(), None)
                            .map_err(|e| perr(e.to_string()))?;
                        let md = file_digest(&enc.model_path).map_err(|e| perr(e.to_string()))?;
                        (enc, md)
                    }
                };
                // kept for the next voice; the library is a separate field, so both can be borrowed at once
                let (enc, model_digest) = self.encoder.insert(loaded);
                let lib = open_library(&mut self.library).await?;
                match lib.cached_embedding(&digest, model_digest).await? {
                    Some(e) => e,
                    None => {
                        let e = enc
                            .embed_file(&p, &AudioWindow::default())
                            .map_err(|e| perr(e.to_string()))?;
                        lib.cache_embedding(&digest, model_digest, &p, &e).await?;
                        e
                    }
                }
            }
        };
        self.memo.insert(voice.to_string(), e.clone());
        Ok(e)
    }
}

/// Opens the voice library in `slot` on first use.
async fn open_library(slot: &mut Option<VoiceLibrary>) -> Result<&VoiceLibrary, VoiceError> {
    let lib = match slot.take() {
        Some(l) => l,
        None => VoiceLibrary::open_default().await?,
    };
    Ok(slot.insert(lib))
}
