//! Loudness: EBU R128 measurement (the `ebur128` crate), the mastering presets, and a look-ahead
//! peak limiter. Mastering is two passes over a chapter stream: [`Meter`] measures, then
//! [`Master`] applies the gain that reaches the preset's target and limits peaks to its ceiling.

use std::collections::VecDeque;

use ebur128::{EbuR128, Mode};
use serde::Serialize;

/// Errors from loudness measurement.
#[derive(Debug, thiserror::Error)]
#[error("loudness measurement failed: {0}")]
pub struct LoudnessError(pub String);

/// A mastering preset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Preset {
    /// Name (`audiobook`, `podcast`).
    pub name: &'static str,
    /// Integrated loudness target, LUFS.
    pub target_lufs: f64,
    /// Limiter ceiling (sample peak after gain), dBFS; below the preset's true-peak limit to leave
    /// room for resampling and codec overshoot.
    pub ceiling_db: f64,
    /// QC: RMS range (dBFS) the files must fall in, when the preset has one (ACX).
    pub rms_range: Option<(f64, f64)>,
    /// QC: highest peak allowed, dBFS (true peak).
    pub max_peak_db: f64,
    /// QC: highest noise floor allowed, dBFS RMS of the quietest half second.
    pub max_noise_db: Option<f64>,
    /// QC: allowed distance from the LUFS target, when the preset judges LUFS.
    pub lufs_tolerance: Option<f64>,
    /// Integrated loudness target for mono files, when it differs from `target_lufs` (podcasts: 3 LU lower,
    /// so that mono played on both channels of a stereo device is as loud as a stereo file at the target).
    pub mono_target_lufs: Option<f64>,
}

/// ACX audiobook: RMS −23..−18 dB, peaks ≤ −3 dBFS, noise floor ≤ −60 dB.
pub const AUDIOBOOK: Preset = Preset {
    name: "audiobook",
    target_lufs: -19.0,
    ceiling_db: -4.0,
    rms_range: Some((-23.0, -18.0)),
    max_peak_db: -3.0,
    max_noise_db: Some(-60.0),
    lufs_tolerance: None,
    mono_target_lufs: None,
};

/// Podcast, stereo: −16 LUFS integrated, −1 dBTP. Mono files aim at −19 LUFS ([`Preset::for_channels`]).
pub const PODCAST: Preset = Preset {
    name: "podcast",
    target_lufs: -16.0,
    ceiling_db: -2.0,
    rms_range: None,
    max_peak_db: -1.0,
    max_noise_db: None,
    lufs_tolerance: Some(1.0),
    mono_target_lufs: Some(-19.0),
};

impl Preset {
    /// The preset for files of `channels` channels: the mono target where the preset has one (podcast: −19
    /// LUFS mono, −16 stereo; true peak ≤ −1 dBTP either way); the audiobook preset (ACX, judged by RMS) is
    /// the same for both.
    pub fn for_channels(self, channels: u16) -> Preset {
        match (channels, self.mono_target_lufs) {
            (1, Some(t)) => Preset { target_lufs: t, ..self },
            _ => self,
        }
    }
}

/// The preset of this name.
pub fn preset(name: &str) -> Option<Preset> {
    match name {
        "audiobook" => Some(AUDIOBOOK),
        "podcast" => Some(PODCAST),
        _ => None,
    }
}

/// Linear gain of `db` decibels.
pub fn db_to_gain(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// Decibels of a linear amplitude (floored at −120).
pub fn gain_to_db(g: f64) -> f64 {
    if g <= 1e-6 {
        -120.0
    } else {
        20.0 * g.log10()
    }
}

/// Integrated loudness and peak of a mono stream (pass one of mastering, and QC).
pub struct Meter {
    ebu: EbuR128,
    true_peak: bool,
}

/// What [`Meter`] found.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Measurement {
    /// Integrated loudness, LUFS (−120 for silence).
    pub lufs: f64,
    /// Peak, dBFS: the true peak (4× oversampled) for [`Meter::with_true_peak`], else the sample peak.
    pub true_peak_db: f64,
}

impl Meter {
    /// A meter of loudness and sample peak for mono audio at `rate` (fast; used while mastering, where
    /// the limiter takes care of peaks).
    pub fn new(rate: u32) -> Result<Meter, LoudnessError> {
        let ebu = EbuR128::new(1, rate, Mode::I | Mode::SAMPLE_PEAK).map_err(|e| LoudnessError(e.to_string()))?;
        Ok(Meter { ebu, true_peak: false })
    }

    /// A meter of loudness and true peak (used by QC on the encoded files).
    pub fn with_true_peak(rate: u32) -> Result<Meter, LoudnessError> {
        let ebu = EbuR128::new(1, rate, Mode::I | Mode::TRUE_PEAK | Mode::SAMPLE_PEAK)
            .map_err(|e| LoudnessError(e.to_string()))?;
        Ok(Meter { ebu, true_peak: true })
    }

