//! The Whisper network (openai-whisper's `model.py`), loaded from the Hugging Face tensor names that
//! candle-transformers' `whisper::model` reads, with the decoder run incrementally: a self-attention K/V cache
//! grows by one position per step, and the cross-attention K/V of the audio are computed once per batch
//! ([`Decoder::start`]). candle-transformers' decoder re-runs the whole prefix at every step.
//!
//! The arithmetic of every layer is candle-transformers' (the same ops in the same order: `q·s`, `(kᵀ)·s` with
//! `s = d_head^-¼`, layer-norm ε 1e-5), except that GELU is exact (`erf`, openai-whisper's `nn.GELU()` /
//! `F.gelu`, and CTranslate2's) where candle-transformers uses the tanh approximation. On the CPU in f32 the
//! encoder runs as fused passes ([`super::encoder_cpu`]).

use candle_core::{DType, Device, IndexOp, Module, Result, Tensor, D};
use candle_nn::{Conv1d, Conv1dConfig, LayerNorm, Linear, VarBuilder};
use candle_transformers::models::whisper::Config;

use super::decoder_cpu::{CpuCache, CpuDecoder, DecoderLayerParts};
use super::encoder_cpu::{CpuEncoder, LayerParts};

fn linear(i: usize, o: usize, vb: VarBuilder) -> Result<Linear> {
    candle_nn::linear(i, o, vb)
}

fn layer_norm(size: usize, vb: VarBuilder) -> Result<LayerNorm> {
    let weight = vb.get(size, "weight")?;
    let bias = vb.get(size, "bias")?;
    Ok(LayerNorm::new(weight, bias, 1e-5))
}

fn conv1d(i: usize, o: usize, stride: usize, vb: VarBuilder) -> Result<Conv1d> {
    let weight = vb.get((o, i, 3), "weight")?;
    let bias = vb.get(o, "bias")?;
    let cfg = Conv1dConfig {
        padding: 1,
        stride,
        groups: 1,
        dilation: 1,
        cudnn_fwd_algo: None,
    };
    Ok(Conv1d::new(weight, Some(bias), cfg))
}

/// Multi-head attention's projections (`k_proj` has no bias).
#[derive(Debug, Clone)]
struct Attention {
    query: Linear,
    key: Linear,
    value: Linear,
    out: Linear,
    n_head: usize,
}

impl Attention {
    fn load(n_state: usize, n_head: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            query: linear(n_state, n_state, vb.pp("q_proj"))?,
            key: Linear::new(vb.pp("k_proj").get((n_state, n_state), "weight")?, None),
            value: linear(n_state, n_state, vb.pp("v_proj"))?,
            out: linear(n_state, n_state, vb.pp("out_proj"))?,
            n_head,
        })
    }

    /// The factor applied to both `q` and `k`.
    fn scale(&self, x: &Tensor) -> Result<f64> {
        let n_state = x.dim(D::Minus1)?;
        Ok(((n_state / self.n_head) as f64).powf(-0.25))
    }

    /// `[b, t, d]` → `[b, h, t, d/h]` (a view).
    fn heads(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        x.reshape((b, t, self.n_head, d / self.n_head))?.transpose(1, 2)
    }

    /// The scaled query heads of `x`.
    fn q(&self, x: &Tensor) -> Result<Tensor> {
        let q = self.query.forward(x)?;
        let s = self.scale(&q)?;
        self.heads(&q)? * s
    }

    /// Scaled keys, transposed (`[b, h, d/h, t]`, contiguous), and values (`[b, h, t, d/h]`, contiguous).
    fn kv(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let k = self.key.forward(x)?;
        let s = self.scale(&k)?;
        let kt = (self.heads(&k)?.transpose(2, 3)? * s)?;
        let v = self.heads(&self.value.forward(x)?)?.contiguous()?;
        Ok((kt, v))
    }

    /// `softmax(q·kᵀ + mask)·v`, heads merged, through the output projection.
    fn attend(&self, q: &Tensor, kt: &Tensor, v: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let mut qk = q.matmul(kt)?;
        if let Some(m) = mask {
            qk = qk.broadcast_add(m)?;
        }
        let w = candle_nn::ops::softmax_last_dim(&qk)?;
        let wv = w.matmul(v)?.transpose(1, 2)?.flatten_from(2)?;
        self.out.forward(&wv)
    }
}

