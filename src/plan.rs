//! Book + project settings → the ordered list of [`Chunk`]s the TTS speaks, with content keys.
//!
//! This is the only place chunk boundaries are decided.

use serde::Serialize;

pub use crate::manuscript::Run;

/// One unit of synthesis: consecutive sentences of one speaker and voice, inside one chapter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chunk {
    /// Content key: a hash of everything that determines the chunk's audio (DESIGN.md invariant 2).
    pub key: String,
    /// 0-based chapter index.
    pub chapter: usize,
    /// 0-based position in the chapter.
    pub index: usize,
    /// Speaker (`narrator` or a character name).
    pub speaker: String,
    /// Voice (library name or reference-audio path).
    pub voice: String,
    /// Language runs in order.
    pub runs: Vec<Run>,
    /// The sentences' texts (for transcripts), in order; their concatenation with spaces is the chunk text.
    pub sentences: Vec<String>,
    /// Last chunk of a paragraph (a paragraph pause follows).
    pub paragraph_end: bool,
    /// Last chunk of the chapter.
    pub chapter_end: bool,
    /// Words in the chunk.
    pub words: usize,
    /// Estimated duration in seconds at the project's cps.
    pub est_seconds: f64,
}

/// A planned chapter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChapterPlan {
    /// Title.
    pub title: String,
    /// Chunks in order.
    pub chunks: Vec<Chunk>,
    /// Warnings (empty chapter, long sentence split, unknown speaker…).
    pub warnings: Vec<String>,
}

/// The plan of a whole book.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Title.
    pub title: String,
    /// Author.
    pub author: String,
    /// Main language code.
    pub language: String,
    /// Chapters.
    pub chapters: Vec<ChapterPlan>,
    /// Book-level warnings.
    pub warnings: Vec<String>,
}
