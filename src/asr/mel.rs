//! Whisper's log-mel front end, as faster-whisper's `FeatureExtractor` computes it (the reference for parity):
//! 160 zeros appended, a centred STFT (`n_fft = 400`, reflect padding of 200 each side, periodic Hann
//! window, hop 160), power of the one-sided spectrum with the last frame dropped, Slaney-normalised mel
//! filters (librosa's `mel(sr=16000, n_fft=400, n_mels)`), `log10(max(x, 1e-10))`, floored at the clip's
//! maximum − 8, then `(x + 4) / 4`.
//!
//! Written here rather than using `candle_transformers::models::whisper::audio::pcm_to_mel`: that is
//! whisper.cpp's variant (no centring, the spectrum folded onto itself, the clip padded to 30 s before the
//! maximum is taken), which gives different features from the reference front end and so different
//! transcripts. The FFT is `realfft`'s.

use std::sync::Arc;

use rayon::prelude::*;
use realfft::{RealFftPlanner, RealToComplex};

/// Sample rate Whisper expects.
pub const SAMPLE_RATE: u32 = 16_000;
/// FFT size and window length.
pub const N_FFT: usize = 400;
/// Hop length.
pub const HOP: usize = 160;
/// Frames in one 30-second window (the encoder's input width).
pub const WINDOW_FRAMES: usize = 3000;
const N_BINS: usize = N_FFT / 2 + 1;
/// Frames per parallel task of the STFT.
const FRAME_BLOCK: usize = 128;

/// The log-mel front end for one mel count (80, or 128 for large-v3).
pub struct LogMel {
    n_mels: usize,
    window: Vec<f32>,
    /// `[n_mels][N_BINS]`
    filters: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
}

impl std::fmt::Debug for LogMel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogMel").field("n_mels", &self.n_mels).finish()
    }
}

/// Slaney mel scale: linear below 1 kHz, logarithmic above (librosa `htk=False`).
fn hz_to_mel(hz: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= min_log_hz {
        min_log_mel + (hz / min_log_hz).ln() / logstep
    } else {
        hz / f_sp
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        min_log_hz * (logstep * (mel - min_log_mel)).exp()
    } else {
        f_sp * mel
    }
}

/// librosa's `filters.mel(sr=16000, n_fft=400, n_mels, norm="slaney")`, row-major `[n_mels][201]`.
pub fn mel_filters(n_mels: usize) -> Vec<f32> {
    let sr = f64::from(SAMPLE_RATE);
    let fft_freqs: Vec<f64> = (0..N_BINS).map(|i| i as f64 * sr / N_FFT as f64).collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(sr / 2.0));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut w = vec![0f32; n_mels * N_BINS];
    for m in 0..n_mels {
        let (f0, f1, f2) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
        let enorm = 2.0 / (f2 - f0);
        for (b, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - f0) / (f1 - f0);
            let upper = (f2 - f) / (f2 - f1);
            w[m * N_BINS + b] = (lower.min(upper).max(0.0) * enorm) as f32;
        }
    }
    w
}

impl LogMel {
    /// The front end for `n_mels` bands.
    pub fn new(n_mels: usize) -> Self {
        let window = (0..N_FFT)
            .map(|n| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos()) as f32)
            .collect();
        Self {
            n_mels,
            window,
            filters: mel_filters(n_mels),
            fft: RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT),
        }
    }

    /// Mel bands.
    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// Features of 16 kHz mono audio: `n_mels × frames` row-major, `frames = (len + 160) / 160`.
    pub fn compute(&self, pcm: &[f32]) -> (Vec<f32>, usize) {
        let mut x = pcm.to_vec();
        x.extend(std::iter::repeat_n(0.0, HOP));
        let padded = reflect_pad(&x, N_FFT / 2);
        // torch/numpy stft frame count, minus the last frame (faster-whisper drops it)
        let frames = (padded.len() - N_FFT) / HOP;
        // frames are independent: blocks of them in parallel, each with its own FFT buffers (same arithmetic
        // per frame as a sequential loop, so the same features)
        let blocks: Vec<Vec<f32>> = (0..frames.div_ceil(FRAME_BLOCK))
            .into_par_iter()
            .map(|b| self.log_power_block(&padded, b * FRAME_BLOCK, ((b + 1) * FRAME_BLOCK).min(frames)))
            .collect();
        let mut mel = vec![0f32; self.n_mels * frames];
        for (b, block) in blocks.iter().enumerate() {
            for (i, row) in block.chunks_exact(self.n_mels).enumerate() {
                let t = b * FRAME_BLOCK + i;
                for (m, &v) in row.iter().enumerate() {
                    mel[m * frames + t] = v;
                }
            }
        }
        let max = mel.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for v in &mut mel {
            *v = (v.max(max - 8.0) + 4.0) / 4.0;
        }
        (mel, frames)
    }
}

