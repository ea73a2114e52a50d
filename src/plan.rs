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
    /// The sentences' spoken texts, in order; their concatenation with spaces is the chunk text.
    pub sentences: Vec<String>,
    /// The same sentences as the author wrote them (numbers as written, no pronunciation respellings):
    /// what captions and transcripts show. One per entry of `sentences`; not part of the key.
    pub captions: Vec<String>,
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
    /// In-file chapter markers inside this chapter's own files (a podcast episode's headings); empty for books.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<Section>,
    /// File name (without extension) of this chapter's files, instead of `NN - Title` (podcast episodes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_stem: Option<String>,
}

/// A marker inside a chapter's file: a title and the chunk it starts at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    /// Title.
    pub title: String,
    /// Index of its first chunk in the chapter.
    pub first_chunk: usize,
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
    /// The manuscript's cover image (bytes, MIME type), used when `output.cover` is not set.
    #[serde(skip)]
    pub cover: Option<(Vec<u8>, String)>,
}

use std::path::{Path, PathBuf};

use crate::manuscript::attribution::{Speaker, NARRATOR};
use crate::manuscript::lang_tags::{self, Resolved};
use crate::manuscript::{self, Book, BuildOptions, ManuscriptError, ReadOptions, Sentence};
use crate::project::{self, Project, ProjectError};

/// Version of the chunking and key scheme; bump when either changes so old audio is not reused.
pub const PLAN_VERSION: u32 = 1;

/// Errors from planning.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The project file is invalid.
    #[error(transparent)]
    Project(#[from] ProjectError),
    /// A manuscript could not be read.
    #[error(transparent)]
    Manuscript(#[from] ManuscriptError),
    /// A manuscript's content is invalid for the project (unknown language code…).
    #[error("{path}: {message}")]
    Content {
        /// The manuscript.
        path: PathBuf,
        /// What is wrong, naming the chapter and text.
        message: String,
    },
}

/// Loads `input`: a project file (`.yaml`/`.yml`) or a manuscript given directly (defaults then).
pub fn load_input(input: &Path) -> Result<Project, PlanError> {
    let ext = input
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext == "yaml" || ext == "yml" {
        return Ok(project::load(input)?);
    }
    if !input.is_file() {
        return Err(ManuscriptError::Io {
            path: input.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        }
        .into());
    }
    Ok(Project::for_manuscript(input))
}

/// Loads a project (or a manuscript with defaults) and plans it.
pub fn load_and_plan(input: &Path) -> Result<(Project, Plan), PlanError> {
    let project = load_input(input)?;
    let plan = plan_project(&project)?;
    Ok((project, plan))
}

/// Reads every manuscript of the project, builds the books and plans them as one book.
pub fn plan_project(project: &Project) -> Result<Plan, PlanError> {
    let c = &project.config;
    let read_opts = ReadOptions::from(&c.reading);
    let mut raws = Vec::new();
    for path in project.manuscript_paths() {
        let raw = manuscript::read_manuscript(&path, &read_opts)?;
        raws.push((path, raw));
    }
    // The book language: project, else the first manuscript's, else English.
    let meta_lang = raws.iter().find_map(|(_, r)| r.meta.language.clone());
    let map = languages_map(project);
    let language = match (&c.language, meta_lang) {
        (Some(l), _) => project::resolve_lang(l),
        (None, Some(l)) => match lang_tags::resolve_tag(&l, &map) {
            Resolved::Known(code) | Resolved::Closest(code, _) => code,
            Resolved::Surrounding => "en".into(),
        },
        (None, None) => "en".into(),
    };
    let mut warnings = Vec::new();
    let mut book = Book::default();
    for (path, raw) in raws {
        if let Some(l) = raw.meta.language.as_deref() {
            let why = match lang_tags::resolve_tag(l, &map) {
                Resolved::Known(_) => None,
                Resolved::Closest(code, reason) => Some(format!("its closest listed language `{code}` ({reason})")),
                Resolved::Surrounding => Some(format!("no listed language is close; the book is read as `{language}`")),
            };
            if let Some(why) = why {
                warnings.push(format!(
                    "{}: book language `{l}` is not one of WhisperSpeech's 99: {why}; the project's `language` or `languages_map` can choose another",
                    path.display()
                ));
            }
        }
        let opts = build_options(project, &language);
        let b = manuscript::build_book(raw, &opts).map_err(|message| PlanError::Content {
            path: path.clone(),
            message,
        })?;
        if book.meta.title.is_none() {
            book.meta.title = b.meta.title.clone();
        }
        if book.meta.author.is_none() {
            book.meta.author = b.meta.author.clone();
        }
        if book.cover.is_none() {
            book.cover = b.cover.clone();
        }
        warnings.extend(b.warnings.iter().map(|w| format!("{}: {w}", path.display())));
        book.chapters.extend(b.chapters);
    }
    let title = c.title.clone().or(book.meta.title.clone()).unwrap_or_else(|| {
        project
            .source
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "Untitled".into())
    });
    let author = c.author.clone().or(book.meta.author.clone()).unwrap_or_default();
    let mut plan = build_plan(&book, project, &language);
    plan.title = title;
    plan.author = author;
    plan.warnings.splice(0..0, warnings);
    Ok(plan)
}

