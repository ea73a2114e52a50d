//! Quality control: decode an encoded file with ffmpeg-next and measure what listeners (and ACX) check:
//! RMS, peak (true peak), noise floor (RMS of the quietest half second), integrated loudness, duration.
//!
//! Owns decoding an audio file to f32 ([`decode`], and the crate-internal `AudioDecoder` and `push_channel`
//! that speaker reference audio shares) and the measurements. Must never import the speaker, engine,
//! store or render modules.

use std::path::{Path, PathBuf};

#[cfg(feature = "ffmpeg")]
use ffmpeg::{codec, format, frame, media};
#[cfg(feature = "ffmpeg")]
use ffmpeg_next as ffmpeg;
use serde::Serialize;

#[cfg(feature = "ffmpeg")]
use super::encode;
use super::loudness::{gain_to_db, Meter, Preset};

/// Errors from QC.
#[derive(Debug, thiserror::Error)]
pub enum QcError {
    /// FFmpeg could not read the file.
    #[error("{path}: cannot {action}: {message}")]
    Read {
        /// File.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// Why.
        message: String,
    },
}

/// Measurements of one file.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct FileQc {
    /// The file.
    pub path: PathBuf,
    /// Duration in seconds.
    pub duration: f64,
    /// RMS over the whole file, dBFS.
    pub rms_db: f64,
    /// True peak, dBFS.
    pub peak_db: f64,
    /// Noise floor: RMS of the quietest 0.5 s window, dBFS (−120 for digital silence).
    pub noise_floor_db: f64,
    /// Integrated loudness, LUFS.
    pub lufs: f64,
    /// Whether the file meets the preset.
    pub pass: bool,
    /// Why it fails, if it does.
    pub problems: Vec<String>,
}

/// Decodes `path` to mono f32 (its first channel), handing blocks to `sink`; returns the sample rate.
#[cfg(feature = "ffmpeg")]
pub fn decode(path: &Path, sink: &mut dyn FnMut(&[f32])) -> Result<u32, QcError> {
    let dec = AudioDecoder::open(path).map_err(|f| read_error(path, f))?;
    let mut rate = 0u32;
    let mut out = Vec::new();
    dec.for_each_frame(|f| {
        rate = f.rate();
        out.clear();
        // QC reads the sample formats FFmpeg decodes our encodings to (f32, s16, s32, packed or
        // planar); a frame in any other format adds no samples.
        if matches!(
            f.format(),
            format::Sample::F32(_) | format::Sample::I16(_) | format::Sample::I32(_)
        ) {
            // Cannot fail: these formats are supported.
            let _ = push_channel(f, 0, &mut out);
        }
        sink(&out);
    })
    .map_err(|f| read_error(path, f))?;
    Ok(rate)
}

/// Decodes the whole file into memory (for tests and comparisons): (rate, samples).
pub fn decode_all(path: &Path) -> Result<(u32, Vec<f32>), QcError> {
    let mut all = Vec::new();
    let rate = decode(path, &mut |s| all.extend_from_slice(s))?;
    Ok((rate, all))
}

/// Measures a file and judges it against the preset.
pub fn measure(path: &Path, preset: &Preset) -> Result<FileQc, QcError> {
    let mut meter: Option<Meter> = None;
    let mut sum_sq = 0f64;
    let mut n = 0u64;
    let mut win_sq = 0f64;
    let mut win_n = 0usize;
    let mut min_win = f64::INFINITY;
    let mut meter_err = None;
    // The meter needs the rate up front: probe the stream first.
    let probe_rate = probe_rate(path)?;
    let win_len = (probe_rate as usize / 2).max(1);
    let rate = decode(path, &mut |s| {
        if meter.is_none() && meter_err.is_none() {
            match Meter::with_true_peak(probe_rate) {
                Ok(m) => meter = Some(m),
                Err(e) => meter_err = Some(e.to_string()),
            }
        }
        if let Some(m) = meter.as_mut() {
            if let Err(e) = m.add(s) {
                meter_err = Some(e.to_string());
            }
        }
        for &x in s {
            let x = x as f64;
            sum_sq += x * x;
            n += 1;
            win_sq += x * x;
            win_n += 1;
            if win_n == win_len {
                min_win = min_win.min((win_sq / win_len as f64).sqrt());
                win_sq = 0.0;
                win_n = 0;
            }
        }
    })?;
    let rate_seen = rate;
    if let Some(message) = meter_err {
        return Err(QcError::Read {
            path: path.to_path_buf(),
            action: "measure loudness",
            message,
        });
    }
    let m = match meter {
        Some(m) => m.finish().map_err(|e| QcError::Read {
            path: path.to_path_buf(),
            action: "measure loudness",
            message: e.to_string(),
        })?,
        None => super::loudness::Measurement {
            lufs: -120.0,
            true_peak_db: -120.0,
        },
    };
    let rms_db = if n == 0 {
        -120.0
    } else {
        gain_to_db((sum_sq / n as f64).sqrt())
    };
    let noise_floor_db = if min_win.is_finite() {
        gain_to_db(min_win)
    } else {
        rms_db
    };
    let duration = if rate_seen == 0 {
        0.0
    } else {
        n as f64 / rate_seen as f64
    };
    let problems = judge(preset, rms_db, m.true_peak_db, noise_floor_db, m.lufs);
    Ok(FileQc {
        path: path.to_path_buf(),
        duration,
        rms_db,
        peak_db: m.true_peak_db,
        noise_floor_db,
        lufs: m.lufs,
        pass: problems.is_empty(),
        problems,
    })
}

