//! The Vocos backbone and head on the CPU (spec §6) as fused passes over channel-last buffers: activations are
//! `[rows, width]` row-major with row `= batch_row·L + frame`, so the pointwise layers are plain GEMMs with no
//! transposes, and the depthwise conv, AdaLayerNorm, bias, GELU and residual each cost no extra pass.
//!
//! Invariants: the same arithmetic as the tensor path up to rounding — exact GELU (`erf`, as `nn.GELU()`),
//! LayerNorm eps 1e-6, zero "same" padding of the convolutions within each batch row; ConvNeXt's `gamma` is folded
//! into `pwconv2`'s weight rows and bias at load time, the head's bias is added by the ISTFT. Every pass is row-wise
//! or reads a fixed window of rows of one batch row, and the GEMMs give each output element to one thread with a
//! fixed summation order, so the output does not depend on scheduling.

use candle_core::Tensor;
use rayon::prelude::*;

use crate::kernels::{bias_gelu, flat, layer_norm, matmul, Rhs, ROWS_PER_TASK};

/// Per-condition scale and shift rows of an AdaLayerNorm, `[conditions, dim]`.
#[derive(Debug, Clone)]
pub(crate) struct AdaRows {
    scale: Vec<f32>,
    shift: Vec<f32>,
    dim: usize,
}

impl AdaRows {
    /// From the `scale` and `shift` embedding tables `[conditions, dim]`.
    pub(crate) fn new(scale: &Tensor, shift: &Tensor) -> candle_core::Result<Self> {
        Ok(Self {
            scale: flat(scale)?,
            shift: flat(shift)?,
            dim: scale.dim(1)?,
        })
    }

    fn rows(&self, id: usize) -> (&[f32], &[f32]) {
        let r = id * self.dim..(id + 1) * self.dim;
        (&self.scale[r.clone()], &self.shift[r])
    }
}

/// One ConvNeXt block in the fast layouts.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    /// depthwise taps `[k, dim]`
    taps: Vec<f32>,
    dw_b: Vec<f32>,
    norm: AdaRows,
    pw1: Rhs,
    b1: Vec<f32>,
    /// `gamma`-scaled
    pw2: Rhs,
    /// `gamma`-scaled
    b2: Vec<f32>,
}

impl Block {
    /// From the block's tensors: depthwise `[dim, k]` and bias, AdaLayerNorm rows, `pwconv1` `[inter, dim]` and
    /// bias, `pwconv2` `[dim, inter]` and bias, `gamma` `[dim]`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        dw_w: &Tensor,
        dw_b: &Tensor,
        norm: AdaRows,
        w1: &Tensor,
        b1: &Tensor,
        w2: &Tensor,
        b2: &Tensor,
        gamma: &Tensor,
    ) -> candle_core::Result<Self> {
        let (dim, _) = dw_w.dims2()?;
        let (inter, _) = w1.dims2()?;
        let gamma = flat(gamma)?;
        Ok(Self {
            taps: flat(&dw_w.t()?.contiguous()?)?,
            dw_b: flat(dw_b)?,
            norm,
            pw1: Rhs::from_linear(&flat(w1)?, inter, dim, None),
            b1: flat(b1)?,
            pw2: Rhs::from_linear(&flat(w2)?, dim, inter, Some(&gamma)),
            b2: flat(b2)?.iter().zip(&gamma).map(|(b, g)| b * g).collect(),
        })
    }
}

/// The backbone and head weights in the fast layouts.
#[derive(Debug, Clone)]
pub(crate) struct CpuNet {
    /// `[codebook rows, input_channels]`
    codebooks: Vec<f32>,
    input_channels: usize,
    dim: usize,
    /// embedding conv as a GEMM over `k` shifted copies of the features: `[k·input_channels, dim]`
    embed: Rhs,
    embed_k: usize,
    embed_b: Vec<f32>,
    norm: AdaRows,
    blocks: Vec<Block>,
    final_w: Vec<f32>,
    final_b: Vec<f32>,
    /// head `[dim, n_fft + 2]`
    out: Rhs,
    /// head bias `[n_fft + 2]`
    pub(crate) out_b: Vec<f32>,
}