/// The project's `languages_map` with keys in lower case and values resolved to WhisperSpeech codes
/// (validated: every value resolves).
pub fn languages_map(project: &Project) -> std::collections::BTreeMap<String, String> {
    project
        .config
        .languages_map
        .iter()
        .map(|(k, v)| {
            (
                k.trim().to_ascii_lowercase().replace('_', "-"),
                project::resolve_lang(v),
            )
        })
        .collect()
}

/// The [`BuildOptions`] of a project.
pub fn build_options(project: &Project, language: &str) -> BuildOptions {
    let c = &project.config;
    let speakers = c
        .characters
        .iter()
        .map(|(name, ch)| Speaker {
            name: name.clone(),
            names: std::iter::once(name)
                .chain(ch.aliases.iter())
                .map(|n| n.to_lowercase())
                .collect(),
        })
        .collect();
    let mut languages: Vec<String> = vec![language.to_string()];
    languages.extend(c.languages.iter().map(|l| project::resolve_lang(l)));
    BuildOptions {
        language: language.to_string(),
        languages,
        speakers,
        reading: c.reading.clone(),
        pronunciations: c
            .pronunciations
            .iter()
            .map(|(l, m)| {
                (
                    project::resolve_lang(l),
                    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                )
            })
            .collect(),
        languages_map: languages_map(project),
    }
}

/// Packs a book's sentences into chunks (never across chapters, paragraphs or speakers/voices).
pub fn build_plan(book: &Book, project: &Project, language: &str) -> Plan {
    let c = &project.config;
    let limits = Limits {
        max_bytes: c.chunking.max_bytes,
        max_seconds: c.chunking.max_seconds,
        cps: c.chunking.cps,
    };
    let mut chapters = Vec::new();
    for (ci, ch) in book.chapters.iter().enumerate() {
        let mut warnings = Vec::new();
        let mut chunks: Vec<Chunk> = Vec::new();
        for block in &ch.blocks {
            let mut pending: Option<Pending> = None;
            for s in &block.sentences {
                let voice = project.voice_for(&s.speaker, main_lang(s));
                let pieces = split_long(s, &limits);
                if pieces.len() > 1 {
                    warnings.push(format!(
                        "a {}-byte sentence was split into {} chunks: \"{}\"",
                        s.text().len(),
                        pieces.len(),
                        snippet(&s.text())
                    ));
                }
                for piece in pieces {
                    let fits = pending.as_ref().is_some_and(|p| {
                        p.speaker == piece.speaker
                            && p.voice == voice
                            && limits.fits(p.bytes() + 1 + piece_bytes(&piece), p.chars() + 1 + piece_chars(&piece))
                    });
                    if !fits {
                        if let Some(p) = pending.take() {
                            chunks.push(p.finish(ci, chunks.len(), false, project, &limits));
                        }
                        pending = Some(Pending {
                            speaker: piece.speaker.clone(),
                            voice: voice.clone(),
                            runs: vec![],
                            sentences: vec![],
                            captions: vec![],
                        });
                    }
                    if let Some(p) = pending.as_mut() {
                        p.push(piece);
                    }
                }
            }
            if let Some(p) = pending.take() {
                chunks.push(p.finish(ci, chunks.len(), true, project, &limits));
            }
        }
        if let Some(last) = chunks.last_mut() {
            last.chapter_end = true;
        }
        let has_body = ch.blocks.len() > usize::from(!ch.title.is_empty());
        if !has_body {
            warnings.push("the chapter has no text besides its title".into());
        }
        chapters.push(ChapterPlan {
            title: ch.title.clone(),
            chunks,
            warnings,
            sections: Vec::new(),
            file_stem: None,
        });
    }
    Plan {
        title: String::new(),
        author: String::new(),
        language: language.to_string(),
        chapters,
        warnings: vec![],
        cover: book.cover.clone(),
    }
}

