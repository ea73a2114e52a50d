//! speechbrain's `ECAPA_TDNN` (spkrec-ecapa-voxceleb) in candle, eval mode, one utterance at a time.
//!
//! Tensors are `[channels, time]`. Every conv is speechbrain's `Conv1d` with "same" **reflect** padding of
//! `dilation·(k−1)/2` per side; a TDNN block is conv → ReLU → BatchNorm (running statistics, eps 1e-5).
//! Flow: TDNN(80→c0, k5) → 3 × SE-Res2Net (1×1 TDNN → Res2Net → 1×1 TDNN → squeeze-excitation → + input) →
//! `mfa` TDNN over the concatenation of the SE-Res2Net outputs → attentive statistics pooling (optionally
//! with global mean/std context) → BatchNorm → `fc` 1×1 conv → `lin_neurons` values.

use std::path::Path;

use candle_core::{DType, Device, Tensor, D};
use serde::{Deserialize, Serialize};

use crate::engine::whisperspeech::checkpoint::{self, Checkpoint, LoadOptions};

use super::SpeakerError;

type CResult<T> = candle_core::Result<T>;

/// The `ECAPA_TDNN` constructor arguments (defaults: `spkrec-ecapa-voxceleb`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EcapaConfig {
    /// Input feature size (80 mel bands).
    pub input_size: usize,
    /// Channels of block 0, the three SE-Res2Net blocks and `mfa`.
    pub channels: Vec<usize>,
    /// Kernel sizes, same layout.
    pub kernel_sizes: Vec<usize>,
    /// Dilations, same layout.
    pub dilations: Vec<usize>,
    /// Attention channels of the pooling.
    pub attention_channels: usize,
    /// Res2Net scale (chunks).
    pub res2net_scale: usize,
    /// Squeeze-excitation bottleneck.
    pub se_channels: usize,
    /// Embedding size.
    pub lin_neurons: usize,
    /// Attentive pooling sees the global mean and std.
    pub global_context: bool,
}

impl Default for EcapaConfig {
    fn default() -> Self {
        Self {
            input_size: 80,
            channels: vec![1024, 1024, 1024, 1024, 3072],
            kernel_sizes: vec![5, 3, 3, 3, 1],
            dilations: vec![1, 2, 3, 4, 1],
            attention_channels: 128,
            res2net_scale: 8,
            se_channels: 128,
            lin_neurons: 192,
            global_context: true,
        }
    }
}

struct Conv {
    w: Tensor,
    b: Tensor,
    k: usize,
    dilation: usize,
}

impl Conv {
    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let y = if self.k == 1 {
            self.w.squeeze(2)?.matmul(x)?
        } else {
            let p = self.dilation * (self.k - 1) / 2;
            let x = reflect_pad(x, p)?;
            x.unsqueeze(0)?.conv1d(&self.w, 0, 1, self.dilation, 1)?.squeeze(0)?
        };
        y.broadcast_add(&self.b.unsqueeze(1)?)
    }
}

/// Reflect padding of `p` on both sides of the time axis (`x[p..1]`, x, `x[T−2..T−1−p]`).
fn reflect_pad(x: &Tensor, p: usize) -> CResult<Tensor> {
    if p == 0 {
        return Ok(x.clone());
    }
    let t = x.dim(1)?;
    if t <= p {
        candle_core::bail!("input of {t} frames is too short for reflect padding {p}");
    }
    let idx: Vec<u32> = (0..t + 2 * p)
        .map(|i| {
            let j = i as i64 - p as i64;
            let j = if j < 0 {
                -j
            } else if j >= t as i64 {
                2 * (t as i64 - 1) - j
            } else {
                j
            };
            j as u32
        })
        .collect();
    let idx = Tensor::from_vec(idx, t + 2 * p, x.device())?;
    x.index_select(&idx, 1)
}

struct Bn {
    scale: Tensor,
    shift: Tensor,
}

impl Bn {
    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        x.broadcast_mul(&self.scale)?.broadcast_add(&self.shift)
    }
}

struct Tdnn {
    conv: Conv,
    bn: Bn,
}

impl Tdnn {
    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        self.bn.forward(&self.conv.forward(x)?.relu()?)
    }
}

struct SeRes2Net {
    shortcut: Option<Conv>,
    tdnn1: Tdnn,
    res2: Vec<Tdnn>,
    scale: usize,
    tdnn2: Tdnn,
    se1: Conv,
    se2: Conv,
}

