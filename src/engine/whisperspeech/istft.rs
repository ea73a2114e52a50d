//! The Vocos ISTFT head's inverse transform (spec §6): frames of log-magnitudes and phases → waveform, with
//! "same" padding and window-envelope normalisation.
//!
//! Invariants: `irfft` with 1/N (folded into the stored window), the imaginary parts of the DC and Nyquist bins
//! ignored, magnitudes clipped at 100 after `exp`; overlap-add of the windowed frames, division by the summed
//! squared window where it exceeds 1e-11 (else 0), and `(n_fft − hop)/2` samples trimmed at both ends, so a row of
//! `L` frames gives exactly `hop·L` samples. Frames are transformed in parallel (rayon) but each output sample is
//! summed in frame order, so the result does not depend on the thread count or on the other rows of the batch.

use std::fmt;
use std::sync::Arc;

use rayon::prelude::*;
use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner};

/// Frames per rayon task.
const FRAMES_PER_TASK: usize = 16;

/// A planned inverse STFT of one size, shared by every call.
#[derive(Clone)]
pub struct Istft {
    n_fft: usize,
    hop: usize,
    window: Vec<f32>,
    /// `window / n_fft` (the irfft's 1/N folded in)
    window_scaled: Vec<f32>,
    plan: Arc<dyn ComplexToReal<f32>>,
}

impl fmt::Debug for Istft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Istft")
            .field("n_fft", &self.n_fft)
            .field("hop", &self.hop)
            .finish_non_exhaustive()
    }
}

impl Istft {
    /// Plans the transform for `window.len()` = `n_fft` (even) and `hop` (`n_fft − hop` even, checked by the
    /// config).
    pub fn new(window: Vec<f32>, hop: usize) -> Self {
        let n_fft = window.len();
        let plan = RealFftPlanner::<f32>::new().plan_fft_inverse(n_fft);
        let inv_n = 1.0 / n_fft as f32;
        let window_scaled = window.iter().map(|w| w * inv_n).collect();
        Self {
            n_fft,
            hop,
            window,
            window_scaled,
            plan,
        }
    }

    /// Width of one input frame: `n_fft/2 + 1` log-magnitudes then as many phases.
    pub fn frame_width(&self) -> usize {
        self.n_fft + 2
    }

