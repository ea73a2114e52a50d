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
