//! Manuscripts: Markdown and EPUB files read into a [`Book`] of chapters, blocks and sentences.
//!
//! Readers produce [`Block`]s of [`Span`]s (text with its language and optional explicit speaker);
//! [`segment`] splits blocks into sentences, [`attribution`] assigns speakers, and
//! [`normalize`] applies pronunciations and text normalisation. Nothing here knows about audio.
//!
//! Owns the manuscript types, reader dispatch and [`build_book`]; uses only `crate::lang`, the crate's
//! size-capped read and YAML budget, and the project's [`ReadingOptions`](crate::project::ReadingOptions)
//! and [`FootnoteMode`](crate::project::FootnoteMode). Must never import the plan, store, worker, engine,
//! render, publish or voice/audio modules (they import this).

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
    /// Language runs (code-switching gives several): the text the engine speaks, after pronunciations
    /// and normalisation.
    pub runs: Vec<Run>,
    /// Speaker: `narrator` or a declared character name.
    pub speaker: String,
    /// The sentence as the author wrote it (whitespace collapsed; no pronunciation respelling, numbers
    /// as written): what captions and transcripts show. Never part of a content key.
    pub source: String,
}

impl Sentence {
    /// The spoken text (runs concatenated).
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
        Span {
            text: text.into(),
            lang: None,
            speaker: None,
            ph: None,
            ph_alphabet: None,
        }
    }
}

/// A block as a reader found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawBlock {
    /// The kind of block.
    pub kind: BlockKind,
    /// Inline text in order.
    pub spans: Vec<Span>,
    /// The number of an ordered-list item as a narrator reads it (`14.`), spoken as its own sentence
    /// before the item's text (`None` for every other block).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
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

impl From<&ReadingOptions> for ReadOptions {
    /// What the readers need of the project's `reading:` options.
    fn from(r: &ReadingOptions) -> Self {
        Self {
            chapter_level: r.chapter_level,
            skip_front_matter: r.skip_front_matter,
        }
    }
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            chapter_level: 1,
            skip_front_matter: true,
        }
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

pub mod attribution;
pub mod lang_tags;
pub mod language;
pub mod markdown;
pub mod normalize;
pub mod roman;
pub mod segment;

use std::collections::BTreeMap;
use std::path::Path;

use crate::project::{FootnoteMode, ReadingOptions};
use attribution::Speaker;

/// Reads a manuscript, choosing the reader by file extension.
pub fn read_manuscript(path: &Path, opts: &ReadOptions) -> Result<RawBook, ManuscriptError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "md" | "markdown" | "txt" => markdown::read_markdown(path, opts),
        "epub" => epub::read_epub(path, opts),
        _ => Err(ManuscriptError::Invalid {
            path: path.to_path_buf(),
            message: format!("unsupported manuscript type `.{ext}`; use Markdown (.md) or EPUB (.epub)"),
        }),
    }
}

/// What building a [`Book`] from a [`RawBook`] needs from the project.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Default language (WhisperSpeech code).
    pub language: String,
    /// Languages the book may use (detection is restricted to these).
    pub languages: Vec<String>,
    /// Declared characters.
    pub speakers: Vec<Speaker>,
    /// The project's `reading:` options (dialogue attribution, language detection, normalisation, footnotes).
    pub reading: ReadingOptions,
    /// Project pronunciations: language → (word, replacement).
    pub pronunciations: BTreeMap<String, Vec<(String, String)>>,
    /// The project's `languages_map`: manuscript language tag (lower case) → WhisperSpeech code; wins over
    /// the built-in fallbacks of [`lang_tags`].
    pub languages_map: BTreeMap<String, String>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            language: "en".into(),
            languages: vec![],
            speakers: vec![],
            reading: ReadingOptions::default(),
            pronunciations: BTreeMap::new(),
            languages_map: BTreeMap::new(),
        }
    }
}

