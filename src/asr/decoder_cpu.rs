//! Whisper's text decoder on the CPU as fused passes over row-major buffers (the CPU path of
//! [`super::whisper::Decoder`]; other devices run the tensor path).
//!
//! A decoding step is a handful of rows (the chunks a worker checks at once) by one position, so candle's ops
//! cost more in dispatch, copies and small batched matmuls than in arithmetic: the self-attention cache was
//! re-concatenated, the cross-attention keys and values were gathered again for every row that left the batch,
//! and a step read 64 tiny matmuls per layer. Here each row keeps its own state — the audio's cross-attention
//! keys (transposed, `[d, frames]`, so a head's scores are contiguous multiply-adds) and values, and its
//! self-attention keys and values, appended in place — so a row leaves the batch without a copy; the
//! projections are one GEMM per layer for all rows (Q/K/V fused), and attention runs per row and head in
//! parallel.
//!
//! Invariants: the arithmetic of openai-whisper's `TextDecoder` up to rounding — LayerNorm ε 1e-5, exact GELU,
//! `softmax((q·s)(k·s)ᵀ)` with `s = d_head^-¼` folded into the Q and K weights, causal self-attention, the tied
//! output layer; `whisper::tests` compares it with the tensor path. A row's logits have the same bits alone
//! and in any batch: attention is per row, and every GEMM gives a row the same kernel whatever the row count
//! ([`crate::kernels::matmul`]; the output layer likewise, below).

use candle_core::{Device, Result, Tensor};
use candle_nn::{LayerNorm, Linear};
use rayon::prelude::*;

use super::encoder_cpu::LayerParts;
use crate::kernels::{
    add_rows, axpy, bias_gelu, dot, flat, linear_rows, matmul, side_by_side, softmax, stacked, Norm, Rhs, Weights,
    ROWS_PER_TASK,
};

/// One decoder layer's modules, as the tensor path holds them: an encoder layer's (self-attention, MLP) and
/// the cross-attention's.
pub(crate) struct DecoderLayerParts<'a> {
    pub layer: LayerParts<'a>,
    pub cross_ln: &'a LayerNorm,
    pub cross_q: &'a Linear,
    pub cross_k: &'a Linear,
    pub cross_v: &'a Linear,
    pub cross_out: &'a Linear,
}

/// A linear layer (or several stacked) in the `Linear` layout, run by [`linear_rows`]: `(x·Wᵀ + b)·s`, the
/// scale `s` per output (the attention's `d_head^-¼` on Q and K) applied after, as the tensor path does, so
/// that f16-exact weights stay f16.
#[derive(Debug, Clone)]
struct Lin {
    /// `[n, k]`
    w: Weights,
    b: Vec<f32>,
    /// Per output, when not all 1.
    scale: Option<Vec<f32>>,
    k: usize,
}

impl Lin {
    fn new(layers: &[(&Linear, f32)]) -> Result<Self> {
        let unscaled: Vec<(&Linear, f32)> = layers.iter().map(|&(l, _)| (l, 1.0)).collect();
        let (w, b, k) = stacked(&unscaled)?;
        let mut scale = Vec::with_capacity(b.len());
        for &(l, s) in layers {
            scale.extend(std::iter::repeat_n(s, l.weight().dim(0)?));
        }
        let scale = scale.iter().any(|&s| s != 1.0).then_some(scale);
        Ok(Self {
            w: Weights::new(w),
            b,
            scale,
            k,
        })
    }

    /// Output width.
    fn n(&self) -> usize {
        self.b.len()
    }

    /// `dst = (x·Wᵀ + b)·s`, or `dst += x·Wᵀ + b` when `accumulate` (never scaled).
    fn forward(&self, x: &[f32], dst: &mut [f32], accumulate: bool) {
        if accumulate {
            add_rows(dst, &self.b);
            linear_rows(x, &self.w, self.k, dst, true);
            return;
        }
        linear_rows(x, &self.w, self.k, dst, false);
        let n = self.n();
        dst.par_chunks_mut(n * ROWS_PER_TASK).for_each(|rows| {
            for row in rows.chunks_exact_mut(n) {
                match &self.scale {
                    Some(s) => row
                        .iter_mut()
                        .zip(self.b.iter().zip(s))
                        .for_each(|(v, (b, s))| *v = (*v + b) * s),
                    None => row.iter_mut().zip(&self.b).for_each(|(v, b)| *v += b),
                }
            }
        });
    }
}

