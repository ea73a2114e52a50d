//! Whisper's audio encoder on the CPU as fused passes over row-major `[frames, width]` buffers (the CPU path
//! of [`super::whisper::Encoder`]; other devices run the tensor path).
//!
//! The encoder is four fifths of QA's time (a full 30-second window per clip, always). The tensor path spends a
//! third of it outside the GEMMs: single-threaded GELU, 72 MB attention-score tensors allocated (and
//! page-faulted) per layer, transposed copies of every head. Here the convolutions are one GEMM each over
//! shifted copies of the frames, Q/K/V are one GEMM, each head's scores (`[frames, frames]`, a buffer reused by
//! each task) are a GEMM on strided views, softmaxed in place and multiplied by the head's values, heads run in
//! parallel, and bias, GELU and residuals ride on the passes that are there anyway.
//!
//! Invariants: the arithmetic of openai-whisper's `AudioEncoder` up to rounding — exact GELU, LayerNorm ε
//! 1e-5, `softmax((q·s)(k·s)ᵀ)` with `s = d_head^-¼` folded into the Q and K weights, zero padding of the
//! convolutions; `tests` compares it with the tensor path. Every pass is row-wise or per head, and every GEMM
//! gives each output element to one thread with a fixed summation order, so results do not depend on
//! scheduling or on the clip's batch mates.

use candle_core::{Device, Result, Tensor};
use candle_nn::{Conv1d, LayerNorm, Linear};
use rayon::prelude::*;

use crate::kernels::{add_rows, bias_gelu, flat, matmul, rhs, side_by_side, softmax, Norm, Rhs, ROWS_PER_TASK};

/// A `kernel = 3`, `padding = 1` convolution as a GEMM over the frames' shifted copies.
#[derive(Debug, Clone)]
struct Conv {
    /// `[3·c_in, c_out]`: row `tap·c_in + channel`
    w: Rhs,
    b: Vec<f32>,
    c_in: usize,
    stride: usize,
}

impl Conv {
    fn new(conv: &Conv1d, stride: usize) -> Result<Self> {
        let (c_out, c_in, k) = conv.weight().dims3()?;
        if k != 3 {
            candle_core::bail!("Whisper's convolutions have kernel 3, this one {k}");
        }
        let b = match conv.bias() {
            Some(b) => flat(b)?,
            None => vec![0.0; c_out],
        };
        Ok(Self {
            w: Rhs {
                data: flat(&conv.weight().permute((2, 1, 0))?.contiguous()?)?,
                k: k * c_in,
                n: c_out,
            },
            b,
            c_in,
            stride,
        })
    }

    /// `x` `[frames, c_in]` → `gelu(conv(x) + b)` `[frames / stride, c_out]`.
    fn forward(&self, x: &[f32]) -> Vec<f32> {
        let c = self.c_in;
        let frames = x.len() / c;
        let out_frames = frames.div_ceil(self.stride);
        let mut cols = vec![0f32; out_frames * 3 * c];
        cols.par_chunks_mut(3 * c * ROWS_PER_TASK)
            .enumerate()
            .for_each(|(t, chunk)| {
                for (j, row) in chunk.chunks_exact_mut(3 * c).enumerate() {
                    let centre = (t * ROWS_PER_TASK + j) * self.stride;
                    for tap in 0..3 {
                        // input frame centre + tap − 1, zero outside
                        if centre + tap >= 1 && centre + tap - 1 < frames {
                            let src = (centre + tap - 1) * c;
                            row[tap * c..(tap + 1) * c].copy_from_slice(&x[src..src + c]);
                        }
                    }
                }
            });
        let mut y = vec![0f32; out_frames * self.w.n];
        matmul(&cols, &self.w, &mut y, false);
        y.par_chunks_mut(self.w.n * ROWS_PER_TASK).for_each(|chunk| {
            for row in chunk.chunks_exact_mut(self.w.n) {
                bias_gelu(row, &self.b);
            }
        });
        y
    }
}

