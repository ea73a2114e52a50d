//! Whether a render or worker checks its takes, with which Whisper model and thresholds: project.yaml `qa:`
//! and the `--qa` / `--no-qa` / `--qa-gate` flags, with safe defaults.

use std::path::{Path, PathBuf};

use super::{QaEngine, QaSettings, VoiceCheck};
use crate::engine::{Engine, EngineKind};
use crate::models::{AsrModel, Fetch, ModelKind, Resolver};
use crate::project::QaOptions;
use crate::speaker::speaker_model_location;

/// Default syntheses per chunk.
pub const DEFAULT_TAKES: u32 = 3;

/// The default word-error threshold for an engine. WhisperSpeech speech is easy for Whisper (it learnt from
/// Whisper's own transcripts): 0.25. The espeak-ng draft voice is robotic and Whisper mishears it often
/// (measured with `base` on espeak-ng speech: mean WER 0.2, single sentences up to 0.6), so the draft
/// threshold is lenient: 0.6 still catches a take that says something else entirely (WER ≈ 1).
pub fn default_max_wer(engine: EngineKind) -> f64 {
    match engine {
        EngineKind::Whisperspeech => 0.25,
        EngineKind::Espeak => 0.6,
    }
}

/// The command line's QA switches and overrides of project.yaml `qa:`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QaFlags {
    /// `--qa`: check even without `qa.asr` (with the library's Whisper model, else `base`).
    pub on: bool,
    /// `--no-qa`: never check.
    pub off: bool,
    /// `--qa-gate`: check, and exit 4 when a chunk stays flagged.
    pub gate: bool,
    /// `--qa-model` (overrides `qa.asr`; implies `--qa`).
    pub model: Option<String>,
    /// `--qa-max-wer` (overrides `qa.max_wer`).
    pub max_wer: Option<f64>,
    /// `--qa-takes` (overrides `qa.takes`).
    pub takes: Option<u32>,
    /// `--qa-min-similarity` (overrides `qa.min_similarity`).
    pub min_similarity: Option<f64>,
}

impl QaFlags {
    /// project.yaml's `qa:` with the flags' overrides applied.
    pub fn apply(&self, cfg: &QaOptions) -> QaOptions {
        QaOptions {
            asr: self.model.clone().or_else(|| cfg.asr.clone()),
            max_wer: self.max_wer.or(cfg.max_wer),
            takes: self.takes.or(cfg.takes),
            gate: cfg.gate || self.gate,
            min_similarity: self.min_similarity.or(cfg.min_similarity),
        }
    }
}

/// QA as a render or worker will run it.
#[derive(Debug, Clone)]
pub struct QaPlan {
    /// The Whisper model.
    pub model: AsrModel,
    /// The thresholds that choose takes.
    pub settings: QaSettings,
    /// Exit code 4 when a chunk stays flagged.
    pub gate: bool,
    /// Why QA is on, for the render's first lines.
    pub why: &'static str,
    /// The speaker encoder that measures voice drift (weights, config), when one is found.
    pub speaker: Option<(PathBuf, Option<PathBuf>)>,
}

impl QaPlan {
    /// `inner` wrapped in QA, with its own Whisper model loaded on `device` (`auto`, `cpu`, `cuda[:N]`).
    pub fn wrap(&self, inner: Box<dyn Engine>, device: &str) -> Result<QaEngine, String> {
        let dev = crate::engine::whisperspeech::engine::select_device(device).map_err(|e| e.to_string())?;
        let asr = crate::asr::Transcriber::load(&self.model.files, &dev)
            .map_err(|e| format!("QA model `{}`: {e}", self.model.entry.name))?;
        let engine = QaEngine::new(
            inner,
            asr,
            &self.model.entry.name,
            &self.model.entry.digest,
            self.settings.clone(),
        );
        Ok(match &self.speaker {
            Some((weights, config)) => engine.with_voice_check(
                VoiceCheck::load(weights, config.as_deref(), &dev)
                    .map_err(|e| format!("QA voice check (speaker model): {e}"))?,
            ),
            None => engine,
        })
    }

