//! The WhisperSpeech model flags shared by `say`, `worker` and `voices preview`, resolved through the model
//! manager exactly as `render` resolves project.yaml `engine.models`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use ws_book::engine::whisperspeech::{ModelOptions, ModelPaths};
use ws_book::models::{BarProgress, Resolver};

/// Model selection flags.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Directory with `t2s.model`, `s2a.model` and `vocos/pytorch_model.bin`.
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
    /// Model preset: tiny, base or small (default small, the reference pipeline's models).
    #[arg(long)]
    pub preset: Option<String>,
    /// T2S model: a preset, `owner/repo:file`, a library name or a local path (overrides --preset/--model-dir).
    #[arg(long)]
    pub t2s: Option<String>,
    /// S2A model (as --t2s).
    #[arg(long)]
    pub s2a: Option<String>,
    /// Vocos model: a repository, library name or local weights with config.yaml beside them (as --t2s).
    #[arg(long)]
    pub vocos: Option<String>,
    /// Never connect to the model hub (also HF_HUB_OFFLINE=1).
    #[arg(long)]
    pub offline: bool,
    /// Run the T2S and S2A decoders with q8_0-quantized matmuls (CPU speed mode; a farm worker must match the
    /// render's `engine.quantize`).
    #[arg(long)]
    pub quantize: bool,
}

impl ModelArgs {
    /// The flags as project.yaml `engine.models` settings.
    pub fn settings(&self) -> BTreeMap<String, String> {
        let mut s = BTreeMap::new();
        if let Some(dir) = &self.model_dir {
            let d = ModelPaths::in_dir(dir);
            for (k, p) in [("t2s", d.t2s), ("s2a", d.s2a), ("vocos", d.vocos)] {
                s.insert(k.to_string(), p.display().to_string());
            }
        }
        for (k, v) in [
            ("preset", &self.preset),
            ("t2s", &self.t2s),
            ("s2a", &self.s2a),
            ("vocos", &self.vocos),
        ] {
            if let Some(v) = v {
                s.insert(k.to_string(), v.clone());
            }
        }
        s
    }

    /// Precision options.
    pub fn options(&self) -> ModelOptions {
        ModelOptions {
            quantize: self.quantize,
            ..ModelOptions::default()
        }
    }

    /// The models for an engine choice (see `Resolver::for_engine`).
    pub fn resolve(&self, engine: &str) -> Option<Result<ModelPaths, String>> {
        Resolver::from_env(self.offline)
            .with_progress(BarProgress::boxed)
            .for_engine(engine, &self.settings(), Path::new("."))
    }
}
