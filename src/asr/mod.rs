//! Speech recognition for quality assurance: Whisper (candle-transformers' model) with the reference
//! front end ([`mel`]), greedy decoding without timestamps at temperature 0 ([`decode`]), the language
//! token forced from the chunk's language, batched across clips.
//!
//! A loadable model is a folder in the Hugging Face layout — `model.safetensors`, `config.json`,
//! `tokenizer.json` — which is what the model library keeps; CTranslate2 (faster-whisper) folders are
//! converted into it once by [`ct2`].
//!
//! Owns transcription. Must never import the plan, store, worker, render or publish modules.

pub mod ct2;
pub mod decode;
mod decoder_cpu;
mod encoder_cpu;
pub mod mel;
pub mod tokenizer;
pub mod whisper;

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::whisper::Config;

use whisper::Whisper;

pub use decode::DecodeStop;
use tokenizer::WhisperTokenizer;

/// Errors of speech recognition.
#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    /// A model file that cannot be used.
    #[error("{path}: {msg}")]
    Model {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        msg: String,
    },
    /// A language the model cannot transcribe.
    #[error("{0}")]
    Language(String),
    /// The tensor library failed.
    #[error("whisper: {0}")]
    Candle(#[from] candle_core::Error),
}

/// The files of a loadable Whisper model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsrFiles {
    /// `model.safetensors` (Hugging Face tensor names).
    pub weights: PathBuf,
    /// `config.json` (Hugging Face `WhisperConfig` fields).
    pub config: PathBuf,
    /// `tokenizer.json`.
    pub tokenizer: PathBuf,
}

impl AsrFiles {
    /// The files of a folder in the Hugging Face layout.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            weights: dir.join("model.safetensors"),
            config: dir.join("config.json"),
            tokenizer: dir.join("tokenizer.json"),
        }
    }
}

/// One clip's transcript.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Transcript {
    /// The text (leading/trailing space trimmed).
    pub text: String,
    /// The language it was transcribed as.
    pub language: String,
    /// Generated token ids, all windows in order (no prompt, no end of text).
    pub tokens: Vec<u32>,
    /// Audio seconds.
    pub seconds: f64,
    /// Whether a window hit the token cap (a transcript that ran on).
    pub capped: bool,
}

/// Wall seconds of the last [`Transcriber::transcribe`] call by phase (for benchmarks and `--json`).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Phases {
    /// The log-mel front end.
    pub mel_s: f64,
    /// The encoder (and language detection).
    pub encode_s: f64,
    /// Greedy decoding.
    pub decode_s: f64,
}

/// A loaded Whisper model, ready to transcribe 16 kHz mono audio.
pub struct Transcriber {
    model: Whisper,
    tok: WhisperTokenizer,
    mel: mel::LogMel,
    device: Device,
    suppress: decode::Suppress,
    phases: Phases,
}

impl std::fmt::Debug for Transcriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcriber").field("tok", &self.tok).finish()
    }
}

/// A model's `config.json`: candle's `Config` plus the fields we check.
#[derive(serde::Deserialize)]
struct ConfigFile {
    #[serde(flatten)]
    cfg: Config,
    #[serde(default)]
    begin_suppress_tokens: Option<Vec<u32>>,
}

impl ConfigFile {
    /// Reads a Whisper `config.json`.
    fn read(path: &std::path::Path) -> Result<Self, AsrError> {
        let err = |msg: String| AsrError::Model {
            path: path.to_path_buf(),
            msg,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| err(format!("not a Whisper config.json: {e}")))
    }
}

