//! The assembly stage: the finished chunks of complete chapters, streamed from the store, stitched with
//! pauses, loudness-normalised in two passes and encoded (M4B for the book, MP3/Opus per chapter).
//!
//! Owns the assembly records ([`BookAssembly`], [`ChapterAssembly`]), what assembly wrote ([`Assembled`],
//! [`OutputFile`], [`ChapterLoudness`]), output naming ([`chapter_stem`], [`slug`]) and in-file chapter markers
//! ([`section_marks`]). It reads the store and the plan's types; it must never import `render`, `worker`,
//! `engine`, `publish` or `cli` (publishing reads what assembly wrote, not the other way round).
//!
//! Memory is one chunk plus codec buffers, whatever the book's length (DESIGN.md invariant 7).

pub mod cache;
mod encode;
mod measure;
pub mod tags;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::audio::encode::{ChapterMark, Cover, EncodeError, EncodeSpec, OutFormat};
use crate::audio::loudness::{self, Preset};
use crate::audio::resample::ResampleError;
use crate::audio::segment::{self, SegmentInfo};
use crate::audio::stitch::{self, ChunkSlot, StitchError};
use crate::plan::Section;
use crate::store::Store;
use cache::Cache;

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
    /// The assembly cache cannot be written.
    #[error(transparent)]
    Cache(#[from] cache::CacheError),
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// Chapters measured or encoded (some of their files, or their M4B segment, had to be written).
    pub encoded_chapters: usize,
    /// Chapters left as they were: nothing measured or encoded, their files untouched.
    pub reused_chapters: usize,
    /// Per-chapter files (MP3/Opus) encoded.
    pub files_encoded: usize,
    /// Per-chapter files left as they were.
    pub files_reused: usize,
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
    /// Who owns this assembly's cache entries (the render's name): projects sharing one output folder
    /// keep each other's entries (see `cache.rs`).
    pub owner: String,
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

/// One complete chapter's part in an assembly: its keys, what the cache has, and what must be written.
struct ChapterJob<'a> {
    chapter: &'a ChapterAssembly,
    audio_key: String,
    /// The cached measurement (with its segment, when the M4B is wanted and the segment is intact).
    entry: Option<cache::ChapterEntry>,
    /// Its own files (MP3/Opus).
    files: Vec<FileJob>,
    /// The M4B segment must be encoded.
    need_segment: bool,
}

/// One of a chapter's own files.
struct FileJob {
    spec: EncodeSpec,
    key: String,
    /// The file as it is in the output folder, when it is the one the key asks for.
    reused: Option<cache::FileEntry>,
}

impl ChapterJob<'_> {
    /// Nothing to measure or encode: every file and the segment come from the cache.
    fn unchanged(&self) -> bool {
        self.entry.is_some() && !self.need_segment && self.files.iter().all(|f| f.reused.is_some())
    }
}

/// Keys and cache look-ups of one complete chapter.
fn job<'a>(cache: &mut Cache, book: &BookAssembly, ch: &'a ChapterAssembly, opts: &AssemblyOptions) -> ChapterJob<'a> {
    let n = book.chapters.len();
    let want_m4b = opts.formats.contains(&OutFormat::M4b);
    let audio_key = cache::audio_key(ch, opts);
    let entry = cache.chapter(&audio_key, want_m4b);
    let need_segment = want_m4b && entry.as_ref().is_none_or(|e| e.segment.is_none());
    let files = opts
        .formats
        .iter()
        .filter(|f| **f != OutFormat::M4b)
        .map(|f| {
            let name = format!("{}.{}", chapter_stem(ch, n), f.ext());
            let tags = tags::file_tags(book, *f, &ch.title, Some(format!("{}/{}", ch.index + 1, n)));
            let key = cache::file_key(&audio_key, book, ch, *f, &name, &tags);
            let reused = cache.file("file", &key, &name);
            FileJob {
                spec: EncodeSpec {
                    format: *f,
                    path: opts.out_dir.join(&name),
                    tags,
                    chapters: vec![],
                    cover: book.cover.clone(),
                },
                key,
                reused,
            }
        })
        .collect();
    ChapterJob {
        chapter: ch,
        audio_key,
        entry,
        files,
        need_segment,
    }
}

