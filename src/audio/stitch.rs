//! Stitching: a chapter as a sequence of pieces (room tone and chunk audio), streamed from the store one
//! chunk at a time, so memory is one chunk's audio whatever the book's length (DESIGN.md invariant 7).

use std::sync::atomic::{AtomicBool, Ordering};

use crate::audio::resample;
use crate::project::PauseOptions;
use crate::store::{Store, StoreError};

/// Errors from stitching.
#[derive(Debug, thiserror::Error)]
pub enum StitchError {
    /// A chunk's audio is not in the store.
    #[error("chapter {chapter}: the audio of chunk {index} (key {key}) is not in the store")]
    Missing {
        /// Chapter index.
        chapter: usize,
        /// Chunk index.
        index: usize,
        /// Store key.
        key: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Resampling a chunk failed.
    #[error(transparent)]
    Resample(#[from] resample::ResampleError),
    /// `cancel` was set (Ctrl-C, SIGTERM) while streaming.
    #[error("interrupted")]
    Interrupted,
}

/// One piece of a chapter.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Silence of this many samples.
    Silence(usize),
    /// A chunk's audio.
    Chunk {
        /// Index in the chapter.
        index: usize,
        /// Store key.
        key: String,
    },
}

/// A chunk as stitching needs it.
#[derive(Debug, Clone)]
pub struct ChunkSlot {
    /// Store key.
    pub key: String,
    /// Paragraph ends after it.
    pub paragraph_end: bool,
}

fn ms(rate: u32, ms: u32) -> usize {
    (rate as u64 * ms as u64 / 1000) as usize
}

/// The pieces of a chapter: head room tone, chunks with sentence/paragraph pauses, tail room tone.
pub fn layout(chunks: &[ChunkSlot], pauses: &PauseOptions, rate: u32) -> Vec<Piece> {
    let mut out = vec![Piece::Silence(ms(rate, pauses.chapter_head_ms))];
    for (i, c) in chunks.iter().enumerate() {
        out.push(Piece::Chunk {
            index: i,
            key: c.key.clone(),
        });
        if i + 1 < chunks.len() {
            let p = if c.paragraph_end {
                pauses.paragraph_ms
            } else {
                pauses.sentence_ms
            };
            out.push(Piece::Silence(ms(rate, p)));
        }
    }
    out.push(Piece::Silence(ms(rate, pauses.chapter_tail_ms)));
    out
}

/// Where every chunk sits in a stitched chapter, in samples at the stitching rate: the exact timeline of
/// the assembled audio (silences, pauses and any per-chunk resampling included).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Timeline {
    /// Sample rate of the offsets.
    pub rate: u32,
    /// Total samples of the chapter.
    pub total: u64,
    /// Per chunk in order: (first sample, length in samples).
    pub chunks: Vec<(u64, u64)>,
}

impl Timeline {
    /// Seconds of a sample offset.
    pub fn seconds(&self, samples: u64) -> f64 {
        samples as f64 / self.rate as f64
    }
}

/// Streams a chapter's pieces at `rate` into `sink`, fetching chunk audio from the store one at a time.
/// Returns the timeline: the total samples produced and where each chunk starts. Stops with
/// [`StitchError::Interrupted`] before the next piece once `cancel` is set.
pub async fn stream(
    store: &Store,
    chapter: usize,
    pieces: &[Piece],
    rate: u32,
    cancel: &AtomicBool,
    sink: &mut dyn FnMut(&[f32]),
) -> Result<Timeline, StitchError> {
    let silence = vec![0f32; 4096];
    let mut n = 0u64;
    let mut chunks = Vec::new();
    for p in pieces {
        if cancel.load(Ordering::SeqCst) {
            return Err(StitchError::Interrupted);
        }
        match p {
            Piece::Silence(len) => {
                let mut left = *len;
                while left > 0 {
                    let k = left.min(silence.len());
                    sink(&silence[..k]);
                    left -= k;
                }
                n += *len as u64;
            }
            Piece::Chunk { index, key } => {
                let audio = store.audio(key).await?.ok_or_else(|| StitchError::Missing {
                    chapter,
                    index: *index,
                    key: key.clone(),
                })?;
                let samples = if audio.sample_rate == rate {
                    audio.samples
                } else {
                    resample::resample_clip(&audio.samples, audio.sample_rate, rate)?
                };
                sink(&samples);
                chunks.push((n, samples.len() as u64));
                n += samples.len() as u64;
            }
        }
    }
    Ok(Timeline { rate, total: n, chunks })
}
