//! The residual attention block of T2S and S2A (spec §3) and the weight loader that builds it.
//!
//! A block is pre-LN self-attention (fused QKV; the key has no bias; S2A rotates queries and keys with
//! RoPE), optional pre-LN cross-attention over K/V computed once per utterance ([`Block::cross_kv`]), and a
//! pre-LN MLP with exact GELU. The net attention logit scale is folded into the query weights at load time.
//!
//! Owns the block, its loader and one decoder step over a stack of blocks. Must never import the stages
//! (`t2s`, `s2a`), which are built on it.

use std::cell::RefCell;

use candle_core::{DType, Tensor, D};
use candle_nn::kv_cache::KvCache;

use super::checkpoint::{Checkpoint, CheckpointError};
use super::layers::{attention, gelu, merge_heads, split_heads, LayerNorm, Linear};
use super::rope::Rope;

/// Errors while building a stage from a checkpoint (each stage wraps them in its own error type).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The checkpoint could not be read (missing tensor, bad file).
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A tensor or the stored config is inconsistent.
    #[error("{path}: {msg}")]
    Model {
        /// the file
        path: String,
        /// what is wrong
        msg: String,
    },
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// Cross-attention: queries from the decoder, K/V from the encoder output (computed once per utterance).
#[derive(Debug, Clone)]
pub struct CrossAttention {
    ln: LayerNorm,
    q: Linear,
    kv: Linear,
    out: Linear,
    rope: Option<Rope>,
}

/// One residual attention block.
#[derive(Debug, Clone)]
pub struct Block {
    attn_ln: LayerNorm,
    qkv: Linear,
    out: Linear,
    rope: Option<Rope>,
    cross: Option<CrossAttention>,
    mlp_ln: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

impl Block {
    /// Self-attention at positions `p0..` (causal from `p0` when `causal`, through `cache` when given),
    /// cross-attention over the precomputed `xkv` (from [`Block::cross_kv`]), MLP.
    pub fn forward(
        &self,
        x: &Tensor,
        n_head: usize,
        p0: usize,
        causal: bool,
        cache: Option<&mut KvCache>,
        xkv: Option<&(Tensor, Tensor)>,
    ) -> candle_core::Result<Tensor> {
        let w = x.dim(D::Minus1)?;
        let qkv = self.qkv.forward(&self.attn_ln.forward(x)?)?;
        let mut q = split_heads(&qkv.narrow(D::Minus1, 0, w)?, n_head)?;
        let mut k = split_heads(&qkv.narrow(D::Minus1, w, w)?, n_head)?;
        let v = split_heads(&qkv.narrow(D::Minus1, 2 * w, w)?, n_head)?;
        if let Some(r) = &self.rope {
            q = r.apply_from(&q, p0)?;
            k = r.apply_from(&k, p0)?;
        }
        // the cache's narrowed views go straight into the matmuls (no per-step copy of the whole cache)
        let (k, v) = match cache {
            Some(c) => c.append(&k, &v)?,
            None => (k, v),
        };
        let a = attention(&q, &k, &v, causal.then_some(p0))?;
        let x = (x + self.out.forward(&merge_heads(&a)?)?)?;
        let x = match (&self.cross, xkv) {
            (Some(c), Some((k, v))) => {
                let mut q = split_heads(&c.q.forward(&c.ln.forward(&x)?)?, n_head)?;
                if let Some(r) = &c.rope {
                    q = r.apply_from(&q, p0)?;
                }
                let a = attention(&q, k, v, None)?;
                (&x + c.out.forward(&merge_heads(&a)?)?)?
            }
            _ => x,
        };
        let h = self
            .fc2
            .forward(&gelu(&self.fc1.forward(&self.mlp_ln.forward(&x)?)?)?)?;
        x + h
    }

    /// The cross-attention K/V `[b, h, n, d]` of the encoder output `xenc` `[b, n, w]`, computed once per
    /// utterance; with RoPE the keys are rotated at `key_positions` (S2A: `3·j`).
    pub fn cross_kv(
        &self,
        xenc: &Tensor,
        n_head: usize,
        key_positions: &[usize],
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let Some(c) = &self.cross else {
            candle_core::bail!("decoder layer without cross-attention")
        };
        let w = xenc.dim(D::Minus1)?;
        let kv = c.kv.forward(xenc)?;
        let k = split_heads(&kv.narrow(D::Minus1, 0, w)?, n_head)?;
        let k = match &c.rope {
            Some(r) => r.apply(&k, key_positions)?,
            None => k,
        };
        Ok((k, split_heads(&kv.narrow(D::Minus1, w, w)?, n_head)?))
    }

