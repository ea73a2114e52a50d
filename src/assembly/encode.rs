//! Pass two of assembly: a measured chapter streamed again through gain and limiter, then fanned out to a
//! 44.1 kHz and a 48 kHz resampler (only those some output needs) and from them to the encoders: the
//! chapter's M4B segment (`audio::segment`) and those of its own MP3/Opus files that must be (re)written.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use super::measure::Measured;
use super::{section_marks, AssemblyError, AssemblyOptions};
use crate::audio::encode::{AudioEncoder, EncodeSpec, OutFormat};
use crate::audio::loudness::Master;
use crate::audio::resample::StreamResampler;
use crate::audio::room_tone::RoomTone;
use crate::audio::segment::{SegmentEncoder, SegmentInfo};
use crate::audio::stitch;
use crate::store::Store;

/// Samples between two looks at the cancel flag while encoding (0.5 s at 24 kHz).
const CANCEL_BLOCK: usize = 12_000;

/// What to write of one chapter.
pub(super) struct Outputs {
    /// Its own files to encode (the section markers are filled in from the timeline).
    pub files: Vec<EncodeSpec>,
    /// Its M4B segment: the file and the samples to drop from the head.
    pub segment: Option<(PathBuf, u64)>,
}

/// What was written of one chapter: each file with the samples encoded, and the segment.
pub(super) struct Written {
    /// Files (format, path, samples at the format's rate).
    pub files: Vec<(OutFormat, PathBuf, u64)>,
    /// The M4B segment, when one was asked for.
    pub segment: Option<SegmentInfo>,
}

/// Encodes one measured chapter into `outputs`.
pub(super) async fn chapter(
    store: &Store,
    m: &Measured<'_>,
    opts: &AssemblyOptions,
    outputs: Outputs,
    cancel: &AtomicBool,
) -> Result<Written, AssemblyError> {
    let ch = m.chapter;
    let mut files = Vec::new();
    for mut spec in outputs.files {
        spec.chapters = section_marks(&ch.sections, &m.timeline, spec.format.rate());
        files.push((spec.format, AudioEncoder::open(&spec)?));
    }
    let segment = match outputs.segment {
        Some((path, trim)) => Some(SegmentEncoder::create(&path, trim)?),
        None => None,
    };
    let need = |rate: u32| (segment.is_some() && rate == 44_100) || files.iter().any(|(f, _)| f.rate() == rate);
    let resampler = |to: u32| match need(to) {
        true => StreamResampler::new(opts.rate, to).map(Some),
        false => Ok(None),
    };
    let mut fan = Fanout {
        rs44: resampler(44_100)?,
        rs48: resampler(48_000)?,
        sinks: Sinks {
            segment,
            files,
            first_err: None,
        },
    };
    let mut master = Master::new(m.gain, opts.preset.ceiling_db, opts.rate);
    // room tone goes under the mastered stream, so its level is the asked one whatever the chapter's gain
    let mut tone = opts.pauses.room_tone.map(|db| RoomTone::new(db, ch.index));
    let mut toned = Vec::new();
    let delay = std::env::var(super::ENCODE_DELAY_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(std::time::Duration::from_millis);
    // A chunk's audio is fed in blocks, so Ctrl-C stops a long chunk's encoding within one block; the
    // encoders are dropped on the way out, which removes their temporary files.
    stitch::stream(store, ch.index, &m.pieces, opts.rate, cancel, &mut |s| {
        for block in s.chunks(CANCEL_BLOCK) {
            if cancel.load(Ordering::Relaxed) {
                return;
            }
            master.push(block, &mut |b| match tone.as_mut() {
                Some(t) => {
                    toned.clear();
                    toned.extend_from_slice(b);
                    t.add(&mut toned);
                    fan.run(&toned, false)
                }
                None => fan.run(b, false),
            });
            if let Some(d) = delay {
                std::thread::sleep(d);
            }
        }
    })
    .await?;
    if cancel.load(Ordering::SeqCst) {
        return Err(AssemblyError::Interrupted);
    }
    master.finish(&mut |b| match tone.as_mut() {
        Some(t) => {
            let mut v = b.to_vec();
            t.add(&mut v);
            fan.run(&v, false)
        }
        None => fan.run(b, false),
    });
    fan.run(&[], true);
    if let Some(e) = fan.sinks.first_err {
        return Err(e);
    }
    let mut written = Written {
        files: Vec::new(),
        segment: None,
    };
    for (f, e) in fan.sinks.files {
        let (path, samples) = e.finish()?;
        written.files.push((f, path, samples));
    }
    if let Some(s) = fan.sinks.segment {
        written.segment = Some(s.finish()?);
    }
    Ok(written)
}

/// The mastered stream's way to the encoders: one resampler per output rate in use.
struct Fanout {
    rs44: Option<StreamResampler>,
    rs48: Option<StreamResampler>,
    sinks: Sinks,
}

/// The encoders of one chapter, and the first error any of them (or a resampler) gave.
struct Sinks {
    segment: Option<SegmentEncoder>,
    files: Vec<(OutFormat, AudioEncoder)>,
    first_err: Option<AssemblyError>,
}

impl Fanout {
    /// Feeds mastered samples (or, with `flush`, drains the resamplers) to every encoder, 44.1 kHz first.
    fn run(&mut self, samples: &[f32], flush: bool) {
        let Fanout { rs44, rs48, sinks } = self;
        for (rs, rate_out) in [(rs44, 44_100), (rs48, 48_000)] {
            let Some(r) = rs.as_mut() else { continue };
            let res = if flush {
                r.finish(&mut |b| sinks.send(rate_out, b))
            } else {
                r.push(samples, &mut |b| sinks.send(rate_out, b))
            };
            if let Err(e) = res {
                sinks.first_err.get_or_insert(e.into());
            }
        }
    }
}

impl Sinks {
    /// One resampled block to every encoder at `rate_out` (the M4B segment is at 44.1 kHz).
    fn send(&mut self, rate_out: u32, block: &[f32]) {
        if rate_out == 44_100 {
            if let Some(e) = self.segment.as_mut() {
                if let Err(er) = e.push(block) {
                    self.first_err.get_or_insert(AssemblyError::from(er));
                }
            }
        }
        for (f, e) in self.files.iter_mut() {
            if f.rate() == rate_out {
                if let Err(er) = e.push(block) {
                    self.first_err.get_or_insert(er.into());
                }
            }
        }
    }
}