/// The language a sentence is mostly in (it picks the voice).
fn main_lang(s: &Sentence) -> &str {
    let mut best: (&str, usize) = (s.runs.first().map(|r| r.lang.as_str()).unwrap_or("en"), 0);
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for r in &s.runs {
        match counts.iter_mut().find(|(l, _)| *l == r.lang) {
            Some((_, n)) => *n += r.text.len(),
            None => counts.push((&r.lang, r.text.len())),
        }
    }
    for (l, n) in counts {
        if n > best.1 {
            best = (l, n);
        }
    }
    best.0
}

struct Limits {
    max_bytes: usize,
    max_seconds: f64,
    cps: f64,
}

impl Limits {
    fn fits(&self, bytes: usize, chars: usize) -> bool {
        bytes <= self.max_bytes && chars as f64 / self.cps <= self.max_seconds
    }
}

fn piece_bytes(s: &Sentence) -> usize {
    s.runs.iter().map(|r| r.text.len()).sum()
}

fn piece_chars(s: &Sentence) -> usize {
    s.runs.iter().map(|r| r.text.chars().count()).sum()
}

/// Splits an overlong sentence at clause punctuation, then at spaces, never inside a word.
fn split_long(s: &Sentence, limits: &Limits) -> Vec<Sentence> {
    if limits.fits(piece_bytes(s), piece_chars(s)) {
        return vec![s.clone()];
    }
    // Flatten to text with a language per byte.
    let text = s.text();
    let mut langs: Vec<&str> = Vec::with_capacity(text.len());
    for r in &s.runs {
        langs.extend(std::iter::repeat_n(r.lang.as_str(), r.text.len()));
    }
    let byte_limit = limits.max_bytes.min((limits.max_seconds * limits.cps) as usize).max(8);
    let mut out = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let rest = &text[start..];
        if limits.fits(rest.len(), rest.chars().count()) {
            out.push(start..text.len());
            break;
        }
        // The window that may be taken (by bytes; chars ≤ bytes so the seconds limit holds too).
        let mut window = byte_limit.min(rest.len());
        while !rest.is_char_boundary(window) {
            window -= 1;
        }
        let w = &rest[..window];
        // Prefer clause punctuation followed by a space, then a space, else (one huge word) a char boundary.
        let clause = w
            .char_indices()
            .filter(|(i, c)| ",;:—–)".contains(*c) && w[i + c.len_utf8()..].starts_with(' '))
            .map(|(i, c)| i + c.len_utf8())
            .next_back();
        let cut = clause
            .filter(|&i| i >= window / 3)
            .or_else(|| w.rfind(' ').filter(|&i| i > 0))
            .unwrap_or(window);
        out.push(start..start + cut);
        start += cut;
        while text[start..].starts_with(' ') {
            start += 1;
        }
    }
    let ranges: Vec<std::ops::Range<usize>> = out
        .into_iter()
        .map(|r| manuscript::segment::trim_range(&text, r.clone()).unwrap_or(r))
        .collect();
    let sources = split_source(&s.source, &text, &ranges);
    ranges
        .into_iter()
        .zip(sources)
        .map(|(r, source)| {
            let mut runs: Vec<Run> = Vec::new();
            let mut i = r.start;
            while i < r.end {
                let l = langs[i];
                let mut e = i + 1;
                while e < r.end && (!text.is_char_boundary(e) || langs[e] == l) {
                    e += 1;
                }
                runs.push(Run {
                    text: text[i..e].to_string(),
                    lang: l.to_string(),
                });
                i = e;
            }
            Sentence {
                runs,
                speaker: s.speaker.clone(),
                source,
            }
        })
        .collect()
}