impl Transcriber {
    /// Loads a model (weights converted to f32 on the CPU; the weights' own dtype is kept on a GPU only when it
    /// is f32 as well, so results are the same everywhere).
    pub fn load(files: &AsrFiles, device: &Device) -> Result<Self, AsrError> {
        let cf = ConfigFile::read(&files.config)?;
        let tok = WhisperTokenizer::load(&files.tokenizer, cf.cfg.vocab_size)?;
        if !files.weights.is_file() {
            return Err(AsrError::Model {
                path: files.weights.clone(),
                msg: "missing".into(),
            });
        }
        // SAFETY: the library replaces model files only by rename, never rewriting them in place
        let vb =
            unsafe { VarBuilder::from_mmaped_safetensors(std::slice::from_ref(&files.weights), DType::F32, device) }
                .map_err(|e| AsrError::Model {
                    path: files.weights.clone(),
                    msg: format!("not a safetensors file: {e}"),
                })?;
        let cfg = cf.cfg.clone();
        let model = Whisper::load(&vb, cfg.clone()).map_err(|e| AsrError::Model {
            path: files.weights.clone(),
            msg: format!("not a Whisper model matching its config.json: {e}"),
        })?;
        let mut always = if cfg.suppress_tokens.is_empty() {
            tok.non_speech_tokens()
        } else {
            cfg.suppress_tokens.clone()
        };
        always.push(tok.sot);
        always.extend(tok.transcribe);
        always.extend(tok.translate);
        always.extend(&tok.other_specials);
        // no timestamps are asked for, so none may be produced
        always.extend(tok.no_timestamps..cfg.vocab_size as u32);
        always.sort_unstable();
        always.dedup();
        let blank = tok.encode(" ");
        let begin = cf.begin_suppress_tokens.unwrap_or_else(|| {
            let mut b = blank;
            b.push(tok.eot);
            b
        });
        Ok(Self {
            mel: mel::LogMel::new(cfg.num_mel_bins),
            model,
            tok,
            device: device.clone(),
            suppress: decode::Suppress { always, begin },
            phases: Phases::default(),
        })
    }

    /// Whether the model in `files` is multilingual (from its `config.json`, without loading the weights).
    pub fn is_multilingual(files: &AsrFiles) -> Result<bool, AsrError> {
        let cf = ConfigFile::read(&files.config)?;
        Ok(cf.cfg.vocab_size >= 51_865)
    }

    /// Checks that the model can transcribe `lang` (a Whisper code).
    pub fn check_language(&self, lang: &str) -> Result<(), AsrError> {
        if !self.tok.multilingual && lang != "en" {
            return Err(AsrError::Language(format!(
                "this Whisper model is English-only (an `.en` model); it cannot transcribe `{lang}`: use a multilingual one (e.g. `base`)"
            )));
        }
        if self.tok.multilingual && self.tok.language(lang).is_none() {
            return Err(AsrError::Language(format!("Whisper has no language `{lang}`")));
        }
        Ok(())
    }

    /// Transcribes 16 kHz mono clips, each in its language (`None`: detected; English for `.en` models).
    /// Clips longer than 30 s are read in consecutive 30-second windows, as faster-whisper does without
    /// timestamps.
    pub fn transcribe(&mut self, clips: &[(&[f32], Option<&str>)]) -> Result<Vec<Transcript>, AsrError> {
        if clips.is_empty() {
            return Ok(Vec::new());
        }
        for (_, l) in clips {
            if let Some(l) = l {
                self.check_language(l)?;
            }
        }
        let t0 = std::time::Instant::now();
        // every window of every clip, in order: (clip, start frame)
        let mut windows: Vec<(usize, Vec<f32>)> = Vec::new();
        for (c, (pcm, _)) in clips.iter().enumerate() {
            let (m, frames) = self.mel.compute(pcm);
            let content = frames.saturating_sub(1).max(1);
            let mut start = 0;
            while start < content {
                windows.push((c, mel::window(&m, self.mel.n_mels(), frames, start, content)));
                start += mel::WINDOW_FRAMES;
            }
        }
        let n_mels = self.mel.n_mels();
        let flat: Vec<f32> = windows.iter().flat_map(|(_, w)| w.iter().copied()).collect();
        let features = Tensor::from_vec(flat, (windows.len(), n_mels, mel::WINDOW_FRAMES), &self.device)?;
        let t1 = std::time::Instant::now();
        let audio = self.model.encoder.forward(&features)?;
        let langs: Vec<String> = self.languages(clips, &windows, &audio)?;
        let t2 = std::time::Instant::now();
        let prompts: Vec<Vec<u32>> = windows
            .iter()
            .map(|(c, _)| self.tok.prompt(self.tok.language(&langs[*c])))
            .collect();
        let d = decode::greedy(
            &self.model.decoder,
            &audio,
            &prompts,
            self.tok.eot,
            &self.suppress,
            decode::MAX_NEW_TOKENS,
        )?;
        let t3 = std::time::Instant::now();
        self.phases = Phases {
            mel_s: (t1 - t0).as_secs_f64(),
            encode_s: (t2 - t1).as_secs_f64(),
            decode_s: (t3 - t2).as_secs_f64(),
        };
        let mut out: Vec<Transcript> = clips
            .iter()
            .zip(&langs)
            .map(|((pcm, _), l)| Transcript {
                text: String::new(),
                language: l.clone(),
                tokens: Vec::new(),
                seconds: pcm.len() as f64 / f64::from(mel::SAMPLE_RATE),
                capped: false,
            })
            .collect();
        for ((c, _), (toks, stop)) in windows.iter().zip(d.tokens.into_iter().zip(d.stops)) {
            out[*c].tokens.extend(toks);
            out[*c].capped |= stop == DecodeStop::Cap;
        }
        for t in &mut out {
            t.text = self.tok.decode(&t.tokens).trim().to_string();
        }
        Ok(out)
    }