/// One decoder layer in the fast layouts.
#[derive(Debug, Clone)]
struct Block {
    attn_ln: Norm,
    /// Q, K (both scaled by `d_head^-¼`) and V stacked
    qkv: Lin,
    out: Lin,
    cross_ln: Norm,
    /// scaled
    cross_q: Lin,
    /// `[d, 2d]`: the audio's K (scaled) and V side by side, as a GEMM right-hand side (1500 frames a row)
    cross_kv: Rhs,
    cross_kv_b: Vec<f32>,
    cross_out: Lin,
    mlp_ln: Norm,
    fc1: Lin,
    fc2: Lin,
}

impl Block {
    fn new(p: &DecoderLayerParts, n_head: usize) -> Result<Self> {
        let l = &p.layer;
        let d = l.q.weight().dim(0)?;
        let s = ((d / n_head) as f32).powf(-0.25);
        let (cross_kv, cross_kv_b) = side_by_side(&[(p.cross_k, s), (p.cross_v, 1.0)])?;
        Ok(Self {
            attn_ln: Norm::new(l.attn_ln)?,
            qkv: Lin::new(&[(l.q, s), (l.k, s), (l.v, 1.0)])?,
            out: Lin::new(&[(l.out, 1.0)])?,
            cross_ln: Norm::new(p.cross_ln)?,
            cross_q: Lin::new(&[(p.cross_q, s)])?,
            cross_kv,
            cross_kv_b,
            cross_out: Lin::new(&[(p.cross_out, 1.0)])?,
            mlp_ln: Norm::new(l.mlp_ln)?,
            fc1: Lin::new(&[(l.fc1, 1.0)])?,
            fc2: Lin::new(&[(l.fc2, 1.0)])?,
        })
    }
}

/// One row's state in one layer.
#[derive(Debug, Clone)]
struct RowLayer {
    /// The audio's scaled keys, transposed: `[d, frames]` (head `h` is rows `h·d_head..`)
    cross_kt: Vec<f32>,
    /// The audio's values, `[frames, d]`
    cross_v: Vec<f32>,
    /// Scaled self-attention keys of the positions so far, `[len, d]`
    self_k: Vec<f32>,
    /// Self-attention values, `[len, d]`
    self_v: Vec<f32>,
}

/// The decoder's state for the rows of a batch.
#[derive(Debug, Clone)]
pub(crate) struct CpuCache {
    /// Per row, per layer.
    rows: Vec<Vec<RowLayer>>,
    frames: usize,
    len: usize,
}

impl CpuCache {
    /// Keeps only the given rows (indices into the current rows, in the new order).
    pub(crate) fn keep(&mut self, rows: &[u32]) -> Result<()> {
        if let Some(&bad) = rows.iter().find(|&&r| r as usize >= self.rows.len()) {
            candle_core::bail!("row {bad} of {} kept", self.rows.len());
        }
        let mut old: Vec<Option<Vec<RowLayer>>> = self.rows.drain(..).map(Some).collect();
        let mut kept: Vec<Vec<RowLayer>> = Vec::with_capacity(rows.len());
        for (n, &r) in rows.iter().enumerate() {
            let state = match old[r as usize].take() {
                Some(s) => s,
                // the same row kept twice: a copy of the first
                None => match rows[..n].iter().position(|&x| x == r) {
                    Some(first) => kept[first].clone(),
                    None => candle_core::bail!("row {r} kept twice"),
                },
            };
            kept.push(state);
        }
        self.rows = kept;
        Ok(())
    }

    /// Positions decoded so far.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Rows in the batch.
    pub(crate) fn rows(&self) -> usize {
        self.rows.len()
    }
}

/// The decoder's weights in the fast layouts.
#[derive(Debug, Clone)]
pub(crate) struct CpuDecoder {
    /// The token embedding `[vocab, d]`, also the tied output layer.
    embed: Weights,
    /// Learned positions `[n_ctx, d]`.
    positions: Vec<f32>,
    blocks: Vec<Block>,
    ln: Norm,
    n_head: usize,
    d: usize,
    vocab: usize,
    n_ctx: usize,
}

impl CpuDecoder {
    /// From the tensor path's modules (f32).
    pub(crate) fn new(
        embed: &Tensor,
        positions: &Tensor,
        layers: &[DecoderLayerParts],
        ln: &LayerNorm,
        n_head: usize,
    ) -> Result<Self> {
        let (vocab, d) = embed.dims2()?;
        let (n_ctx, pd) = positions.dims2()?;
        if pd != d || n_head == 0 || d % n_head != 0 {
            candle_core::bail!("decoder widths: embedding {d}, positions {pd}, {n_head} heads");
        }
        Ok(Self {
            embed: Weights::new(flat(embed)?),
            positions: flat(positions)?,
            blocks: layers.iter().map(|l| Block::new(l, n_head)).collect::<Result<_>>()?,
            ln: Norm::new(ln)?,
            n_head,
            d,
            vocab,
            n_ctx,
        })
    }

