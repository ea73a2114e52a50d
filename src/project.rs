//! `project.yaml`: the schema, its defaults, validation with file:line errors, and path resolution.
//!
//! The YAML is read with `serde-saphyr` (a maintained, panic-free successor of `serde_yaml` that reports
//! line/column and enforces a parsing budget, so a billion-laughs file is refused instead of expanded).
//! Every struct denies unknown keys; [`load`] turns serde's messages into errors that name the file,
//! the line and column, the key, and a "did you mean" hint.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::lang;

/// Largest `project.yaml` accepted (a project file is a few kB; this refuses a 100 MB file early).
pub const MAX_PROJECT_BYTES: u64 = 1 << 20;

/// Errors from reading or validating a project file.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The file could not be read.
    #[error("{path}: cannot read the project file: {source}")]
    Io {
        /// The project file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_PROJECT_BYTES`].
    #[error("{path}: the project file is {size} bytes; a project.yaml must be under {max} bytes")]
    TooLarge {
        /// The project file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// YAML syntax, schema or budget error, with location.
    #[error("{path}:{line}:{column}: {message}{hint}")]
    Invalid {
        /// The project file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// What is wrong.
        message: String,
        /// A hint, starting with a separator, or empty.
        hint: String,
    },
}

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
    /// Manuscript files (.md/.markdown/.epub), read in this order.
    pub manuscripts: Vec<PathBuf>,
    /// Narrator voice.
    pub narrator: VoiceRef,
    /// Characters by name.
    pub characters: BTreeMap<String, Character>,
    /// Pronunciations: language → (word → replacement).
    pub pronunciations: BTreeMap<String, BTreeMap<String, String>>,
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

impl Default for Episodes {
    fn default() -> Self {
        Episodes::Many(Vec::new())
    }
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

impl Default for VoiceRef {
    fn default() -> Self {
        Self {
            voice: "default".into(),
            voices: BTreeMap::new(),
        }
    }
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

impl Default for ChunkingOptions {
    fn default() -> Self {
        Self {
            max_bytes: 500,
            max_seconds: 25.0,
            cps: 15.0,
        }
    }
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
}

impl Default for PauseOptions {
    fn default() -> Self {
        Self {
            sentence_ms: 350,
            paragraph_ms: 800,
            chapter_head_ms: 750,
            chapter_tail_ms: 2000,
        }
    }
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
}

impl Default for OutputOptions {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("out"),
            formats: None,
            loudness: None,
            cover: None,
        }
    }
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
    /// Chunks claimed and synthesised together by one worker.
    pub batch_size: usize,
    /// Attempts per chunk before it is marked failed.
    pub max_attempts: u32,
    /// State database (default `.ws-book/state.db` beside the project file).
    pub db: Option<String>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            workers: 1,
            device: "auto".into(),
            seed: 0,
            batch_size: 1,
            max_attempts: 3,
            db: None,
        }
    }
}

/// Top-level keys, for "did you mean" hints.
const KNOWN_KEYS: &[&str] = &[
    "kind",
    "title",
    "author",
    "language",
    "languages",
    "manuscripts",
    "narrator",
    "characters",
    "pronunciations",
    "reading",
    "chunking",
    "pauses",
    "output",
    "engine",
    "render",
    "voice",
    "voices",
    "aliases",
    "chapter_level",
    "footnotes",
    "skip_front_matter",
    "attribution",
    "detect_language",
    "normalize",
    "max_bytes",
    "max_seconds",
    "cps",
    "sentence_ms",
    "paragraph_ms",
    "chapter_head_ms",
    "chapter_tail_ms",
    "dir",
    "formats",
    "loudness",
    "cover",
    "name",
    "models",
    "temperature",
    "top_k",
    "quantize",
    "workers",
    "device",
    "seed",
    "batch_size",
    "max_attempts",
    "db",
    "episodes",
    "feed",
    "description",
    "base_url",
    "image",
    "category",
    "explicit",
    "owner_email",
    "store",
    "url",
    "audio_dir",
];

