//! Manuscripts: Markdown and EPUB files read into a [`Book`] of chapters, blocks and sentences.
//!
//! Readers produce [`Block`]s of [`Span`]s (text with its language and optional explicit speaker);
//! [`segment`] splits blocks into sentences, [`attribution`] assigns speakers, and
//! [`normalize`] applies pronunciations and text normalisation. Nothing here knows about audio.

use serde::Serialize;

/// A run of text in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Run {
    /// The text.
    pub text: String,
    /// WhisperSpeech language code.
    pub lang: String,
}

/// A sentence: language runs and the speaker who says it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sentence {
    /// Language runs (code-switching gives several).
    pub runs: Vec<Run>,
    /// Speaker: `narrator` or a declared character name.
    pub speaker: String,
}

impl Sentence {
    /// The sentence's text (runs concatenated).
    pub fn text(&self) -> String {
        self.runs.iter().map(|r| r.text.as_str()).collect()
    }
}

/// A paragraph-level block (paragraph, list item, table row, heading text read aloud…).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Block {
    /// The block's sentences.
    pub sentences: Vec<Sentence>,
}

/// A chapter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chapter {
    /// Title (read at the chapter's start).
    pub title: String,
    /// Paragraphs in order.
    pub blocks: Vec<Block>,
}

/// Book metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BookMeta {
    /// Title.
    pub title: Option<String>,
    /// Author.
    pub author: Option<String>,
    /// Language code (resolved to a WhisperSpeech code).
    pub language: Option<String>,
}

/// A whole manuscript.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Book {
    /// Metadata.
    pub meta: BookMeta,
    /// Chapters in reading order.
    pub chapters: Vec<Chapter>,
    /// Cover image bytes and MIME type, when the manuscript has one.
    #[serde(skip)]
    pub cover: Option<(Vec<u8>, String)>,
    /// Warnings found while reading.
    pub warnings: Vec<String>,
}