impl SeRes2Net {
    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let residual = match &self.shortcut {
            Some(c) => c.forward(x)?,
            None => x.clone(),
        };
        let h = self.tdnn1.forward(x)?;
        let chunks = h.chunk(self.scale, 0)?;
        let mut ys: Vec<Tensor> = Vec::with_capacity(self.scale);
        for (i, xi) in chunks.iter().enumerate() {
            let y = match i {
                0 => xi.clone(),
                1 => self.res2[0].forward(xi)?,
                _ => self.res2[i - 1].forward(&(xi + &ys[i - 1])?)?,
            };
            ys.push(y);
        }
        let h = self.tdnn2.forward(&Tensor::cat(&ys, 0)?)?;
        let s = h.mean_keepdim(1)?;
        let s = self.se1.forward(&s)?.relu()?;
        let s = candle_nn::ops::sigmoid(&self.se2.forward(&s)?)?;
        h.broadcast_mul(&s)? + residual
    }
}

/// Weighted mean and std over time: `w` sums to 1 along time; std = sqrt(max(Σ w (x − μ)², 1e-12)).
fn statistics(x: &Tensor, w: &Tensor) -> CResult<(Tensor, Tensor)> {
    let mean = (x * w)?.sum_keepdim(1)?;
    let d = x.broadcast_sub(&mean)?;
    let var = (w * d.sqr()?)?.sum_keepdim(1)?;
    let std = var.clamp(1e-12f32, f32::MAX)?.sqrt()?;
    Ok((mean, std))
}

/// The speaker encoder network with its weights.
pub struct Ecapa {
    config: EcapaConfig,
    block0: Tdnn,
    blocks: Vec<SeRes2Net>,
    mfa: Tdnn,
    asp_tdnn: Tdnn,
    asp_conv: Conv,
    asp_bn: Bn,
    fc: Conv,
    device: Device,
}

struct Loader<'a> {
    ck: &'a Checkpoint,
}

impl Loader<'_> {
    fn t(&self, name: &str, shape: &[usize]) -> Result<Tensor, SpeakerError> {
        let t = self.ck.tensor(name)?;
        if t.dims() != shape {
            return Err(SpeakerError::Model {
                path: self.ck.path.clone(),
                message: format!(
                    "tensor `{name}` has shape {:?} but the config needs {shape:?} (wrong --config for this checkpoint?)",
                    t.dims()
                ),
            });
        }
        Ok(t.to_dtype(DType::F32)?)
    }

    fn conv(&self, p: &str, cin: usize, cout: usize, k: usize, dilation: usize) -> Result<Conv, SpeakerError> {
        Ok(Conv {
            w: self.t(&format!("{p}.weight"), &[cout, cin, k])?,
            b: self.t(&format!("{p}.bias"), &[cout])?,
            k,
            dilation,
        })
    }

    fn bn(&self, p: &str, c: usize) -> Result<Bn, SpeakerError> {
        let w = self.t(&format!("{p}.weight"), &[c])?;
        let b = self.t(&format!("{p}.bias"), &[c])?;
        let m = self.t(&format!("{p}.running_mean"), &[c])?;
        let v = self.t(&format!("{p}.running_var"), &[c])?;
        let scale = (w / (v + 1e-5)?.sqrt()?)?;
        let shift = (b - (&m * &scale)?)?;
        Ok(Bn {
            scale: scale.unsqueeze(1)?,
            shift: shift.unsqueeze(1)?,
        })
    }

    fn tdnn(&self, p: &str, cin: usize, cout: usize, k: usize, d: usize) -> Result<Tdnn, SpeakerError> {
        Ok(Tdnn {
            conv: self.conv(&format!("{p}.conv.conv"), cin, cout, k, d)?,
            bn: self.bn(&format!("{p}.norm.norm"), cout)?,
        })
    }
}

impl Ecapa {
    /// Loads `embedding_model.ckpt` (a torch-saved state_dict) or a `.safetensors` file with `config`.
    pub fn load(path: &Path, config: EcapaConfig, device: &Device) -> Result<Self, SpeakerError> {
        let ck = checkpoint::load(path, device, LoadOptions::default())?;
        Self::from_checkpoint(&ck, config, device)
    }

