//! Random-weight WhisperSpeech models at the published sizes, for benchmarks and the device check
//! (`ws-book debug random-models`, `scripts/gpu-check.sh`): no download, no Python.
//!
//! The tensors have the exact state-dict names and shapes the loaders read (spec §4.4, §5, §6), the stored
//! config of the published presets (T2S and S2A `tiny` 4/6, `base` 6/8, `small` 12/12, head width 64; T2S
//! ttoks_len 550, stoks_len 750, stoks_codes 513, stoks_width 64; S2A ctx_n 2250, 4 quantizers, spk_width 192;
//! Vocos `charactr/vocos-encodec-24khz`: 8 ConvNeXt blocks of 384/1152, n_fft 1280, hop 320). Weights are
//! uniform with the variance of `N(0, std²)` from a fixed seed, so two writes give the same files. The T2S
//! EOS/SOT embedding is zero, so greedy decoding runs to its length cap (throughput runs have a known length).
//!
//! Owns the random checkpoints only; never imports the engine, the worker or the store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde_json::{json, Value as Json};

use super::checkpoint::Checkpoint;
use super::t2s::N_LANGUAGES;

/// A published model size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// depth 4, 6 heads (width 384)
    Tiny,
    /// depth 6, 8 heads (width 512)
    Base,
    /// depth 12, 12 heads (width 768)
    Small,
}

impl Size {
    /// `tiny`, `base` or `small`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "tiny" => Ok(Self::Tiny),
            "base" => Ok(Self::Base),
            "small" => Ok(Self::Small),
            other => Err(format!("unknown model size `{other}`; use tiny, base or small")),
        }
    }

    /// The name as in the presets.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tiny => "tiny",
            Self::Base => "base",
            Self::Small => "small",
        }
    }

    /// `(depth, n_head)` of the preset.
    pub fn depth_heads(self) -> (usize, usize) {
        match self {
            Self::Tiny => (4, 6),
            Self::Base => (6, 8),
            Self::Small => (12, 12),
        }
    }
}

/// Deterministic uniform weights (splitmix64).
struct Weights {
    state: u64,
    tensors: BTreeMap<String, Tensor>,
    device: Device,
}

impl Weights {
    fn new(seed: u64, device: &Device) -> Self {
        Self {
            state: seed,
            tensors: BTreeMap::new(),
            device: device.clone(),
        }
    }