    /// One line for the render's header.
    pub fn describe(&self) -> String {
        let drift = match (&self.speaker, self.settings.min_similarity) {
            (Some(_), Some(m)) => format!(", voice drift: min similarity {m}"),
            (Some(_), None) => ", voice drift measured".into(),
            (None, _) => String::new(),
        };
        format!(
            "QA: Whisper `{}` checks every take (max WER {}, up to {} takes{}{drift}; {})",
            self.model.entry.name,
            self.settings.max_wer,
            self.settings.takes,
            if self.gate { ", gate on" } else { "" },
            self.why
        )
    }
}

/// The Whisper model of the library QA uses by default: `whisper-base` if present, else the first one.
fn library_default(resolver: &Resolver) -> Option<crate::models::Entry> {
    let all: Vec<_> = resolver
        .library
        .entries()
        .into_iter()
        .filter(|e| e.kind == ModelKind::Asr)
        .collect();
    all.iter().find(|e| e.name == "whisper-base").or(all.first()).cloned()
}

/// Decides QA: `None` when it is off. `languages` are the project's languages (an English-only model
/// cannot check others); `speaker_model` the project's `engine.models.speaker`, if any (else the usual
/// lookup of [`speaker_model_location`]: `$WS_BOOK_SPEAKER_MODEL`, the library).
pub fn resolve(
    cfg: &QaOptions,
    flags: &QaFlags,
    engine: EngineKind,
    languages: &[String],
    resolver: &Resolver,
    base: &Path,
    speaker_model: Option<&Path>,
) -> Result<Option<QaPlan>, String> {
    if flags.off {
        return Ok(None);
    }
    let cfg = &flags.apply(cfg);
    if let Some(w) = cfg.max_wer.filter(|w| !(0.0..=1.0).contains(w)) {
        return Err(format!("QA max WER {w} is out of range: it must be 0 to 1"));
    }
    if let Some(t) = cfg.takes.filter(|t| !(1..=10).contains(t)) {
        return Err(format!("QA takes {t} is out of range: it must be 1 to 10"));
    }
    if let Some(s) = cfg.min_similarity.filter(|s| !(-1.0..=1.0).contains(s)) {
        return Err(format!("QA min similarity {s} is out of range: it must be -1 to 1"));
    }
    let wanted = flags.on || cfg.gate;
    let (model, why) = match &cfg.asr {
        Some(a) => (
            resolver
                .resolve_asr(a, base, Fetch::Allow)
                .map_err(|e| format!("qa.asr `{a}`: {e}"))?,
            "qa.asr in project.yaml",
        ),
        None => match library_default(resolver) {
            Some(e) if wanted || engine == EngineKind::Whisperspeech => (
                resolver
                    .resolve_asr(&e.name, base, Fetch::Never)
                    .map_err(|err| format!("QA model `{}`: {err}", e.name))?,
                "a Whisper model is in the library; --no-qa turns QA off",
            ),
            _ if wanted => (
                resolver
                    .resolve_asr("base", base, Fetch::Allow)
                    .map_err(|e| format!("--qa: no Whisper model in the library and `base` cannot be had: {e}"))?,
                "--qa",
            ),
            _ => return Ok(None),
        },
    };
    if !crate::asr::Transcriber::is_multilingual(&model.files).map_err(|e| e.to_string())? {
        if let Some(l) = languages.iter().find(|l| l.as_str() != "en") {
            return Err(format!(
                "QA model `{}` is English-only and cannot check `{l}`: use a multilingual Whisper model (e.g. `qa.asr: base`)",
                model.entry.name
            ));
        }
    }
    // Voice drift is measured whenever a speaker model is found; a threshold without one is an error.
    let speaker = match speaker_model_location(speaker_model, None) {
        Ok(found) => Some(found),
        Err(e) if cfg.min_similarity.is_some() => {
            return Err(format!(
                "qa.min_similarity needs a speaker model to measure voice drift: {e}"
            ))
        }
        Err(_) => None,
    };
    Ok(Some(QaPlan {
        settings: QaSettings {
            max_wer: cfg.max_wer.unwrap_or_else(|| default_max_wer(engine)),
            takes: cfg.takes.unwrap_or(DEFAULT_TAKES),
            min_similarity: cfg.min_similarity,
        },
        gate: cfg.gate,
        model,
        why,
        speaker,
    }))
}