/// How many of the book's complete chapters an assembly now would leave as they are (nothing measured
/// or encoded): for the progress line before [`assemble`].
pub fn unchanged_chapters(book: &BookAssembly, opts: &AssemblyOptions) -> usize {
    let mut cache = Cache::open(&opts.out_dir, opts.preset);
    book.chapters
        .iter()
        .filter(|c| c.complete)
        .filter(|c| job(&mut cache, book, c, opts).unchanged())
        .count()
}

/// Assembles and encodes the complete chapters of a book (checking `cancel` between chapters),
/// incrementally: a chapter whose audio key, files and M4B segment are in the cache (`cache.rs`) is
/// neither measured nor encoded and its files are left untouched. Each other chapter goes through pass
/// one (streamed from the store through the loudness meter; skipped when only its files' tags or names
/// changed) and pass two (streamed again through gain, limiter, resamplers and the encoders of its files
/// and M4B segment that must be written). The M4B is written only when every chapter is complete, muxed
/// from the chapters' segments without re-encoding, and left untouched when it is already the one they
/// make.
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
    let mut cache = Cache::open(&opts.out_dir, opts.preset);
    let want_m4b = opts.formats.contains(&OutFormat::M4b);
    let mut segments: Vec<(String, String, SegmentInfo)> = Vec::new();
    for ch in book.chapters.iter().filter(|c| c.complete) {
        if cancel.load(Ordering::SeqCst) {
            return Err(AssemblyError::Interrupted);
        }
        let job = job(&mut cache, book, ch, opts);
        let (loudness, timeline, segment) = chapter(store, &mut cache, job, opts, &mut result, cancel).await?;
        result.loudness.push(loudness);
        result.timelines.push((ch.index, timeline));
        result.chapters += 1;
        if let Some(s) = segment {
            segments.push((cache::audio_key(ch, opts), ch.title.clone(), s));
        }
    }
    let all_complete = result.chapters == n && n > 0;
    if want_m4b && all_complete {
        let m4b = m4b(&mut cache, book, opts, &segments)?;
        result.outputs.insert(0, m4b);
    }
    cache.finish(&opts.owner, all_complete)?;
    Ok(result)
}