impl LogMel {
    /// `log10(max(mel power, 1e-10))` of frames `from..to` of the padded signal, frame-major `[frame][n_mels]`.
    fn log_power_block(&self, padded: &[f32], from: usize, to: usize) -> Vec<f32> {
        let mut power = vec![0f32; N_BINS];
        let mut input = self.fft.make_input_vec();
        let mut spec = self.fft.make_output_vec();
        let mut out = Vec::with_capacity((to - from) * self.n_mels);
        for t in from..to {
            let seg = &padded[t * HOP..t * HOP + N_FFT];
            for ((i, &s), &w) in input.iter_mut().zip(seg).zip(&self.window) {
                *i = s * w;
            }
            // the only error realfft reports is for wrong buffer lengths, which are made by the plan itself
            if self.fft.process(&mut input, &mut spec).is_err() {
                unreachable!("realfft buffers come from the plan");
            }
            for (p, c) in power.iter_mut().zip(&spec) {
                *p = c.re * c.re + c.im * c.im;
            }
            for m in 0..self.n_mels {
                let row = &self.filters[m * N_BINS..(m + 1) * N_BINS];
                let s: f32 = row.iter().zip(&power).map(|(a, b)| a * b).sum();
                out.push(s.max(1e-10).log10());
            }
        }
        out
    }
}

/// numpy `pad(x, n, mode="reflect")` (the edge sample is not repeated); short inputs reflect repeatedly.
fn reflect_pad(x: &[f32], n: usize) -> Vec<f32> {
    let len = x.len();
    let mut out = Vec::with_capacity(len + 2 * n);
    let at = |i: isize| -> f32 {
        if len == 1 {
            return x[0];
        }
        let period = 2 * (len as isize - 1);
        let mut j = i.rem_euclid(period);
        if j >= len as isize {
            j = period - j;
        }
        x[j as usize]
    };
    for i in -(n as isize)..(len + n) as isize {
        out.push(at(i));
    }
    out
}

/// One encoder window of `n_mels × WINDOW_FRAMES` starting at frame `start` of the first `content` frames,
/// zero-padded on the right like faster-whisper's `pad_or_trim` of the feature slice.
pub fn window(mel: &[f32], n_mels: usize, frames: usize, start: usize, content: usize) -> Vec<f32> {
    let mut out = vec![0f32; n_mels * WINDOW_FRAMES];
    let take = content.min(frames).saturating_sub(start).min(WINDOW_FRAMES);
    for m in 0..n_mels {
        let src = &mel[m * frames + start..m * frames + start + take];
        out[m * WINDOW_FRAMES..m * WINDOW_FRAMES + take].copy_from_slice(src);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_matches_numpy() {
        assert_eq!(
            reflect_pad(&[1.0, 2.0, 3.0], 2),
            vec![3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]
        );
        // numpy reflects repeatedly when the pad is longer than the input
        assert_eq!(
            reflect_pad(&[1.0, 2.0], 3),
            vec![2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0]
        );
    }

    #[test]
    fn filters_are_slaney_triangles() {
        let f = mel_filters(80);
        // every band has weight, no weight is negative, the first band starts at bin 0 with zero weight
        for m in 0..80 {
            let row = &f[m * N_BINS..(m + 1) * N_BINS];
            assert!(row.iter().all(|&w| w >= 0.0));
            assert!(row.iter().any(|&w| w > 0.0), "band {m} is empty");
        }
        assert_eq!(f[0], 0.0);
        // librosa's formula by hand for band 0, bin 1 (40 Hz): min(40/37.24, 34.48/37.24) · 2/74.48 = 0.0248626;
        // tests/asr_parity.rs checks the whole front end against faster-whisper's output
        assert!((f[1] - 0.024_862_59).abs() < 1e-6, "{}", f[1]);
    }

    #[test]
    fn frames_and_range() {
        let lm = LogMel::new(80);
        let pcm: Vec<f32> = (0..16000).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
        let (mel, frames) = lm.compute(&pcm);
        assert_eq!(frames, 101);
        assert_eq!(mel.len(), 80 * 101);
        let max = mel.iter().copied().fold(f32::MIN, f32::max);
        let min = mel.iter().copied().fold(f32::MAX, f32::min);
        assert!(max - min <= 2.0 + 1e-6);
        let w = window(&mel, 80, frames, 0, frames);
        assert_eq!(w.len(), 80 * WINDOW_FRAMES);
        assert_eq!(w[WINDOW_FRAMES - 1], 0.0);
        assert_eq!(w[0], mel[0]);
    }
}