    /// A fresh state for the rows of `audio` (`[b, frames, d]`): the cross-attention keys and values.
    pub(crate) fn start(&self, audio: &Tensor) -> Result<CpuCache> {
        let (b, frames, d) = audio.dims3()?;
        if d != self.d {
            candle_core::bail!("the decoder takes audio features of width {}, got {d}", self.d);
        }
        let a = flat(audio)?;
        let mut rows: Vec<Vec<RowLayer>> = (0..b).map(|_| Vec::with_capacity(self.blocks.len())).collect();
        let mut kv = vec![0f32; frames * 2 * d];
        for blk in &self.blocks {
            for (r, row) in rows.iter_mut().enumerate() {
                matmul(&a[r * frames * d..(r + 1) * frames * d], &blk.cross_kv, &mut kv, false);
                add_rows(&mut kv, &blk.cross_kv_b);
                let mut kt = vec![0f32; d * frames];
                let mut v = vec![0f32; frames * d];
                kt.par_chunks_mut(frames).enumerate().for_each(|(c, col)| {
                    for (j, x) in col.iter_mut().enumerate() {
                        *x = kv[j * 2 * d + c];
                    }
                });
                v.par_chunks_mut(d * ROWS_PER_TASK)
                    .zip(kv.par_chunks(2 * d * ROWS_PER_TASK))
                    .for_each(|(v, kv)| {
                        for (v, kv) in v.chunks_exact_mut(d).zip(kv.chunks_exact(2 * d)) {
                            v.copy_from_slice(&kv[d..]);
                        }
                    });
                row.push(RowLayer {
                    cross_kt: kt,
                    cross_v: v,
                    self_k: Vec::new(),
                    self_v: Vec::new(),
                });
            }
        }
        Ok(CpuCache { rows, frames, len: 0 })
    }

    /// Runs `tokens` (`b` rows of `t` positions, row-major) and returns the last position's logits
    /// (`[b, vocab]`); the cache grows by `t`.
    pub(crate) fn step(&self, tokens: &[u32], t: usize, cache: &mut CpuCache) -> Result<Tensor> {
        let b = cache.rows.len();
        let d = self.d;
        let start = cache.len;
        if t == 0 || tokens.len() != b * t {
            candle_core::bail!("{} tokens for {b} rows of {t} positions", tokens.len());
        }
        if start + t > self.n_ctx {
            candle_core::bail!(
                "the decoder's context holds {} positions, not {}",
                self.n_ctx,
                start + t
            );
        }
        if let Some(&bad) = tokens.iter().find(|&&x| x as usize >= self.vocab) {
            candle_core::bail!("token {bad} is outside the vocabulary of {}", self.vocab);
        }
        let m = b * t;
        let mut x = vec![0f32; m * d];
        for (i, (row, &tok)) in x.chunks_exact_mut(d).zip(tokens).enumerate() {
            match &self.embed {
                Weights::F32(e) => row.copy_from_slice(&e[tok as usize * d..][..d]),
                Weights::F16(e) => row
                    .iter_mut()
                    .zip(&e[tok as usize * d..][..d])
                    .for_each(|(x, e)| *x = e.to_f32()),
            }
            let p = &self.positions[(start + i % t) * d..][..d];
            row.iter_mut().zip(p).for_each(|(x, p)| *x += p);
        }
        let mut h = vec![0f32; m * d];
        let mut a = vec![0f32; m * d];
        for (l, blk) in self.blocks.iter().enumerate() {
            // causal self-attention, the new keys and values appended to each row's own
            blk.attn_ln.apply(&x, &mut h);
            let mut qkv = vec![0f32; m * 3 * d];
            blk.qkv.forward(&h, &mut qkv, false);
            for (r, state) in cache.rows.iter_mut().enumerate() {
                let s = &mut state[l];
                for p in qkv[r * t * 3 * d..(r + 1) * t * 3 * d].chunks_exact(3 * d) {
                    s.self_k.extend_from_slice(&p[d..2 * d]);
                    s.self_v.extend_from_slice(&p[2 * d..]);
                }
            }
            let rows = &cache.rows;
            self.attend(&qkv, 3 * d, t, &mut a, move |r| {
                let s = &rows[r][l];
                Keys::Rows(&s.self_k, &s.self_v, start)
            });
            blk.out.forward(&a, &mut x, true);
            // cross-attention to the audio
            blk.cross_ln.apply(&x, &mut h);
            let mut q = vec![0f32; m * d];
            blk.cross_q.forward(&h, &mut q, false);
            let (rows, frames) = (&cache.rows, cache.frames);
            self.attend(&q, d, t, &mut a, move |r| {
                let s = &rows[r][l];
                Keys::Transposed(&s.cross_kt, &s.cross_v, frames)
            });
            blk.cross_out.forward(&a, &mut x, true);
            // MLP
            blk.mlp_ln.apply(&x, &mut h);
            let inner = blk.fc1.n();
            let mut mid = vec![0f32; m * inner];
            linear_rows(&h, &blk.fc1.w, blk.fc1.k, &mut mid, false);
            mid.par_chunks_mut(inner).for_each(|row| bias_gelu(row, &blk.fc1.b));
            blk.fc2.forward(&mid, &mut x, true);
        }
        cache.len += t;
        // the final LayerNorm of each row's last position, then the tied output layer
        let mut last = vec![0f32; b * d];
        for (r, row) in last.chunks_exact_mut(d).enumerate() {
            row.copy_from_slice(&x[((r + 1) * t - 1) * d..][..d]);
        }
        let mut normed = vec![0f32; b * d];
        self.ln.apply(&last, &mut normed);
        // the tied output layer: the embedding streams once for all rows
        let mut logits = vec![0f32; b * self.vocab];
        linear_rows(&normed, &self.embed, d, &mut logits, false);
        Tensor::from_vec(logits, (b, self.vocab), &Device::Cpu)
    }