/// The position-wise MLP with its layer norm.
#[derive(Debug, Clone)]
struct Mlp {
    ln: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

impl Mlp {
    fn load(n_state: usize, vb: &VarBuilder) -> Result<Self> {
        Ok(Self {
            ln: layer_norm(n_state, vb.pp("final_layer_norm"))?,
            fc1: linear(n_state, 4 * n_state, vb.pp("fc1"))?,
            fc2: linear(4 * n_state, n_state, vb.pp("fc2"))?,
        })
    }

    /// `x + mlp(ln(x))`.
    fn residual(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.fc2.forward(&self.fc1.forward(&self.ln.forward(x)?)?.gelu_erf()?)?;
        x + h
    }
}

/// A layer's self-attention and MLP modules, for the fused CPU layouts.
fn layer_parts<'a>(attn_ln: &'a LayerNorm, attn: &'a Attention, mlp: &'a Mlp) -> LayerParts<'a> {
    LayerParts {
        attn_ln,
        q: &attn.query,
        k: &attn.key,
        v: &attn.value,
        out: &attn.out,
        mlp_ln: &mlp.ln,
        fc1: &mlp.fc1,
        fc2: &mlp.fc2,
    }
}

/// An encoder layer.
#[derive(Debug, Clone)]
struct EncoderBlock {
    attn: Attention,
    attn_ln: LayerNorm,
    mlp: Mlp,
}

impl EncoderBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.attn_ln.forward(x)?;
        let (kt, v) = self.attn.kv(&h)?;
        let a = self.attn.attend(&self.attn.q(&h)?, &kt, &v, None)?;
        self.mlp.residual(&(x + a)?)
    }
}

fn sinusoids(length: usize, channels: usize, device: &Device) -> Result<Tensor> {
    let max_timescale = 10000f32;
    let log_timescale_increment = max_timescale.ln() / (channels / 2 - 1) as f32;
    let inv_timescales: Vec<_> = (0..channels / 2)
        .map(|i| (i as f32 * (-log_timescale_increment)).exp())
        .collect();
    let inv_timescales = Tensor::new(inv_timescales.as_slice(), device)?.unsqueeze(0)?;
    let arange = Tensor::arange(0, length as u32, device)?
        .to_dtype(DType::F32)?
        .unsqueeze(1)?;
    let sh = (length, channels / 2);
    let scaled_time = (arange.broadcast_as(sh)? * inv_timescales.broadcast_as(sh)?)?;
    Tensor::cat(&[scaled_time.sin()?, scaled_time.cos()?], 1)
}

/// The audio encoder's tensors: two convolutions (the second with stride 2), sinusoidal positions, the layers.
#[derive(Debug, Clone)]
struct TensorEncoder {
    conv1: Conv1d,
    conv2: Conv1d,
    positions: Tensor,
    blocks: Vec<EncoderBlock>,
    ln_post: LayerNorm,
    n_head: usize,
}

