//! Pass one of assembly: a chapter's stitched stream through the EBU R128 meter, then the gain that brings
//! it to the preset (corrected once for what the true-peak limiter takes off).

use std::sync::atomic::AtomicBool;

use super::{AssemblyError, AssemblyOptions, ChapterAssembly, ChapterLoudness};
use crate::audio::loudness::{self, Master, Meter, Preset};
use crate::audio::stitch;
use crate::store::Store;

/// A chapter measured and ready to encode.
pub(super) struct Measured<'a> {
    /// The chapter.
    pub chapter: &'a ChapterAssembly,
    /// Its layout: chunks and pauses.
    pub pieces: Vec<stitch::Piece>,
    /// Chunk offsets at the engine rate.
    pub timeline: stitch::Timeline,
    /// Gain to apply, dB.
    pub gain: f64,
    /// What was measured.
    pub loudness: ChapterLoudness,
}

/// Measures one complete chapter.
pub(super) async fn chapter<'a>(
    store: &Store,
    ch: &'a ChapterAssembly,
    opts: &AssemblyOptions,
    cancel: &AtomicBool,
) -> Result<Measured<'a>, AssemblyError> {
    let (rate, preset) = (opts.rate, &opts.preset);
    let pieces = stitch::layout(&ch.slots, &opts.pauses, rate);
    let mut meter = Meter::new(rate)?;
    let mut err = None;
    let timeline = stitch::stream(store, ch.index, &pieces, rate, cancel, &mut |s| {
        if let Err(e) = meter.add(s) {
            err = Some(e);
        }
    })
    .await?;
    if let Some(e) = err {
        return Err(e.into());
    }
    let m = meter.finish()?;
    let mut gain = loudness::gain_for(&m, preset);
    // The limiter takes some loudness off peaky speech: measure the mastered stream once and correct.
    if m.lufs > -70.0 {
        let mastered = mastered_lufs(store, ch, &pieces, (rate, gain), preset, cancel).await?;
        if mastered > -70.0 {
            gain = (gain + preset.target_lufs - mastered).clamp(-40.0, 40.0);
        }
    }
    let loudness = ChapterLoudness {
        chapter: ch.index,
        measured_lufs: m.lufs,
        measured_peak_db: m.true_peak_db,
        gain_db: gain,
        duration: timeline.total as f64 / rate as f64,
    };
    Ok(Measured {
        chapter: ch,
        pieces,
        timeline,
        gain,
        loudness,
    })
}

/// Integrated loudness of a chapter after gain and limiter (no encoding).
async fn mastered_lufs(
    store: &Store,
    ch: &ChapterAssembly,
    pieces: &[stitch::Piece],
    (rate, gain): (u32, f64),
    preset: &Preset,
    cancel: &AtomicBool,
) -> Result<f64, AssemblyError> {
    let mut meter = Meter::new(rate)?;
    let mut master = Master::new(gain, preset.ceiling_db, rate);
    let mut err = None;
    let mut add = |s: &[f32]| {
        if let Err(e) = meter.add(s) {
            err = Some(e);
        }
    };
    stitch::stream(store, ch.index, pieces, rate, cancel, &mut |s| master.push(s, &mut add)).await?;
    master.finish(&mut add);
    if let Some(e) = err {
        return Err(e.into());
    }
    Ok(meter.finish()?.lufs)
}
