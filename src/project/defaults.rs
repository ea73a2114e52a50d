//! The defaults of `project.yaml`: what every block holds when a key is left out, and the output settings
//! whose default depends on `kind` (formats, loudness preset).
//!
//! Owns the default values only (`templates/project.yaml` documents the same numbers). Must never import
//! render, worker, store, engine.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::schema::{
    BatchSize, ChunkingOptions, EngineOptions, Episodes, FootnoteMode, OutputOptions, PauseOptions, ProjectKind,
    ReadingOptions, RenderOptions, VoiceRef,
};
use super::Project;

impl Default for Episodes {
    fn default() -> Self {
        Episodes::Many(Vec::new())
    }
}

impl Default for VoiceRef {
    fn default() -> Self {
        Self {
            voice: "default".into(),
            voices: BTreeMap::new(),
        }
    }
}

impl Default for ReadingOptions {
    fn default() -> Self {
        Self {
            chapter_level: 1,
            footnotes: FootnoteMode::End,
            skip_front_matter: true,
            attribution: true,
            detect_language: false,
            normalize: true,
        }
    }
}

impl Default for ChunkingOptions {
    fn default() -> Self {
        Self {
            max_bytes: 500,
            max_seconds: 25.0,
            cps: 15.0,
        }
    }
}

impl Default for PauseOptions {
    fn default() -> Self {
        Self {
            sentence_ms: 350,
            paragraph_ms: 800,
            chapter_head_ms: 750,
            chapter_tail_ms: 2000,
            room_tone: None,
        }
    }
}

impl Default for OutputOptions {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("out"),
            formats: None,
            loudness: None,
            cover: None,
            tags: Default::default(),
        }
    }
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            name: "auto".into(),
            models: BTreeMap::new(),
            temperature: 0.7,
            top_k: None,
            quantize: false,
        }
    }
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            workers: 1,
            device: "auto".into(),
            seed: 0,
            batch_size: BatchSize::Auto,
            dtype: "f32".into(),
            max_attempts: 3,
            db: None,
            require_approval: false,
        }
    }
}

impl Project {
    /// Output formats: `output.formats`, else `[m4b, mp3]` for a book and `[mp3]` for a podcast.
    pub fn formats(&self) -> Vec<String> {
        match (&self.config.output.formats, self.config.kind) {
            (Some(f), _) => f.clone(),
            (None, ProjectKind::Book) => vec!["m4b".into(), "mp3".into()],
            (None, ProjectKind::Podcast) => vec!["mp3".into()],
        }
    }

    /// Loudness preset name: `output.loudness`, else `audiobook` for a book and `podcast` for a podcast.
    pub fn loudness(&self) -> String {
        match (&self.config.output.loudness, self.config.kind) {
            (Some(l), _) => l.clone(),
            (None, ProjectKind::Book) => "audiobook".into(),
            (None, ProjectKind::Podcast) => "podcast".into(),
        }
    }
}