impl TensorEncoder {
    fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let n = cfg.d_model;
        let blocks = (0..cfg.encoder_layers)
            .map(|i| {
                let vb = vb.pp(format!("layers.{i}"));
                Ok(EncoderBlock {
                    attn: Attention::load(n, cfg.encoder_attention_heads, vb.pp("self_attn"))?,
                    attn_ln: layer_norm(n, vb.pp("self_attn_layer_norm"))?,
                    mlp: Mlp::load(n, &vb)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            conv1: conv1d(cfg.num_mel_bins, n, 1, vb.pp("conv1"))?,
            conv2: conv1d(n, n, 2, vb.pp("conv2"))?,
            positions: sinusoids(cfg.max_source_positions, n, vb.device())?,
            blocks,
            ln_post: layer_norm(n, vb.pp("layer_norm"))?,
            n_head: cfg.encoder_attention_heads,
        })
    }

    fn forward(&self, mel: &Tensor) -> Result<Tensor> {
        let x = self.conv1.forward(mel)?.gelu_erf()?;
        let x = self.conv2.forward(&x)?.gelu_erf()?.transpose(1, 2)?;
        let len = x.dim(1)?;
        let mut x = x.broadcast_add(&self.positions.narrow(0, 0, len)?)?;
        for b in &self.blocks {
            x = b.forward(&x)?;
        }
        self.ln_post.forward(&x)
    }

    /// The same weights in the fused CPU layouts.
    fn to_cpu(&self) -> Result<CpuEncoder> {
        let layers: Vec<LayerParts> = self
            .blocks
            .iter()
            .map(|b| layer_parts(&b.attn_ln, &b.attn, &b.mlp))
            .collect();
        CpuEncoder::new(
            &self.conv1,
            &self.conv2,
            &self.positions,
            &layers,
            &self.ln_post,
            self.n_head,
        )
    }
}

/// The audio encoder: on the CPU in f32 the fused passes of [`super::encoder_cpu`], elsewhere candle's ops.
#[derive(Debug, Clone)]
pub struct Encoder(EncoderPath);

#[derive(Debug, Clone)]
enum EncoderPath {
    /// The tensor path (GPU, or a dtype other than f32).
    Tensors(Box<TensorEncoder>),
    /// The fused CPU path.
    Cpu(Box<CpuEncoder>),
}

impl Encoder {
    fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let cpu = vb.device().is_cpu() && vb.dtype() == DType::F32;
        let t = TensorEncoder::load(vb, cfg)?;
        Ok(Self(if cpu {
            // the tensors are dropped: the fused layouts hold their own copy of the weights
            EncoderPath::Cpu(Box::new(t.to_cpu()?))
        } else {
            EncoderPath::Tensors(Box::new(t))
        }))
    }

    /// `[b, n_mels, 3000]` log-mel windows → `[b, 1500, d_model]`.
    pub fn forward(&self, mel: &Tensor) -> Result<Tensor> {
        match &self.0 {
            EncoderPath::Tensors(t) => t.forward(mel),
            EncoderPath::Cpu(c) => c.forward(mel),
        }
    }
}

/// A decoder layer: causal self-attention, cross-attention to the audio, MLP.
#[derive(Debug, Clone)]
struct DecoderBlock {
    attn: Attention,
    attn_ln: LayerNorm,
    cross: Attention,
    cross_ln: LayerNorm,
    mlp: Mlp,
}

/// One decoder layer's keys and values for the rows of a batch.
#[derive(Debug, Clone)]
struct LayerCache {
    /// Self-attention: scaled transposed keys `[b, h, d/h, t]` and values `[b, h, t, d/h]` of the positions so far.
    kv: Option<(Tensor, Tensor)>,
    /// Cross-attention keys and values of the audio, computed once.
    cross: (Tensor, Tensor),
}

/// The tensor path's state for a batch of rows: per-layer caches and the positions decoded so far.
#[derive(Debug, Clone)]
struct TensorCache {
    layers: Vec<LayerCache>,
    len: usize,
}

impl TensorCache {
    /// Keeps only the given rows (indices into the current rows, in the new order).
    fn keep(&mut self, rows: &[u32]) -> Result<()> {
        let Some(first) = self.layers.first() else {
            return Ok(());
        };
        let idx = Tensor::from_slice(rows, rows.len(), first.cross.0.device())?;
        let pick = |t: &Tensor| t.index_select(&idx, 0);
        for l in &mut self.layers {
            l.cross = (pick(&l.cross.0)?, pick(&l.cross.1)?);
            if let Some((k, v)) = &l.kv {
                l.kv = Some((pick(k)?, pick(v)?));
            }
        }
        Ok(())
    }
}

