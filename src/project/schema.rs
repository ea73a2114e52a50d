//! The schema of `project.yaml`: one serde type per block, every struct denying unknown keys.
//!
//! Owns the shape of the file and nothing else: the `Default` values live in `defaults`, the checks in
//! `validate`. Must never import render, worker, store, engine (nor `lang`: the schema holds tags as written).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What a project is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectKind {
    /// One book: manuscripts → chapters → one audiobook.
    #[default]
    Book,
    /// A podcast: each episode file is rendered on its own.
    Podcast,
}

/// The schema of `project.yaml` (see `templates/project.yaml` for the commented version).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProjectConfig {
    /// `book` (default) or `podcast`.
    pub kind: ProjectKind,
    /// Book title; defaults to the first manuscript's metadata or file name.
    pub title: Option<String>,
    /// Author; defaults to the first manuscript's metadata.
    pub author: Option<String>,
    /// Main language code (WhisperSpeech codes, e.g. `en`, `pl`); defaults to the book's or `en`.
    pub language: Option<String>,
    /// Other languages the book uses (restricts language detection).
    pub languages: Vec<String>,
    /// Language tags found in manuscripts (`xml:lang`, `lang`, `dc:language`; any BCP 47 tag) → the
    /// WhisperSpeech code to read them as, e.g. `{grc: el, sco: en}`. Wins over the built-in fallbacks.
    pub languages_map: BTreeMap<String, String>,
    /// Manuscript files (.md/.markdown/.epub), read in this order.
    pub manuscripts: Vec<PathBuf>,
    /// Narrator voice.
    pub narrator: VoiceRef,
    /// Characters by name.
    pub characters: BTreeMap<String, Character>,
    /// Pronunciations: language → (word → replacement).
    pub pronunciations: BTreeMap<String, BTreeMap<String, String>>,
    /// A lexicon file (same shape as `pronunciations`), relative to the project file: the pronunciations
    /// `ws-book review` edits, so project.yaml itself is never rewritten. Its entries win over
    /// `pronunciations`; a missing file is an empty lexicon.
    pub lexicon: Option<PathBuf>,
    /// How manuscripts are read.
    pub reading: ReadingOptions,
    /// How sentences are packed into chunks.
    pub chunking: ChunkingOptions,
    /// Pauses inserted when stitching.
    pub pauses: PauseOptions,
    /// Output options.
    pub output: OutputOptions,
    /// Engine and model options.
    pub engine: EngineOptions,
    /// Render options.
    pub render: RenderOptions,
    /// Podcast episodes (`kind: podcast`): a glob or a list of globs/files, each file one episode.
    pub episodes: Episodes,
    /// Podcast feed settings (`kind: podcast`).
    pub feed: Option<FeedConfig>,
    /// Where the render's state lives (queue, audio): SQLite beside the project by default, or a shared
    /// PostgreSQL database for a farm of worker hosts.
    pub store: StoreOptions,
    /// Quality assurance: every take checked by Whisper speech recognition.
    pub qa: QaOptions,
}

/// `qa:` options (absent `asr` = QA off, unless a Whisper model is in the library and the engine is
/// WhisperSpeech: see the README).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QaOptions {
    /// Whisper model: a size (`base`, `tiny.en`, …), a hub repository, a model folder or a library name.
    pub asr: Option<String>,
    /// A take passes when its word error rate is at most this (default by engine: see the README).
    pub max_wer: Option<f64>,
    /// Syntheses per chunk at most (default 3).
    pub takes: Option<u32>,
    /// Exit with code 4 when a chunk is still flagged after its takes.
    pub gate: bool,
    /// Voice drift: a take of a cloned voice fails when the cosine similarity of its speaker embedding to
    /// the voice's is below this (−1 to 1; unset: measured and reported when a speaker model is present,
    /// never failed).
    pub min_similarity: Option<f64>,
}

/// `episodes:` — one glob/path or a list of them (resolved against the project folder).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Episodes {
    /// One glob or path, e.g. `posts/*.md`.
    One(String),
    /// Several globs or paths.
    Many(Vec<String>),
}

impl Episodes {
    /// The patterns, in order.
    pub fn patterns(&self) -> Vec<String> {
        match self {
            Episodes::One(s) => vec![s.clone()],
            Episodes::Many(v) => v.clone(),
        }
    }
}

