//! Phase one of a render: the engine and the options, from project.yaml and the command line — engine
//! choice (with the draft fallback's warning), worker count, output formats, loudness preset, output folder —
//! and one engine per worker.

use std::path::PathBuf;

use super::{RenderError, RenderOptions};
use crate::audio::encode::OutFormat;
use crate::audio::loudness::{self, Preset};
use crate::engine::{self, Engine, EngineKind};
use crate::models::{BarProgress, Resolver};
use crate::project::Project;
use crate::qa::setup::{self as qa_setup, QaPlan};

/// The engine a render uses, and the models it was resolved with.
pub(super) struct EngineChoice {
    /// Engine kind.
    pub kind: EngineKind,
    /// Draft warning, when the espeak draft engine stands in for WhisperSpeech.
    pub warning: Option<String>,
    /// The WhisperSpeech models found through the model manager (or why none were).
    models: Option<Result<engine::whisperspeech::ModelPaths, String>>,
}

/// Everything a render needs to know before it starts.
pub(super) struct Resolved {
    /// Engine.
    pub engine: EngineChoice,
    /// In-process workers (≥ 1).
    pub n_workers: usize,
    /// Output formats, without repeats.
    pub formats: Vec<OutFormat>,
    /// Loudness preset.
    pub preset: Preset,
    /// Output folder.
    pub out_dir: PathBuf,
    /// Quality assurance, when on.
    pub qa: Option<QaPlan>,
}

/// Resolves the engine: `--engine`, else `engine.name` (see [`engine::resolve_with`]).
pub(super) fn engine_choice(project: &Project, opts: &RenderOptions) -> Result<EngineChoice, RenderError> {
    let mut choice = opts
        .engine
        .clone()
        .unwrap_or_else(|| project.config.engine.name.clone());
    if opts.final_render {
        match choice.as_str() {
            "auto" => choice = "whisperspeech".into(),
            "espeak" => {
                return Err(RenderError::Input(
                    "`--final` refuses the espeak-ng draft engine; use `--engine whisperspeech` or `auto`, or drop `--final` for a draft".into(),
                ))
            }
            _ => {}
        }
    }
    // WhisperSpeech models through the model manager (see [`Resolver::for_engine`]).
    let models = Resolver::from_env(opts.offline)
        .with_progress(BarProgress::boxed)
        .for_engine(&choice, &project.config.engine.models, &project.base_dir);
    let (kind, warning) = engine::resolve_with(&choice, models.as_ref())?;
    Ok(EngineChoice { kind, warning, models })
}

/// Resolves the engine and the render's options; bad flag values are input errors.
pub(super) fn resolve(project: &Project, opts: &RenderOptions) -> Result<Resolved, RenderError> {
    let engine = engine_choice(project, opts)?;
    let n_workers = opts.workers.unwrap_or(project.config.render.workers).max(1);
    let mut formats = Vec::new();
    for n in opts.formats.clone().unwrap_or_else(|| project.formats()) {
        let f = OutFormat::parse(&n)
            .ok_or_else(|| RenderError::Input(format!("unknown output format `{n}`; use m4b, mp3 or opus")))?;
        if !formats.contains(&f) {
            formats.push(f);
        }
    }
    // every output is mono (the engines speak mono): the podcast preset aims at its mono target
    let preset = loudness::preset(&project.loudness())
        .ok_or_else(|| {
            RenderError::Input(format!(
                "unknown loudness preset `{}`; use audiobook or podcast",
                project.loudness()
            ))
        })?
        .for_channels(crate::audio::encode::OUTPUT_CHANNELS);
    let out_dir = match &opts.out {
        Some(o) => o.clone(),
        None => project.output_dir(),
    };
    let qa = qa_plan(project, opts, engine.kind)?;
    Ok(Resolved {
        engine,
        n_workers,
        formats,
        preset,
        out_dir,
        qa,
    })
}

/// Whether and how QA checks this render (project.yaml `qa:` and the `--qa*` flags).
pub(super) fn qa_plan(
    project: &Project,
    opts: &RenderOptions,
    kind: EngineKind,
) -> Result<Option<QaPlan>, RenderError> {
    let cfg = &project.config;
    let mut languages: Vec<String> = cfg.language.iter().chain(&cfg.languages).cloned().collect();
    languages.dedup();
    let resolver = Resolver::from_env(opts.offline).with_progress(BarProgress::boxed);
    let speaker = cfg.engine.models.get("speaker").map(|p| project.base_dir.join(p));
    qa_setup::resolve(
        &cfg.qa,
        &opts.qa,
        kind,
        &languages,
        &resolver,
        &project.base_dir,
        speaker.as_deref(),
    )
    .map_err(RenderError::Input)
}

/// `n` engines of the chosen kind (one per worker), created up front so that a missing espeak-ng or a bad
/// model is reported before any work.
pub(super) fn create_engines(
    project: &Project,
    choice: &EngineChoice,
    n: usize,
    qa: Option<&QaPlan>,
    dtype: Option<&String>,
) -> Result<Vec<Box<dyn Engine>>, RenderError> {
    let cfg = &project.config;
    let dtype_name = dtype.unwrap_or(&cfg.render.dtype);
    let dtype = engine::whisperspeech::ModelOptions::parse_dtype(dtype_name).map_err(RenderError::Input)?;
    let mut engines = Vec::with_capacity(n);
    for _ in 0..n {
        let plain = engine::create_with_options(
            choice.kind,
            choice.models.as_ref().and_then(|m| m.as_ref().ok()),
            &cfg.render.device,
            // The WhisperSpeech precision options of a project (`engine.quantize`, `render.dtype`).
            engine::whisperspeech::ModelOptions {
                quantize: cfg.engine.quantize,
                dtype,
            },
        )?;
        engines.push(match qa {
            Some(q) => Box::new(q.wrap(plain, &cfg.render.device).map_err(RenderError::Input)?),
            None => plain,
        });
    }
    Ok(engines)
}
