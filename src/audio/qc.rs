//! Quality control: decode an encoded file with ffmpeg-next and measure what listeners (and ACX) check:
//! RMS, peak (true peak), noise floor (RMS of the quietest half second), integrated loudness, duration.

use std::path::{Path, PathBuf};

use ffmpeg::{codec, format, frame, media};
use ffmpeg_next as ffmpeg;
use serde::Serialize;

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
#[derive(Debug, Clone, Serialize)]
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

/// Decodes `path` to mono f32, handing blocks to `sink`; returns the sample rate.
pub fn decode(path: &Path, sink: &mut dyn FnMut(&[f32])) -> Result<u32, QcError> {
    encode::init();
    let err = |action: &'static str| {
        let path = path.to_path_buf();
        move |e: ffmpeg::Error| QcError::Read {
            path,
            action,
            message: e.to_string(),
        }
    };
    let mut ictx = format::input(&path).map_err(err("open the file"))?;
    let (idx, params) = {
        let st = ictx.streams().best(media::Type::Audio).ok_or_else(|| QcError::Read {
            path: path.to_path_buf(),
            action: "find an audio stream",
            message: "the file has none".into(),
        })?;
        (st.index(), st.parameters())
    };
    let mut dec = codec::context::Context::from_parameters(params)
        .map_err(err("read the stream parameters"))?
        .decoder()
        .audio()
        .map_err(err("open the decoder"))?;
    let mut rate = 0u32;
    let mut f = frame::Audio::empty();
    let mut out = Vec::new();
    let mut handle = |f: &frame::Audio, rate: &mut u32| {
        *rate = f.rate();
        let n = f.samples();
        let ch = (f.channels() as usize).max(1);
        out.clear();
        match f.format() {
            format::Sample::F32(t) => {
                let d = f.data(0);
                let stride = if t == format::sample::Type::Planar { 1 } else { ch };
                for i in 0..n {
                    let o = i * stride * 4;
                    if o + 4 <= d.len() {
                        out.push(f32::from_le_bytes([d[o], d[o + 1], d[o + 2], d[o + 3]]));
                    }
                }
            }
            format::Sample::I16(t) => {
                let d = f.data(0);
                let stride = if t == format::sample::Type::Planar { 1 } else { ch };
                for i in 0..n {
                    let o = i * stride * 2;
                    if o + 2 <= d.len() {
                        out.push(i16::from_le_bytes([d[o], d[o + 1]]) as f32 / 32768.0);
                    }
                }
            }
            format::Sample::I32(t) => {
                let d = f.data(0);
                let stride = if t == format::sample::Type::Planar { 1 } else { ch };
                for i in 0..n {
                    let o = i * stride * 4;
                    if o + 4 <= d.len() {
                        out.push(i32::from_le_bytes([d[o], d[o + 1], d[o + 2], d[o + 3]]) as f32 / 2147483648.0);
                    }
                }
            }
            _ => {}
        }
        sink(&out);
    };
    for (st, pkt) in ictx.packets() {
        if st.index() != idx {
            continue;
        }
        dec.send_packet(&pkt).map_err(err("decode"))?;
        while dec.receive_frame(&mut f).is_ok() {
            handle(&f, &mut rate);
        }
    }
    dec.send_eof().map_err(err("flush the decoder"))?;
    while dec.receive_frame(&mut f).is_ok() {
        handle(&f, &mut rate);
    }
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
            match Meter::new(probe_rate) {
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
    let mut problems = Vec::new();
    if let Some((lo, hi)) = preset.rms_range {
        if rms_db < lo || rms_db > hi {
            problems.push(format!("RMS {rms_db:.1} dB is outside {lo}..{hi} dB"));
        }
    }
    if m.true_peak_db > preset.max_peak_db {
        problems.push(format!(
            "peak {:.1} dBFS is above {} dBFS",
            m.true_peak_db, preset.max_peak_db
        ));
    }
    if let Some(max) = preset.max_noise_db {
        if noise_floor_db > max {
            problems.push(format!("noise floor {noise_floor_db:.1} dB is above {max} dB"));
        }
    }
    if let Some(tol) = preset.lufs_tolerance {
        if (m.lufs - preset.target_lufs).abs() > tol {
            problems.push(format!(
                "loudness {:.1} LUFS is not within {tol} LU of {} LUFS",
                m.lufs, preset.target_lufs
            ));
        }
    }
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

fn probe_rate(path: &Path) -> Result<u32, QcError> {
    encode::init();
    let ictx = format::input(&path).map_err(|e| QcError::Read {
        path: path.to_path_buf(),
        action: "open the file",
        message: e.to_string(),
    })?;
    let st = ictx.streams().best(media::Type::Audio).ok_or_else(|| QcError::Read {
        path: path.to_path_buf(),
        action: "find an audio stream",
        message: "the file has none".into(),
    })?;
    let dec = codec::context::Context::from_parameters(st.parameters())
        .and_then(|c| c.decoder().audio())
        .map_err(|e| QcError::Read {
            path: path.to_path_buf(),
            action: "open the decoder",
            message: e.to_string(),
        })?;
    Ok(dec.rate())
}