impl Project {
    /// The project for a manuscript given directly (`ws-book plan book.epub`): all defaults.
    pub fn for_manuscript(path: &Path) -> Project {
        let base_dir = parent_dir(path);
        let name = path
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| path.to_path_buf());
        Project {
            source: path.to_path_buf(),
            base_dir,
            config: ProjectConfig {
                manuscripts: vec![name],
                ..Default::default()
            },
        }
    }

    /// A path from the project resolved against the project's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    /// The manuscripts, resolved.
    pub fn manuscript_paths(&self) -> Vec<PathBuf> {
        self.config.manuscripts.iter().map(|p| self.resolve(p)).collect()
    }

    /// The output folder, resolved.
    pub fn output_dir(&self) -> PathBuf {
        self.resolve(&self.config.output.dir)
    }

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

    /// The state folder (`.ws-book/` beside the project).
    pub fn state_dir(&self) -> PathBuf {
        self.base_dir.join(".ws-book")
    }

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

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Reads and validates a project file.
pub fn load(path: &Path) -> Result<Project, ProjectError> {
    let io = |source| ProjectError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_PROJECT_BYTES {
        return Err(ProjectError::TooLarge {
            path: path.to_path_buf(),
            size,
            max: MAX_PROJECT_BYTES,
        });
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    let config = parse(&text).map_err(|e| e.with_path(path))?;
    let project = Project {
        source: path.to_path_buf(),
        base_dir: parent_dir(path),
        config,
    };
    validate(&project, &text)?;
    Ok(project)
}

/// A parse error before the file name is known.
#[derive(Debug)]
pub struct ParseError {
    line: u64,
    column: u64,
    message: String,
    hint: String,
}

impl ParseError {
    fn with_path(self, path: &Path) -> ProjectError {
        ProjectError::Invalid {
            path: path.to_path_buf(),
            line: self.line,
            column: self.column,
            message: self.message,
            hint: self.hint,
        }
    }
}

/// Parses project YAML text with a strict budget (no aliases explosion, bounded events and depth).
pub fn parse(text: &str) -> Result<ProjectConfig, ParseError> {
    if text.trim().is_empty() {
        return Ok(ProjectConfig::default());
    }
    let mut budget = serde_saphyr::budget::Budget::default();
    budget.max_events = 100_000;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_depth = 64;
    budget.max_nodes = 100_000;
    budget.max_recorded_anchor_events = 100_000;
    let mut options = serde_saphyr::options::Options::default();
    options.budget = Some(budget);
    // First pass: the whole document as untyped values under the budget, so an alias bomb is
    // refused even where the typed pass would stop early at an unrelated error.
    serde_saphyr::from_str_with_options::<serde_json::Value>(text, options.clone())
        .map_err(|e| to_parse_error(text, e))?;
    serde_saphyr::from_str_with_options::<ProjectConfig>(text, options).map_err(|e| to_parse_error(text, e))
}

fn to_parse_error(text: &str, e: serde_saphyr::Error) -> ParseError {
    {
        let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((0, 0));
        let mut message = first_line(&e.to_string());
        // serde-saphyr prefixes "error: line L column C: "; the location is printed separately.
        if let Some(rest) = message.strip_prefix("error: ") {
            message = rest.to_string();
        }
        if let Some(i) = message.find(": ").filter(|_| message.starts_with("line ")) {
            message = message[i + 2..].to_string();
        }
        // Name the key when the message does not (e.g. "invalid u64").
        if !message.contains('`') {
            if let Some(key) = key_at_line(text, line) {
                message = format!("`{key}`: {message}");
            }
        }
        let hint = unknown_key_hint(&message);
        ParseError {
            line,
            column,
            message,
            hint,
        }
    }
}

/// The mapping key written on 1-based `line`, if any.
fn key_at_line(text: &str, line: u64) -> Option<String> {
    let l = text.lines().nth(usize::try_from(line).ok()?.checked_sub(1)?)?;
    let key = l.trim_start().trim_start_matches("- ").split(':').next()?.trim();
    (!key.is_empty() && l.contains(':') && key.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-'))
        .then(|| key.to_string())
}

fn first_line(s: &str) -> String {
    // serde-saphyr renders a snippet after the message; keep the message itself, without a
    // repeated location prefix.
    let l = s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s).trim();
    l.to_string()
}

/// For "unknown field `x`" messages, suggests the closest known key.
fn unknown_key_hint(message: &str) -> String {
    let Some(start) = message.find("unknown field `") else {
        return String::new();
    };
    let rest = &message[start + "unknown field `".len()..];
    let Some(end) = rest.find('`') else {
        return String::new();
    };
    let key = &rest[..end];
    match closest(key, KNOWN_KEYS) {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}

/// The candidate closest to `word`, if close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&word.to_lowercase(), c), *c))
        .filter(|(d, _)| {
            *d <= match word.chars().count() {
                0..=4 => 1,
                5..=8 => 2,
                _ => 3,
            }
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Finds the 1-based line and column where `needle` first appears as a YAML key or value.
fn locate(text: &str, needle: &str) -> (u64, u64) {
    for (i, line) in text.lines().enumerate() {
        if let Some(col) = line.find(needle) {
            return (i as u64 + 1, col as u64 + 1);
        }
    }
    (0, 0)
}

fn validate(p: &Project, text: &str) -> Result<(), ProjectError> {
    let c = &p.config;
    let err = |needle: &str, message: String, hint: String| {
        let (line, column) = locate(text, needle);
        ProjectError::Invalid {
            path: p.source.clone(),
            line,
            column,
            message,
            hint,
        }
    };
    if c.manuscripts.is_empty() && c.kind == ProjectKind::Book {
        return Err(err(
            "manuscripts",
            "`manuscripts` is empty".into(),
            " (list the book's .md or .epub files, e.g. `manuscripts: [book.md]`)".into(),
        ));
    }
    for m in &c.manuscripts {
        let full = p.resolve(m);
        if !full.is_file() {
            let s = m.to_string_lossy();
            return Err(err(
                &s,
                format!("manuscript `{}` does not exist (looked for {})", s, full.display()),
                " (paths are relative to the project file's folder)".into(),
            ));
        }
    }
    let mut langs: Vec<(&str, String)> = Vec::new();
    if let Some(l) = &c.language {
        langs.push(("language", l.clone()));
    }
    langs.extend(c.languages.iter().map(|l| ("languages", l.clone())));
    langs.extend(c.narrator.voices.keys().map(|l| ("narrator.voices", l.clone())));
    for ch in c.characters.values() {
        langs.extend(ch.voices.keys().map(|l| ("characters.voices", l.clone())));
    }
    langs.extend(c.pronunciations.keys().map(|l| ("pronunciations", l.clone())));
    for (key, code) in langs {
        if lang::resolve(&code).is_none() {
            let hint = match lang::suggest(&code) {
                Some(s) => format!(" (did you mean `{s}`? WhisperSpeech knows 99 language codes)"),
                None => " (use a WhisperSpeech language code such as `en`, `pl`, `de`)".into(),
            };
            return Err(err(&code, format!("`{key}`: unknown language `{code}`"), hint));
        }
    }
    if !(1..=6).contains(&c.reading.chapter_level) {
        return Err(err(
            "chapter_level",
            format!(
                "`reading.chapter_level` is {}; it must be 1 to 6",
                c.reading.chapter_level
            ),
            String::new(),
        ));
    }
    if c.chunking.max_bytes < 32 || c.chunking.max_bytes > 540 {
        return Err(err(
            "max_bytes",
            format!("`chunking.max_bytes` is {}; it must be 32 to 540", c.chunking.max_bytes),
            " (the WhisperSpeech text window is 550 bytes)".into(),
        ));
    }
    if !(c.chunking.max_seconds >= 2.0 && c.chunking.max_seconds <= 29.0) {
        return Err(err(
            "max_seconds",
            format!(
                "`chunking.max_seconds` is {}; it must be 2 to 29",
                c.chunking.max_seconds
            ),
            " (WhisperSpeech stops after 30 s of speech)".into(),
        ));
    }
    if !(c.chunking.cps >= 1.0 && c.chunking.cps <= 40.0) {
        return Err(err(
            "cps",
            format!("`chunking.cps` is {}; it must be 1 to 40", c.chunking.cps),
            String::new(),
        ));
    }
    validate_podcast(p, &err)?;
    for f in &p.formats() {
        if f == "m4b" && c.kind == ProjectKind::Podcast {
            return Err(err(
                "m4b",
                "`output.formats`: `m4b` is one file for a whole book; a podcast's episodes use mp3 or opus".into(),
                String::new(),
            ));
        }
        if !["m4b", "mp3", "opus"].contains(&f.as_str()) {
            let hint = closest(f, &["m4b", "mp3", "opus"])
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(err(
                f,
                format!("`output.formats`: unknown format `{f}`; use m4b, mp3 or opus"),
                hint,
            ));
        }
    }
    if !["audiobook", "podcast"].contains(&p.loudness().as_str()) {
        return Err(err(
            "loudness",
            format!(
                "`output.loudness`: unknown preset `{}`; use `audiobook` or `podcast`",
                p.loudness()
            ),
            String::new(),
        ));
    }
    if !["auto", "whisperspeech", "espeak"].contains(&c.engine.name.as_str()) {
        let hint = closest(&c.engine.name, &["auto", "whisperspeech", "espeak"])
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        return Err(err(
            "engine",
            format!(
                "`engine.name`: unknown engine `{}`; use auto, whisperspeech or espeak",
                c.engine.name
            ),
            hint,
        ));
    }
    if !(0.0..=2.0).contains(&c.engine.temperature) {
        return Err(err(
            "temperature",
            format!("`engine.temperature` is {}; it must be 0 to 2", c.engine.temperature),
            String::new(),
        ));
    }
    if c.render.workers == 0 || c.render.batch_size == 0 || c.render.max_attempts == 0 {
        return Err(err(
            "render",
            "`render.workers`, `render.batch_size` and `render.max_attempts` must be at least 1".into(),
            String::new(),
        ));
    }
    let dev = c.render.device.as_str();
    let cuda_ok = dev == "cuda" || dev.strip_prefix("cuda:").is_some_and(|n| n.parse::<usize>().is_ok());
    if !(dev == "auto" || dev == "cpu" || cuda_ok) {
        return Err(err(
            "device",
            format!("`render.device`: unknown device `{dev}`; use auto, cpu, cuda or cuda:N"),
            String::new(),
        ));
    }
    // Aliases must be unique across characters so attribution is unambiguous.
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (name, ch) in &c.characters {
        for a in std::iter::once(name).chain(ch.aliases.iter()) {
            if let Some(prev) = seen.insert(a.to_lowercase(), name) {
                if prev != name {
                    return Err(err(
                        a,
                        format!("`characters`: the name `{a}` is used by both `{prev}` and `{name}`"),
                        " (aliases must be unique so dialogue can be attributed)".into(),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The podcast keys: `episodes` and `feed` (with `base_url`) for `kind: podcast`, neither for a book.
fn validate_podcast(p: &Project, err: &dyn Fn(&str, String, String) -> ProjectError) -> Result<(), ProjectError> {
    let c = &p.config;
    let patterns = c.episodes.patterns();
    if c.kind == ProjectKind::Book {
        if !patterns.is_empty() || c.feed.is_some() {
            let key = if patterns.is_empty() { "feed" } else { "episodes" };
            return Err(err(
                key,
                format!("`{key}` is only used by podcast projects"),
                " (add `kind: podcast`, or remove the key)".into(),
            ));
        }
        return Ok(());
    }
    if patterns.is_empty() {
        return Err(err(
            "kind",
            "a podcast project needs `episodes`".into(),
            " (a glob or list of Markdown files, one per episode, e.g. `episodes: posts/*.md`)".into(),
        ));
    }
    if !c.manuscripts.is_empty() {
        return Err(err(
            "manuscripts",
            "`manuscripts` is for books; a podcast lists its files under `episodes`".into(),
            String::new(),
        ));
    }
    let Some(feed) = &c.feed else {
        return Err(err(
            "kind",
            "a podcast project needs a `feed` block".into(),
            " (at least `feed: { base_url: https://example.com/podcast/ }`)".into(),
        ));
    };
    match feed.base_url.as_deref().map(str::trim) {
        None | Some("") => {
            return Err(err(
                "feed",
                "`feed.base_url` is missing: it is the public URL the `out/` folder is served from; every \
                 episode's enclosure URL in feed.xml is built from it"
                    .into(),
                " (e.g. `base_url: https://example.com/podcast/`)".into(),
            ))
        }
        Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => {
            return Err(err(
                u,
                format!("`feed.base_url` `{u}` is not an http(s) URL"),
                " (podcast apps download enclosures over HTTP, e.g. `https://example.com/podcast/`)".into(),
            ))
        }
        Some(_) => {}
    }
    if let Some(l) = &feed.language {
        if lang::resolve(l).is_none() {
            return Err(err(
                l,
                format!("`feed.language`: unknown language `{l}`"),
                " (use a language code such as `en`)".into(),
            ));
        }
    }
    for pat in &patterns {
        let full = p.resolve(Path::new(pat));
        let matched = glob::glob(&full.to_string_lossy())
            .map_err(|e| err(pat, format!("`episodes`: bad glob `{pat}`: {e}"), String::new()))?
            .filter_map(Result::ok)
            .any(|f| f.is_file());
        if !matched {
            return Err(err(
                pat,
                format!("`episodes`: `{pat}` matches no file (looked for {})", full.display()),
                " (paths and globs are relative to the project file's folder)".into(),
            ));
        }
    }
    Ok(())
}

/// A language tag from a validated project resolved to its WhisperSpeech code (validated tags always resolve).
pub fn resolve_lang(tag: &str) -> String {
    lang::resolve(tag).unwrap_or("en").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_bomb_is_refused_by_the_budget() {
        let mut bomb =
            String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            bomb.push_str(&format!(
                "{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
            ));
        }
        let t = std::time::Instant::now();
        let e = parse(&bomb).expect_err("refused");
        assert!(
            !e.message.contains("unknown field"),
            "refused for the wrong reason: {}",
            e.message
        );
        assert!(t.elapsed().as_secs() < 10);
    }
}