/// One complete chapter: reused, or measured (unless cached) and the files it lacks encoded. Returns its
/// loudness, timeline and M4B segment (when the M4B is wanted); its files go into `result.outputs`.
async fn chapter(
    store: &Store,
    cache: &mut Cache,
    job: ChapterJob<'_>,
    opts: &AssemblyOptions,
    result: &mut Assembled,
    cancel: &AtomicBool,
) -> Result<(ChapterLoudness, stitch::Timeline, Option<SegmentInfo>), AssemblyError> {
    let ch = job.chapter;
    let unchanged = job.unchanged();
    let (measured, mut entry) = match job.entry {
        Some(e) => {
            let m = measure::Measured {
                chapter: ch,
                pieces: stitch::layout(&ch.slots, &opts.pauses, opts.rate),
                timeline: (&e.timeline).into(),
                gain: e.loudness.gain_db,
                loudness: ChapterLoudness {
                    chapter: ch.index,
                    ..e.loudness.clone()
                },
            };
            (m, e)
        }
        None => {
            let m = measure::chapter(store, ch, opts, cancel).await?;
            let e = cache::ChapterEntry {
                loudness: m.loudness.clone(),
                timeline: (&m.timeline).into(),
                segment: None,
            };
            (m, e)
        }
    };
    let mut files: Vec<(FileJob, Option<cache::FileEntry>)> = Vec::new();
    let mut to_encode = Vec::new();
    for f in job.files {
        match f.reused.clone() {
            Some(r) => files.push((f, Some(r))),
            None => {
                to_encode.push(f.spec.clone());
                files.push((f, None));
            }
        }
    }
    let head = (OutFormat::M4b.rate() as u64 * u64::from(opts.pauses.chapter_head_ms)) / 1000;
    let segment_out = job.need_segment.then(|| {
        (
            cache.segment_path(&job.audio_key),
            segment::trim_for(ch.index == 0, head),
        )
    });
    if unchanged {
        result.reused_chapters += 1;
    } else {
        result.encoded_chapters += 1;
    }
    if !to_encode.is_empty() || segment_out.is_some() {
        let outputs = encode::Outputs {
            files: to_encode,
            segment: segment_out,
        };
        let written = encode::chapter(store, &measured, opts, outputs, cancel).await?;
        let mut new_files = written.files.into_iter();
        for (f, rec) in files.iter_mut().filter(|(_, r)| r.is_none()) {
            let Some((_, path, samples)) = new_files.next() else {
                break;
            };
            let e = cache::FileEntry::of(&path, samples).ok_or_else(|| EncodeError::Io {
                path: path.clone(),
                source: std::io::Error::other("the file just written cannot be read back"),
            })?;
            cache.put_file("file", &f.key, &e)?;
            *rec = Some(e);
        }
        if written.segment.is_some() {
            entry.segment = written.segment;
        }
    }
    if !unchanged {
        cache.put_chapter(&job.audio_key, &entry)?;
    }
    for (f, rec) in &files {
        let samples = rec.as_ref().map_or(0, |r| r.samples);
        result.outputs.push(OutputFile {
            path: f.spec.path.clone(),
            format: f.spec.format,
            duration: samples as f64 / f.spec.format.rate() as f64,
            chapter: Some(ch.index),
        });
        result.files_reused += usize::from(f.reused.is_some());
        result.files_encoded += usize::from(f.reused.is_none());
    }
    let segment = opts
        .formats
        .contains(&OutFormat::M4b)
        .then_some(entry.segment)
        .flatten();
    Ok((measured.loudness, measured.timeline, segment))
}

/// The book's M4B: left as it is when it is the one these chapters make, else muxed from their segments
/// (one marker per chapter, where its segment starts).
fn m4b(
    cache: &mut Cache,
    book: &BookAssembly,
    opts: &AssemblyOptions,
    segments: &[(String, String, SegmentInfo)],
) -> Result<OutputFile, AssemblyError> {
    let name = format!("{}.m4b", slug(&book.title));
    let path = opts.out_dir.join(&name);
    let tags = tags::file_tags(book, OutFormat::M4b, &book.title, None);
    let keys: Vec<(String, String)> = segments.iter().map(|(k, t, _)| (k.clone(), t.clone())).collect();
    let key = cache::m4b_key(book, &keys, &name, &tags);
    let rate = OutFormat::M4b.rate() as f64;
    if let Some(e) = cache.file("m4b", &key, &name) {
        return Ok(OutputFile {
            path,
            format: OutFormat::M4b,
            duration: e.samples as f64 / rate,
            chapter: None,
        });
    }
    let mut marks = Vec::new();
    let mut start = 0i64;
    for (i, (_, title, s)) in segments.iter().enumerate() {
        let l = s.span(i == 0) as i64;
        marks.push(ChapterMark {
            title: title.clone(),
            start,
            end: start + l,
        });
        start += l;
    }
    let spec = EncodeSpec {
        format: OutFormat::M4b,
        path: path.clone(),
        tags,
        chapters: marks,
        cover: book.cover.clone(),
    };
    let parts: Vec<(PathBuf, SegmentInfo)> = segments
        .iter()
        .map(|(k, _, s)| (cache.segment_path(k), s.clone()))
        .collect();
    let (path, samples) = segment::remux_m4b(&spec, &parts)?;
    let e = cache::FileEntry::of(&path, samples).ok_or_else(|| EncodeError::Io {
        path: path.clone(),
        source: std::io::Error::other("the file just written cannot be read back"),
    })?;
    cache.put_file("m4b", &key, &e)?;
    Ok(OutputFile {
        path,
        format: OutFormat::M4b,
        duration: samples as f64 / rate,
        chapter: None,
    })
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
