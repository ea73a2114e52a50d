//! Vocos, EnCodec-token variant (`charactr/vocos-encodec-24khz`, spec §6): EnCodec codes → 24 kHz mono waveform.
//!
//! Invariants: features are the sum of the stacked codebook rows `k·1024 + code_k` with `bandwidth_id` from the
//! number of quantizers (2 → 0, 4 → 1, 8 → 2); the ISTFT uses the window stored in the file, `irfft` with 1/N,
//! "same" padding (trim `(n_fft − hop)/2` at both ends) and window-envelope normalisation, so the output has
//! exactly `hop·L` samples. The waveform is not clipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde_json::Value as Json;

use super::checkpoint::{self, Checkpoint, CheckpointError, LoadOptions};
use super::istft::Istft;
use super::layers::{gelu, Linear};
use super::vocos_cpu::{self, CpuNet};

/// Output sample rate of the EnCodec 24 kHz Vocos.
pub const SAMPLE_RATE: u32 = 24_000;

/// Errors of the vocoder.
#[derive(Debug, thiserror::Error)]
pub enum VocosError {
    /// The weights could not be read.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The config file could not be read or parsed.
    #[error("{path}: {msg}")]
    Config {
        /// the config file
        path: PathBuf,
        /// what is wrong
        msg: String,
    },
    /// The weights do not match the config.
    #[error("{path}: invalid Vocos model: {msg}")]
    Model {
        /// the weights file
        path: String,
        /// what is wrong
        msg: String,
    },
    /// The codes cannot be decoded.
    #[error("invalid Vocos input: {0}")]
    Input(String),
    /// A tensor operation failed.
    #[error("Vocos computation failed: {0}")]
    Candle(#[from] candle_core::Error),
}

/// Result alias for this module.
pub type Result<T> = std::result::Result<T, VocosError>;

/// The architecture sizes from `config.yaml` (the `backbone` and `head` `init_args`).
#[derive(Debug, Clone, PartialEq)]
pub struct VocosConfig {
    /// feature width (EnCodec codebook dim, 128)
    pub input_channels: usize,
    /// backbone width
    pub dim: usize,
    /// ConvNeXt MLP width
    pub intermediate_dim: usize,
    /// ConvNeXt blocks
    pub num_layers: usize,
    /// AdaLayerNorm conditions (bandwidths)
    pub adanorm_num_embeddings: usize,
    /// FFT size
    pub n_fft: usize,
    /// hop (samples per code frame)
    pub hop_length: usize,
}

impl Default for VocosConfig {
    /// The published `charactr/vocos-encodec-24khz` sizes.
    fn default() -> Self {
        Self {
            input_channels: 128,
            dim: 384,
            intermediate_dim: 1152,
            num_layers: 8,
            adanorm_num_embeddings: 4,
            n_fft: 1280,
            hop_length: 320,
        }
    }
}

impl VocosConfig {
    /// Reads the Vocos `config.yaml` layout (`backbone.init_args`, `head.init_args`), YAML or JSON by extension
    /// (`.json` → JSON, anything else YAML).
    pub fn from_file(path: &Path) -> Result<Self> {
        let cerr = |msg: String| VocosError::Config {
            path: path.to_path_buf(),
            msg,
        };
        let text = std::fs::read_to_string(path).map_err(|e| cerr(format!("cannot read: {e}")))?;
        let v: Json = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| cerr(format!("bad JSON: {e}")))?
        } else {
            serde_saphyr::from_str(&text).map_err(|e| cerr(format!("bad YAML: {e}")))?
        };
        Self::from_json(&v).map_err(cerr)
    }

    /// Reads the config from its parsed form; missing fields take the published values.
    pub fn from_json(v: &Json) -> std::result::Result<Self, String> {
        let d = Self::default();
        let get = |sec: &str, k: &str, def: usize| -> std::result::Result<usize, String> {
            match v.get(sec).and_then(|s| s.get("init_args")).and_then(|a| a.get(k)) {
                None => Ok(def),
                Some(x) => x
                    .as_u64()
                    .map(|x| x as usize)
                    .ok_or_else(|| format!("{sec}.init_args.{k} is not a number")),
            }
        };
        if let Some(p) = v
            .get("head")
            .and_then(|s| s.get("init_args"))
            .and_then(|a| a.get("padding"))
            .and_then(Json::as_str)
        {
            if p != "same" {
                return Err(format!("head padding `{p}` is not supported (only \"same\")"));
            }
        }
        let c = Self {
            input_channels: get("backbone", "input_channels", d.input_channels)?,
            dim: get("backbone", "dim", d.dim)?,
            intermediate_dim: get("backbone", "intermediate_dim", d.intermediate_dim)?,
            num_layers: get("backbone", "num_layers", d.num_layers)?,
            adanorm_num_embeddings: get("backbone", "adanorm_num_embeddings", d.adanorm_num_embeddings)?,
            n_fft: get("head", "n_fft", d.n_fft)?,
            hop_length: get("head", "hop_length", d.hop_length)?,
        };
        if c.dim == 0 || c.input_channels == 0 || c.n_fft < 2 || !c.n_fft.is_multiple_of(2) || c.hop_length == 0 {
            return Err("config has zero or odd sizes".into());
        }
        if c.hop_length > c.n_fft || !(c.n_fft - c.hop_length).is_multiple_of(2) {
            return Err("n_fft − hop_length must be even and non-negative".into());
        }
        if get("head", "dim", c.dim)? != c.dim {
            return Err("head dim differs from backbone dim".into());
        }
        Ok(c)
    }
}

