//! Whether a render or worker checks its takes, with which Whisper model and thresholds: project.yaml `qa:`
//! and the `--qa` / `--no-qa` / `--qa-gate` flags, with safe defaults.

use std::path::Path;

use super::{QaEngine, QaSettings};
use crate::engine::{Engine, EngineKind};
use crate::models::{AsrModel, Fetch, ModelKind, Resolver};
use crate::project::QaOptions;

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
}

impl QaFlags {
    /// project.yaml's `qa:` with the flags' overrides applied.
    pub fn apply(&self, cfg: &QaOptions) -> QaOptions {
        QaOptions {
            asr: self.model.clone().or_else(|| cfg.asr.clone()),
            max_wer: self.max_wer.or(cfg.max_wer),
            takes: self.takes.or(cfg.takes),
            gate: cfg.gate || self.gate,
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
}

impl QaPlan {
    /// `inner` wrapped in QA, with its own Whisper model loaded on `device` (`auto`, `cpu`, `cuda[:N]`).
    pub fn wrap(&self, inner: Box<dyn Engine>, device: &str) -> Result<QaEngine, String> {
        let dev = crate::engine::whisperspeech::engine::select_device(device).map_err(|e| e.to_string())?;
        let asr = crate::asr::Transcriber::load(&self.model.files, &dev)
            .map_err(|e| format!("QA model `{}`: {e}", self.model.entry.name))?;
        Ok(QaEngine::new(
            inner,
            asr,
            &self.model.entry.name,
            &self.model.entry.digest,
            self.settings.clone(),
        ))
    }

    /// One line for the render's header.
    pub fn describe(&self) -> String {
        format!(
            "QA: Whisper `{}` checks every take (max WER {}, up to {} takes{}; {})",
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
/// cannot check others).
pub fn resolve(
    cfg: &QaOptions,
    flags: &QaFlags,
    engine: EngineKind,
    languages: &[String],
    resolver: &Resolver,
    base: &Path,
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
    Ok(Some(QaPlan {
        settings: QaSettings {
            max_wer: cfg.max_wer.unwrap_or_else(|| default_max_wer(engine)),
            takes: cfg.takes.unwrap_or(DEFAULT_TAKES),
        },
        gate: cfg.gate,
        model,
        why,
    }))
}