    /// Builds the network from loaded tensors, checking every shape against `config`.
    pub fn from_checkpoint(ck: &Checkpoint, config: EcapaConfig, device: &Device) -> Result<Self, SpeakerError> {
        let c = &config;
        let cfg_err = |m: String| SpeakerError::Model {
            path: ck.path.clone(),
            message: m,
        };
        if c.channels.len() != 5 || c.kernel_sizes.len() != 5 || c.dilations.len() != 5 {
            return Err(cfg_err(
                "config: channels, kernel_sizes and dilations need 5 entries each (block 0, 3 SE-Res2Net, mfa)".into(),
            ));
        }
        if c.res2net_scale < 2 || c.channels[1..4].iter().any(|ch| ch % c.res2net_scale != 0) {
            return Err(cfg_err(format!(
                "config: res2net_scale {} must be ≥ 2 and divide the SE-Res2Net channels {:?}",
                c.res2net_scale,
                &c.channels[1..4]
            )));
        }
        let l = Loader { ck };
        let block0 = l.tdnn(
            "blocks.0",
            c.input_size,
            c.channels[0],
            c.kernel_sizes[0],
            c.dilations[0],
        )?;
        let mut blocks = Vec::new();
        for i in 1..4 {
            let (cin, cout) = (c.channels[i - 1], c.channels[i]);
            let p = format!("blocks.{i}");
            let shortcut = if cin != cout {
                Some(l.conv(&format!("{p}.shortcut.conv"), cin, cout, 1, 1)?)
            } else {
                None
            };
            let hidden = cout / c.res2net_scale;
            let res2 = (0..c.res2net_scale - 1)
                .map(|j| {
                    l.tdnn(
                        &format!("{p}.res2net_block.blocks.{j}"),
                        hidden,
                        hidden,
                        c.kernel_sizes[i],
                        c.dilations[i],
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            blocks.push(SeRes2Net {
                shortcut,
                tdnn1: l.tdnn(&format!("{p}.tdnn1"), cin, cout, 1, 1)?,
                res2,
                scale: c.res2net_scale,
                tdnn2: l.tdnn(&format!("{p}.tdnn2"), cout, cout, 1, 1)?,
                se1: l.conv(&format!("{p}.se_block.conv1.conv"), cout, c.se_channels, 1, 1)?,
                se2: l.conv(&format!("{p}.se_block.conv2.conv"), c.se_channels, cout, 1, 1)?,
            });
        }
        let cat = c.channels[3] * 3;
        let ch = c.channels[4];
        let mfa = l.tdnn("mfa", cat, ch, c.kernel_sizes[4], c.dilations[4])?;
        let att_in = if c.global_context { ch * 3 } else { ch };
        let asp_tdnn = l.tdnn("asp.tdnn", att_in, c.attention_channels, 1, 1)?;
        let asp_conv = l.conv("asp.conv.conv", c.attention_channels, ch, 1, 1)?;
        let asp_bn = l.bn("asp_bn.norm", ch * 2)?;
        let fc = l.conv("fc.conv", ch * 2, c.lin_neurons, 1, 1)?;
        Ok(Self {
            config,
            block0,
            blocks,
            mfa,
            asp_tdnn,
            asp_conv,
            asp_bn,
            fc,
            device: device.clone(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EcapaConfig {
        &self.config
    }

    /// Embeds normalised features (`frames × input_size`, row-major): the raw `lin_neurons` vector.
    pub fn embed(&self, feats: &[f32], frames: usize) -> Result<Vec<f32>, SpeakerError> {
        let x = Tensor::from_slice(feats, (frames, self.config.input_size), &self.device)?
            .t()?
            .contiguous()?;
        Ok(self.forward(&x)?.to_vec1::<f32>()?)
    }

    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let mut x = self.block0.forward(x)?;
        let mut outs = Vec::with_capacity(3);
        for b in &self.blocks {
            x = b.forward(&x)?;
            outs.push(x.clone());
        }
        let x = self.mfa.forward(&Tensor::cat(&outs, 0)?)?;
        let t = x.dim(1)?;
        let attn_in = if self.config.global_context {
            let uniform = Tensor::full(1.0 / t as f32, (1, t), x.device())?;
            let (mean, std) = statistics(&x, &uniform.broadcast_as(x.shape())?)?;
            Tensor::cat(
                &[x.clone(), mean.broadcast_as(x.shape())?, std.broadcast_as(x.shape())?],
                0,
            )?
        } else {
            x.clone()
        };
        let a = self.asp_conv.forward(&self.asp_tdnn.forward(&attn_in)?.tanh()?)?;
        let w = candle_nn::ops::softmax(&a, D::Minus1)?;
        let (mean, std) = statistics(&x, &w)?;
        let pooled = Tensor::cat(&[mean, std], 0)?;
        let pooled = self.asp_bn.forward(&pooled)?;
        self.fc.forward(&pooled)?.squeeze(1)
    }
}