/// Why measurements fail `preset` (empty: they pass).
fn judge(preset: &Preset, rms_db: f64, peak_db: f64, noise_floor_db: f64, lufs: f64) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some((lo, hi)) = preset.rms_range {
        if rms_db < lo || rms_db > hi {
            problems.push(format!("RMS {rms_db:.1} dB is outside {lo}..{hi} dB"));
        }
    }
    if peak_db > preset.max_peak_db {
        problems.push(format!("peak {:.1} dBFS is above {} dBFS", peak_db, preset.max_peak_db));
    }
    if let Some(max) = preset.max_noise_db {
        if noise_floor_db > max {
            problems.push(format!("noise floor {noise_floor_db:.1} dB is above {max} dB"));
        }
    }
    if let Some(tol) = preset.lufs_tolerance {
        if (lufs - preset.target_lufs).abs() > tol {
            problems.push(format!(
                "loudness {:.1} LUFS is not within {tol} LU of {} LUFS",
                lufs, preset.target_lufs
            ));
        }
    }
    problems
}

#[cfg(feature = "ffmpeg")]
fn probe_rate(path: &Path) -> Result<u32, QcError> {
    let dec = AudioDecoder::open(path).map_err(|f| {
        // The probe words unreadable stream parameters as a decoder that cannot be opened.
        let f = match f {
            DecodeFailure::Parameters(e) => DecodeFailure::Decoder(e),
            f => f,
        };
        read_error(path, f)
    })?;
    Ok(dec.decoder().rate())
}

/// The [`QcError`] for a decoding failure, naming the step.
#[cfg(feature = "ffmpeg")]
fn read_error(path: &Path, failure: DecodeFailure) -> QcError {
    let (action, message) = match failure {
        DecodeFailure::Open(e) => ("open the file", e.to_string()),
        DecodeFailure::NoAudioStream => ("find an audio stream", "the file has none".to_string()),
        DecodeFailure::Parameters(e) => ("read the stream parameters", e.to_string()),
        DecodeFailure::Decoder(e) => ("open the decoder", e.to_string()),
        DecodeFailure::Decode(e) => ("decode", e.to_string()),
        DecodeFailure::Flush(e) => ("flush the decoder", e.to_string()),
    };
    QcError::Read {
        path: path.to_path_buf(),
        action,
        message,
    }
}

// ---------------------------------------------------------------- decoding (shared with speaker reference audio)

/// Why decoding a file failed, by step; callers word the message.
#[derive(Debug)]
#[cfg(feature = "ffmpeg")]
pub(crate) enum DecodeFailure {
    /// The file cannot be opened as a media file.
    Open(ffmpeg::Error),
    /// The file has no audio stream.
    NoAudioStream,
    /// The audio stream's parameters cannot be read.
    Parameters(ffmpeg::Error),
    /// The decoder cannot be opened.
    Decoder(ffmpeg::Error),
    /// A packet cannot be decoded.
    Decode(ffmpeg::Error),
    /// The decoder cannot be flushed at the end.
    Flush(ffmpeg::Error),
}

/// The best audio stream of a file, opened for decoding.
#[cfg(feature = "ffmpeg")]
pub(crate) struct AudioDecoder {
    input: format::context::Input,
    stream: usize,
    decoder: ffmpeg::decoder::Audio,
}