impl DecoderBlock {
    fn forward(&self, x: &Tensor, cache: &mut LayerCache, mask: Option<&Tensor>) -> Result<Tensor> {
        let h = self.attn_ln.forward(x)?;
        let (kt, v) = self.attn.kv(&h)?;
        let (kt, v) = match &cache.kv {
            Some((pk, pv)) => (Tensor::cat(&[pk, &kt], 3)?, Tensor::cat(&[pv, &v], 2)?),
            None => (kt, v),
        };
        let a = self.attn.attend(&self.attn.q(&h)?, &kt, &v, mask)?;
        cache.kv = Some((kt, v));
        let x = (x + a)?;
        let h = self.cross_ln.forward(&x)?;
        let (ck, cv) = &cache.cross;
        let c = self.cross.attend(&self.cross.q(&h)?, ck, cv, None)?;
        self.mlp.residual(&(x + c)?)
    }
}

/// The text decoder's tensors.
#[derive(Debug, Clone)]
struct TensorDecoder {
    /// The token embedding, `[vocab, d_model]` (also the tied output layer).
    embed: Tensor,
    positions: Tensor,
    blocks: Vec<DecoderBlock>,
    ln: LayerNorm,
    n_ctx: usize,
}

impl TensorDecoder {
    fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let n = cfg.d_model;
        let heads = cfg.decoder_attention_heads;
        let blocks = (0..cfg.decoder_layers)
            .map(|i| {
                let vb = vb.pp(format!("layers.{i}"));
                Ok(DecoderBlock {
                    attn: Attention::load(n, heads, vb.pp("self_attn"))?,
                    attn_ln: layer_norm(n, vb.pp("self_attn_layer_norm"))?,
                    cross: Attention::load(n, heads, vb.pp("encoder_attn"))?,
                    cross_ln: layer_norm(n, vb.pp("encoder_attn_layer_norm"))?,
                    mlp: Mlp::load(n, &vb)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            embed: vb.get((cfg.vocab_size, n), "embed_tokens.weight")?,
            positions: vb.get((cfg.max_target_positions, n), "embed_positions.weight")?,
            blocks,
            ln: layer_norm(n, vb.pp("layer_norm"))?,
            n_ctx: cfg.max_target_positions,
        })
    }

    /// A fresh cache for the rows of `audio` (`[b, 1500, d_model]`): the cross-attention keys and values.
    fn start(&self, audio: &Tensor) -> Result<TensorCache> {
        let layers = self
            .blocks
            .iter()
            .map(|b| {
                Ok(LayerCache {
                    kv: None,
                    cross: b.cross.kv(audio)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(TensorCache { layers, len: 0 })
    }

    /// Runs `tokens` (`[b, t]`, the next `t` positions of every row) and returns the last position's logits
    /// (`[b, vocab]`); the cache grows by `t`.
    fn step(&self, tokens: &Tensor, cache: &mut TensorCache) -> Result<Tensor> {
        let (_, t) = tokens.dims2()?;
        let start = cache.len;
        if start + t > self.n_ctx {
            candle_core::bail!(
                "the decoder's context holds {} positions, not {}",
                self.n_ctx,
                start + t
            );
        }
        let emb = self
            .embed
            .index_select(&tokens.flatten_all()?, 0)?
            .reshape((tokens.dim(0)?, t, ()))?;
        let mut x = emb.broadcast_add(&self.positions.narrow(0, start, t)?)?;
        // a causal mask over the new positions (the cached ones are all visible)
        let mask = if t > 1 {
            let m: Vec<f32> = (0..t)
                .flat_map(|i| (0..start + t).map(move |j| if j > start + i { f32::NEG_INFINITY } else { 0.0 }))
                .collect();
            Some(Tensor::from_vec(m, (t, start + t), tokens.device())?)
        } else {
            None
        };
        for (b, c) in self.blocks.iter().zip(&mut cache.layers) {
            x = b.forward(&x, c, mask.as_ref())?;
        }
        cache.len += t;
        // the layer norm is per position: only the last one is needed (contiguous, for the fused kernel)
        let last = self.ln.forward(&x.i((.., t - 1..t, ..))?.contiguous()?)?.squeeze(1)?;
        // the tied output layer as `(E·hᵀ)ᵀ`: the embedding streams through the GEMM once for all rows
        // (`h·Eᵀ` packs the transposed 51 865 × d matrix per call, 3–4× slower with 8 rows)
        self.embed.matmul(&last.t()?)?.t()
    }
}

impl TensorDecoder {
    /// The same weights in the fused CPU layouts.
    fn to_cpu(&self) -> Result<CpuDecoder> {
        let layers: Vec<DecoderLayerParts> = self
            .blocks
            .iter()
            .map(|b| DecoderLayerParts {
                layer: layer_parts(&b.attn_ln, &b.attn, &b.mlp),
                cross_ln: &b.cross_ln,
                cross_q: &b.cross.query,
                cross_k: &b.cross.key,
                cross_v: &b.cross.value,
                cross_out: &b.cross.out,
            })
            .collect();
        let n_head = self.blocks.first().map_or(1, |b| b.attn.n_head);
        CpuDecoder::new(&self.embed, &self.positions, &layers, &self.ln, n_head)
    }
}

/// The text decoder, run incrementally: on the CPU in f32 the fused passes of [`super::decoder_cpu`], elsewhere
/// candle's ops.
#[derive(Debug, Clone)]
pub struct Decoder {
    path: DecoderPath,
    vocab: usize,
    n_ctx: usize,
}

#[derive(Debug, Clone)]
enum DecoderPath {
    Tensors(Box<TensorDecoder>),
    Cpu(Box<CpuDecoder>),
}

/// The decoder's state for a batch of rows (from [`Decoder::start`]).
#[derive(Debug, Clone)]
pub struct DecoderCache(CachePath);

#[derive(Debug, Clone)]
enum CachePath {
    Tensors(TensorCache),
    Cpu(CpuCache),
}

impl Decoder {
    fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let cpu = vb.device().is_cpu() && vb.dtype() == DType::F32;
        let t = TensorDecoder::load(vb, cfg)?;
        let (vocab, n_ctx) = (cfg.vocab_size, t.n_ctx);
        let path = if cpu {
            // the tensors are dropped: the fused layouts hold their own copy of the weights
            DecoderPath::Cpu(Box::new(t.to_cpu()?))
        } else {
            DecoderPath::Tensors(Box::new(t))
        };
        Ok(Self { path, vocab, n_ctx })
    }

    /// Vocabulary size.
    pub fn vocab(&self) -> usize {
        self.vocab
    }

    /// Positions the decoder holds at most.
    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    /// A fresh cache for the rows of `audio` (`[b, 1500, d_model]`): the cross-attention keys and values.
    pub fn start(&self, audio: &Tensor) -> Result<DecoderCache> {
        Ok(DecoderCache(match &self.path {
            DecoderPath::Tensors(t) => CachePath::Tensors(t.start(audio)?),
            DecoderPath::Cpu(c) => CachePath::Cpu(c.start(audio)?),
        }))
    }

    /// Runs `tokens` (`[b, t]`, the next `t` positions of every row) and returns the last position's logits
    /// (`[b, vocab]`); the cache grows by `t`.
    pub fn step(&self, tokens: &Tensor, cache: &mut DecoderCache) -> Result<Tensor> {
        match (&self.path, &mut cache.0) {
            (DecoderPath::Tensors(d), CachePath::Tensors(c)) => d.step(tokens, c),
            (DecoderPath::Cpu(d), CachePath::Cpu(c)) => {
                let (b, t) = tokens.dims2()?;
                if b != c.rows() {
                    candle_core::bail!("{b} rows of tokens for a cache of {}", c.rows());
                }
                let ids = tokens.to_dtype(DType::U32)?.flatten_all()?.to_vec1::<u32>()?;
                d.step(&ids, t, c)
            }
            _ => candle_core::bail!("a decoder cache from another decoder"),
        }
    }
}

impl DecoderCache {
    /// Keeps only the given rows (indices into the current rows, in the new order).
    pub fn keep(&mut self, rows: &[u32]) -> Result<()> {
        match &mut self.0 {
            CachePath::Tensors(c) => c.keep(rows),
            CachePath::Cpu(c) => c.keep(rows),
        }
    }

    /// Positions decoded so far.
    pub fn len(&self) -> usize {
        match &self.0 {
            CachePath::Tensors(c) => c.len,
            CachePath::Cpu(c) => c.len(),
        }
    }

    /// Whether nothing was decoded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The whole model.
#[derive(Debug, Clone)]
pub struct Whisper {
    /// The audio encoder.
    pub encoder: Encoder,
    /// The text decoder.
    pub decoder: Decoder,
    /// Its configuration.
    pub config: Config,
}

impl Whisper {
    /// Loads the `model.encoder.*` and `model.decoder.*` tensors (Hugging Face names).
    pub fn load(vb: &VarBuilder, config: Config) -> Result<Self> {
        Ok(Self {
            encoder: Encoder::load(vb.pp("model.encoder"), &config)?,
            decoder: Decoder::load(vb.pp("model.decoder"), &config)?,
            config,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Shape;
    use candle_nn::var_builder::SimpleBackend;

    /// Deterministic pseudo-random weights, a stream per tensor name.
    struct Noise;

    impl SimpleBackend for Noise {
        fn get(&self, s: Shape, name: &str, _: candle_nn::Init, dtype: DType, dev: &Device) -> Result<Tensor> {
            let mut x = name.bytes().fold(0x9e37_79b9_7f4a_7c15u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
            let v: Vec<f32> = (0..s.elem_count())
                .map(|_| {
                    x = x
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.8
                })
                .collect();
            Tensor::from_vec(v, s, dev)?.to_dtype(dtype)
        }
        fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> Result<Tensor> {
            candle_core::bail!("no shape for {name}")
        }
        fn contains_tensor(&self, _: &str) -> bool {
            true
        }
    }

    fn model() -> Whisper {
        let cfg: Config = serde_json::from_str(
            r#"{"num_mel_bins": 4, "max_source_positions": 6, "d_model": 8, "encoder_attention_heads": 2,
                "encoder_layers": 1, "vocab_size": 20, "max_target_positions": 16, "decoder_attention_heads": 2,
                "decoder_layers": 2}"#,
        )
        .unwrap();
        let vb = VarBuilder::from_backend(Box::new(Noise), DType::F32, Device::Cpu);
        Whisper::load(&vb, cfg).unwrap()
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar()
            .unwrap()
    }

    /// The logits of the last position of `seqs` run as one prefix (no cache reuse).
    fn full(dec: &Decoder, audio: &Tensor, seqs: &[Vec<u32>]) -> Tensor {
        let len = seqs[0].len();
        let flat: Vec<u32> = seqs.iter().flatten().copied().collect();
        let toks = Tensor::from_vec(flat, (seqs.len(), len), &Device::Cpu).unwrap();
        dec.step(&toks, &mut dec.start(audio).unwrap()).unwrap()
    }

    /// The decoder of `cfg` on both paths: the tensor path, then the fused CPU one.
    fn both_decoders(cfg: &Config) -> [Decoder; 2] {
        let vb = VarBuilder::from_backend(Box::new(Noise), DType::F32, Device::Cpu);
        let t = TensorDecoder::load(vb.pp("model.decoder"), cfg).unwrap();
        let (vocab, n_ctx) = (cfg.vocab_size, cfg.max_target_positions);
        let cpu = Decoder {
            path: DecoderPath::Cpu(Box::new(t.to_cpu().unwrap())),
            vocab,
            n_ctx,
        };
        let tensors = Decoder {
            path: DecoderPath::Tensors(Box::new(t)),
            vocab,
            n_ctx,
        };
        [tensors, cpu]
    }

    #[test]
    fn incremental_decoding_matches_the_whole_prefix_and_rows_can_leave() {
        let m = model();
        let mel = Tensor::from_vec(
            (0..2 * 4 * 12)
                .map(|i| ((i * 7 % 11) as f32) / 11.0)
                .collect::<Vec<_>>(),
            (2, 4, 12),
            &Device::Cpu,
        )
        .unwrap();
        let audio = m.encoder.forward(&mel).unwrap();
        assert_eq!(audio.dims(), &[2, 6, 8]);
        assert!(matches!(m.decoder.path, DecoderPath::Cpu(_)));
        for dec in both_decoders(&m.config) {
            let mut seqs = vec![vec![1u32, 2, 3], vec![4u32, 5, 6]];
            let mut cache = dec.start(&audio).unwrap();
            let prompt = Tensor::from_vec(seqs.concat(), (2, 3), &Device::Cpu).unwrap();
            let mut logits = dec.step(&prompt, &mut cache).unwrap();
            for next in [[7u32, 8], [9, 10], [11, 12]] {
                let d = max_diff(&logits, &full(&dec, &audio, &seqs));
                assert!(
                    d < 1e-5,
                    "cached logits differ from the whole prefix by {d} at length {}",
                    seqs[0].len()
                );
                for (s, t) in seqs.iter_mut().zip(next) {
                    s.push(t);
                }
                let toks = Tensor::from_vec(next.to_vec(), (2, 1), &Device::Cpu).unwrap();
                logits = dec.step(&toks, &mut cache).unwrap();
            }
            assert_eq!(cache.len(), 6);
            // row 0 finishes: row 1 continues alone and still matches its own whole prefix
            cache.keep(&[1]).unwrap();
            seqs[1].push(13);
            let toks = Tensor::from_vec(vec![13u32], (1, 1), &Device::Cpu).unwrap();
            let alone = dec.step(&toks, &mut cache).unwrap();
            let row1 = audio.narrow(0, 1, 1).unwrap();
            let d = max_diff(&alone, &full(&dec, &row1, &seqs[1..]));
            assert!(d < 1e-5, "the remaining row differs by {d}");
            // the context is bounded; a token outside the vocabulary is an error, not a panic
            let long = Tensor::zeros((1, 11), DType::U32, &Device::Cpu).unwrap();
            assert!(dec.step(&long, &mut cache).is_err());
            if matches!(dec.path, DecoderPath::Cpu(_)) {
                let bad = Tensor::from_vec(vec![20u32], (1, 1), &Device::Cpu).unwrap();
                assert!(dec.step(&bad, &mut cache).is_err());
            }
        }
    }

    #[test]
    fn the_fused_cpu_decoder_matches_the_tensor_path_and_ignores_batch_mates() {
        let cfg: Config = serde_json::from_str(
            r#"{"num_mel_bins": 16, "max_source_positions": 40, "d_model": 64, "encoder_attention_heads": 4,
                "encoder_layers": 1, "vocab_size": 300, "max_target_positions": 24, "decoder_attention_heads": 4,
                "decoder_layers": 2}"#,
        )
        .unwrap();
        let [tensors, fused] = both_decoders(&cfg);
        let audio = Tensor::from_vec(
            (0..3 * 40 * 64)
                .map(|i| ((i * 37 % 101) as f32) / 50.0 - 1.0)
                .collect::<Vec<_>>(),
            (3, 40, 64),
            &Device::Cpu,
        )
        .unwrap();
        let prompt: Vec<u32> = vec![1, 2, 3, 4, 5, 6, 7, 8, 9];
        let alone_prompt: Vec<u32> = vec![4, 5, 6];
        let mut ct = tensors.start(&audio).unwrap();
        let mut cf = fused.start(&audio).unwrap();
        // row 1 of the batch, decoded alone from the start
        let mut c1 = fused.start(&audio.narrow(0, 1, 1).unwrap()).unwrap();
        let mut toks = Tensor::from_vec(prompt, (3, 3), &Device::Cpu).unwrap();
        let mut toks1 = Tensor::from_vec(alone_prompt, (1, 3), &Device::Cpu).unwrap();
        let mut row1 = 1usize;
        for step in 0..8u32 {
            let want = tensors.step(&toks, &mut ct).unwrap();
            let got = fused.step(&toks, &mut cf).unwrap();
            let scale: f32 = want
                .abs()
                .unwrap()
                .flatten_all()
                .unwrap()
                .max(0)
                .unwrap()
                .to_scalar()
                .unwrap();
            let d = max_diff(&got, &want);
            assert!(
                d < 1e-5 * scale.max(1.0),
                "step {step}: fused logits differ by {d} (scale {scale})"
            );
            let alone = fused.step(&toks1, &mut c1).unwrap();
            assert_eq!(
                max_diff(&alone, &got.narrow(0, row1, 1).unwrap()),
                0.0,
                "step {step}: a row's logits depend on its batch mates"
            );
            let rows = got.dim(0).unwrap() as u32;
            let next: Vec<u32> = (0..rows).map(|r| (step * 31 + r * 7 + 11) % 300).collect();
            toks1 = Tensor::from_vec(vec![next[row1]], (1, 1), &Device::Cpu).unwrap();
            if step == 3 {
                // row 0 leaves (rows 1 and 2 go on, reordered), then row 1 is the only one
                let keep = [2u32, 1];
                ct.keep(&keep).unwrap();
                cf.keep(&keep).unwrap();
                let n: Vec<u32> = keep.iter().map(|&r| next[r as usize]).collect();
                toks = Tensor::from_vec(n, (2, 1), &Device::Cpu).unwrap();
                row1 = 1;
            } else if step == 5 {
                ct.keep(&[1]).unwrap();
                cf.keep(&[1]).unwrap();
                toks = Tensor::from_vec(vec![next[1]], (1, 1), &Device::Cpu).unwrap();
                row1 = 0;
            } else {
                toks = Tensor::from_vec(next, (rows as usize, 1), &Device::Cpu).unwrap();
            }
        }
        // a cache from the other path is refused
        assert!(fused.step(&toks, &mut ct).is_err());
    }

    #[test]
    fn the_fused_cpu_encoder_matches_the_tensor_path_and_ignores_batch_mates() {
        let cfg: Config = serde_json::from_str(
            r#"{"num_mel_bins": 16, "max_source_positions": 40, "d_model": 64, "encoder_attention_heads": 4,
                "encoder_layers": 2, "vocab_size": 20, "max_target_positions": 16, "decoder_attention_heads": 2,
                "decoder_layers": 1}"#,
        )
        .unwrap();
        let vb = VarBuilder::from_backend(Box::new(Noise), DType::F32, Device::Cpu);
        let tensors = TensorEncoder::load(vb.pp("model.encoder"), &cfg).unwrap();
        let fused = tensors.to_cpu().unwrap();
        // odd frame count: the stride-2 convolution's last output sees one padded frame
        let frames = 79;
        let mel = Tensor::from_vec(
            (0..3 * 16 * frames)
                .map(|i| ((i * 37 % 101) as f32) / 50.0 - 1.0)
                .collect::<Vec<_>>(),
            (3, 16, frames),
            &Device::Cpu,
        )
        .unwrap();
        let want = tensors.forward(&mel).unwrap();
        let got = fused.forward(&mel).unwrap();
        assert_eq!(got.dims(), want.dims());
        assert_eq!(got.dims(), &[3, 40, 64]);
        let scale: f32 = want
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar()
            .unwrap();
        let d = max_diff(&got, &want);
        assert!(
            d < 1e-5 * scale.max(1.0),
            "fused encoder differs by {d} (output scale {scale})"
        );
        // a window's output does not depend on its batch mates: bit-identical alone
        let alone = fused.forward(&mel.narrow(0, 1, 1).unwrap()).unwrap();
        assert_eq!(max_diff(&alone, &got.narrow(0, 1, 1).unwrap()), 0.0);
        // Whisper::load picks the fused path on the CPU in f32
        let m = Whisper::load(&vb, cfg).unwrap();
        assert!(matches!(m.encoder.0, EncoderPath::Cpu(_)));
        assert_eq!(max_diff(&m.encoder.forward(&mel).unwrap(), &got), 0.0);
    }
}
