//! `project.yaml`: the schema, its defaults, validation with file:line errors, and path resolution.
//!
//! Every struct denies unknown keys; [`load`] turns serde's messages into errors that name the file,
//! the line and column, the key, and a "did you mean" hint.
//!
//! * `schema`: the serde types, one per block of the file
//! * `defaults`: their `Default` values and the defaults that depend on `kind`
//! * `parse`: YAML text → [`ProjectConfig`] under a parsing budget, located error messages
//! * `validate`: the checks, one function per block
//! * `paths`: paths resolved against the project file's folder
//! * `load`: read, parse, validate
//! * `error`: [`ProjectError`]
//!
//! Owns what a project says, not what is done with it: this module must never import render, worker,
//! store or engine (they depend on it). Its only crate imports are [`crate::lang`] and [`crate::suggest`].

mod defaults;
mod error;
pub mod lexicon;
mod load;
mod parse;
mod paths;
mod schema;
mod validate;

use std::path::PathBuf;

/// Kept here for the callers that name it `project::closest`; the helper lives in [`crate::suggest`].
pub use crate::suggest::closest;
pub use error::ProjectError;
pub use load::{load, MAX_PROJECT_BYTES};
pub use parse::{parse, ParseError};
pub use schema::{
    BatchSize, Character, ChunkingOptions, EngineOptions, Episodes, FeedConfig, FootnoteMode, OutputOptions,
    OutputTags, PauseOptions, ProjectConfig, ProjectKind, QaOptions, ReadingOptions, RenderOptions, StoreOptions,
    VoiceRef,
};

use crate::lang;

/// A parsed and validated project: the schema plus where it came from.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project file, or the manuscript when a manuscript was given directly.
    pub source: PathBuf,
    /// The folder relative paths resolve against.
    pub base_dir: PathBuf,
    /// The settings.
    pub config: ProjectConfig,
}

impl Project {
    /// The voice a speaker uses in a language: a character's per-language voice, its voice, then the narrator's.
    pub fn voice_for(&self, speaker: &str, lang: &str) -> String {
        if let Some(c) = self.config.characters.get(speaker) {
            if let Some(v) = c.voices.get(lang) {
                return v.clone();
            }
            if let Some(v) = &c.voice {
                return v.clone();
            }
        }
        self.config.narrator.for_lang(lang).to_string()
    }
}

/// A language tag from a validated project resolved to its WhisperSpeech code (validated tags always resolve).
pub fn resolve_lang(tag: &str) -> String {
    lang::resolve(tag).unwrap_or("en").to_string()
}