    fn next(&mut self) -> f32 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((z >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// Adds `name` with `shape`: uniform with standard deviation `std` (0 = zeros).
    fn add(&mut self, name: String, shape: &[usize], std: f64) -> candle_core::Result<()> {
        let n: usize = shape.iter().product();
        let a = (std * 3f64.sqrt()) as f32;
        let v: Vec<f32> = (0..n).map(|_| if a == 0.0 { 0.0 } else { self.next() * a }).collect();
        let t = Tensor::from_vec(v, shape, &self.device)?;
        self.tensors.insert(name, t);
        Ok(())
    }

    /// A linear layer `{p}.weight` `[out, inp]` (std 1/√inp) and its bias.
    fn lin(&mut self, p: &str, out: usize, inp: usize, bias: bool) -> candle_core::Result<()> {
        self.add(format!("{p}.weight"), &[out, inp], 1.0 / (inp as f64).sqrt())?;
        if bias {
            self.add(format!("{p}.bias"), &[out], 0.02)?;
        }
        Ok(())
    }

    /// A LayerNorm `{p}.weight` (about 1) and `{p}.bias`.
    fn ln(&mut self, p: &str, w: usize) -> candle_core::Result<()> {
        let ones = Tensor::ones(w, DType::F32, &self.device)?;
        self.add(format!("{p}.bias"), &[w], 0.02)?;
        self.tensors.insert(format!("{p}.weight"), ones);
        Ok(())
    }

    /// One residual block `p` of width `w` (attention, optional cross-attention, MLP; RoPE tables when `rope`).
    fn block(&mut self, p: &str, w: usize, ffn: usize, cross: bool, rope: Option<usize>) -> candle_core::Result<()> {
        let mut attns = vec!["attn"];
        if cross {
            attns.push("cross_attn");
        }
        for a in attns {
            for m in ["query", "key", "value", "out"] {
                self.lin(&format!("{p}.{a}.{m}"), w, w, m != "key")?;
            }
            self.ln(&format!("{p}.{a}_ln"), w)?;
            if let Some(hw) = rope {
                let inv: Vec<f32> = (0..hw / 2)
                    .map(|i| 1.0 / 10000f32.powf(2.0 * i as f32 / hw as f32))
                    .collect();
                let t = Tensor::from_vec(inv, hw / 2, &self.device)?;
                self.tensors.insert(format!("{p}.{a}.rotary.inv_freq"), t);
            }
        }
        self.lin(&format!("{p}.mlp.0"), w * ffn, w, true)?;
        self.lin(&format!("{p}.mlp.2"), w, w * ffn, true)?;
        self.ln(&format!("{p}.mlp_ln"), w)
    }

    fn checkpoint(self, path: &str, meta: Json) -> Checkpoint {
        Checkpoint {
            path: PathBuf::from(path),
            meta,
            tensors: self.tensors,
        }
    }
}

/// Sinusoidal positions `[l, w]` (sin half, cos half), as the reference's T2S.
fn sinusoids(l: usize, w: usize, device: &Device) -> candle_core::Result<Tensor> {
    let half = w / 2;
    let inc = (10000f64).ln() / (half as f64 - 1.0);
    let mut v = Vec::with_capacity(l * w);
    for p in 0..l {
        for j in 0..half {
            v.push((p as f64 * (-inc * j as f64).exp()).sin() as f32);
        }
        for j in 0..half {
            v.push((p as f64 * (-inc * j as f64).exp()).cos() as f32);
        }
    }
    Tensor::from_vec(v, (l, w), device)
}

/// A random T2S (`TSARTransformer`) at `size` with the stored-config shapes of spec §4.1.
pub fn t2s(size: Size, device: &Device) -> candle_core::Result<Checkpoint> {
    let (depth, n_head) = size.depth_heads();
    let (hw, ffn, tl, sl, tc, sc, sw) = (64, 4, 550, 750, 256, 513, 64);
    let w = n_head * hw;
    let enc = (2.0 * depth as f64 * 0.25) as usize;
    let mut t = Weights::new(0x7025 + depth as u64, device);
    t.add("lang_embeddings.weight".into(), &[N_LANGUAGES, w], 1.0)?;
    t.add("cps_embeddings.weight".into(), &[32, w], 1.0)?;
    t.add("encoder.embedding.main.weight".into(), &[tc, w], 1.0)?;
    t.add("embeddings.embedding.main.weight".into(), &[sc, sw], 1.0)?;
    t.lin("embeddings.embedding.emb_to_hidden", w, sw, true)?;
    t.lin("embeddings.embedding.hidden_to_emb", sw, w, true)?;
    t.add("embeddings.embedding.special.weight".into(), &[1, w], 0.0)?;
    for (p, n, cross) in [("encoder", enc, false), ("decoder", 2 * depth - enc, true)] {
        t.ln(&format!("{p}.ln_post"), w)?;
        for i in 0..n {
            t.block(&format!("{p}.layers.{i}"), w, ffn, cross, None)?;
        }
    }
    t.tensors
        .insert("encoder.positional_embedding".into(), sinusoids(tl, w, device)?);
    t.tensors
        .insert("embeddings.positional_embedding".into(), sinusoids(sl, w, device)?);
    let meta = json!({
        "format": "whisperspeech-t2s",
        "config": {"depth": depth, "n_head": n_head, "head_width": hw, "ffn_mult": ffn, "ttoks_len": tl,
                   "ttoks_codes": tc, "ttoks_width": null, "stoks_len": sl, "stoks_codes": sc, "stoks_width": sw},
        "tunables": {"padding_token_offset": 0},
    });
    Ok(t.checkpoint(&format!("<random t2s-{}>", size.name()), meta))
}

/// A random S2A (`SADelARTransformer`) at `size` with the published q4 shapes (spec §5.1).
pub fn s2a(size: Size, device: &Device) -> candle_core::Result<Checkpoint> {
    let (depth, n_head) = size.depth_heads();
    let (hw, ffn, ctx, sl, sc, sw, spk, q_n) = (64, 4, 2250, 750, 513, 64, 192, 4);
    let w = n_head * hw;
    let enc = (2.0 * depth as f64 * 0.25) as usize;
    let mut t = Weights::new(0x52a + depth as u64, device);
    t.add("semantic_embedding.weight".into(), &[sc, sw], 1.0)?;
    t.lin("emb_to_hidden", w, sw, true)?;
    for i in 0..enc {
        t.block(&format!("encoder.{i}"), w, ffn, false, Some(hw))?;
    }
    t.ln("ln_post", w)?;
    t.lin("spk_to_hidden", w, spk, true)?;
    t.add("embds.embeddings.0.special.weight".into(), &[2, w], 1.0)?;
    for q in 0..q_n {
        t.add(
            format!("embds.embeddings.{q}.main.weight"),
            &[super::s2a::CODES, w],
            1.0,
        )?;
    }
    for i in 0..2 * depth - enc {
        t.block(&format!("decoder.layers.{i}"), w, ffn, true, Some(hw))?;
    }
    t.ln("decoder.ln_post", w)?;
    t.lin("head.splitter.0", w * q_n, w, true)?;
    let meta = json!({
        "format": "whisperspeech-s2a",
        "config": {"depth": depth, "n_head": n_head, "head_width": hw, "ffn_mult": ffn, "ctx_n": ctx,
                   "stoks_len": sl, "stoks_codes": sc, "stoks_width": sw, "spk_width": spk, "quantizers": q_n},
        "tunables": {"rope": true},
    });
    Ok(t.checkpoint(&format!("<random s2a-{}>", size.name()), meta))
}

/// The Vocos `config.yaml` of [`vocos`] (the published `charactr/vocos-encodec-24khz` sizes).
pub const VOCOS_CONFIG: &str = "feature_extractor:
  class_path: vocos.feature_extractors.EncodecFeatures
  init_args:
    encodec_model: encodec_24khz
    bandwidths: [1.5, 3.0, 6.0, 12.0]
    train_codebooks: false
backbone:
  class_path: vocos.models.VocosBackbone
  init_args:
    input_channels: 128
    dim: 384
    intermediate_dim: 1152
    num_layers: 8
    adanorm_num_embeddings: 4
head:
  class_path: vocos.heads.ISTFTHead
  init_args:
    dim: 384
    n_fft: 1280
    hop_length: 320
    padding: same
";

/// A random Vocos at the published size (16 × 1024 codebook rows of 128).
pub fn vocos(device: &Device) -> candle_core::Result<Checkpoint> {
    let (ch, dim, mid, layers, ada, n_fft) = (128, 384, 1152, 8, 4, 1280);
    let mut t = Weights::new(0x70c05, device);
    t.add("feature_extractor.codebook_weights".into(), &[16 * 1024, ch], 1.0)?;
    t.add(
        "backbone.embed.weight".into(),
        &[dim, ch, 7],
        1.0 / ((ch * 7) as f64).sqrt(),
    )?;
    t.add("backbone.embed.bias".into(), &[dim], 0.02)?;
    let adanorm = |t: &mut Weights, p: &str| -> candle_core::Result<()> {
        let ones = Tensor::ones((ada, dim), DType::F32, device)?;
        t.tensors.insert(format!("{p}.scale.weight"), ones);
        t.add(format!("{p}.shift.weight"), &[ada, dim], 0.02)
    };
    adanorm(&mut t, "backbone.norm")?;
    for i in 0..layers {
        let p = format!("backbone.convnext.{i}");
        t.add(format!("{p}.dwconv.weight"), &[dim, 1, 7], 1.0 / 7f64.sqrt())?;
        t.add(format!("{p}.dwconv.bias"), &[dim], 0.02)?;
        adanorm(&mut t, &format!("{p}.norm"))?;
        t.lin(&format!("{p}.pwconv1"), mid, dim, true)?;
        t.lin(&format!("{p}.pwconv2"), dim, mid, true)?;
        t.add(format!("{p}.gamma"), &[dim], 0.1)?;
    }
    t.ln("backbone.final_layer_norm", dim)?;
    t.lin("head.out", n_fft + 2, dim, true)?;
    let hann: Vec<f32> = (0..n_fft)
        .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n_fft as f64).cos()) as f32)
        .collect();
    t.tensors
        .insert("head.istft.window".into(), Tensor::from_vec(hann, n_fft, device)?);
    Ok(t.checkpoint("<random vocos>", json!({})))
}

