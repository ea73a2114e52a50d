//! Reference audio for speaker embeddings: decode any common file with ffmpeg-next (WAV 8/16/24/32-bit and
//! float, FLAC, MP3, Ogg/Opus, M4A/AAC), take one channel (channel 0 like the reference), cut a time window
//! (first 30 s by default), and check that the result is usable speech material.
//!
//! Integer samples are scaled like torchaudio (`x / 2^(bits−1)`, 24-bit arrives as 32-bit from FFmpeg), so the
//! decoded floats equal the reference's `torchaudio.load` for PCM files.
//!
//! Owns the window and the usability checks; decoding itself is shared with QC (`crate::audio::qc`). Must
//! never import the engine, store or render modules.

use std::path::Path;

use super::SpeakerError;
#[cfg(feature = "ffmpeg")]
use crate::audio::qc::{push_channel, AudioDecoder, DecodeFailure};

/// Which part of the file is used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AudioWindow {
    /// Channel index (0 = the reference's choice).
    pub channel: usize,
    /// Start, seconds.
    pub start: f64,
    /// Length, seconds (the reference uses the first 30 s).
    pub duration: f64,
    /// Trim leading and trailing silence (below −50 dBFS in 10 ms frames) after cutting the window.
    pub trim_silence: bool,
}

impl Default for AudioWindow {
    fn default() -> Self {
        Self {
            channel: 0,
            start: 0.0,
            duration: 30.0,
            trim_silence: false,
        }
    }
}

/// Decoded reference audio: one channel at the file's own rate.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceAudio {
    /// Sample rate of the file, Hz.
    pub sample_rate: u32,
    /// Samples in −1..1.
    pub samples: Vec<f32>,
}

/// Minimum usable length, seconds.
pub const MIN_SECONDS: f64 = 1.0;
/// Peak below this (≈ −60 dBFS) counts as silent.
pub const SILENT_PEAK: f32 = 1e-3;
/// More than this fraction of samples at full scale counts as clipped.
pub const CLIPPED_FRACTION: f64 = 0.01;