/// One encoder layer in the fast layouts.
#[derive(Debug, Clone)]
struct Block {
    attn_ln: Norm,
    /// `[d, 3d]`: the Q, K and V projections side by side, Q and K scaled by `d_head^-¼`
    qkv: Rhs,
    qkv_b: Vec<f32>,
    out: Rhs,
    out_b: Vec<f32>,
    mlp_ln: Norm,
    fc1: Rhs,
    fc1_b: Vec<f32>,
    fc2: Rhs,
    fc2_b: Vec<f32>,
}

impl Block {
    /// From the layer's LayerNorms, its projections `q`, `k` (no bias), `v`, `out` and MLP `fc1`, `fc2`.
    #[allow(clippy::too_many_arguments)]
    fn new(
        attn_ln: &LayerNorm,
        q: &Linear,
        k: &Linear,
        v: &Linear,
        out: &Linear,
        n_head: usize,
        mlp_ln: &LayerNorm,
        fc1: &Linear,
        fc2: &Linear,
    ) -> Result<Self> {
        let d = q.weight().dim(0)?;
        let s = ((d / n_head) as f32).powf(-0.25);
        let (qkv, qkv_b) = side_by_side(&[(q, s), (k, s), (v, 1.0)])?;
        let (out, out_b) = rhs(out)?;
        let (fc1, fc1_b) = rhs(fc1)?;
        let (fc2, fc2_b) = rhs(fc2)?;
        Ok(Self {
            attn_ln: Norm::new(attn_ln)?,
            qkv,
            qkv_b,
            out,
            out_b,
            mlp_ln: Norm::new(mlp_ln)?,
            fc1,
            fc1_b,
            fc2,
            fc2_b,
        })
    }

    /// `x` `[t, d]` through the layer, in place; `h` (`[t, d]`) is scratch.
    fn forward(&self, x: &mut [f32], h: &mut [f32], n_head: usize) {
        let d = self.out.n;
        let t = x.len() / d;
        self.attn_ln.apply(x, h);
        let mut qkv = vec![0f32; t * 3 * d];
        matmul(h, &self.qkv, &mut qkv, false);
        add_rows(&mut qkv, &self.qkv_b);
        attention(&qkv, t, d, n_head, h);
        // x += out(heads) + b
        add_rows(x, &self.out_b);
        matmul(h, &self.out, x, true);
        drop(qkv);
        self.mlp_ln.apply(x, h);
        let inner = self.fc1.n;
        let mut mid = vec![0f32; t * inner];
        matmul(h, &self.fc1, &mut mid, false);
        mid.par_chunks_mut(inner * ROWS_PER_TASK).for_each(|chunk| {
            for row in chunk.chunks_exact_mut(inner) {
                bias_gelu(row, &self.fc1_b);
            }
        });
        add_rows(x, &self.fc2_b);
        matmul(&mid, &self.fc2, x, true);
    }
}

