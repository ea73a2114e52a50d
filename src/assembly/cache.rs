//! The assembly cache of incremental assembly, `OUT/.ws-book-cache/`: what assembly already made, by
//! content key, so a re-render measures and encodes only the chapters whose audio or files changed.
//!
//! Three keys (blake3 over canonical JSON, [`ASSEMBLY_VERSION`] and the FFmpeg library versions in each):
//! - a chapter's **audio key** ([`audio_key`]): everything that decides its mastered samples — the chunks'
//!   store keys (`ChunkSlot.key`, the only audio identity) and paragraph ends in order, pauses and room
//!   tone, loudness preset, engine rate, whether it is the book's first chapter (the M4B segment's head
//!   trim) and, with room tone, its index (the noise seed). Keys `<key>.chapter.json` (measured loudness,
//!   gain, timeline, and the M4B segment's record) and `<key>.seg` (the chapter's AAC packets,
//!   `audio::segment`).
//! - a per-chapter **file key** ([`file_key`]): the audio key plus the format, file name, tags
//!   (`tags::file_tags`), in-file section markers, cover digest and draft flag. Keys `<key>.file.json`
//!   (the file's name, size, blake3 digest and length).
//! - the **M4B key** ([`m4b_key`]): every chapter's audio key and title in order, the M4B's tags, name,
//!   cover digest and draft flag. Keys `<key>.m4b.json`.
//!
//! - a file's **QC key** ([`measure_qc`]): its blake3 digest and the loudness preset. Keys `<key>.qc.json`
//!   (the file's `FileQc`, so an unchanged file is not decoded again after a render).
//!
//! Besides [`ASSEMBLY_VERSION`], every key holds a digest of the source files of the code that writes the
//! audio (assembly, encoding, segments, stitching, loudness, resampling, room tone) and, for QC, of QC's,
//! so a build whose code changed never reuses what an older build made.
//!
//! A file is reused only when its record exists and the file in `OUT/` still has the recorded size and
//! digest; a segment only when its file has. Everything is written under a temporary name and renamed
//! (`crate::partial`), so a killed render leaves no half-written entry. Each render name (owner) lists
//! the entries it used in `refs-<hash>.json`; after a render that assembled every chapter, entries no
//! owner lists (and older than that assembly) are removed. Deleting the folder is always safe: the next
//! render measures and encodes everything again, to the same bytes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{AssemblyOptions, BookAssembly, ChapterAssembly, ChapterLoudness};
use crate::audio::encode::OutFormat;
use crate::audio::loudness::Preset;
use crate::audio::qc::{self, FileQc, QcError};
use crate::audio::segment::{self, SegmentInfo};
use crate::audio::stitch::Timeline;

/// Version of the assembly's output: bump it whenever code changes what assembly writes for the same
/// inputs (mastering, encoding, tags, the segment layout), so old cache entries are not reused.
pub const ASSEMBLY_VERSION: u32 = 1;

/// The cache folder's name inside the output folder.
pub const CACHE_DIR: &str = ".ws-book-cache";

/// Errors of the cache (writing; a cache entry that cannot be read is ignored and rebuilt).
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot write the assembly cache: {source}")]
pub struct CacheError {
    /// File.
    pub path: PathBuf,
    /// Cause.
    pub source: std::io::Error,
}

/// What the cache holds for one audio key: pass one's results and the chapter's M4B segment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ChapterEntry {
    /// Loudness before and after mastering (its `chapter` is the index it was measured at).
    pub loudness: ChapterLoudness,
    /// The timeline at the engine rate.
    pub timeline: TimelineRecord,
    /// The M4B segment `<key>.seg`, once encoded.
    pub segment: Option<SegmentInfo>,
}

/// A [`Timeline`] as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct TimelineRecord {
    rate: u32,
    total: u64,
    chunks: Vec<(u64, u64)>,
}

impl From<&Timeline> for TimelineRecord {
    fn from(t: &Timeline) -> Self {
        TimelineRecord {
            rate: t.rate,
            total: t.total,
            chunks: t.chunks.clone(),
        }
    }
}