/// The written text of each piece of a split sentence. When the spoken text is the written one, the
/// pieces' own texts; otherwise (normalisation changed the words) the written words are shared out in
/// proportion to the pieces' lengths, so that the pieces' captions joined are exactly the sentence's.
fn split_source(source: &str, spoken: &str, pieces: &[std::ops::Range<usize>]) -> Vec<String> {
    if source == spoken {
        return pieces.iter().map(|r| spoken[r.clone()].to_string()).collect();
    }
    let words: Vec<&str> = source.split_whitespace().collect();
    let total: usize = pieces.iter().map(|r| r.len()).sum::<usize>().max(1);
    let mut out = Vec::with_capacity(pieces.len());
    let (mut taken, mut acc) = (0usize, 0usize);
    for (k, r) in pieces.iter().enumerate() {
        acc += r.len();
        let upto = if k + 1 == pieces.len() {
            words.len()
        } else {
            (words.len() * acc).div_ceil(total).clamp(taken, words.len())
        };
        out.push(words[taken..upto].join(" "));
        taken = upto;
    }
    out
}

struct Pending {
    speaker: String,
    voice: String,
    runs: Vec<Run>,
    sentences: Vec<String>,
    captions: Vec<String>,
}

impl Pending {
    fn bytes(&self) -> usize {
        self.runs.iter().map(|r| r.text.len()).sum()
    }

    fn chars(&self) -> usize {
        self.runs.iter().map(|r| r.text.chars().count()).sum()
    }

    /// Appends a sentence (taken by value: its texts move into the chunk).
    fn push(&mut self, s: Sentence) {
        self.sentences.push(s.text());
        self.captions.push(s.source);
        for (k, r) in s.runs.into_iter().enumerate() {
            if k == 0 && !self.runs.is_empty() {
                // Sentences are joined with one space, kept in the previous run.
                if let Some(last) = self.runs.last_mut() {
                    last.text.push(' ');
                }
            }
            match self.runs.last_mut() {
                Some(last) if last.lang == r.lang => last.text.push_str(&r.text),
                _ => self.runs.push(r),
            }
        }
    }

    fn finish(self, chapter: usize, index: usize, paragraph_end: bool, project: &Project, limits: &Limits) -> Chunk {
        let text: String = self.runs.iter().map(|r| r.text.as_str()).collect();
        let words = text.split_whitespace().count();
        let key = chunk_key(&self.runs, &self.voice, project);
        Chunk {
            key,
            chapter,
            index,
            speaker: if self.speaker.is_empty() {
                NARRATOR.into()
            } else {
                self.speaker
            },
            voice: self.voice,
            runs: self.runs,
            sentences: self.sentences,
            captions: self.captions,
            paragraph_end,
            chapter_end: false,
            words,
            est_seconds: text.chars().count() as f64 / limits.cps,
        }
    }
}

/// The content key of a chunk: a BLAKE3 hash of everything in the project that determines its audio.
/// Render extends it with what only it knows (resolved engine, model digests, voice embedding).
pub fn chunk_key(runs: &[Run], voice: &str, project: &Project) -> String {
    let c = &project.config;
    let material = serde_json::json!({
        "v": PLAN_VERSION,
        "runs": runs,
        "voice": voice,
        "cps": c.chunking.cps,
        "engine": c.engine.name,
        "models": c.engine.models,
        "temperature": c.engine.temperature,
        "top_k": c.engine.top_k,
    });
    blake3::hash(material.to_string().as_bytes()).to_hex().to_string()
}

fn snippet(s: &str) -> String {
    let t: String = s.chars().take(60).collect();
    if t.len() < s.len() {
        format!("{t}…")
    } else {
        t
    }
}