/// Writes a checkpoint as `path` (safetensors) and, when it has metadata, its JSON beside it.
fn save(ck: &Checkpoint, path: &Path) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());
    let map: std::collections::HashMap<&str, Tensor> =
        ck.tensors.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    candle_core::safetensors::save(&map, path).map_err(|e| err(&e))?;
    if ck.meta.as_object().is_some_and(|m| !m.is_empty()) {
        let text = serde_json::to_string_pretty(&ck.meta).map_err(|e| err(&e))?;
        std::fs::write(path.with_extension("json"), text).map_err(|e| err(&e))?;
    }
    Ok(())
}

/// Where [`write_models`] puts a size's files.
pub fn model_paths(dir: &Path, t2s: Size, s2a: Size) -> super::ModelPaths {
    super::ModelPaths {
        t2s: dir.join(format!("t2s-{}.safetensors", t2s.name())),
        s2a: dir.join(format!("s2a-{}.safetensors", s2a.name())),
        vocos: dir.join("vocos").join("model.safetensors"),
        vocos_config: None,
    }
}

/// Writes random T2S and S2A models at `sizes` and the Vocos (with its `config.yaml`) into `dir`:
/// `t2s-SIZE.safetensors` + `.json`, `s2a-SIZE.safetensors` + `.json`, `vocos/model.safetensors` +
/// `vocos/config.yaml`. Files already there are rewritten (the same bytes: the weights are seeded).
pub fn write_models(dir: &Path, sizes: &[Size]) -> Result<(), String> {
    let cpu = Device::Cpu;
    let mk = |e: candle_core::Error| format!("building random weights: {e}");
    std::fs::create_dir_all(dir.join("vocos")).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for &s in sizes {
        let p = model_paths(dir, s, s);
        save(&t2s(s, &cpu).map_err(mk)?, &p.t2s)?;
        save(&s2a(s, &cpu).map_err(mk)?, &p.s2a)?;
    }
    let p = model_paths(dir, Size::Tiny, Size::Tiny);
    save(&vocos(&cpu).map_err(mk)?, &p.vocos)?;
    let cfg = dir.join("vocos").join("config.yaml");
    std::fs::write(&cfg, VOCOS_CONFIG).map_err(|e| format!("cannot write {}: {e}", cfg.display()))
}