#[derive(Debug, Clone)]
struct AdaNorm {
    scale: Tensor,
    shift: Tensor,
}

#[derive(Debug, Clone)]
struct ConvNeXt {
    dw_w: Tensor,
    dw_b: Tensor,
    norm: AdaNorm,
    pw1: Linear,
    pw2: Linear,
    gamma: Tensor,
}

/// The weights, in the layout of the path that runs them.
#[derive(Debug, Clone)]
enum Net {
    /// candle tensor ops on the model's device (GPU; the reference path on the CPU in tests)
    Tensor(Box<TensorNet>),
    /// fused passes over channel-last buffers (CPU, see `vocos_cpu`)
    Cpu(Box<CpuNet>),
}

/// The weights as candle tensors.
#[derive(Debug, Clone)]
struct TensorNet {
    codebooks: Tensor,
    embed_w: Tensor,
    embed_b: Tensor,
    norm: AdaNorm,
    blocks: Vec<ConvNeXt>,
    final_w: Tensor,
    final_b: Tensor,
    out: Linear,
}

/// The Vocos vocoder.
#[derive(Debug, Clone)]
pub struct Vocos {
    /// architecture sizes
    pub config: VocosConfig,
    device: Device,
    codebook_rows: usize,
    net: Net,
    istft: Istft,
}

/// AdaLayerNorm: `layer_norm` (eps) with the condition's scale and shift rows as its weight and bias.
fn ada_norm(x: &Tensor, n: &AdaNorm, id: usize, eps: f32) -> candle_core::Result<Tensor> {
    candle_nn::ops::layer_norm(&x.contiguous()?, &n.scale.get(id)?, &n.shift.get(id)?, eps)
}

/// Depthwise conv1d, kernel `k` (odd), zero "same" padding: `x` `[b, c, l]`, `w` `[c, k]`, `b` `[c]`.
fn depthwise(x: &Tensor, w: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    let (_, c, l) = x.dims3()?;
    let k = w.dim(1)?;
    let xp = x.pad_with_zeros(2, k / 2, k / 2)?;
    let mut acc = b.reshape((1, c, 1))?.broadcast_as(x.shape())?.contiguous()?;
    for t in 0..k {
        let wt = w.narrow(1, t, 1)?.reshape((1, c, 1))?;
        acc = (acc + xp.narrow(2, t, l)?.broadcast_mul(&wt)?)?;
    }
    Ok(acc)
}

impl Vocos {
    /// Loads the weights (`pytorch_model.bin` plain state_dict, or `.safetensors`) and the config
    /// (`config` or, by default, `config.yaml` — else `config.json` — beside the weights).
    pub fn load(weights: &Path, config: Option<&Path>, device: &Device) -> Result<Self> {
        let cfg_path = match config {
            Some(p) => p.to_path_buf(),
            None => {
                let dir = weights.parent().unwrap_or(Path::new("."));
                let yaml = dir.join("config.yaml");
                if yaml.exists() {
                    yaml
                } else {
                    dir.join("config.json")
                }
            }
        };
        let cfg = VocosConfig::from_file(&cfg_path)?;
        let ck = checkpoint::load(weights, device, LoadOptions::default())?;
        Self::from_checkpoint(&ck, cfg, device)
    }