/// Multi-head attention of `qkv` (`[t, 3d]`: scaled queries, scaled keys, values) into `out` (`[t, d]`,
/// heads side by side). Heads run in parallel, one thread each; each task reuses one `[t, t]` score buffer.
fn attention(qkv: &[f32], t: usize, d: usize, n_head: usize, out: &mut [f32]) {
    let dh = d / n_head;
    let ld = 3 * d;
    let heads: Vec<Vec<f32>> = (0..n_head)
        .into_par_iter()
        .map_init(
            || vec![0f32; t * t],
            |scores, h| {
                let q = &qkv[h * dh..];
                let k = &qkv[d + h * dh..];
                let v = &qkv[2 * d + h * dh..];
                // SAFETY: q and k are read at rows < t (stride ld = 3d) and columns < dh from offsets below
                // d + n_head·dh ≤ 3d, so inside qkv (t·3d); scores is t×t, row-major; no output aliases an input.
                unsafe {
                    gemm::gemm(
                        t,
                        t,
                        dh,
                        scores.as_mut_ptr(),
                        1,
                        t as isize,
                        false,
                        q.as_ptr(),
                        1,
                        ld as isize,
                        // rhs[i, j] = k[j, i]: column stride ld, row stride 1
                        k.as_ptr(),
                        ld as isize,
                        1,
                        1.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
                scores.chunks_exact_mut(t).for_each(softmax);
                let mut o = vec![0f32; t * dh];
                // SAFETY: scores is t×t; v is read at rows < t (stride ld) and columns < dh from offset
                // 2d + h·dh, inside qkv; o is t×dh.
                unsafe {
                    gemm::gemm(
                        t,
                        dh,
                        t,
                        o.as_mut_ptr(),
                        1,
                        dh as isize,
                        false,
                        scores.as_ptr(),
                        1,
                        t as isize,
                        v.as_ptr(),
                        1,
                        ld as isize,
                        1.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
                o
            },
        )
        .collect();
    out.par_chunks_mut(d).enumerate().for_each(|(r, row)| {
        for (h, o) in heads.iter().enumerate() {
            row[h * dh..(h + 1) * dh].copy_from_slice(&o[r * dh..(r + 1) * dh]);
        }
    });
}

/// The encoder's weights in the fast layouts.
#[derive(Debug, Clone)]
pub(crate) struct CpuEncoder {
    conv1: Conv,
    conv2: Conv,
    /// sinusoidal positions `[max_source_positions, d]`
    positions: Vec<f32>,
    blocks: Vec<Block>,
    ln_post: Norm,
    n_head: usize,
    d: usize,
}

/// One encoder layer's modules, as the tensor path holds them.
pub(crate) struct LayerParts<'a> {
    pub attn_ln: &'a LayerNorm,
    pub q: &'a Linear,
    pub k: &'a Linear,
    pub v: &'a Linear,
    pub out: &'a Linear,
    pub mlp_ln: &'a LayerNorm,
    pub fc1: &'a Linear,
    pub fc2: &'a Linear,
}

impl CpuEncoder {
    /// From the tensor path's modules (f32).
    pub(crate) fn new(
        conv1: &Conv1d,
        conv2: &Conv1d,
        positions: &Tensor,
        layers: &[LayerParts],
        ln_post: &LayerNorm,
        n_head: usize,
    ) -> Result<Self> {
        let d = positions.dim(1)?;
        let blocks = layers
            .iter()
            .map(|l| Block::new(l.attn_ln, l.q, l.k, l.v, l.out, n_head, l.mlp_ln, l.fc1, l.fc2))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            conv1: Conv::new(conv1, 1)?,
            conv2: Conv::new(conv2, 2)?,
            positions: flat(positions)?,
            blocks,
            ln_post: Norm::new(ln_post)?,
            n_head,
            d,
        })
    }

    /// `[b, n_mels, frames]` log-mel windows → `[b, frames / 2, d]`.
    pub(crate) fn forward(&self, mel: &Tensor) -> Result<Tensor> {
        let (b, n_mels, frames) = mel.dims3()?;
        if n_mels != self.conv1.c_in {
            candle_core::bail!("the encoder takes {} mel bins, got {n_mels}", self.conv1.c_in);
        }
        // channel-last frames, one window after another
        let x = mel.transpose(1, 2)?.contiguous()?.flatten_all()?.to_vec1::<f32>()?;
        let d = self.d;
        let t = frames.div_ceil(2);
        if t * d > self.positions.len() {
            candle_core::bail!("a window of {frames} frames is longer than the encoder's positions");
        }
        let mut out = Vec::with_capacity(b * t * d);
        for w in x.chunks_exact(frames * n_mels) {
            let h = self.conv1.forward(w);
            let mut x = self.conv2.forward(&h);
            drop(h);
            add_positions(&mut x, &self.positions[..t * d]);
            let mut scratch = vec![0f32; t * d];
            for blk in &self.blocks {
                blk.forward(&mut x, &mut scratch, self.n_head);
            }
            self.ln_post.apply(&x, &mut scratch);
            out.extend_from_slice(&scratch);
        }
        Tensor::from_vec(out, (b, t, d), &Device::Cpu)
    }
}

fn add_positions(x: &mut [f32], pos: &[f32]) {
    x.par_chunks_mut(ROWS_PER_TASK * 64)
        .zip(pos.par_chunks(ROWS_PER_TASK * 64))
        .for_each(|(x, p)| x.iter_mut().zip(p).for_each(|(x, p)| *x += p));
}