    /// The q8_0 speed mode: every per-step matmul (self-attention QKV/out, cross-attention query/out, MLP).
    /// The cross-attention K/V projection runs once per utterance and stays dense.
    pub fn quantize(self) -> candle_core::Result<Self> {
        Ok(Self {
            qkv: self.qkv.quantize()?,
            out: self.out.quantize()?,
            cross: self
                .cross
                .map(|c| -> candle_core::Result<CrossAttention> {
                    Ok(CrossAttention {
                        q: c.q.quantize()?,
                        out: c.out.quantize()?,
                        ..c
                    })
                })
                .transpose()?,
            fc1: self.fc1.quantize()?,
            fc2: self.fc2.quantize()?,
            ..self
        })
    }
}

/// One step of a decoder stack: `x` through every layer at positions `p0..` (causal, through the layer's
/// self-attention `caches[i]`, over the layer's precomputed cross-attention `xkv[i]`).
pub fn decoder_step(
    layers: &[Block],
    mut x: Tensor,
    n_head: usize,
    p0: usize,
    caches: &mut [KvCache],
    xkv: &[(Tensor, Tensor)],
) -> candle_core::Result<Tensor> {
    for (i, layer) in layers.iter().enumerate() {
        x = layer.forward(&x, n_head, p0, true, Some(&mut caches[i]), Some(&xkv[i]))?;
    }
    Ok(x)
}

/// [`Block::quantize`] of every block of a stack.
pub fn quantize_all(blocks: Vec<Block>) -> candle_core::Result<Vec<Block>> {
    blocks.into_iter().map(Block::quantize).collect()
}

/// The shape of a stage's blocks.
#[derive(Debug, Clone, Copy)]
pub struct BlockShape {
    /// model width
    pub width: usize,
    /// MLP width multiplier
    pub ffn_mult: usize,
    /// width of one head
    pub head_width: usize,
    /// the net attention logit scale, folded into the queries
    pub scale: f64,
    /// RoPE tables for positions `0..n` (`None`: no rotary positions, as T2S)
    pub rope_positions: Option<usize>,
}

/// Reads a stage's tensors from a checkpoint, checking each shape against the config (as f32, cast to
/// `dtype` where the stage computes in it).
pub struct WeightLoader<'a> {
    /// the checkpoint
    pub ck: &'a Checkpoint,
    /// the compute dtype of linear layers
    pub dtype: DType,
    /// RoPE tables built so far: layers with the same `inv_freq` (all of them, in the published models) share
    /// one set of tables instead of each holding a copy
    ropes: RefCell<Vec<Rope>>,
}

impl<'a> WeightLoader<'a> {
    /// A loader over `ck` whose linear layers compute in `dtype`.
    pub fn new(ck: &'a Checkpoint, dtype: DType) -> Self {
        Self {
            ck,
            dtype,
            ropes: RefCell::new(Vec::new()),
        }
    }

    /// A model error naming the checkpoint file.
    pub fn err(&self, msg: String) -> LoadError {
        LoadError::Model {
            path: self.ck.path.display().to_string(),
            msg,
        }
    }

    /// Tensor `name` as f32, which must have shape `dims`.
    pub fn ts(&self, name: &str, dims: &[usize]) -> Result<Tensor, LoadError> {
        let t = self.ck.tensor(name)?.to_dtype(DType::F32)?;
        if t.dims() != dims {
            return Err(self.err(format!("{name} has shape {:?}, the config implies {dims:?}", t.dims())));
        }
        Ok(t)
    }

    /// Whether the checkpoint has tensor `name`.
    pub fn has(&self, name: &str) -> bool {
        self.ck.tensors.contains_key(name)
    }

    /// LayerNorm `{p}.weight`, `{p}.bias` of width `w`.
    pub fn ln(&self, p: &str, w: usize) -> Result<LayerNorm, LoadError> {
        Ok(LayerNorm::new(
            self.ts(&format!("{p}.weight"), &[w])?,
            self.ts(&format!("{p}.bias"), &[w])?,
        )?)
    }