    /// The decoder prompt for `lang` (start of transcript, language, transcribe, no timestamps), as
    /// [`Transcriber::transcribe`] uses it; for benchmarks that drive another decoder with the same input.
    pub fn prompt(&self, lang: &str) -> Vec<u32> {
        self.tok.prompt(self.tok.language(lang))
    }

    /// The suppressed tokens and end of text, as [`Transcriber::transcribe`] uses them (for benchmarks).
    pub fn suppression(&self) -> (&decode::Suppress, u32) {
        (&self.suppress, self.tok.eot)
    }

    /// Wall seconds by phase of the last [`Transcriber::transcribe`] call.
    pub fn phases(&self) -> Phases {
        self.phases
    }

    /// Each clip's language: given, English for `.en` models, else detected on its first window.
    fn languages(
        &mut self,
        clips: &[(&[f32], Option<&str>)],
        windows: &[(usize, Vec<f32>)],
        audio: &Tensor,
    ) -> Result<Vec<String>, AsrError> {
        let mut langs: Vec<Option<String>> = clips
            .iter()
            .map(|(_, l)| match l {
                Some(l) => Some(l.to_string()),
                None if !self.tok.multilingual => Some("en".into()),
                None => None,
            })
            .collect();
        let unknown: Vec<usize> = (0..clips.len()).filter(|&c| langs[c].is_none()).collect();
        if unknown.is_empty() {
            return Ok(langs.into_iter().flatten().collect());
        }
        let table: Vec<(u32, &'static str)> = crate::lang::CODES
            .iter()
            .filter_map(|&c| self.tok.language(c).map(|id| (id, c)))
            .collect();
        for c in unknown {
            let w = windows.iter().position(|(wc, _)| *wc == c).unwrap_or(0);
            let row = audio.narrow(0, w, 1)?;
            let found = decode::detect_language(&self.model.decoder, &row, self.tok.sot, &table)?;
            langs[c] = found.first().map(|s| s.to_string());
        }
        Ok(langs.into_iter().map(|l| l.unwrap_or_else(|| "en".into())).collect())
    }
}

/// Decodes an audio file to 16 kHz mono f32 (first channel), resampling when needed.
pub fn load_audio(path: &Path) -> Result<Vec<f32>, AsrError> {
    let (rate, pcm) = crate::speaker::audio_in::decode_channel(path, 0).map_err(|e| AsrError::Model {
        path: path.into(),
        msg: e.to_string(),
    })?;
    Ok(to_16k(&pcm, rate))
}

/// Resamples mono audio to 16 kHz.
pub fn to_16k(pcm: &[f32], rate: u32) -> Vec<f32> {
    crate::speaker::resample::resample(pcm, rate, mel::SAMPLE_RATE)
}