    /// Turns `frames` (`rows·l` frames of [`Self::frame_width`] values, row-major; `bias`, when given, is added to
    /// every frame first) into `rows` waveforms of `hop·l` samples. `frames` is used as scratch.
    pub fn run(&self, frames: &mut [f32], bias: Option<&[f32]>, l: usize) -> Vec<Vec<f32>> {
        let (n, hop, width) = (self.n_fft, self.hop, self.frame_width());
        let bins = n / 2 + 1;
        if l == 0 || frames.is_empty() {
            return Vec::new();
        }
        assert_eq!(frames.len() % (width * l), 0, "ISTFT input is not whole rows of frames");
        if let Some(b) = bias {
            assert_eq!(b.len(), width, "ISTFT bias width");
        }
        let plan = &self.plan;
        // 1. every frame: spectrum → windowed time signal, written over the frame's first n values
        frames.par_chunks_mut(width * FRAMES_PER_TASK).for_each_init(
            || (plan.make_input_vec(), plan.make_scratch_vec()),
            |(spec, scratch), chunk| {
                for fr in chunk.chunks_exact_mut(width) {
                    if let Some(b) = bias {
                        fr.iter_mut().zip(b).for_each(|(v, b)| *v += b);
                    }
                    let (mags, phases) = fr.split_at(bins);
                    for ((s, m), p) in spec.iter_mut().zip(mags).zip(phases) {
                        let mag = m.exp().min(100.0);
                        let (sin, cos) = p.sin_cos();
                        *s = Complex::new(mag * cos, mag * sin);
                    }
                    // irfft ignores the imaginary parts of the DC and Nyquist bins
                    spec[0].im = 0.0;
                    spec[bins - 1].im = 0.0;
                    // the only error realfft reports is non-zero DC/Nyquist imaginary parts, cleared above
                    let _ = plan.process_with_scratch(spec, &mut fr[..n], scratch);
                    fr[..n].iter_mut().zip(&self.window_scaled).for_each(|(v, w)| *v *= w);
                }
            },
        );
        // 2. the window envelope, the same for every row
        let total = (l - 1) * hop + n;
        let mut env = vec![0f32; total];
        for f in 0..l {
            env[f * hop..f * hop + n]
                .iter_mut()
                .zip(&self.window)
                .for_each(|(e, w)| *e += w * w);
        }
        let pad = (n - hop) / 2;
        // 3. overlap-add per row, in frame order
        frames
            .par_chunks(width * l)
            .map(|row| {
                let mut y = vec![0f32; total];
                for (f, fr) in row.chunks_exact(width).enumerate() {
                    y[f * hop..f * hop + n]
                        .iter_mut()
                        .zip(&fr[..n])
                        .for_each(|(y, v)| *y += v);
                }
                (pad..total - pad)
                    .map(|i| if env[i] > 1e-11 { y[i] / env[i] } else { 0.0 })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Periodic Hann window (what `torch.hann_window` stores in Vocos).
    fn hann(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()) as f32)
            .collect()
    }

    /// "Same"-padded STFT frames of `x` (log-magnitude, phase), the inverse of [`Istft::run`].
    fn stft(x: &[f32], n: usize, hop: usize, window: &[f32]) -> Vec<f32> {
        let fwd = RealFftPlanner::<f32>::new().plan_fft_forward(n);
        let pad = (n - hop) / 2;
        let l = x.len() / hop;
        let mut padded = vec![0f32; pad];
        padded.extend_from_slice(x);
        padded.resize((l - 1) * hop + n, 0.0);
        let mut out = Vec::new();
        for f in 0..l {
            let mut buf: Vec<f32> = (0..n).map(|i| padded[f * hop + i] * window[i]).collect();
            let mut spec = fwd.make_output_vec();
            fwd.process(&mut buf, &mut spec).unwrap();
            out.extend(spec.iter().map(|c| c.norm().max(1e-30).ln()));
            out.extend(spec.iter().map(|c| c.arg()));
        }
        out
    }

    #[test]
    fn inverts_a_same_padded_stft_per_row_in_frame_order() {
        let (n, hop, l) = (64, 16, 40);
        let ist = Istft::new(hann(n), hop);
        assert_eq!(ist.frame_width(), n + 2);
        let rows: Vec<Vec<f32>> = (0..3)
            .map(|r| {
                (0..hop * l)
                    .map(|i| ((i * (r + 3)) as f32 * 0.05).sin() * 0.5 + ((i * 7 + r) % 11) as f32 * 0.01)
                    .collect()
            })
            .collect();
        let mut frames: Vec<f32> = rows.iter().flat_map(|x| stft(x, n, hop, &ist.window)).collect();
        // a bias of zero changes nothing; the frames buffer is scratch
        let out = ist.run(&mut frames.clone(), Some(&vec![0.0; n + 2]), l);
        assert_eq!(out.len(), 3);
        for (r, (got, want)) in out.iter().zip(&rows).enumerate() {
            assert_eq!(got.len(), hop * l);
            // the envelope is complete away from the ends (the first and last (n − hop)/2 … n samples)
            for i in n..hop * l - n {
                assert!(
                    (got[i] - want[i]).abs() < 1e-4,
                    "row {r} sample {i}: {} vs {}",
                    got[i],
                    want[i]
                );
            }
        }
        // rows are independent: the last row alone gives the same samples
        let last = frames.split_off(2 * (n + 2) * l);
        let alone = ist.run(&mut last.clone(), None, l);
        assert_eq!(alone[0], out[2]);
        // a bias shifts every log-magnitude: +ln 2 doubles the waveform
        let mut doubled = last.clone();
        let mut bias = vec![0.0; n + 2];
        bias[..n / 2 + 1].fill(2f32.ln());
        let twice = ist.run(&mut doubled, Some(&bias), l);
        for i in n..hop * l - n {
            assert!((twice[0][i] - 2.0 * out[2][i]).abs() < 1e-4);
        }
    }
}