/// The `feed:` block of a podcast project (RSS 2.0 channel with Apple `itunes:` tags).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedConfig {
    /// Podcast title (default: the project's `title`).
    pub title: Option<String>,
    /// Author (`itunes:author`; default: the project's `author`).
    pub author: Option<String>,
    /// Channel description.
    pub description: Option<String>,
    /// Language tag of the feed (default: the project's `language`, else `en`).
    pub language: Option<String>,
    /// Public URL of the folder the `out/` files are served from; enclosure URLs are built from it.
    pub base_url: Option<String>,
    /// Podcast artwork: a URL, or a file beside project.yaml copied into the output folder.
    pub image: Option<String>,
    /// Apple Podcasts category, `Category` or `Category > Subcategory`.
    pub category: Option<String>,
    /// Explicit content (default false).
    pub explicit: bool,
    /// Owner e-mail (`itunes:owner`).
    pub owner_email: Option<String>,
}

/// `store:` options.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreOptions {
    /// `sqlite:PATH` (relative to the project) or `postgres://USER@HOST:PORT/DB`; overrides `render.db`.
    pub url: Option<String>,
    /// PostgreSQL only: keep audio as content-addressed files in this shared folder (mounted at the same
    /// path on every host) instead of in the database.
    pub audio_dir: Option<PathBuf>,
}

/// A voice for a speaker: a default voice plus optional per-language voices.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VoiceRef {
    /// Voice library name or reference-audio path (default: `default`).
    pub voice: String,
    /// Per-language voices: language code → voice.
    pub voices: BTreeMap<String, String>,
}

impl VoiceRef {
    /// The voice used for `lang`.
    pub fn for_lang(&self, lang: &str) -> &str {
        self.voices.get(lang).map(String::as_str).unwrap_or(&self.voice)
    }
}

/// A character of the book.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Character {
    /// Voice (library name or audio path); defaults to the narrator's.
    pub voice: Option<String>,
    /// Per-language voices.
    pub voices: BTreeMap<String, String>,
    /// Other names the manuscript uses for this character (attribution).
    pub aliases: Vec<String>,
}

/// Where footnotes go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FootnoteMode {
    /// Read at the end of the chapter (default).
    #[default]
    End,
    /// Not read.
    Skip,
}

/// How manuscripts are read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReadingOptions {
    /// Markdown heading level that starts a chapter (1–6, default 1; deeper headings are read as text).
    pub chapter_level: u8,
    /// Footnotes / EPUB asides: `end` (read at the chapter's end) or `skip`.
    pub footnotes: FootnoteMode,
    /// Skip EPUB cover, nav, copyright and `linear="no"` items (default true).
    pub skip_front_matter: bool,
    /// Attribute dialogue to characters (default true).
    pub attribution: bool,
    /// Detect each sentence's language among `language` + `languages` (default false).
    pub detect_language: bool,
    /// Expand numbers, dates and symbols (default true).
    pub normalize: bool,
}

/// How sentences are packed into chunks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChunkingOptions {
    /// Most UTF-8 bytes in a chunk (default 500; the T2S text window is 550 with the start token).
    pub max_bytes: usize,
    /// Longest estimated duration of a chunk in seconds at `cps` (default 25; T2S stops at 30 s).
    pub max_seconds: f64,
    /// Speaking rate in characters per second (WhisperSpeech's conditioning; default 15).
    pub cps: f64,
}

/// Pauses in milliseconds inserted when stitching.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PauseOptions {
    /// Between chunks inside a paragraph.
    pub sentence_ms: u32,
    /// After a paragraph.
    pub paragraph_ms: u32,
    /// Silence (room tone) at the head of each chapter.
    pub chapter_head_ms: u32,
    /// Silence (room tone) at the tail of each chapter.
    pub chapter_tail_ms: u32,
    /// Room tone: a floor of shaped noise at this level (dBFS RMS, −90 to −50, e.g. −70) under the whole
    /// mastered chapter, so pauses are not digital silence. Off (`null`) by default.
    pub room_tone: Option<f64>,
}

/// Output options.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputOptions {
    /// Output folder (default `out` beside the project file).
    pub dir: PathBuf,
    /// Formats: any of `m4b`, `mp3`, `opus` (default `[m4b, mp3]` for a book, `[mp3]` for a podcast).
    pub formats: Option<Vec<String>>,
    /// Loudness preset: `audiobook` (ACX) or `podcast` (−16 LUFS); default by `kind`.
    pub loudness: Option<String>,
    /// Cover image (default: the EPUB's cover, if any).
    pub cover: Option<PathBuf>,
    /// Book metadata written into every file (README "Tags" says which tag of each format gets what).
    pub tags: OutputTags,
}

