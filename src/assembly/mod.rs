//! The assembly stage: the finished chunks of complete chapters, streamed from the store, stitched with
//! pauses, loudness-normalised in two passes and encoded (M4B for the book, MP3/Opus per chapter).
//!
//! Owns the assembly records ([`BookAssembly`], [`ChapterAssembly`]), what assembly wrote ([`Assembled`],
//! [`OutputFile`], [`ChapterLoudness`]), output naming ([`chapter_stem`], [`slug`]) and in-file chapter markers
//! ([`section_marks`]). It reads the store and the plan's types; it must never import `render`, `worker`,
//! `engine`, `publish` or `cli` (publishing reads what assembly wrote, not the other way round).
//!
//! Memory is one chunk plus codec buffers, whatever the book's length (DESIGN.md invariant 7).

mod encode;
mod measure;
pub mod tags;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::audio::encode::{ChapterMark, Cover, EncodeError, OutFormat};
use crate::audio::loudness::{self, Preset};
use crate::audio::resample::ResampleError;
use crate::audio::stitch::{self, ChunkSlot, StitchError};
use crate::plan::Section;
use crate::store::Store;

/// Environment variable of the slow-encoder testing hook: every block of samples fed to the encoders
/// waits this many milliseconds (so tests can signal a render while it encodes). The audio is unchanged.
pub const ENCODE_DELAY_ENV: &str = "WS_BOOK_ENCODE_DELAY_MS";