impl From<&TimelineRecord> for Timeline {
    fn from(t: &TimelineRecord) -> Self {
        Timeline {
            rate: t.rate,
            total: t.total,
            chunks: t.chunks.clone(),
        }
    }
}

/// A file assembly wrote, as recorded under its key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(super) struct FileEntry {
    /// File name in the output folder.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// blake3, hex.
    pub digest: String,
    /// Samples at the format's rate.
    pub samples: u64,
}

impl FileEntry {
    /// The record of a file just written.
    pub fn of(path: &Path, samples: u64) -> Option<FileEntry> {
        let size = std::fs::metadata(path).ok()?.len();
        Some(FileEntry {
            name: path.file_name()?.to_string_lossy().to_string(),
            size,
            digest: segment::file_digest(path, size)?,
            samples,
        })
    }
}

/// blake3 (hex) of canonical JSON.
fn key_of(v: &serde_json::Value) -> String {
    // serde_json's maps are sorted (no preserve_order feature): the text is canonical
    blake3::hash(v.to_string().as_bytes()).to_hex().to_string()
}

/// Digest of the source of the code that writes assembled audio (any change to it is a new version).
fn code_digest() -> &'static str {
    static D: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    D.get_or_init(|| {
        let mut h = blake3::Hasher::new();
        for src in [
            include_str!("mod.rs"),
            include_str!("cache.rs"),
            include_str!("encode.rs"),
            include_str!("measure.rs"),
            include_str!("tags.rs"),
            include_str!("../audio/encode.rs"),
            include_str!("../audio/segment.rs"),
            include_str!("../audio/stitch.rs"),
            include_str!("../audio/loudness.rs"),
            include_str!("../audio/resample.rs"),
            include_str!("../audio/room_tone.rs"),
        ] {
            h.update(src.as_bytes());
        }
        h.finalize().to_hex().to_string()
    })
}

/// Digest of QC's source (with the loudness meter's and the decoder's).
fn qc_code_digest() -> &'static str {
    static D: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    D.get_or_init(|| {
        let mut h = blake3::Hasher::new();
        h.update(include_str!("../audio/qc.rs").as_bytes());
        h.update(include_str!("../audio/loudness.rs").as_bytes());
        h.finalize().to_hex().to_string()
    })
}

/// libavcodec's and libavformat's versions (0, 0 in a build without FFmpeg, which encodes nothing).
fn av_versions() -> (u32, u32) {
    #[cfg(feature = "ffmpeg")]
    return (ffmpeg_next::codec::version(), ffmpeg_next::format::version());
    #[cfg(not(feature = "ffmpeg"))]
    (0, 0)
}

/// The versions that decide encoded bytes besides our inputs.
fn versions() -> serde_json::Value {
    serde_json::json!({
        "assembly": ASSEMBLY_VERSION,
        "code": code_digest(),
        "avcodec": av_versions().0,
        "avformat": av_versions().1,
    })
}

/// The cache entry name of the QC of a file with blake3 `digest` under `preset`.
fn qc_name(digest: &str, preset: &Preset) -> String {
    let key = key_of(&serde_json::json!({
        "kind": "qc",
        "code": qc_code_digest(),
        "avcodec": av_versions().0,
        "avformat": av_versions().1,
        "digest": digest,
        "preset": preset,
    }));
    format!("{key}.qc.json")
}