    /// Linear `{p}.weight` `[out, inp]` (and `{p}.bias` when `bias`), in the compute dtype.
    pub fn lin(&self, p: &str, out: usize, inp: usize, bias: bool) -> Result<Linear, LoadError> {
        let w = self.ts(&format!("{p}.weight"), &[out, inp])?.to_dtype(self.dtype)?;
        let b = if bias {
            Some(self.ts(&format!("{p}.bias"), &[out])?.to_dtype(self.dtype)?)
        } else {
            None
        };
        Ok(Linear::new(w, b))
    }

    /// `(q·s, qb·s, k, v, vb)` of attention `p` with the net logit scale `s` folded into the query.
    fn attn(&self, p: &str, w: usize, scale: f64) -> Result<[Tensor; 5], LoadError> {
        Ok([
            (self.ts(&format!("{p}.query.weight"), &[w, w])? * scale)?,
            (self.ts(&format!("{p}.query.bias"), &[w])? * scale)?,
            self.ts(&format!("{p}.key.weight"), &[w, w])?,
            self.ts(&format!("{p}.value.weight"), &[w, w])?,
            self.ts(&format!("{p}.value.bias"), &[w])?,
        ])
    }

    /// The rotary embedding `{p}.rotary.inv_freq` of attention `p`, when the shape asks for one.
    fn rope(&self, p: &str, s: &BlockShape) -> Result<Option<Rope>, LoadError> {
        let Some(n) = s.rope_positions else {
            return Ok(None);
        };
        let t = self.ts(&format!("{p}.rotary.inv_freq"), &[s.head_width / 2])?;
        let inv_freq = t.to_vec1::<f32>()?;
        let mut ropes = self.ropes.borrow_mut();
        if let Some(r) = ropes
            .iter()
            .find(|r| r.inv_freq() == inv_freq.as_slice() && r.positions() == n)
        {
            return Ok(Some(r.clone())); // tensors are reference-counted: the tables are shared, not copied
        }
        let r = Rope::new(inv_freq, n, t.device())?;
        ropes.push(r.clone());
        Ok(Some(r))
    }

    /// Blocks `{p}.0` … `{p}.{n-1}` (see [`WeightLoader::block`]).
    pub fn blocks(&self, p: &str, n: usize, s: &BlockShape, cross: bool) -> Result<Vec<Block>, LoadError> {
        (0..n).map(|i| self.block(&format!("{p}.{i}"), s, cross)).collect()
    }

    /// Block `p` (`{p}.attn`, `{p}.attn_ln`, `{p}.mlp.{0,2}`, `{p}.mlp_ln`, and with `cross` `{p}.cross_attn`,
    /// `{p}.cross_attn_ln`).
    pub fn block(&self, p: &str, s: &BlockShape, cross: bool) -> Result<Block, LoadError> {
        let w = s.width;
        let dt = self.dtype;
        let [qw, qb, kw, vw, vb] = self.attn(&format!("{p}.attn"), w, s.scale)?;
        let zeros = Tensor::zeros(w, DType::F32, qb.device())?;
        let qkv = Linear::new(
            Tensor::cat(&[&qw, &kw, &vw], 0)?.to_dtype(dt)?,
            Some(Tensor::cat(&[&qb, &zeros, &vb], 0)?.to_dtype(dt)?),
        );
        let cross = if cross {
            let cp = format!("{p}.cross_attn");
            let [qw, qb, kw, vw, vb] = self.attn(&cp, w, s.scale)?;
            Some(CrossAttention {
                ln: self.ln(&format!("{p}.cross_attn_ln"), w)?,
                q: Linear::new(qw.to_dtype(dt)?, Some(qb.to_dtype(dt)?)),
                kv: Linear::new(
                    Tensor::cat(&[&kw, &vw], 0)?.to_dtype(dt)?,
                    Some(Tensor::cat(&[&zeros, &vb], 0)?.to_dtype(dt)?),
                ),
                out: self.lin(&format!("{cp}.out"), w, w, true)?,
                rope: self.rope(&cp, s)?,
            })
        } else {
            None
        };
        let m = w * s.ffn_mult;
        Ok(Block {
            attn_ln: self.ln(&format!("{p}.attn_ln"), w)?,
            qkv,
            out: self.lin(&format!("{p}.attn.out"), w, w, true)?,
            rope: self.rope(&format!("{p}.attn"), s)?,
            cross,
            mlp_ln: self.ln(&format!("{p}.mlp_ln"), w)?,
            fc1: self.lin(&format!("{p}.mlp.0"), m, w, true)?,
            fc2: self.lin(&format!("{p}.mlp.2"), w, m, true)?,
        })
    }
}
