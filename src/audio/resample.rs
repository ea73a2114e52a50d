//! Sample-rate conversion with rubato's FFT resampler: whole clips, and a streaming converter whose
//! memory does not depend on the stream's length.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

/// Errors from resampling.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    /// The resampler could not be built for these rates.
    #[error("cannot resample {from} Hz to {to} Hz: {message}")]
    Setup {
        /// Input rate.
        from: u32,
        /// Output rate.
        to: u32,
        /// rubato's message.
        message: String,
    },
    /// Processing failed.
    #[error("resampling failed: {0}")]
    Process(String),
}

/// Input block of the streaming resampler.
const BLOCK: usize = 1024;

/// Resamples a whole clip (delay trimmed; output length ⌈len × to / from⌉).
pub fn resample_clip(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, ResampleError> {
    if from == to || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let mut r =
        Fft::<f32>::new(from as usize, to as usize, BLOCK, 1, FixedSync::Input).map_err(|e| ResampleError::Setup {
            from,
            to,
            message: e.to_string(),
        })?;
    let input = InterleavedSlice::new(samples, 1, samples.len()).map_err(|e| ResampleError::Process(e.to_string()))?;
    let out = r
        .process_all(&input, samples.len(), None)
        .map_err(|e| ResampleError::Process(e.to_string()))?;
    Ok(out.take_data())
}

/// A streaming mono resampler: push any number of samples, then [`finish`](StreamResampler::finish).
pub struct StreamResampler {
    inner: Option<Fft<f32>>,
    pending: Vec<f32>,
    out_buf: Vec<f32>,
    to_trim: usize,
    consumed: u64,
    produced: u64,
    ratio: f64,
}

impl StreamResampler {
    /// A converter from `from` Hz to `to` Hz (a pass-through when they are equal).
    pub fn new(from: u32, to: u32) -> Result<StreamResampler, ResampleError> {
        let inner = if from == to {
            None
        } else {
            Some(
                Fft::<f32>::new(from as usize, to as usize, BLOCK, 1, FixedSync::Input).map_err(|e| {
                    ResampleError::Setup {
                        from,
                        to,
                        message: e.to_string(),
                    }
                })?,
            )
        };
        let (out_max, delay) = inner
            .as_ref()
            .map(|r| (r.output_frames_max(), r.output_delay()))
            .unwrap_or((0, 0));
        Ok(StreamResampler {
            inner,
            pending: Vec::with_capacity(BLOCK),
            out_buf: vec![0.0; out_max],
            to_trim: delay,
            consumed: 0,
            produced: 0,
            ratio: to as f64 / from as f64,
        })
    }

    fn run_block(&mut self, partial: Option<usize>, sink: &mut dyn FnMut(&[f32])) -> Result<(), ResampleError> {
        let Some(r) = self.inner.as_mut() else { return Ok(()) };
        self.pending.resize(BLOCK, 0.0);
        let input =
            InterleavedSlice::new(&self.pending[..], 1, BLOCK).map_err(|e| ResampleError::Process(e.to_string()))?;
        let n_out_max = self.out_buf.len();
        let mut output =
            rubato::audioadapter_buffers::direct::InterleavedSlice::new_mut(&mut self.out_buf[..], 1, n_out_max)
                .map_err(|e| ResampleError::Process(e.to_string()))?;
        let idx = Indexing {
            input_offset: 0,
            output_offset: 0,
            partial_len: partial,
            active_channels_mask: None,
        };
        let (_, n_out) = r
            .process_into_buffer(&input, &mut output, Some(&idx))
            .map_err(|e| ResampleError::Process(e.to_string()))?;
        self.pending.clear();
        let mut out = &self.out_buf[..n_out];
        if self.to_trim > 0 {
            let t = self.to_trim.min(out.len());
            out = &out[t..];
            self.to_trim -= t;
        }
        let wanted = (self.consumed as f64 * self.ratio).ceil() as u64;
        let room = wanted.saturating_sub(self.produced) as usize;
        let out = &out[..out.len().min(room)];
        self.produced += out.len() as u64;
        if !out.is_empty() {
            sink(out);
        }
        Ok(())
    }

    /// Feeds samples; converted samples are handed to `sink` as they are ready.
    pub fn push(&mut self, mut samples: &[f32], sink: &mut dyn FnMut(&[f32])) -> Result<(), ResampleError> {
        if self.inner.is_none() {
            self.consumed += samples.len() as u64;
            self.produced += samples.len() as u64;
            sink(samples);
            return Ok(());
        }
        while !samples.is_empty() {
            let take = (BLOCK - self.pending.len()).min(samples.len());
            self.pending.extend_from_slice(&samples[..take]);
            self.consumed += take as u64;
            samples = &samples[take..];
            if self.pending.len() == BLOCK {
                self.run_block(None, sink)?;
            }
        }
        Ok(())
    }

    /// Flushes the tail: the total output is ⌈input × to / from⌉ samples.
    pub fn finish(&mut self, sink: &mut dyn FnMut(&[f32])) -> Result<(), ResampleError> {
        if self.inner.is_none() {
            return Ok(());
        }
        let wanted = (self.consumed as f64 * self.ratio).ceil() as u64;
        let partial = self.pending.len();
        self.run_block(Some(partial), sink)?;
        let mut guard = 0;
        while self.produced < wanted && guard < 64 {
            self.run_block(Some(0), sink)?;
            guard += 1;
        }
        Ok(())
    }
}