impl CpuNet {
    /// From the codebooks `[rows, input_channels]`, the embedding conv `[dim, input_channels, k]` and bias, the
    /// first AdaLayerNorm, the blocks, the final LayerNorm and the head `[n_fft + 2, dim]` and bias.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        codebooks: &Tensor,
        embed_w: &Tensor,
        embed_b: &Tensor,
        norm: AdaRows,
        blocks: Vec<Block>,
        final_w: &Tensor,
        final_b: &Tensor,
        out_w: &Tensor,
        out_b: &Tensor,
    ) -> candle_core::Result<Self> {
        let (dim, cin, k) = embed_w.dims3()?;
        // [dim, cin, k] → [k, cin, dim]: row (tap, channel), column output channel
        let embed = Rhs {
            data: flat(&embed_w.permute((2, 1, 0))?.contiguous()?)?,
            k: k * cin,
            n: dim,
        };
        let (width, _) = out_w.dims2()?;
        Ok(Self {
            codebooks: flat(codebooks)?,
            input_channels: cin,
            dim,
            embed,
            embed_k: k,
            embed_b: flat(embed_b)?,
            norm,
            blocks,
            final_w: flat(final_w)?,
            final_b: flat(final_b)?,
            out: Rhs::from_linear(&flat(out_w)?, width, dim, None),
            out_b: flat(out_b)?,
        })
    }

    /// Runs the backbone and the head's linear layer (without its bias) on `ids` (`rows·l` frames of `q`
    /// codebook row indices each): returns the frames `[rows·l, n_fft + 2]`.
    pub(crate) fn forward(&self, ids: &[u32], q: usize, l: usize, cond: usize) -> Vec<f32> {
        let (cin, dim) = (self.input_channels, self.dim);
        let rows = ids.len() / q;
        // features: sum of the codebook rows
        let mut feats = vec![0f32; rows * cin];
        feats
            .par_chunks_mut(cin * ROWS_PER_TASK)
            .enumerate()
            .for_each(|(t, chunk)| {
                for (j, f) in chunk.chunks_exact_mut(cin).enumerate() {
                    let r = t * ROWS_PER_TASK + j;
                    for &id in &ids[r * q..(r + 1) * q] {
                        let cb = &self.codebooks[id as usize * cin..(id as usize + 1) * cin];
                        f.iter_mut().zip(cb).for_each(|(f, c)| *f += c);
                    }
                }
            });
        // embedding conv: shifted copies [rows, k·cin] (zero "same" padding per batch row), one GEMM
        let k = self.embed_k;
        let half = k / 2;
        let mut cols = vec![0f32; rows * k * cin];
        cols.par_chunks_mut(k * cin * ROWS_PER_TASK)
            .enumerate()
            .for_each(|(t, chunk)| {
                for (j, c) in chunk.chunks_exact_mut(k * cin).enumerate() {
                    let r = t * ROWS_PER_TASK + j;
                    let (b, p) = (r / l, r % l);
                    for tap in 0..k {
                        if p + tap >= half && p + tap - half < l {
                            let src = (b * l + p + tap - half) * cin;
                            c[tap * cin..(tap + 1) * cin].copy_from_slice(&feats[src..src + cin]);
                        }
                    }
                }
            });
        drop(feats);
        let mut x = vec![0f32; rows * dim];
        matmul(&cols, &self.embed, &mut x, false);
        drop(cols);
        let (scale, shift) = self.norm.rows(cond);
        x.par_chunks_mut(dim * ROWS_PER_TASK).for_each(|chunk| {
            for row in chunk.chunks_exact_mut(dim) {
                row.iter_mut().zip(&self.embed_b).for_each(|(v, b)| *v += b);
                layer_norm(row, scale, shift, 1e-6);
            }
        });
        // ConvNeXt blocks
        let inter = self.blocks.first().map_or(0, |b| b.b1.len());
        let mut h = vec![0f32; rows * dim];
        let mut mid = vec![0f32; rows * inter];
        for blk in &self.blocks {
            let (scale, shift) = blk.norm.rows(cond);
            let kk = blk.taps.len() / dim;
            let half = kk / 2;
            h.par_chunks_mut(dim * ROWS_PER_TASK)
                .enumerate()
                .for_each(|(t, chunk)| {
                    for (j, row) in chunk.chunks_exact_mut(dim).enumerate() {
                        let r = t * ROWS_PER_TASK + j;
                        let (b, p) = (r / l, r % l);
                        row.copy_from_slice(&blk.dw_b);
                        for tap in 0..kk {
                            if p + tap >= half && p + tap - half < l {
                                let src = &x[(b * l + p + tap - half) * dim..][..dim];
                                let w = &blk.taps[tap * dim..(tap + 1) * dim];
                                for ((o, s), w) in row.iter_mut().zip(src).zip(w) {
                                    *o += s * w;
                                }
                            }
                        }
                        layer_norm(row, scale, shift, 1e-6);
                    }
                });
            matmul(&h, &blk.pw1, &mut mid, false);
            // GELU(· + b1) on the hidden rows; the residual gets pwconv2's (gamma-scaled) bias in the same pass
            mid.par_chunks_mut(inter * ROWS_PER_TASK)
                .zip(x.par_chunks_mut(dim * ROWS_PER_TASK))
                .for_each(|(m, xr)| {
                    for row in m.chunks_exact_mut(inter) {
                        bias_gelu(row, &blk.b1);
                    }
                    for row in xr.chunks_exact_mut(dim) {
                        row.iter_mut().zip(&blk.b2).for_each(|(v, b)| *v += b);
                    }
                });
            matmul(&mid, &blk.pw2, &mut x, true);
        }
        drop(mid);
        drop(h);
        x.par_chunks_mut(dim * ROWS_PER_TASK).for_each(|chunk| {
            for row in chunk.chunks_exact_mut(dim) {
                layer_norm(row, &self.final_w, &self.final_b, 1e-6);
            }
        });
        let mut frames = vec![0f32; rows * self.out.n];
        matmul(&x, &self.out, &mut frames, false);
        frames
    }
}