/// Segments, attributes and normalises a read manuscript. Errors name the chapter and the problem
/// (the caller adds the file name).
pub fn build_book(raw: RawBook, o: &BuildOptions) -> Result<Book, String> {
    let detector = if o.reading.detect_language {
        Some(language::LanguageDetector::new(&o.languages))
    } else {
        None
    };
    // Pronunciations per language: project entries first (they win), then the manuscript's lexicon.
    let mut lex: BTreeMap<String, Vec<(String, String)>> = o.pronunciations.clone();
    let mut lex_all: Vec<(String, String)> = Vec::new();
    for e in &raw.lexicon {
        let code = match e.lang.as_deref().map(|t| lang_tags::resolve_tag(t, &o.languages_map)) {
            Some(lang_tags::Resolved::Known(c) | lang_tags::Resolved::Closest(c, _)) => Some(c),
            _ => None,
        };
        match code {
            Some(l) => lex.entry(l).or_default().push((e.grapheme.clone(), e.alias.clone())),
            None => lex_all.push((e.grapheme.clone(), e.alias.clone())),
        }
    }
    let (span_codes, lang_warnings) = lang_tags::span_languages(&raw, &o.languages_map, &o.language);
    let ctx = BlockCtx {
        o,
        detector: detector.as_ref(),
        lex: &lex,
        lex_all: &lex_all,
        span_codes: &span_codes,
    };
    let mut book = Book {
        meta: raw.meta,
        chapters: vec![],
        cover: raw.cover,
        warnings: raw.warnings,
    };
    book.warnings.extend(lang_warnings);
    for (ci, ch) in raw.chapters.into_iter().enumerate() {
        let title = ch.title.clone().map(|t| xhtml::collapse(&t)).unwrap_or_default();
        let mut blocks = Vec::new();
        if !title.is_empty() {
            let tb = RawBlock {
                kind: BlockKind::Heading,
                spans: vec![Span::plain(title.clone())],
                marker: None,
            };
            if let Some(b) = ctx
                .block(&tb, false, &mut book.warnings)
                .map_err(|m| chapter_err(ci, &title, m))?
            {
                blocks.push(b);
            }
        }
        let footnotes = if o.reading.footnotes == FootnoteMode::End {
            ch.footnotes.as_slice()
        } else {
            &[]
        };
        for rb in ch.blocks.iter().chain(footnotes) {
            if let Some(b) = ctx
                .block(rb, o.reading.attribution, &mut book.warnings)
                .map_err(|m| chapter_err(ci, &title, m))?
            {
                blocks.push(b);
            }
        }
        book.chapters.push(Chapter { title, blocks });
    }
    if o.reading.normalize {
        let mut left = normalize::Leftovers::default();
        for (ci, ch) in book.chapters.iter().enumerate() {
            let label = chapter_err(ci, &ch.title, String::new());
            let label = label.trim_end_matches(": ");
            for r in ch.blocks.iter().flat_map(|b| &b.sentences).flat_map(|s| &s.runs) {
                left.add(label, &r.text, &r.lang);
            }
        }
        book.warnings.extend(left.warnings());
    }
    Ok(book)
}

fn chapter_err(ci: usize, title: &str, m: String) -> String {
    if title.is_empty() {
        format!("chapter {}: {m}", ci + 1)
    } else {
        format!("chapter {} (\"{title}\"): {m}", ci + 1)
    }
}

struct BlockCtx<'a> {
    o: &'a BuildOptions,
    detector: Option<&'a language::LanguageDetector>,
    lex: &'a BTreeMap<String, Vec<(String, String)>>,
    lex_all: &'a [(String, String)],
    /// Span language tag → WhisperSpeech code ([`lang_tags::span_languages`]).
    span_codes: &'a std::collections::HashMap<String, String>,
}

