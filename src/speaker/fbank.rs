//! speechbrain 0.5 `Fbank(n_mels=80)` at 16 kHz and the sentence mean normalisation of `encode_batch`.
//!
//! STFT: `n_fft = 400`, periodic Hamming window of 400, hop 160, centred with zero padding (200 each side),
//! one-sided (201 bins), power `re² + im²`. Filterbank: 80 symmetric triangles on the mel scale
//! (`2595·log10(1 + f/700)`) between 0 and 8000 Hz, evaluated at `linspace(0, 8000, 201)`. Then
//! `10·log10(max(x, 1e-10))` floored at (utterance max − 80 dB). Computed in f64.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

/// FFT size and window length.
pub const N_FFT: usize = 400;
/// Hop length.
pub const HOP: usize = 160;
/// Mel bands.
pub const N_MELS: usize = 80;
/// One-sided bins.
pub const N_BINS: usize = N_FFT / 2 + 1;

/// Computes log-mel filterbank features of 16 kHz audio (`frames × 80`, row-major).
pub struct Fbank {
    window: Vec<f64>,
    /// `[N_MELS][N_BINS]`
    filters: Vec<f64>,
    fft: Arc<dyn RealToComplex<f64>>,
}

impl Default for Fbank {
    fn default() -> Self {
        Self::new()
    }
}

fn to_mel(hz: f64) -> f64 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

fn to_hz(mel: f64) -> f64 {
    700.0 * (10f64.powf(mel / 2595.0) - 1.0)
}

impl Fbank {
    /// The speechbrain defaults at 16 kHz.
    pub fn new() -> Self {
        let window = (0..N_FFT)
            .map(|n| 0.54 - 0.46 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos())
            .collect();
        let (lo, hi) = (to_mel(0.0), to_mel(8000.0));
        let pts: Vec<f64> = (0..N_MELS + 2)
            .map(|i| to_hz(lo + (hi - lo) * i as f64 / (N_MELS + 1) as f64))
            .collect();
        let mut filters = vec![0f64; N_MELS * N_BINS];
        for m in 0..N_MELS {
            let centre = pts[m + 1];
            let band = pts[m + 1] - pts[m];
            for b in 0..N_BINS {
                let f = 8000.0 * b as f64 / (N_BINS - 1) as f64;
                let slope = (f - centre) / band;
                filters[m * N_BINS + b] = (slope + 1.0).min(1.0 - slope).max(0.0);
            }
        }
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(N_FFT);
        Self { window, filters, fft }
    }

    /// Number of frames for `n` samples: `1 + n / 160`.
    pub fn frames(n: usize) -> usize {
        1 + n / HOP
    }

    /// Log-mel features in dB (before mean normalisation), `frames × 80` row-major.
    pub fn compute(&self, wav: &[f32]) -> Vec<f32> {
        let frames = Self::frames(wav.len());
        let pad = N_FFT / 2;
        let mut input = self.fft.make_input_vec();
        let mut spec = self.fft.make_output_vec();
        let mut out = vec![0f64; frames * N_MELS];
        let mut power = vec![0f64; N_BINS];
        for t in 0..frames {
            let start = (t * HOP) as isize - pad as isize;
            for (n, v) in input.iter_mut().enumerate() {
                let i = start + n as isize;
                let s = if i >= 0 && (i as usize) < wav.len() {
                    f64::from(wav[i as usize])
                } else {
                    0.0
                };
                *v = s * self.window[n];
            }
            // a fixed-size plan with matching buffers cannot fail
            if self.fft.process(&mut input, &mut spec).is_err() {
                continue;
            }
            for (p, c) in power.iter_mut().zip(&spec) {
                *p = c.re * c.re + c.im * c.im;
            }
            for m in 0..N_MELS {
                let row = &self.filters[m * N_BINS..(m + 1) * N_BINS];
                let e: f64 = row.iter().zip(&power).map(|(w, p)| w * p).sum();
                out[t * N_MELS + m] = 10.0 * e.max(1e-10).log10();
            }
        }
        let max = out.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let floor = max - 80.0;
        out.iter().map(|&v| v.max(floor) as f32).collect()
    }
}

/// Sentence mean normalisation: subtracts each band's mean over time (no variance normalisation).
pub fn mean_normalize(feats: &mut [f32], n_mels: usize) {
    let frames = feats.len() / n_mels.max(1);
    if frames == 0 {
        return;
    }
    for m in 0..n_mels {
        let mean = (0..frames).map(|t| f64::from(feats[t * n_mels + m])).sum::<f64>() / frames as f64;
        for t in 0..frames {
            feats[t * n_mels + m] = (f64::from(feats[t * n_mels + m]) - mean) as f32;
        }
    }
}