    /// Adds samples.
    pub fn add(&mut self, samples: &[f32]) -> Result<(), LoudnessError> {
        self.ebu
            .add_frames_f32(samples)
            .map_err(|e| LoudnessError(e.to_string()))
    }

    /// The measurement so far.
    pub fn finish(&self) -> Result<Measurement, LoudnessError> {
        let l = self.ebu.loudness_global().map_err(|e| LoudnessError(e.to_string()))?;
        let peak = if self.true_peak {
            self.ebu.true_peak(0)
        } else {
            self.ebu.sample_peak(0)
        }
        .map_err(|e| LoudnessError(e.to_string()))?;
        Ok(Measurement {
            lufs: if l.is_finite() { l.max(-120.0) } else { -120.0 },
            true_peak_db: gain_to_db(peak),
        })
    }
}

/// The gain (dB) that brings `m` to the preset's target (0 for silence).
pub fn gain_for(m: &Measurement, p: &Preset) -> f64 {
    if m.lufs <= -70.0 {
        0.0
    } else {
        (p.target_lufs - m.lufs).clamp(-40.0, 40.0)
    }
}

/// Pass two: gain plus a look-ahead peak limiter (the output is delayed internally and flushed by
/// [`Master::finish`], so the output length equals the input length).
pub struct Master {
    gain: f32,
    ceiling: f32,
    look: usize,
    release: f32,
    delay: VecDeque<f32>,
    // monotonic deque of (position, required gain) for the window minimum
    mins: VecDeque<(u64, f32)>,
    pos: u64,
    env: f32,
    out: Vec<f32>,
}

impl Master {
    /// Gain `gain_db`, ceiling `ceiling_db`, for audio at `rate`.
    pub fn new(gain_db: f64, ceiling_db: f64, rate: u32) -> Master {
        let look = (rate as usize / 200).max(1); // 5 ms
        let release_s = 0.08;
        Master {
            gain: db_to_gain(gain_db) as f32,
            ceiling: db_to_gain(ceiling_db) as f32,
            look,
            release: 1.0 - (-1.0 / (release_s * rate as f32)).exp(),
            delay: VecDeque::with_capacity(look + 1),
            mins: VecDeque::new(),
            pos: 0,
            env: 1.0,
            out: Vec::new(),
        }
    }

    fn step(&mut self, x: Option<f32>) -> Option<f32> {
        if let Some(x) = x {
            let y = x * self.gain;
            let need = if y.abs() > self.ceiling {
                self.ceiling / y.abs()
            } else {
                1.0
            };
            while self.mins.back().is_some_and(|&(_, g)| g >= need) {
                self.mins.pop_back();
            }
            self.mins.push_back((self.pos, need));
            self.delay.push_back(y);
            self.pos += 1;
            if self.delay.len() <= self.look {
                return None;
            }
        }
        let y = self.delay.pop_front()?;
        // position of the sample leaving the delay line
        let leaving = self.pos - self.delay.len() as u64 - 1;
        while self.mins.front().is_some_and(|&(p, _)| p < leaving) {
            self.mins.pop_front();
        }
        let target = self.mins.front().map(|&(_, g)| g).unwrap_or(1.0);
        if target < self.env {
            self.env = target;
        } else {
            self.env += (target - self.env) * self.release;
        }
        let mut v = y * self.env;
        if v.abs() > self.ceiling {
            v = v.signum() * self.ceiling;
        }
        Some(v)
    }

    /// Processes samples; the (delayed) output is handed to `sink`.
    pub fn push(&mut self, samples: &[f32], sink: &mut dyn FnMut(&[f32])) {
        self.out.clear();
        for &s in samples {
            if let Some(v) = self.step(Some(s)) {
                self.out.push(v);
            }
        }
        if !self.out.is_empty() {
            let out = std::mem::take(&mut self.out);
            sink(&out);
            self.out = out;
        }
    }

    /// Flushes the look-ahead delay.
    pub fn finish(&mut self, sink: &mut dyn FnMut(&[f32])) {
        self.out.clear();
        while let Some(v) = self.step(None) {
            self.out.push(v);
        }
        if !self.out.is_empty() {
            let out = std::mem::take(&mut self.out);
            sink(&out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podcast_targets_follow_the_channel_count() {
        assert_eq!(PODCAST.for_channels(1).target_lufs, -19.0);
        assert_eq!(PODCAST.for_channels(2).target_lufs, -16.0);
        assert_eq!(PODCAST.for_channels(1).max_peak_db, -1.0);
        assert_eq!(AUDIOBOOK.for_channels(1), AUDIOBOOK);
        assert_eq!(AUDIOBOOK.for_channels(2), AUDIOBOOK);
    }
}