/// QC of an output file in an output folder, through that folder's cache: a file whose bytes were measured
/// before under the same preset (and by the same QC code) is not decoded again; the result is the same
/// either way. A cache that cannot be read or written only costs the decode.
pub fn measure_qc(path: &Path, preset: &Preset) -> Result<FileQc, QcError> {
    let size = std::fs::metadata(path).map(|m| m.len()).ok();
    let digest = size.and_then(|s| segment::file_digest(path, s));
    let (Some(digest), Some(dir)) = (digest, path.parent()) else {
        return qc::measure(path, preset);
    };
    let entry = dir.join(CACHE_DIR).join(qc_name(&digest, preset));
    let cached = std::fs::read(&entry)
        .ok()
        .and_then(|b| serde_json::from_slice::<FileQc>(&b).ok());
    if let Some(q) = cached {
        return Ok(FileQc {
            path: path.to_path_buf(),
            ..q
        });
    }
    let q = qc::measure(path, preset)?;
    if let Ok(bytes) = serde_json::to_vec_pretty(&q) {
        let tmp = crate::partial::tmp_path(&entry);
        let ok = std::fs::create_dir_all(dir.join(CACHE_DIR))
            .and_then(|_| std::fs::write(&tmp, &bytes))
            .and_then(|_| std::fs::rename(&tmp, &entry));
        if ok.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    Ok(q)
}

/// The cover's digest.
fn cover_digest(book: &BookAssembly) -> Option<String> {
    book.cover.as_ref().map(|c| blake3::hash(&c.data).to_hex().to_string())
}

/// A chapter's audio key (see the module doc).
pub(super) fn audio_key(ch: &ChapterAssembly, opts: &AssemblyOptions) -> String {
    let slots: Vec<(&str, bool)> = ch.slots.iter().map(|s| (s.key.as_str(), s.paragraph_end)).collect();
    key_of(&serde_json::json!({
        "kind": "chapter-audio",
        "versions": versions(),
        "slots": slots,
        "pauses": opts.pauses,
        "preset": opts.preset,
        "rate": opts.rate,
        "first": ch.index == 0,
        // the room tone's noise is seeded by the chapter index
        "index": opts.pauses.room_tone.map(|_| ch.index),
    }))
}

/// The key of a chapter's file in `format` named `name` with `tags` (see the module doc).
pub(super) fn file_key(
    audio_key: &str,
    book: &BookAssembly,
    ch: &ChapterAssembly,
    format: OutFormat,
    name: &str,
    tags: &[(String, String)],
) -> String {
    key_of(&serde_json::json!({
        "kind": "chapter-file",
        "versions": versions(),
        "audio": audio_key,
        "format": format,
        "name": name,
        "tags": tags,
        "sections": ch.sections,
        "cover": cover_digest(book),
        "draft": book.draft,
    }))
}

/// The M4B's key: its chapters' audio keys and titles in order, its name and tags (see the module doc).
pub(super) fn m4b_key(
    book: &BookAssembly,
    chapters: &[(String, String)],
    name: &str,
    tags: &[(String, String)],
) -> String {
    key_of(&serde_json::json!({
        "kind": "m4b",
        "versions": versions(),
        "chapters": chapters,
        "name": name,
        "tags": tags,
        "cover": cover_digest(book),
        "draft": book.draft,
    }))
}

/// The cache folder of an output folder, and the entries this assembly used.
pub(super) struct Cache {
    dir: PathBuf,
    out_dir: PathBuf,
    preset: Preset,
    used: BTreeSet<String>,
    started: SystemTime,
}

impl Cache {
    /// The cache of `out_dir` (created when first written) for files QC measures with `preset`; clears
    /// temporary files of killed renders.
    pub fn open(out_dir: &Path, preset: Preset) -> Cache {
        let dir = out_dir.join(CACHE_DIR);
        crate::partial::remove_stale(&dir);
        Cache {
            dir,
            out_dir: out_dir.to_path_buf(),
            preset,
            used: BTreeSet::new(),
            started: SystemTime::now(),
        }
    }

    /// The path of the segment of `audio_key`.
    pub fn segment_path(&self, audio_key: &str) -> PathBuf {
        self.dir.join(format!("{audio_key}.seg"))
    }

    fn read<T: for<'de> Deserialize<'de>>(&self, name: &str) -> Option<T> {
        let bytes = std::fs::read(self.dir.join(name)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn write<T: Serialize>(&mut self, name: &str, v: &T) -> Result<(), CacheError> {
        let path = self.dir.join(name);
        let err = |source| CacheError {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(err)?;
        let bytes = serde_json::to_vec_pretty(v).map_err(|e| err(std::io::Error::other(e)))?;
        let tmp = crate::partial::tmp_path(&path);
        std::fs::write(&tmp, &bytes)
            .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                err(e)
            })?;
        self.used.insert(name.to_string());
        Ok(())
    }

    /// The cached measurement of `audio_key`, with its segment only when `want_segment` and the segment
    /// file is intact.
    pub fn chapter(&mut self, audio_key: &str, want_segment: bool) -> Option<ChapterEntry> {
        let name = format!("{audio_key}.chapter.json");
        let mut e: ChapterEntry = self.read(&name)?;
        self.used.insert(name);
        let intact = e
            .segment
            .as_ref()
            .is_some_and(|s| want_segment && segment::intact(&self.segment_path(audio_key), s));
        if intact {
            self.used.insert(format!("{audio_key}.seg"));
        } else if want_segment {
            e.segment = None;
        }
        Some(e)
    }

    /// Records the measurement (and segment) of `audio_key`.
    pub fn put_chapter(&mut self, audio_key: &str, e: &ChapterEntry) -> Result<(), CacheError> {
        if e.segment.is_some() {
            self.used.insert(format!("{audio_key}.seg"));
        }
        self.write(&format!("{audio_key}.chapter.json"), e)
    }

    /// The output file recorded under `key` (`kind` `file` or `m4b`), when it is still in the output
    /// folder with the recorded size and digest.
    pub fn file(&mut self, kind: &str, key: &str, name: &str) -> Option<FileEntry> {
        let rec = format!("{key}.{kind}.json");
        let e: FileEntry = self.read(&rec)?;
        if e.name != name {
            return None;
        }
        self.used.insert(rec);
        let d = segment::file_digest(&self.out_dir.join(&e.name), e.size)?;
        // the file's QC (written after assembly, by `measure_qc`) stays with it
        self.used.insert(qc_name(&e.digest, &self.preset));
        (d == e.digest).then_some(e)
    }

    /// Records an output file under `key`.
    pub fn put_file(&mut self, kind: &str, key: &str, e: &FileEntry) -> Result<(), CacheError> {
        self.used.insert(qc_name(&e.digest, &self.preset));
        self.write(&format!("{key}.{kind}.json"), e)
    }

    /// Writes `owner`'s list of the entries it uses (this assembly's, plus its earlier list unless
    /// `complete`) and, when `complete`, removes the entries no owner lists that are older than this
    /// assembly. Returns the entries removed.
    pub fn finish(&mut self, owner: &str, complete: bool) -> Result<Vec<PathBuf>, CacheError> {
        #[derive(Serialize, Deserialize, Default)]
        struct Refs {
            owner: String,
            entries: BTreeSet<String>,
        }
        if self.used.is_empty() && !self.dir.is_dir() {
            return Ok(vec![]);
        }
        let name = format!("refs-{}.json", &blake3::hash(owner.as_bytes()).to_hex()[..16]);
        let mut entries = std::mem::take(&mut self.used);
        if !complete {
            let old: Refs = self.read(&name).unwrap_or_default();
            entries.extend(old.entries);
        }
        self.write(
            &name,
            &Refs {
                owner: owner.to_string(),
                entries: entries.clone(),
            },
        )?;
        if !complete {
            return Ok(vec![]);
        }
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Ok(vec![]);
        };
        let mut listed = BTreeSet::new();
        let all: Vec<_> = dir.flatten().collect();
        for e in &all {
            let n = e.file_name().to_string_lossy().to_string();
            if n.starts_with("refs-") && n.ends_with(".json") {
                listed.extend(self.read::<Refs>(&n).unwrap_or_default().entries);
            }
        }
        let mut removed = Vec::new();
        for e in all {
            let n = e.file_name().to_string_lossy().to_string();
            let ours = n.ends_with(".json") || n.ends_with(".seg");
            let old = e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < self.started);
            let unused = ours && !n.starts_with("refs-") && !n.starts_with('.') && !listed.contains(&n) && old;
            if unused && std::fs::remove_file(e.path()).is_ok() {
                removed.push(e.path());
            }
        }
        removed.sort();
        Ok(removed)
    }
}