impl BlockCtx<'_> {
    /// One raw block → a block of sentences (`None` when it has no text).
    fn block(&self, rb: &RawBlock, attribute: bool, warnings: &mut Vec<String>) -> Result<Option<Block>, String> {
        // Collapse whitespace, remembering for every byte which span it came from.
        let mut text = String::new();
        let mut owner: Vec<usize> = Vec::new();
        for (si, span) in rb.spans.iter().enumerate() {
            for c in span.text.chars() {
                let c = if c.is_whitespace() { ' ' } else { c };
                if c == ' ' && (text.is_empty() || text.ends_with(' ')) {
                    continue;
                }
                text.push(c);
                owner.extend(std::iter::repeat_n(si, c.len_utf8()));
            }
        }
        while text.ends_with(' ') {
            text.pop();
            owner.pop();
        }
        if text.is_empty() {
            return Ok(None);
        }
        // Languages of the spans (tags outside the 99 were resolved, with their warnings, beforehand).
        let span_lang: Vec<&str> = rb
            .spans
            .iter()
            .map(|s| match &s.lang {
                Some(tag) => self
                    .span_codes
                    .get(tag)
                    .map_or(self.o.language.as_str(), String::as_str),
                None => self.o.language.as_str(),
            })
            .collect();
        let explicit: Vec<Option<&str>> = owner.iter().map(|&si| rb.spans[si].speaker.as_deref()).collect();
        let att = attribution::attribute(&text, &explicit, &self.o.speakers, attribute);
        warnings.extend(att.warnings);
        let mut sentences = Vec::new();
        if let Some(m) = &rb.marker {
            sentences.push(self.marker(m, span_lang[0], att.segments.first().map(|(_, s)| s.as_str())));
        }
        for (range, speaker) in att.segments {
            let seg_lang = span_lang[owner[range.start]];
            for s in segment::sentences(&text[range.clone()], seg_lang) {
                let abs = range.start + s.start..range.start + s.end;
                sentences.push(self.sentence(&text, abs, &owner, &span_lang, &speaker));
            }
        }
        Ok((!sentences.is_empty()).then_some(Block { sentences }))
    }

    /// A list item's number (`14.`) as its own sentence in `lang`, said by `speaker` (the item's first
    /// speaker, so that the number stays in the item's chunk), else the narrator.
    fn marker(&self, marker: &str, lang: &str, speaker: Option<&str>) -> Sentence {
        // The number is normalised without its `.`/`)`, which is then the sentence break: a list number is a
        // count ("vierzehn."), not the German ordinal a dotted number in running text is ("vierzehnter").
        let core = marker.trim_end_matches(['.', ')']);
        let core = if core.is_empty() { marker } else { core };
        let owner = vec![0; core.len()];
        let mut s = self.sentence(core, 0..core.len(), &owner, &[lang], speaker.unwrap_or(""));
        if let Some(last) = s.runs.last_mut() {
            last.text.push('.');
        }
        s.source = marker.to_string();
        s
    }

    fn sentence(
        &self,
        text: &str,
        r: std::ops::Range<usize>,
        owner: &[usize],
        span_lang: &[&str],
        speaker: &str,
    ) -> Sentence {
        // Split into runs where the language changes.
        let mut runs: Vec<Run> = Vec::new();
        let mut start = r.start;
        let explicit_langs = (r.start..r.end).any(|i| span_lang[owner[i]] != self.o.language);
        while start < r.end {
            let l = span_lang[owner[start]];
            let mut end = start + 1;
            while end < r.end && (!text.is_char_boundary(end) || span_lang[owner[end]] == l) {
                end += 1;
            }
            runs.push(Run {
                text: text[start..end].to_string(),
                lang: l.to_string(),
            });
            start = end;
        }
        if !explicit_langs {
            if let Some(d) = self.detector.and_then(|d| d.detect(&text[r.clone()])) {
                for run in &mut runs {
                    run.lang = d.to_string();
                }
            }
        }
        let source = text[r.clone()].to_string();
        for run in &mut runs {
            let mut t = run.text.clone();
            if let Some(entries) = self.lex.get(&run.lang) {
                t = normalize::apply_lexicon(&t, entries);
            }
            t = normalize::apply_lexicon(&t, self.lex_all);
            if self.o.reading.normalize {
                t = normalize::normalize(&t, &run.lang);
            }
            run.text = t;
        }
        Sentence {
            runs,
            speaker: speaker.to_string(),
            source,
        }
    }
}

pub mod epub;
pub mod pls;
pub mod xhtml;
