//! Pass two of assembly: a measured chapter streamed again through gain and limiter, then fanned out to a
//! 44.1 kHz and a 48 kHz resampler (only those some format needs) and from them to the encoders: the book's
//! M4B and the chapter's own MP3/Opus files.

use std::sync::atomic::{AtomicBool, Ordering};

use super::measure::Measured;
use super::{chapter_stem, section_marks, slug, AssemblyError, AssemblyOptions, BookAssembly, OutputFile};
use crate::audio::encode::{AudioEncoder, ChapterMark, EncodeError, EncodeSpec, OutFormat};
use crate::audio::loudness::Master;
use crate::audio::resample::StreamResampler;
use crate::audio::room_tone::RoomTone;
use crate::audio::stitch;
use crate::store::Store;

/// Samples between two looks at the cancel flag while encoding (0.5 s at 24 kHz).
const CANCEL_BLOCK: usize = 12_000;

/// Opens the book's M4B with one marker per chapter (lengths at 44.1 kHz are exact: the resampler gives
/// ⌈n·r⌉).
pub(super) fn open_m4b(
    book: &BookAssembly,
    measured: &[Measured<'_>],
    opts: &AssemblyOptions,
) -> Result<AudioEncoder, EncodeError> {
    let r = OutFormat::M4b.rate() as f64 / opts.rate as f64;
    let mut marks = Vec::new();
    let mut start = 0i64;
    for m in measured {
        let l = (m.timeline.total as f64 * r).ceil() as i64;
        marks.push(ChapterMark {
            title: m.chapter.title.clone(),
            start,
            end: start + l,
        });
        start += l;
    }
    let spec = EncodeSpec {
        format: OutFormat::M4b,
        path: opts.out_dir.join(format!("{}.m4b", slug(&book.title))),
        tags: super::tags::file_tags(book, OutFormat::M4b, &book.title, None),
        chapters: marks,
        cover: book.cover.clone(),
    };
    AudioEncoder::open(&spec)
}

/// Encodes one measured chapter into its own files and, when given, the book's M4B (whose errors are kept
/// in `m4b_err`: the M4B is finished, or its error returned, after the last chapter). Returns the chapter's
/// files.
pub(super) async fn chapter(
    store: &Store,
    book: &BookAssembly,
    m: &Measured<'_>,
    opts: &AssemblyOptions,
    m4b: Option<&mut AudioEncoder>,
    m4b_err: &mut Option<EncodeError>,
    cancel: &AtomicBool,
) -> Result<Vec<OutputFile>, AssemblyError> {
    let ch = m.chapter;
    let n = book.chapters.len();
    let mut files = Vec::new();
    for f in opts.formats.iter().filter(|f| **f != OutFormat::M4b) {
        let spec = EncodeSpec {
            format: *f,
            path: opts.out_dir.join(format!("{}.{}", chapter_stem(ch, n), f.ext())),
            tags: super::tags::file_tags(book, *f, &ch.title, Some(format!("{}/{}", ch.index + 1, n))),
            chapters: section_marks(&ch.sections, &m.timeline, f.rate()),
            cover: book.cover.clone(),
        };
        files.push((*f, AudioEncoder::open(&spec)?));
    }
    let need = |rate: u32| (m4b.is_some() && rate == 44_100) || files.iter().any(|(f, _)| f.rate() == rate);
    let resampler = |to: u32| match need(to) {
        true => StreamResampler::new(opts.rate, to).map(Some),
        false => Ok(None),
    };
    let mut fan = Fanout {
        rs44: resampler(44_100)?,
        rs48: resampler(48_000)?,
        sinks: Sinks {
            m4b,
            m4b_err,
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
    let mut out = Vec::new();
    for (f, e) in fan.sinks.files {
        let (path, samples) = e.finish()?;
        out.push(OutputFile {
            path,
            format: f,
            duration: samples as f64 / f.rate() as f64,
            chapter: Some(ch.index),
        });
    }
    Ok(out)
}

/// The mastered stream's way to the encoders: one resampler per output rate in use.
struct Fanout<'a> {
    rs44: Option<StreamResampler>,
    rs48: Option<StreamResampler>,
    sinks: Sinks<'a>,
}

/// The encoders of one chapter, and the first error any of them (or a resampler) gave.
struct Sinks<'a> {
    m4b: Option<&'a mut AudioEncoder>,
    m4b_err: &'a mut Option<EncodeError>,
    files: Vec<(OutFormat, AudioEncoder)>,
    first_err: Option<AssemblyError>,
}

impl Fanout<'_> {
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

impl Sinks<'_> {
    /// One resampled block to every encoder at `rate_out` (the M4B is at 44.1 kHz).
    fn send(&mut self, rate_out: u32, block: &[f32]) {
        if rate_out == 44_100 {
            if let Some(e) = self.m4b.as_mut() {
                if let Err(er) = e.push(block) {
                    self.m4b_err.get_or_insert(er);
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