/// A YAML scalar read as text: `date: 2026` and `date: "2026"` are the same.
fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Int(i64),
        Float(f64),
    }
    Ok(Option::<Scalar>::deserialize(d)?.map(|v| match v {
        Scalar::Text(s) => s,
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => f.to_string(),
    }))
}

/// `output.tags`: publishing metadata. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputTags {
    /// Narrator (the voice's credit; written as composer and as a dedicated field where the format has one).
    pub narrator: Option<String>,
    /// Release year (`2026`) or date (`2026-12-01`).
    #[serde(deserialize_with = "text_or_number")]
    pub date: Option<String>,
    /// Description / blurb.
    pub description: Option<String>,
    /// Publisher.
    pub publisher: Option<String>,
    /// Copyright line (`© 2026 Jane Doe`).
    pub copyright: Option<String>,
    /// Genre (default `Audiobook`, `Podcast` for a podcast).
    pub genre: Option<String>,
    /// Series name.
    pub series: Option<String>,
    /// Position in the series (`1`, `2.5`).
    #[serde(deserialize_with = "text_or_number")]
    pub series_index: Option<String>,
    /// ISBN of the audiobook edition.
    pub isbn: Option<String>,
    /// Amazon/Audible ASIN.
    pub asin: Option<String>,
}

/// Engine and model options.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineOptions {
    /// `auto` (WhisperSpeech when its models are present, else the espeak draft), `whisperspeech` or `espeak`.
    pub name: String,
    /// Model references (preset name such as `tiny`/`base`/`small`, `repo:file` or a local path).
    pub models: BTreeMap<String, String>,
    /// Sampling temperature (default 0.7 as the reference pipeline; 0 = greedy).
    pub temperature: f64,
    /// Optional top-k sampling.
    pub top_k: Option<usize>,
    /// The q8_0 CPU speed mode for the T2S and S2A decoders (not bit-identical to f32; its own content keys).
    pub quantize: bool,
}

/// Render options.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RenderOptions {
    /// Workers run in-process (default 1).
    pub workers: usize,
    /// `auto`, `cpu`, `cuda` or `cuda:N`.
    pub device: String,
    /// Project seed; every chunk's seed derives from it and the chunk key.
    pub seed: u64,
    /// Chunks synthesised together by one worker: a number, or `auto` (the default: the engine's best for its
    /// device — 8 on the CPU, from free memory on a GPU).
    pub batch_size: BatchSize,
    /// WhisperSpeech precision: `f32` (default), or `f16` / `bf16` on a GPU (LayerNorm, softmax and sampling
    /// stay f32; refused on the CPU). Part of the engine fingerprint, so of every content key.
    pub dtype: String,
    /// Attempts per chunk before it is marked failed.
    pub max_attempts: u32,
    /// State database (default `.ws-book/state.db` beside the project file).
    pub db: Option<String>,
    /// Publish only chapters whose every chunk a reviewer approved (`ws-book review`); also
    /// `render --require-approval`.
    pub require_approval: bool,
}

/// `render.batch_size` (and `--batch-size`): a fixed number of chunks per engine batch, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BatchSize {
    /// The engine's best batch for its device (`Engine::auto_batch`).
    #[default]
    Auto,
    /// This many chunks (≥ 1).
    Fixed(usize),
}

impl BatchSize {
    /// Parses `auto` or a positive number.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "auto" => Ok(Self::Auto),
            n => match n.parse::<usize>() {
                Ok(0) | Err(_) => Err(format!("batch size `{s}`: use `auto` or a number of at least 1")),
                Ok(n) => Ok(Self::Fixed(n)),
            },
        }
    }

    /// The number of chunks, given the engine's `auto` value.
    pub fn resolve(self, auto: usize) -> usize {
        match self {
            Self::Auto => auto.max(1),
            Self::Fixed(n) => n.max(1),
        }
    }
}

impl std::fmt::Display for BatchSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Fixed(n) => write!(f, "{n}"),
        }
    }
}

impl Serialize for BatchSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Auto => s.serialize_str("auto"),
            Self::Fixed(n) => s.serialize_u64(*n as u64),
        }
    }
}

impl<'de> Deserialize<'de> for BatchSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = BatchSize;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("`auto` or a number of at least 1")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<BatchSize, E> {
                Ok(BatchSize::Fixed(n as usize))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<BatchSize, E> {
                usize::try_from(n)
                    .map(BatchSize::Fixed)
                    .map_err(|_| E::custom("`auto` or a number of at least 1"))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<BatchSize, E> {
                BatchSize::parse(s).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}
