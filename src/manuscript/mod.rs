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

/// What kind of block a reader found (used for pauses and for footnote handling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BlockKind {
    /// A paragraph (also `<div>` text, block quotes' paragraphs).
    Paragraph,
    /// A heading below the chapter level, read as its own block.
    Heading,
    /// A list item.
    ListItem,
    /// A table row (cells joined with ", ").
    TableRow,
    /// A footnote / aside body.
    Footnote,
}

/// A piece of inline text as a reader found it, before sentence segmentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Span {
    /// The text (whitespace already collapsed to single spaces; may start/end with a space).
    pub text: String,
    /// Language from `lang`/`xml:lang` on an enclosing element, raw tag as written (resolved later).
    pub lang: Option<String>,
    /// Speaker from a `data-speaker` attribute on an enclosing element.
    pub speaker: Option<String>,
    /// Pronunciation override from `ssml:ph` on an enclosing element (the `ssml:alphabet` is in `ph_alphabet`).
    pub ph: Option<String>,
    /// The `ssml:alphabet` of `ph` (e.g. `ipa`, `x-sampa`), when given.
    pub ph_alphabet: Option<String>,
}

impl Span {
    /// Plain text with no attributes.
    pub fn plain(text: impl Into<String>) -> Span {
        Span { text: text.into(), lang: None, speaker: None, ph: None, ph_alphabet: None }
    }
}

/// A block as a reader found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawBlock {
    /// The kind of block.
    pub kind: BlockKind,
    /// Inline text in order.
    pub spans: Vec<Span>,
}

/// A chapter as a reader found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawChapter {
    /// Title from the nav/NCX/heading, if any.
    pub title: Option<String>,
    /// Body blocks in order.
    pub blocks: Vec<RawBlock>,
    /// Footnote / aside blocks, in order (read at the end of the chapter or skipped, per project option).
    pub footnotes: Vec<RawBlock>,
}

/// One pronunciation entry from an EPUB PLS lexicon or the project: `grapheme` is replaced by `alias`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LexiconEntry {
    /// The written form.
    pub grapheme: String,
    /// What to say instead.
    pub alias: String,
    /// Language code the entry applies to (`None`: all languages).
    pub lang: Option<String>,
}

/// A manuscript as a reader produced it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RawBook {
    /// Metadata.
    pub meta: BookMeta,
    /// Chapters in reading order.
    pub chapters: Vec<RawChapter>,
    /// Cover image bytes and MIME type.
    #[serde(skip)]
    pub cover: Option<(Vec<u8>, String)>,
    /// Pronunciation lexicon entries found in the manuscript (EPUB PLS files).
    pub lexicon: Vec<LexiconEntry>,
    /// Reader warnings (skipped items, fallbacks).
    pub warnings: Vec<String>,
}

/// Options the readers need from the project.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Markdown heading level that starts a chapter.
    pub chapter_level: u8,
    /// Skip EPUB cover/nav/copyright/`linear="no"` items.
    pub skip_front_matter: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self { chapter_level: 1, skip_front_matter: true }
    }
}

/// Errors reading a manuscript. Every message names the file and, where there is one, the item.
#[derive(Debug, thiserror::Error)]
pub enum ManuscriptError {
    /// I/O error on the manuscript file.
    #[error("{path}: {source}")]
    Io {
        /// The manuscript.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The manuscript is malformed or unsupported.
    #[error("{path}: {message}")]
    Invalid {
        /// The manuscript.
        path: std::path::PathBuf,
        /// What is wrong, naming the item (e.g. `OEBPS/ch1.xhtml`).
        message: String,
    },
}

pub mod epub;
pub mod pls;
pub mod xhtml;