fn bad(path: &Path, message: impl Into<String>) -> SpeakerError {
    SpeakerError::BadAudio {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Decodes channel `window.channel` of `path` (all of it, at the file's rate), then cuts and checks the window.
pub fn load_reference(path: &Path, window: &AudioWindow) -> Result<ReferenceAudio, SpeakerError> {
    if path.is_dir() {
        return Err(bad(path, "is a folder, not an audio file"));
    }
    if !path.is_file() {
        return Err(bad(path, "no such file"));
    }
    let (rate, all) = decode_channel(path, window.channel)?;
    if all.is_empty() {
        return Err(bad(path, "the file holds no audio samples (empty)"));
    }
    let start = (window.start.max(0.0) * f64::from(rate)).round() as usize;
    let len = (window.duration.max(0.0) * f64::from(rate)).round() as usize;
    if start >= all.len() {
        return Err(bad(
            path,
            format!(
                "--start {:.2} s is past the end of the file ({:.2} s)",
                window.start,
                all.len() as f64 / f64::from(rate)
            ),
        ));
    }
    let mut samples = all[start..(start + len).min(all.len())].to_vec();
    if window.trim_silence {
        samples = trim_silence(&samples, rate);
    }
    check_usable(path, rate, &samples)?;
    Ok(ReferenceAudio {
        sample_rate: rate,
        samples,
    })
}

/// Rejects audio that is too short, silent or clipped, with a message naming the file.
pub fn check_usable(path: &Path, rate: u32, samples: &[f32]) -> Result<(), SpeakerError> {
    let secs = samples.len() as f64 / f64::from(rate.max(1));
    if secs < MIN_SECONDS {
        return Err(bad(
            path,
            format!("only {secs:.2} s of audio; a reference voice needs at least {MIN_SECONDS} s (10–30 s of clean speech is best)"),
        ));
    }
    let peak = samples.iter().fold(0f32, |m, x| m.max(x.abs()));
    if peak < SILENT_PEAK {
        return Err(bad(
            path,
            if peak == 0.0 {
                "the audio is silent (digital silence); choose a file with speech".to_string()
            } else {
                format!(
                    "the audio is silent (peak {:.1} dBFS); choose a file with speech",
                    20.0 * f64::from(peak).log10()
                )
            },
        ));
    }
    let clipped = samples.iter().filter(|x| x.abs() >= 0.999).count() as f64 / samples.len() as f64;
    if clipped > CLIPPED_FRACTION {
        return Err(bad(
            path,
            format!(
                "the audio is clipped ({:.1}% of samples at full scale); use a cleaner recording or lower its gain",
                clipped * 100.0
            ),
        ));
    }
    Ok(())
}

/// Removes leading and trailing 10 ms frames whose RMS is below −50 dBFS.
pub fn trim_silence(samples: &[f32], rate: u32) -> Vec<f32> {
    let frame = (rate as usize / 100).max(1);
    let loud = |c: &[f32]| {
        let ms = c.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>() / c.len() as f64;
        ms > 1e-5 // −50 dBFS
    };
    let frames: Vec<&[f32]> = samples.chunks(frame).collect();
    let Some(first) = frames.iter().position(|c| loud(c)) else {
        return Vec::new();
    };
    let last = frames.iter().rposition(|c| loud(c)).unwrap_or(first);
    let a = first * frame;
    let b = ((last + 1) * frame).min(samples.len());
    samples[a..b].to_vec()
}

/// Decodes one channel of the best audio stream to f32 at the stream's rate.
#[cfg(feature = "ffmpeg")]
pub fn decode_channel(path: &Path, channel: usize) -> Result<(u32, Vec<f32>), SpeakerError> {
    let dec = AudioDecoder::open(path).map_err(|f| decode_error(path, f))?;
    let channels = usize::from(dec.decoder().channels());
    if channel >= channels.max(1) {
        return Err(bad(
            path,
            format!("channel {channel} requested but the file has {channels} channel(s) (channels count from 0)"),
        ));
    }
    let mut rate = dec.decoder().rate();
    let mut out = Vec::new();
    let mut problem: Option<String> = None;
    dec.for_each_frame(|f| {
        rate = f.rate();
        if let Err(m) = push_channel(f, channel, &mut out) {
            problem.get_or_insert(m);
        }
    })
    .map_err(|f| decode_error(path, f))?;
    if let Some(m) = problem {
        return Err(bad(path, m));
    }
    if rate == 0 {
        return Err(bad(path, "the stream has no sample rate"));
    }
    Ok((rate, out))
}

/// The [`SpeakerError`] for a decoding failure.
#[cfg(feature = "ffmpeg")]
fn decode_error(path: &Path, failure: DecodeFailure) -> SpeakerError {
    bad(
        path,
        match failure {
            DecodeFailure::Open(e) => format!("not a readable audio file (FFmpeg: {e})"),
            DecodeFailure::NoAudioStream => "not an audio file: it has no audio stream".to_string(),
            DecodeFailure::Parameters(e) => format!("cannot read the stream parameters: {e}"),
            DecodeFailure::Decoder(e) => format!("cannot open the decoder: {e}"),
            DecodeFailure::Decode(e) => format!("cannot decode: {e}"),
            DecodeFailure::Flush(e) => format!("cannot flush the decoder: {e}"),
        },
    )
}

/// Always an error in a build without FFmpeg: reference audio cannot be decoded there.
#[cfg(not(feature = "ffmpeg"))]
pub fn decode_channel(path: &Path, _channel: usize) -> Result<(u32, Vec<f32>), SpeakerError> {
    Err(bad(path, format!("cannot decode: {}", crate::audio::encode::NO_FFMPEG)))
}