    /// Attention of the queries `q` (`b·t` rows, `ld` apart, heads side by side in the first `d` columns) into
    /// `out` (`[b·t, d]`); `keys(r)` gives row `r`'s keys and values. One task per row and head.
    fn attend<'a>(&self, q: &[f32], ld: usize, t: usize, out: &mut [f32], keys: impl Fn(usize) -> Keys<'a> + Sync) {
        let d = self.d;
        let dh = d / self.n_head;
        let b = out.len() / (t * d);
        let heads: Vec<Vec<f32>> = (0..b * self.n_head)
            .into_par_iter()
            .map_init(Vec::new, |scores, task| {
                let (r, h) = (task / self.n_head, task % self.n_head);
                let k = keys(r);
                let mut o = vec![0f32; t * dh];
                for (i, o) in o.chunks_exact_mut(dh).enumerate() {
                    let qi = &q[(r * t + i) * ld + h * dh..][..dh];
                    k.attend(qi, h, dh, d, i, scores, o);
                }
                o
            })
            .collect();
        out.par_chunks_mut(t * d).enumerate().for_each(|(r, rows)| {
            for (i, row) in rows.chunks_exact_mut(d).enumerate() {
                for h in 0..self.n_head {
                    row[h * dh..(h + 1) * dh].copy_from_slice(&heads[r * self.n_head + h][i * dh..(i + 1) * dh]);
                }
            }
        });
    }
}

/// One row's keys and values for a layer's attention.
enum Keys<'a> {
    /// Self-attention: keys and values `[len, d]`; query `i` of the step sees positions `..= start + i`.
    Rows(&'a [f32], &'a [f32], usize),
    /// Cross-attention: keys `[d, frames]` and values `[frames, d]`, all visible.
    Transposed(&'a [f32], &'a [f32], usize),
}

impl Keys<'_> {
    /// Query `qi` (one head, `dh` wide, position `i` of the step) over head `h`'s keys into `o`.
    #[allow(clippy::too_many_arguments)]
    fn attend(&self, qi: &[f32], h: usize, dh: usize, d: usize, i: usize, scores: &mut Vec<f32>, o: &mut [f32]) {
        match *self {
            Keys::Rows(k, v, start) => {
                let n = start + i + 1;
                scores.clear();
                scores.extend((0..n).map(|j| dot(qi, &k[j * d + h * dh..][..dh])));
                softmax(scores);
                for (j, &w) in scores.iter().enumerate() {
                    axpy(w, &v[j * d + h * dh..][..dh], o);
                }
            }
            Keys::Transposed(kt, v, frames) => {
                scores.clear();
                scores.resize(frames, 0.0);
                for (c, &qc) in qi.iter().enumerate() {
                    axpy(qc, &kt[(h * dh + c) * frames..][..frames], scores);
                }
                softmax(scores);
                for (j, &w) in scores.iter().enumerate() {
                    axpy(w, &v[j * d + h * dh..][..dh], o);
                }
            }
        }
    }
}