    /// Builds the vocoder from loaded weights and a config: on the CPU the fused fast path, elsewhere candle ops.
    pub fn from_checkpoint(ck: &Checkpoint, config: VocosConfig, device: &Device) -> Result<Self> {
        Self::build(ck, config, device, device.is_cpu())
    }

    /// Builds the vocoder with candle tensor ops whatever the device (the reference for the CPU fast path).
    #[cfg(test)]
    fn from_checkpoint_tensor_ops(ck: &Checkpoint, config: VocosConfig, device: &Device) -> Result<Self> {
        Self::build(ck, config, device, false)
    }

    fn build(ck: &Checkpoint, config: VocosConfig, device: &Device, fast: bool) -> Result<Self> {
        let merr = |msg: String| VocosError::Model {
            path: ck.path.display().to_string(),
            msg,
        };
        let ts = |name: &str, dims: &[usize]| -> Result<Tensor> {
            let t = ck.tensor(name)?.to_dtype(DType::F32)?;
            if t.dims() != dims {
                return Err(merr(format!(
                    "{name} has shape {:?}, the config implies {dims:?}",
                    t.dims()
                )));
            }
            Ok(t)
        };
        let c = &config;
        let codebooks = ck.tensor("feature_extractor.codebook_weights")?.to_dtype(DType::F32)?;
        let (rows, width) = codebooks.dims2()?;
        if width != c.input_channels || rows % 1024 != 0 || rows == 0 {
            return Err(merr(format!(
                "feature_extractor.codebook_weights has shape [{rows}, {width}], expected [k·1024, {}]",
                c.input_channels
            )));
        }
        let ada = |p: &str| -> Result<AdaNorm> {
            Ok(AdaNorm {
                scale: ts(&format!("{p}.scale.weight"), &[c.adanorm_num_embeddings, c.dim])?,
                shift: ts(&format!("{p}.shift.weight"), &[c.adanorm_num_embeddings, c.dim])?,
            })
        };
        let lin = |p: &str, o: usize, i: usize| -> Result<Linear> {
            Ok(Linear::new(
                ts(&format!("{p}.weight"), &[o, i])?,
                Some(ts(&format!("{p}.bias"), &[o])?),
            ))
        };
        let blocks = (0..c.num_layers)
            .map(|i| -> Result<ConvNeXt> {
                let p = format!("backbone.convnext.{i}");
                Ok(ConvNeXt {
                    dw_w: ts(&format!("{p}.dwconv.weight"), &[c.dim, 1, 7])?.squeeze(1)?,
                    dw_b: ts(&format!("{p}.dwconv.bias"), &[c.dim])?,
                    norm: ada(&format!("{p}.norm"))?,
                    pw1: lin(&format!("{p}.pwconv1"), c.intermediate_dim, c.dim)?,
                    pw2: lin(&format!("{p}.pwconv2"), c.dim, c.intermediate_dim)?,
                    gamma: ts(&format!("{p}.gamma"), &[c.dim])?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if ck
            .tensors
            .contains_key(&format!("backbone.convnext.{}.gamma", c.num_layers))
        {
            return Err(merr(format!(
                "the file has more than the configured {} ConvNeXt blocks",
                c.num_layers
            )));
        }
        let window = ts("head.istft.window", &[c.n_fft])?.to_vec1::<f32>()?;
        let tn = TensorNet {
            codebooks,
            embed_w: ts("backbone.embed.weight", &[c.dim, c.input_channels, 7])?,
            embed_b: ts("backbone.embed.bias", &[c.dim])?,
            norm: ada("backbone.norm")?,
            blocks,
            final_w: ts("backbone.final_layer_norm.weight", &[c.dim])?,
            final_b: ts("backbone.final_layer_norm.bias", &[c.dim])?,
            out: lin("head.out", c.n_fft + 2, c.dim)?,
        };
        let net = if fast {
            Net::Cpu(Box::new(tn.to_cpu_net()?))
        } else {
            Net::Tensor(Box::new(tn))
        };
        Ok(Self {
            config: config.clone(),
            device: device.clone(),
            codebook_rows: rows,
            net,
            istft: Istft::new(window, c.hop_length),
        })
    }

    /// Output sample rate (24 kHz).
    pub fn sample_rate(&self) -> u32 {
        SAMPLE_RATE
    }

    /// Device the model lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Decodes code grids `codes[b][Q][L]` (EnCodec codes 0..1023; Q ∈ {2, 4, 8, 16}, EnCodec's 1.5 / 3 / 6 /
    /// 12 kbps) into waveforms of `hop·L` samples each. Rows of equal length run as one batch.
    pub fn decode(&self, codes: &[Vec<Vec<u32>>]) -> Result<Vec<Vec<f32>>> {
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, g) in codes.iter().enumerate() {
            let l = g.first().map_or(0, Vec::len);
            groups.entry(l).or_default().push(i);
        }
        let mut out = vec![Vec::new(); codes.len()];
        for (l, idx) in groups {
            if l == 0 {
                continue;
            }
            let batch: Vec<&Vec<Vec<u32>>> = idx.iter().map(|&i| &codes[i]).collect();
            for (i, audio) in idx.into_iter().zip(self.decode_batch(&batch, l)?) {
                out[i] = audio;
            }
        }
        Ok(out)
    }

    fn decode_batch(&self, codes: &[&Vec<Vec<u32>>], l: usize) -> Result<Vec<Vec<f32>>> {
        let q_n = codes[0].len();
        let bandwidth_id = match q_n {
            2 => 0,
            4 => 1,
            8 => 2,
            16 => 3,
            q => return Err(VocosError::Input(format!("{q} quantizers; Vocos takes 2, 4, 8 or 16"))),
        };
        if bandwidth_id >= self.config.adanorm_num_embeddings || q_n * 1024 > self.codebook_rows {
            return Err(VocosError::Input(format!(
                "{q_n} quantizers exceed the model's codebooks"
            )));
        }
        let b = codes.len();
        let mut ids = Vec::with_capacity(b * l * q_n);
        for g in codes {
            if g.len() != q_n || g.iter().any(|r| r.len() != l) {
                return Err(VocosError::Input("code grids must be [Q][L] with one Q".into()));
            }
            for p in 0..l {
                for (q, row) in g.iter().enumerate() {
                    let t = row[p];
                    if t >= 1024 {
                        return Err(VocosError::Input(format!("code {t} is not an EnCodec code (0..1023)")));
                    }
                    ids.push((q * 1024) as u32 + t);
                }
            }
        }
        match &self.net {
            Net::Cpu(net) => {
                let mut frames = net.forward(&ids, q_n, l, bandwidth_id);
                Ok(self.istft.run(&mut frames, Some(&net.out_b), l))
            }
            Net::Tensor(net) => {
                let mut frames = net.forward(ids, b, l, q_n, bandwidth_id, self.config.input_channels)?;
                Ok(self.istft.run(&mut frames, None, l))
            }
        }
    }
}

impl TensorNet {
    /// The same weights in the CPU fast path's layouts.
    fn to_cpu_net(&self) -> candle_core::Result<CpuNet> {
        let ada = |n: &AdaNorm| vocos_cpu::AdaRows::new(&n.scale, &n.shift);
        let dense = |l: &Linear| -> candle_core::Result<(Tensor, Tensor)> {
            match l {
                Linear::Dense { w, b: Some(b) } => Ok((w.clone(), b.clone())),
                _ => Err(candle_core::Error::Msg(
                    "Vocos linear layers are dense with a bias".into(),
                )),
            }
        };
        let blocks = self
            .blocks
            .iter()
            .map(|blk| {
                let (w1, b1) = dense(&blk.pw1)?;
                let (w2, b2) = dense(&blk.pw2)?;
                vocos_cpu::Block::new(&blk.dw_w, &blk.dw_b, ada(&blk.norm)?, &w1, &b1, &w2, &b2, &blk.gamma)
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let (out_w, out_b) = dense(&self.out)?;
        CpuNet::new(
            &self.codebooks,
            &self.embed_w,
            &self.embed_b,
            ada(&self.norm)?,
            blocks,
            &self.final_w,
            &self.final_b,
            &out_w,
            &out_b,
        )
    }

    /// The backbone and head (with bias) with candle ops: frames `[b·l, n_fft + 2]`, flattened.
    fn forward(
        &self,
        ids: Vec<u32>,
        b: usize,
        l: usize,
        q_n: usize,
        bandwidth_id: usize,
        c: usize,
    ) -> Result<Vec<f32>> {
        let device = self.codebooks.device();
        let ids = Tensor::from_vec(ids, b * l * q_n, device)?;
        let feats = self.codebooks.index_select(&ids, 0)?.reshape((b, l, q_n, c))?.sum(2)?; // [b, L, C]
        let x = feats.transpose(1, 2)?.contiguous()?; // [b, C, L]
        let x = x
            .conv1d(&self.embed_w, 3, 1, 1, 1)?
            .broadcast_add(&self.embed_b.reshape((1, (), 1))?)?;
        let x = ada_norm(&x.transpose(1, 2)?, &self.norm, bandwidth_id, 1e-6)?;
        let mut x = x.transpose(1, 2)?.contiguous()?; // [b, dim, L]
        for blk in &self.blocks {
            let h = depthwise(&x, &blk.dw_w, &blk.dw_b)?.transpose(1, 2)?;
            let h = ada_norm(&h, &blk.norm, bandwidth_id, 1e-6)?;
            let h = blk.pw2.forward(&gelu(&blk.pw1.forward(&h)?)?)?;
            let h = h.broadcast_mul(&blk.gamma)?.transpose(1, 2)?;
            x = (x + h)?;
        }
        let x = candle_nn::ops::layer_norm(&x.transpose(1, 2)?.contiguous()?, &self.final_w, &self.final_b, 1e-6)?;
        let spec = self.out.forward(&x)?.to_dtype(DType::F32)?; // [b, L, n_fft + 2]
        Ok(spec.flatten_all()?.to_vec1::<f32>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Checkpoint {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/whisperspeech/vocos_tiny/pytorch_model.bin");
        checkpoint::load(&p, &Device::Cpu, LoadOptions::default()).unwrap()
    }

    fn config() -> VocosConfig {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/whisperspeech/vocos_tiny/config.yaml");
        VocosConfig::from_file(&p).unwrap()
    }

    /// A pseudo-random code grid `[q][l]`.
    fn grid(q: usize, l: usize, seed: usize) -> Vec<Vec<u32>> {
        (0..q)
            .map(|k| {
                (0..l)
                    .map(|f| ((37 * f + 101 * k + 613 * seed) % 1024) as u32)
                    .collect()
            })
            .collect()
    }

    fn max_rel(got: &[f32], want: &[f32]) -> f32 {
        assert_eq!(got.len(), want.len());
        let peak = want.iter().fold(0f32, |m, x| m.max(x.abs()));
        assert!(peak > 0.0, "silent reference");
        got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max) / peak
    }

    #[test]
    fn cpu_fast_path_matches_candle_ops() {
        let ck = fixture();
        let fast = Vocos::from_checkpoint(&ck, config(), &Device::Cpu).unwrap();
        let ops = Vocos::from_checkpoint_tensor_ops(&ck, config(), &Device::Cpu).unwrap();
        assert!(matches!(fast.net, Net::Cpu(_)) && matches!(ops.net, Net::Tensor(_)));
        // every bandwidth; lengths shorter than the depthwise kernel, one frame, and rows of unequal length
        for q in [2, 4, 8, 16] {
            let codes = vec![
                grid(q, 1, 0),
                grid(q, 3, 1),
                grid(q, 40, 2),
                grid(q, 40, 3),
                grid(q, 97, 4),
            ];
            let (a, b) = (fast.decode(&codes).unwrap(), ops.decode(&codes).unwrap());
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                assert_eq!(x.len(), 320 * codes[i][0].len());
                let e = max_rel(x, y);
                assert!(
                    e <= 1e-5,
                    "q {q} row {i}: fast path differs from candle ops by {e:e} of the peak"
                );
            }
        }
    }

    #[test]
    fn cpu_fast_path_row_does_not_depend_on_batch_or_threads() {
        let v = Vocos::from_checkpoint(&fixture(), config(), &Device::Cpu).unwrap();
        let codes: Vec<_> = (0..5).map(|s| grid(4, 60, s)).collect();
        let batch = v.decode(&codes).unwrap();
        let alone = v.decode(&codes[3..4]).unwrap();
        assert_eq!(
            batch[3], alone[0],
            "a row decoded in a batch differs from the row alone"
        );
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let serial = one.install(|| v.decode(&codes)).unwrap();
        assert_eq!(batch, serial, "the output depends on the thread count");
        assert_ne!(batch[0], batch[1], "different codes gave the same audio");
    }
}
