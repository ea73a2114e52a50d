//! Building blocks shared by the WhisperSpeech stages (spec §3): linear layers (float or q8_0-quantized),
//! LayerNorm computed in f32, and scaled dot-product attention over a prefix.

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Module, Result, Tensor};

/// How a stage's weights are loaded: dtype and the q8_0 CPU speed mode (shared by T2S and S2A; the engine and
/// the CLI's `--quantize` pass one value to every stage).
#[derive(Debug, Clone, Copy)]
pub struct ModelOptions {
    /// weights/activations dtype (F32 default; F16/BF16 for GPUs). LayerNorm and softmax stay f32.
    pub dtype: DType,
    /// quantize the decoder's linear layers to q8_0 (CPU speed mode)
    pub quantize: bool,
}

impl Default for ModelOptions {
    fn default() -> Self {
        Self {
            dtype: DType::F32,
            quantize: false,
        }
    }
}

impl ModelOptions {
    /// Parses a `--dtype` / `render.dtype` value: `f32`, `f16` or `bf16`.
    pub fn parse_dtype(s: &str) -> std::result::Result<DType, String> {
        match s {
            "f32" => Ok(DType::F32),
            "f16" => Ok(DType::F16),
            "bf16" => Ok(DType::BF16),
            d => Err(format!("unknown dtype `{d}`; use f32, f16 or bf16")),
        }
    }

    /// A short label for output lines: `f32`, `f16`, `bf16`, with ` + q8_0` in the speed mode.
    pub fn label(&self) -> String {
        let dt = format!("{:?}", self.dtype).to_lowercase();
        if self.quantize {
            format!("{dt} + q8_0")
        } else {
            dt
        }
    }
}

/// A linear layer `y = x Wᵀ + b` with `W` `[out, in]`, either dense or q8_0-quantized (CPU speed mode).
#[derive(Debug, Clone)]
pub enum Linear {
    /// dense weights in the model dtype
    Dense {
        /// `[out, in]`
        w: Tensor,
        /// `[out]`
        b: Option<Tensor>,
    },
    /// q8_0 weights (activations are f32)
    Quant {
        /// quantized `[out, in]`
        w: QMatMul,
        /// `[out]`, f32
        b: Option<Tensor>,
    },
}

impl Linear {
    /// A dense layer from `[out, in]` weights and an optional bias.
    pub fn new(w: Tensor, b: Option<Tensor>) -> Self {
        Self::Dense { w, b }
    }

    /// Quantizes a dense layer to q8_0 when its input width is a multiple of the block size (32);
    /// otherwise keeps it dense.
    pub fn quantize(self) -> Result<Self> {
        match self {
            Self::Dense { w, b } if w.dim(1)? % 32 == 0 && w.device().is_cpu() => {
                let q = QTensor::quantize(&w.to_dtype(DType::F32)?, GgmlDType::Q8_0)?;
                let b = b.map(|b| b.to_dtype(DType::F32)).transpose()?;
                Ok(Self::Quant {
                    w: QMatMul::from_qtensor(q)?,
                    b,
                })
            }
            other => Ok(other),
        }
    }

    /// Whether the weights are q8_0.
    pub fn is_quantized(&self) -> bool {
        matches!(self, Self::Quant { .. })
    }

    /// Applies the layer to `[..., in]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::Dense { w, b } => {
                let dims = x.dims().to_vec();
                let inner = dims[dims.len() - 1];
                let rows = x.elem_count() / inner.max(1);
                let y = row_independent_matmul(&x.reshape((rows, inner))?, w)?;
                let y = match b {
                    Some(b) => y.broadcast_add(b)?,
                    None => y,
                };
                let mut out = dims;
                let n = out.len();
                out[n - 1] = w.dim(0)?;
                y.reshape(out)
            }
            Self::Quant { w, b } => {
                let dt = x.dtype();
                let y = w.forward(&x.to_dtype(DType::F32)?)?;
                let y = match b {
                    Some(b) => y.broadcast_add(b)?,
                    None => y,
                };
                y.to_dtype(dt)
            }
        }
    }
}

/// `x Wᵀ` for `x` `[rows, in]` such that each output row has the same bits whatever the number of rows.
///
/// On the CPU the `gemm` crate takes a matrix-vector path for a single row whose summation order differs
/// from its matrix kernel's (whose K blocking depends only on K), so a chunk rendered alone would differ in
/// the last bits from the same chunk in a batch — and a sampled token can flip on such a difference. A
/// single row is therefore run as two (a zero row appended and dropped): every row of every batch size
/// takes the same kernel. `tests/batch_buckets.rs` checks this at the published widths.
pub fn row_independent_matmul(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    if x.dim(0)? == 1 && x.device().is_cpu() {
        let two = Tensor::cat(&[x, &x.zeros_like()?], 0)?;
        return two.matmul(&w.t()?)?.narrow(0, 0, 1);
    }
    x.matmul(&w.t()?)
}

/// LayerNorm (eps 1e-5), computed in f32 whatever the activation dtype, as the reference does.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    w: Tensor,
    b: Tensor,
}

impl LayerNorm {
    /// From f32 weight and bias `[w]`.
    pub fn new(w: Tensor, b: Tensor) -> Result<Self> {
        Ok(Self {
            w: w.to_dtype(DType::F32)?,
            b: b.to_dtype(DType::F32)?,
        })
    }

    /// Normalises the last dimension.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dt = x.dtype();
        let x = x.to_dtype(DType::F32)?;
        let y = candle_nn::ops::layer_norm(&x.contiguous()?, &self.w, &self.b, 1e-5)?;
        y.to_dtype(dt)
    }
}

/// Splits `[b, n, h·d]` into heads `[b, h, n, d]` (contiguous).
pub fn split_heads(x: &Tensor, n_head: usize) -> Result<Tensor> {
    let (b, n, w) = x.dims3()?;
    x.reshape((b, n, n_head, w / n_head))?.transpose(1, 2)?.contiguous()
}

/// Merges heads `[b, h, n, d]` back into `[b, n, h·d]`.
pub fn merge_heads(x: &Tensor) -> Result<Tensor> {
    let (b, h, n, d) = x.dims4()?;
    x.transpose(1, 2)?.contiguous()?.reshape((b, n, h * d))
}

/// Attention of pre-scaled queries `q` `[b,h,nq,d]` over `k`,`v` `[b,h,nk,d]`. When `causal_from` is
/// `Some(p)`, query `i` sits at absolute position `p + i` and sees keys `0..=p+i` only.
pub fn attention(q: &Tensor, k: &Tensor, v: &Tensor, causal_from: Option<usize>) -> Result<Tensor> {
    let scores = q.matmul(&k.t()?)?;
    let scores = match causal_from {
        Some(p) => {
            let (_, _, nq, nk) = scores.dims4()?;
            if p + nq <= 1 || (nq == 1 && p + 1 >= nk) {
                scores
            } else {
                let mask: Vec<f32> = (0..nq)
                    .flat_map(|i| (0..nk).map(move |j| if j <= p + i { 0.0 } else { f32::NEG_INFINITY }))
                    .collect();
                let mask = Tensor::from_vec(mask, (nq, nk), q.device())?.to_dtype(scores.dtype())?;
                scores.broadcast_add(&mask)?
            }
        }
        None => scores,
    };
    let dt = scores.dtype();
    let p = candle_nn::ops::softmax_last_dim(&scores.to_dtype(DType::F32)?)?.to_dtype(dt)?;
    p.matmul(v)
}

/// Exact (erf) GELU.
pub fn gelu(x: &Tensor) -> Result<Tensor> {
    x.gelu_erf()
}