/// Errors that stop assembly.
#[derive(Debug, thiserror::Error)]
pub enum AssemblyError {
    /// Stitching (reading chunk audio from the store) failed.
    #[error(transparent)]
    Stitch(StitchError),
    /// Encoding failed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// Resampling failed.
    #[error(transparent)]
    Resample(#[from] ResampleError),
    /// Loudness measurement failed.
    #[error(transparent)]
    Loudness(#[from] loudness::LoudnessError),
    /// Stopped by Ctrl-C (checked between chapters).
    #[error("interrupted")]
    Interrupted,
}

impl From<StitchError> for AssemblyError {
    fn from(e: StitchError) -> Self {
        match e {
            StitchError::Interrupted => AssemblyError::Interrupted,
            e => AssemblyError::Stitch(e),
        }
    }
}

/// One file written.
#[derive(Debug, Clone, Serialize)]
pub struct OutputFile {
    /// Path.
    pub path: PathBuf,
    /// Format.
    pub format: OutFormat,
    /// Duration in seconds.
    pub duration: f64,
    /// Chapter (per-chapter files), 0-based.
    pub chapter: Option<usize>,
}

/// Loudness of a chapter before and after mastering.
#[derive(Debug, Clone, Serialize)]
pub struct ChapterLoudness {
    /// 0-based chapter.
    pub chapter: usize,
    /// Integrated loudness measured before gain, LUFS.
    pub measured_lufs: f64,
    /// Sample peak before gain, dBFS.
    pub measured_peak_db: f64,
    /// Gain applied, dB.
    pub gain_db: f64,
    /// Duration, seconds.
    pub duration: f64,
}

/// A chapter to assemble.
#[derive(Debug, Clone)]
pub struct ChapterAssembly {
    /// 0-based index.
    pub index: usize,
    /// Title.
    pub title: String,
    /// Chunks in order.
    pub slots: Vec<ChunkSlot>,
    /// All chunks done (only complete chapters are written).
    pub complete: bool,
    /// In-file chapter markers of this chapter's own files (podcast episode headings).
    pub sections: Vec<Section>,
    /// File name stem instead of `NN - Title`.
    pub file_stem: Option<String>,
}

/// A book to assemble.
#[derive(Debug, Clone)]
pub struct BookAssembly {
    /// Title.
    pub title: String,
    /// Author.
    pub author: String,
    /// Chapters.
    pub chapters: Vec<ChapterAssembly>,
    /// Cover art.
    pub cover: Option<Cover>,
    /// Genre tag (`Audiobook`, `Podcast`).
    pub genre: String,
    /// A draft (spoken by the espeak-ng draft engine): every file gets a `comment` tag `draft: espeak-ng`.
    pub draft: bool,
    /// `output.tags`.
    pub tags: crate::project::OutputTags,
}

/// What assembly wrote.
#[derive(Debug, Clone, Default)]
pub struct Assembled {
    /// Chapters written.
    pub chapters: usize,
    /// Files.
    pub outputs: Vec<OutputFile>,
    /// Loudness per chapter.
    pub loudness: Vec<ChapterLoudness>,
    /// The timeline of each assembled chapter (chapter index, chunk offsets at the engine rate).
    pub timelines: Vec<(usize, stitch::Timeline)>,
}

/// How to assemble a book.
#[derive(Debug, Clone)]
pub struct AssemblyOptions {
    /// Pauses and room tone.
    pub pauses: crate::project::PauseOptions,
    /// Loudness preset.
    pub preset: Preset,
    /// Output formats.
    pub formats: Vec<OutFormat>,
    /// Output folder.
    pub out_dir: PathBuf,
    /// Sample rate of the stored chunk audio (the engine's rate).
    pub rate: u32,
}

/// A portable file-name version of a title (the rule the README documents):
/// - a separator (`:` `/` `\\` `|`) becomes ` - ` ("Chapter 1: The Storm" → "Chapter 1 - The Storm");
/// - the other characters Windows forbids (`< > " ? *`) and control characters are dropped, `"` becomes `'`;
/// - letters and digits of any script, spaces and other punctuation are kept; runs of spaces become one;
/// - at most 80 characters and 200 bytes (cut at a word where possible), no leading or trailing dots,
///   spaces or dashes; a Windows device name (`CON`, `NUL`, `COM1`, …) gets a `_`; nothing left → `untitled`.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            ':' | '/' | '\\' | '|' => out.push_str(" - "),
            '"' => out.push('\''),
            '<' | '>' | '?' | '*' => {}
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    // one space between words, one dash between parts
    let mut t = out.split_whitespace().collect::<Vec<_>>().join(" ");
    while t.contains("- -") {
        t = t.replace("- -", "-");
    }
    let t = cut(&t, 80, 200);
    let t = t.trim_matches(|c: char| c == '.' || c == ' ' || c == '-');
    if t.is_empty() {
        return "untitled".into();
    }
    let stem = t.split('.').next().unwrap_or(t).trim_end();
    const RESERVED: [&str; 4] = ["CON", "PRN", "AUX", "NUL"];
    let device = RESERVED.iter().any(|r| stem.eq_ignore_ascii_case(r))
        || (stem.len() == 4
            && stem
                .get(..3)
                .is_some_and(|p| p.eq_ignore_ascii_case("COM") || p.eq_ignore_ascii_case("LPT"))
            && stem.as_bytes()[3].is_ascii_digit());
    if device {
        format!("{t}_")
    } else {
        t.to_string()
    }
}

/// `s` cut to at most `chars` characters and `bytes` bytes, at the last space when there is one past halfway.
fn cut(s: &str, chars: usize, bytes: usize) -> &str {
    let mut end = 0;
    for (n, (i, c)) in s.char_indices().enumerate() {
        if n >= chars || i + c.len_utf8() > bytes {
            break;
        }
        end = i + c.len_utf8();
    }
    if end == s.len() {
        return s;
    }
    match s[..end].rfind(' ') {
        Some(sp) if sp > end / 2 => &s[..sp],
        _ => &s[..end],
    }
}

/// The file name stem of a chapter's files: its `file_stem`, else `NN - Title` (zero-padded to the count).
pub fn chapter_stem(ch: &ChapterAssembly, n_chapters: usize) -> String {
    match &ch.file_stem {
        Some(s) => s.clone(),
        None => {
            let width = n_chapters.to_string().len().max(2);
            format!("{:0width$} - {}", ch.index + 1, slug(&ch.title))
        }
    }
}

/// In-file chapter markers of a chapter's sections at `out_rate`: the first starts at 0 (the head room
/// tone), each other at its first chunk's offset in the timeline; each ends where the next starts.
pub fn section_marks(sections: &[Section], timeline: &stitch::Timeline, out_rate: u32) -> Vec<ChapterMark> {
    let r = out_rate as f64 / timeline.rate as f64;
    let total = (timeline.total as f64 * r).ceil() as i64;
    let starts: Vec<i64> = sections
        .iter()
        .enumerate()
        .map(|(i, s)| match (i, timeline.chunks.get(s.first_chunk)) {
            (0, _) | (_, None) => 0,
            (_, Some((start, _))) => (*start as f64 * r).round() as i64,
        })
        .collect();
    sections
        .iter()
        .enumerate()
        .map(|(i, s)| ChapterMark {
            title: s.title.clone(),
            start: starts[i],
            end: starts.get(i + 1).copied().unwrap_or(total),
        })
        .collect()
}

/// Assembles and encodes the complete chapters of a book (checking `cancel` between chapters): pass one
/// streams each chapter from the store through the loudness meter; pass two streams it again through gain,
/// limiter, resamplers and encoders. The M4B is written only when every chapter is complete.
pub async fn assemble(
    store: &Store,
    book: &BookAssembly,
    opts: &AssemblyOptions,
    cancel: &AtomicBool,
) -> Result<Assembled, AssemblyError> {
    let mut result = Assembled::default();
    let n = book.chapters.len();
    // Temporary files of killed renders (with the project lock, no other render of it is running).
    crate::partial::remove_stale(&opts.out_dir);
    // Pass one: measure.
    let mut measured = Vec::new();
    for ch in book.chapters.iter().filter(|c| c.complete) {
        if cancel.load(Ordering::SeqCst) {
            return Err(AssemblyError::Interrupted);
        }
        let m = measure::chapter(store, ch, opts, cancel).await?;
        result.loudness.push(m.loudness.clone());
        measured.push(m);
    }
    let all_complete = measured.len() == n && n > 0;

    // Pass two: encode, the book's M4B fed alongside each chapter's own files.
    let mut m4b = match opts.formats.contains(&OutFormat::M4b) && all_complete {
        true => Some(encode::open_m4b(book, &measured, opts)?),
        false => None,
    };
    let mut m4b_err: Option<EncodeError> = None;
    for m in &measured {
        if cancel.load(Ordering::SeqCst) {
            return Err(AssemblyError::Interrupted);
        }
        let files = encode::chapter(store, book, m, opts, m4b.as_mut(), &mut m4b_err, cancel).await?;
        result.outputs.extend(files);
        result.chapters += 1;
        result.timelines.push((m.chapter.index, m.timeline.clone()));
    }
    if let Some(e) = m4b_err {
        return Err(e.into());
    }
    if let Some(e) = m4b {
        let (path, samples) = e.finish()?;
        result.outputs.insert(
            0,
            OutputFile {
                path,
                format: OutFormat::M4b,
                duration: samples as f64 / OutFormat::M4b.rate() as f64,
                chapter: None,
            },
        );
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slugs_are_readable_and_portable() {
        assert_eq!(slug("Chapter 1: The Storm"), "Chapter 1 - The Storm");
        assert_eq!(slug("Part 2 / Book 1 | Prologue"), "Part 2 - Book 1 - Prologue");
        assert_eq!(slug("Chapter 3 -- Morning"), "Chapter 3 -- Morning");
        assert_eq!(slug("What? <Why> \"Now\"*"), "What Why 'Now'");
        assert_eq!(slug("Zażółć gęślą jaźń — część 1"), "Zażółć gęślą jaźń — część 1");
        assert_eq!(slug("  ...The End...  "), "The End");
        assert_eq!(slug("line\nbreak\ttab"), "line break tab");
        assert_eq!(slug("CON"), "CON_");
        assert_eq!(slug("nul.txt"), "nul.txt_");
        assert_eq!(slug("com7"), "com7_");
        assert_eq!(slug("a€1"), "a€1");
        assert_eq!(slug("Console"), "Console");
        assert_eq!(slug("???"), "untitled");
        assert_eq!(slug(": :"), "untitled");
        let long = slug(&"word ".repeat(40));
        assert!(long.chars().count() <= 80 && !long.ends_with(' '), "{long}");
        let wide = slug(&"字".repeat(100));
        assert!(wide.len() <= 200 && wide.chars().count() <= 80, "{wide}");
    }
}