#[cfg(feature = "ffmpeg")]
impl AudioDecoder {
    /// Opens `path` and the decoder of its best audio stream.
    pub(crate) fn open(path: &Path) -> Result<AudioDecoder, DecodeFailure> {
        encode::init();
        let input = format::input(&path).map_err(DecodeFailure::Open)?;
        let (stream, params) = {
            let st = input
                .streams()
                .best(media::Type::Audio)
                .ok_or(DecodeFailure::NoAudioStream)?;
            (st.index(), st.parameters())
        };
        let decoder = codec::context::Context::from_parameters(params)
            .map_err(DecodeFailure::Parameters)?
            .decoder()
            .audio()
            .map_err(DecodeFailure::Decoder)?;
        Ok(AudioDecoder { input, stream, decoder })
    }

    /// The opened decoder (channels, rate as the stream declares them).
    pub(crate) fn decoder(&self) -> &ffmpeg::decoder::Audio {
        &self.decoder
    }

    /// Decodes the whole stream, then flushes the decoder, handing every frame to `on_frame`.
    pub(crate) fn for_each_frame(mut self, mut on_frame: impl FnMut(&frame::Audio)) -> Result<(), DecodeFailure> {
        let mut f = frame::Audio::empty();
        for (st, pkt) in self.input.packets() {
            if st.index() != self.stream {
                continue;
            }
            self.decoder.send_packet(&pkt).map_err(DecodeFailure::Decode)?;
            while self.decoder.receive_frame(&mut f).is_ok() {
                on_frame(&f);
            }
        }
        self.decoder.send_eof().map_err(DecodeFailure::Flush)?;
        while self.decoder.receive_frame(&mut f).is_ok() {
            on_frame(&f);
        }
        Ok(())
    }
}

/// Appends channel `ch` of a decoded frame, converted to f32 like torchaudio (`x / 2^(bits−1)`, `u8`
/// centred on 128); an unsupported sample format is an error.
#[cfg(feature = "ffmpeg")]
pub(crate) fn push_channel(f: &frame::Audio, ch: usize, out: &mut Vec<f32>) -> Result<(), String> {
    use format::sample::Type;
    let n = f.samples();
    let channels = usize::from(f.channels()).max(1);
    let (planar, width) = match f.format() {
        format::Sample::U8(t) => (t == Type::Planar, 1),
        format::Sample::I16(t) => (t == Type::Planar, 2),
        format::Sample::I32(t) | format::Sample::F32(t) => (t == Type::Planar, 4),
        format::Sample::I64(t) | format::Sample::F64(t) => (t == Type::Planar, 8),
        other => return Err(format!("unsupported decoded sample format {other:?}")),
    };
    let (plane, stride, offset) = if planar { (ch, 1, 0) } else { (0, channels, ch) };
    let d = f.data(plane);
    for i in 0..n {
        let o = (i * stride + offset) * width;
        let Some(b) = d.get(o..o + width) else { break };
        let v = match f.format() {
            format::Sample::U8(_) => (f32::from(b[0]) - 128.0) / 128.0,
            format::Sample::I16(_) => f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0,
            format::Sample::I32(_) => {
                (f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])) / 2_147_483_648.0) as f32
            }
            format::Sample::F32(_) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            format::Sample::I64(_) => {
                (i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f64 / 9.223_372_036_854_776e18)
                    as f32
            }
            format::Sample::F64(_) => f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32,
            _ => 0.0,
        };
        out.push(v);
    }
    Ok(())
}

/// Always an error in a build without FFmpeg (see [`encode::NO_FFMPEG`](super::encode::NO_FFMPEG)).
#[cfg(not(feature = "ffmpeg"))]
pub fn decode(path: &Path, _sink: &mut dyn FnMut(&[f32])) -> Result<u32, QcError> {
    Err(no_ffmpeg(path))
}

#[cfg(not(feature = "ffmpeg"))]
fn probe_rate(path: &Path) -> Result<u32, QcError> {
    Err(no_ffmpeg(path))
}

#[cfg(not(feature = "ffmpeg"))]
fn no_ffmpeg(path: &Path) -> QcError {
    QcError::Read {
        path: path.to_path_buf(),
        action: "decode",
        message: super::encode::NO_FFMPEG.to_string(),
    }
}
