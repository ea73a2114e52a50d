//! S2A: semantic → EnCodec acoustic tokens (`s2a_delar_mup_wds_mlang.SADelARTransformer`, spec §5), including
//! the conditioned variant (`s2a_delar_mup_wds_mlang_cond`, §5.7) detected from the state_dict.
//!
//! Invariants: RoPE in f32 from the stored `inv_freq` (rotate-half form), cross-attention key positions ×3;
//! the special rows (1024 = pad, 1025 = start) are one shared table; the special ids are masked out of sampling,
//! so the output only ever holds EnCodec codes 0..1023; the output of a request is `[Q][3·len(stoks) − 4]`.
//!
//! Owns the S2A model. Must never import `t2s`, `vocos` or the engine: its loader reads the stored dicts and
//! builds its blocks through the shared `stage`, `block` and `checkpoint` modules.

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::kv_cache::KvCache;
use serde_json::Value as Json;

use super::block::{self, Block, BlockShape, WeightLoader};
use super::checkpoint::{self, Checkpoint, LoadOptions};
use super::layers::{gelu, LayerNorm, Linear, ModelOptions};
use super::sampling::Sampler;
use super::stage::{self, cfg_usize, stage_error};

/// EnCodec codes per quantizer (ids `0..CODES`).
pub const CODES: usize = 1024;
/// The padding / "ignore" id (special row 0).
pub const PAD: u32 = 1024;
/// The start / not-yet-available id (special row 1).
pub const START: u32 = 1025;
/// Logit vocabulary per quantizer (codes + 2 specials).
pub const VOCAB: usize = CODES + 2;

stage_error! {
    /// Errors of the S2A stage.
    S2aError {
        model: "{path}: invalid S2A model: {msg}",
        request: "invalid S2A request {index}: {msg}",
        request_doc: "A request cannot be run (too many semantic tokens, bad speaker width, bad prompt…).",
        candle: "S2A computation failed: {0}",
    }
}

/// Result alias for this module.
pub type Result<T> = std::result::Result<T, S2aError>;

/// The constructor arguments stored in the checkpoint's `config` (`None` widths resolved to the model width).
#[derive(Debug, Clone, PartialEq)]
pub struct S2aConfig {
    /// `depth` (encoder + decoder = 2·depth layers)
    pub depth: usize,
    /// attention heads
    pub n_head: usize,
    /// width of one head
    pub head_width: usize,
    /// MLP width multiplier
    pub ffn_mult: usize,
    /// acoustic context (positions)
    pub ctx_n: usize,
    /// padded semantic length
    pub stoks_len: usize,
    /// semantic vocabulary (pad id = `stoks_codes − 1`)
    pub stoks_codes: usize,
    /// semantic embedding width
    pub stoks_width: usize,
    /// speaker embedding width
    pub spk_width: usize,
    /// acoustic embedding width
    pub atoks_width: usize,
    /// EnCodec quantizers
    pub quantizers: usize,
}

/// The inference-relevant tunables.
#[derive(Debug, Clone, PartialEq)]
pub struct S2aTunables {
    /// logit multiplier (divided by `w / base_width`)
    pub output_mult: f64,
    /// attention logit multiplier (net scale `query_mult·8/d`)
    pub query_mult: f64,
    /// encoder share of the 2·depth layers
    pub encoder_depth_ratio: f64,
    /// rotary positions (files without RoPE are the legacy pre-Dec-2023 layout, not supported)
    pub rope: bool,
    /// causal encoder
    pub causal_encoder: bool,
}

impl S2aConfig {
    /// Reads the stored `config` dict.
    pub fn from_json(v: &Json) -> std::result::Result<Self, String> {
        let get = |k: &str| cfg_usize(v, k);
        // constructor defaults of SADelARTransformer
        let n_head = get("n_head").unwrap_or(3);
        let head_width = get("head_width").unwrap_or(64);
        let w = n_head * head_width;
        let opt = |k: &str| stage::cfg_width(v, k, w);
        let c = Self {
            depth: get("depth").unwrap_or(3),
            n_head,
            head_width,
            ffn_mult: get("ffn_mult").unwrap_or(4),
            ctx_n: get("ctx_n").unwrap_or(2250),
            stoks_len: get("stoks_len").unwrap_or(750),
            stoks_codes: get("stoks_codes").unwrap_or(4097),
            stoks_width: opt("stoks_width")?,
            spk_width: opt("spk_width")?,
            atoks_width: opt("atoks_width")?,
            quantizers: get("quantizers").unwrap_or(8),
        };
        if c.n_head == 0 || c.head_width == 0 || c.head_width % 2 != 0 || c.stoks_len < 2 || c.stoks_codes < 2 {
            return Err("config has zero or odd sizes".into());
        }
        if c.quantizers == 0 || c.ctx_n < 8 {
            return Err("config has no quantizers or a tiny context".into());
        }
        Ok(c)
    }

    /// Model width `n_head·head_width`.
    pub fn width(&self) -> usize {
        self.n_head * self.head_width
    }
}

impl S2aTunables {
    /// Reads the stored `tunables`, filling missing fields with the dataclass defaults.
    pub fn from_json(v: &Json) -> Self {
        let f = |k: &str, d: f64| stage::tunable_f64(v, k, d);
        let b = |k: &str, d: bool| stage::tunable_bool(v, k, d);
        Self {
            output_mult: f("output_mult", 5.6),
            query_mult: f("query_mult", 0.3),
            encoder_depth_ratio: f("encoder_depth_ratio", 0.25),
            rope: b("rope", true),
            causal_encoder: b("causal_encoder", false),
        }
    }
}

/// One utterance: semantic tokens and a speaker embedding.
#[derive(Debug, Clone)]
pub struct S2aRequest {
    /// semantic tokens (at most `stoks_len − 1`)
    pub stoks: Vec<u32>,
    /// speaker embedding (`spk_width` floats, 192 for the published models); L2-normalised by the model
    pub speaker: Vec<f32>,
    /// sampling temperature; 0 = greedy (lowest index on a tie)
    pub temperature: f32,
    /// optional top-k
    pub top_k: Option<usize>,
    /// RNG seed of this request
    pub seed: u64,
    /// optional acoustic prompt `[Q][P]` (codes 0..1023), written with the delay pattern
    pub prompt: Option<Vec<Vec<u32>>>,
}

impl S2aRequest {
    /// A request with the reference defaults (T 0.7, no top-k, no prompt).
    pub fn new(stoks: Vec<u32>, speaker: Vec<f32>, seed: u64) -> Self {
        Self {
            stoks,
            speaker,
            temperature: 0.7,
            top_k: None,
            seed,
            prompt: None,
        }
    }
}

/// Number of acoustic frames the reference produces for `n` semantic tokens: `3·n − 4` (the 4 is hard-coded in
/// the reference, whatever the number of quantizers).
pub fn output_frames(n: usize) -> usize {
    (3 * n).saturating_sub(4)
}

/// Speaker conditioning: plain (`spk_to_hidden`) or the conditioned variant's embedding sum.
#[derive(Debug, Clone)]
enum Conditioning {
    /// `spk_to_hidden(normalize(spk))` (or the normalised speaker itself when its width is the model width)
    Speaker { proj: Option<Linear> },
    /// `lang[99] + snr[8] + c50[5] + speaker(normalize(spk))` (§5.7 with the generation defaults)
    Cond { constant: Tensor, proj: Option<Linear> },
}

/// Per-quantizer unembedding: `main_t` `[Q, atoks_width, 1024]`, optional `hidden_to_emb` (`[Q, w, atoks_width]`,
/// `[Q, 1, atoks_width]`), shared `special_t` `[w, 2]`.
#[derive(Debug, Clone)]
struct Unembed {
    main_t: Tensor,
    /// q8_0 per-quantizer `main` tables `[1024, atoks_width]` (speed mode only)
    main_q: Option<Vec<Linear>>,
    h2e: Option<(Tensor, Tensor)>,
    special_t: Tensor,
}

/// The S2A model.
#[derive(Debug, Clone)]
pub struct S2a {
    /// stored config
    pub config: S2aConfig,
    /// stored tunables
    pub tunables: S2aTunables,
    device: Device,
    dtype: DType,
    quantized: bool,
    width: usize,
    sem_emb: Tensor,
    enc_layers: Vec<Block>,
    enc_ln: LayerNorm,
    cond: Conditioning,
    /// `[Q·VOCAB, w]`: per-quantizer input tables (main projected + shared specials), stacked
    dec_emb: Tensor,
    dec_layers: Vec<Block>,
    dec_ln: LayerNorm,
    splitter: Linear,
    unembed: Unembed,
    logit_scale: f64,
}

/// The speaker conditioning: the conditioned variant's constant + optional projection when any tensor name starts
/// with `cond_embeddings.`, else the plain `spk_to_hidden` (absent when the speaker width is the model width).
fn conditioning(ld: &WeightLoader, c: &S2aConfig, w: usize, dtype: DType) -> Result<Conditioning> {
    let is_cond = ld.ck.tensors.keys().any(|k| k.starts_with("cond_embeddings."));
    let cond = if is_cond {
        let row = |name: &str, rows: usize, i: usize| -> Result<Tensor> {
            Ok(ld
                .ts(&format!("cond_embeddings.{name}.embed.weight"), &[rows, w])?
                .get(i)?)
        };
        // lang: missing (id 99 of 100); snr=60 → bin 8 of 10 (+1 missing); c50=60 → bin 5 of 6 (+1 missing)
        let constant = ((row("lang", 100, 99)? + row("snr", 11, 8)?)? + row("c50", 7, 5)?)?;
        let p = "cond_embeddings.speaker.spk_to_hidden";
        let proj = if ld.has(&format!("{p}.weight")) {
            Some(ld.lin(p, w, c.spk_width, true)?)
        } else {
            None
        };
        Conditioning::Cond {
            constant: constant.to_dtype(dtype)?,
            proj,
        }
    } else {
        let proj = if c.spk_width != w {
            Some(ld.lin("spk_to_hidden", w, c.spk_width, true)?)
        } else {
            None
        };
        Conditioning::Speaker { proj }
    };
    let spk_in = match &cond {
        Conditioning::Speaker { proj } | Conditioning::Cond { proj, .. } => proj.is_some(),
    };
    if !spk_in && c.spk_width != w {
        return Err(ld
            .err("speaker width differs from the model width but no projection is stored".into())
            .into());
    }
    Ok(cond)
}

/// The acoustic tables: the decoder's input embedding `[Q·VOCAB, w]` (per quantizer `main`, projected, then the
/// shared specials) and the unembedding computed as the reference does (q8_0 `main` tables with `quantize`).
fn acoustic_tables(
    ld: &WeightLoader,
    c: &S2aConfig,
    w: usize,
    dtype: DType,
    quantize: bool,
) -> Result<(Tensor, Unembed)> {
    let q_n = c.quantizers;
    // acoustic embeddings: per quantizer [main (projected) ; shared special]
    let special = ld.ts("embds.embeddings.0.special.weight", &[2, w])?;
    let mut ins = Vec::with_capacity(q_n);
    let mut mains = Vec::with_capacity(q_n);
    let mut h2e_ws = Vec::with_capacity(q_n);
    let mut h2e_bs = Vec::with_capacity(q_n);
    for q in 0..q_n {
        let p = format!("embds.embeddings.{q}");
        let main = ld.ts(&format!("{p}.main.weight"), &[CODES, c.atoks_width])?;
        if c.atoks_width != w {
            let e2h = ld.lin(&format!("{p}.emb_to_hidden"), w, c.atoks_width, true)?;
            h2e_ws.push(ld.ts(&format!("{p}.hidden_to_emb.weight"), &[c.atoks_width, w])?.t()?);
            h2e_bs.push(
                ld.ts(&format!("{p}.hidden_to_emb.bias"), &[c.atoks_width])?
                    .unsqueeze(0)?,
            );
            ins.push(Tensor::cat(
                &[&e2h.forward(&main.to_dtype(dtype)?)?.to_dtype(DType::F32)?, &special],
                0,
            )?);
        } else {
            ins.push(Tensor::cat(&[&main, &special], 0)?);
        }
        mains.push(main.t()?);
    }
    let dec_emb = Tensor::cat(&ins, 0)?.to_dtype(dtype)?;
    // unembedding as the reference computes it: main logits `h2e(x) @ mainᵀ`, special logits `x @ specialᵀ`
    let stack = |v: &[Tensor]| -> Result<Tensor> { Ok(Tensor::stack(v, 0)?.contiguous()?.to_dtype(dtype)?) };
    let main_q = if quantize {
        Some(
            mains
                .iter()
                .map(|m| Linear::new(m.t().and_then(|m| m.contiguous())?, None).quantize())
                .collect::<candle_core::Result<Vec<_>>>()?,
        )
    } else {
        None
    };
    let unembed = Unembed {
        main_t: stack(&mains)?,
        main_q,
        h2e: if h2e_ws.is_empty() {
            None
        } else {
            Some((stack(&h2e_ws)?, stack(&h2e_bs)?))
        },
        special_t: special.t()?.contiguous()?.to_dtype(dtype)?,
    };
    Ok((dec_emb, unembed))
}

/// Per-batch decoder state: rotated cross K/V per layer and the self-attention caches.
struct DecState {
    xkv: Vec<(Tensor, Tensor)>,
    caches: Vec<KvCache>,
    pos: usize,
}

impl S2a {
    /// Loads an S2A model from a `.model` (PyTorch zip) file or a `.safetensors` file with its `.json`
    /// (`{"format":"whisperspeech-s2a","config":…,"tunables":…}`) beside it.
    pub fn load(path: &Path, device: &Device, dtype: DType) -> Result<Self> {
        Self::load_with(path, device, ModelOptions { dtype, quantize: false })
    }

    /// [`S2a::load`] with options (q8_0 decoder, the CPU speed mode).
    pub fn load_with(path: &Path, device: &Device, opts: ModelOptions) -> Result<Self> {
        let ck = checkpoint::load(path, device, LoadOptions::default())?;
        Self::from_checkpoint_with(&ck, device, opts)
    }

    /// Builds the model from a loaded checkpoint; the conditioned variant is chosen when any tensor name starts
    /// with `cond_embeddings.`.
    pub fn from_checkpoint(ck: &Checkpoint, device: &Device, dtype: DType) -> Result<Self> {
        Self::from_checkpoint_with(ck, device, ModelOptions { dtype, quantize: false })
    }

    /// [`S2a::from_checkpoint`] with options. With `quantize`, the decoder blocks, the head's splitter and the
    /// unembedding tables run q8_0 matmuls (layers whose input width is not a multiple of 32 stay dense); the
    /// encoder, which runs once per utterance, stays in `dtype`.
    pub fn from_checkpoint_with(ck: &Checkpoint, device: &Device, opts: ModelOptions) -> Result<Self> {
        let dtype = opts.dtype;
        let ld = WeightLoader::new(ck, dtype);
        let config = S2aConfig::from_json(ck.get("config").ok_or_else(|| ld.err("no `config` entry".into()))?)
            .map_err(|m| ld.err(m))?;
        let tunables = S2aTunables::from_json(ck.get("tunables").unwrap_or(&Json::Null));
        if !tunables.rope {
            return Err(ld
                .err("legacy checkpoint without rotary positions (rope=False) is not supported".into())
                .into());
        }
        let c = &config;
        let w = c.width();
        let q_n = c.quantizers;
        let shape = BlockShape {
            width: w,
            ffn_mult: c.ffn_mult,
            head_width: c.head_width,
            scale: stage::attention_scale(tunables.query_mult, c.head_width),
            // encoder positions 0..stoks_len, decoder 0..ctx_n, cross-attention keys at 3·j
            rope_positions: Some(c.ctx_n.max(3 * c.stoks_len)),
        };
        let (enc_depth, dec_depth) = stage::layer_depths(c.depth, tunables.encoder_depth_ratio);

        let sem = ld.ts("semantic_embedding.weight", &[c.stoks_codes, c.stoks_width])?;
        let sem_emb = if c.stoks_width != w {
            ld.lin("emb_to_hidden", w, c.stoks_width, true)?
                .forward(&sem.to_dtype(dtype)?)?
        } else {
            sem.to_dtype(dtype)?
        };
        let enc_layers = ld.blocks("encoder", enc_depth, &shape, false)?;
        let enc_ln = ld.ln("ln_post", w)?;

        let cond = conditioning(&ld, c, w, dtype)?;
        let (dec_emb, unembed) = acoustic_tables(&ld, c, w, dtype, opts.quantize)?;
        let dec_layers = ld.blocks("decoder.layers", dec_depth, &shape, true)?;
        let dec_ln = ld.ln("decoder.ln_post", w)?;
        let mut dec_layers = dec_layers;
        let mut splitter = ld.lin("head.splitter.0", w * q_n, w, true)?;
        if opts.quantize {
            dec_layers = block::quantize_all(dec_layers)?;
            splitter = splitter.quantize()?;
        }
        let logit_scale = stage::logit_scale(tunables.output_mult, w, c.head_width);
        Ok(Self {
            config,
            tunables,
            device: device.clone(),
            dtype,
            quantized: opts.quantize,
            width: w,
            sem_emb,
            enc_layers,
            enc_ln,
            cond,
            dec_emb,
            dec_layers,
            dec_ln,
            splitter,
            unembed,
            logit_scale,
        })
    }

    /// Whether this is the conditioned variant (`cond_embeddings.*`).
    pub fn is_conditioned(&self) -> bool {
        matches!(self.cond, Conditioning::Cond { .. })
    }

    /// Number of quantizers.
    pub fn quantizers(&self) -> usize {
        self.config.quantizers
    }

    /// Device the model lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Weights dtype.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Whether the decoder runs the q8_0 speed mode.
    pub fn is_quantized(&self) -> bool {
        self.quantized
    }

    /// The load options this model was built with.
    pub fn options(&self) -> ModelOptions {
        ModelOptions {
            dtype: self.dtype,
            quantize: self.quantized,
        }
    }

    /// Speaker embedding width the model takes.
    pub fn speaker_width(&self) -> usize {
        self.config.spk_width
    }

    fn check(&self, index: usize, stoks: &[u32], speaker: &[f32]) -> Result<()> {
        let bad = |msg: String| Err(S2aError::Request { index, msg });
        let c = &self.config;
        if stoks.is_empty() {
            return bad("no semantic tokens".into());
        }
        if stoks.len() > c.stoks_len - 1 {
            return bad(format!(
                "{} semantic tokens; the model takes at most {}",
                stoks.len(),
                c.stoks_len - 1
            ));
        }
        if 3 * stoks.len() > c.ctx_n - 1 {
            return bad(format!(
                "{} semantic tokens exceed the acoustic context of {}",
                stoks.len(),
                c.ctx_n
            ));
        }
        if let Some(t) = stoks.iter().find(|&&t| t as usize >= c.stoks_codes) {
            return bad(format!(
                "semantic token {t} is outside the vocabulary of {}",
                c.stoks_codes
            ));
        }
        if speaker.len() != c.spk_width {
            return bad(format!(
                "speaker embedding has {} values, the model takes {}",
                speaker.len(),
                c.spk_width
            ));
        }
        if speaker.iter().any(|x| !x.is_finite()) {
            return bad("speaker embedding has non-finite values".into());
        }
        Ok(())
    }

    /// Encoder + conditioning for a batch → `[b, stoks_len, w]`.
    fn encode(&self, rows: &[(&[u32], &[f32])]) -> Result<Tensor> {
        let c = &self.config;
        let b = rows.len();
        let l = c.stoks_len;
        let pad = (c.stoks_codes - 1) as u32;
        let mut ids = Vec::with_capacity(b * l);
        let mut spk = Vec::with_capacity(b * c.spk_width);
        for (stoks, speaker) in rows {
            ids.push(pad);
            ids.extend_from_slice(stoks);
            ids.resize(ids.len() + l - 1 - stoks.len(), pad);
            // F.normalize: x / max(‖x‖, 1e-12)
            let norm = speaker
                .iter()
                .map(|&x| (x as f64) * (x as f64))
                .sum::<f64>()
                .sqrt()
                .max(1e-12);
            spk.extend(speaker.iter().map(|&x| (x as f64 / norm) as f32));
        }
        let ids = Tensor::from_vec(ids, b * l, &self.device)?;
        let mut x = self.sem_emb.index_select(&ids, 0)?.reshape((b, l, self.width))?;
        for layer in &self.enc_layers {
            x = layer.forward(&x, self.config.n_head, 0, self.tunables.causal_encoder, None, None)?;
        }
        let x = self.enc_ln.forward(&x)?;
        let spk = Tensor::from_vec(spk, (b, c.spk_width), &self.device)?.to_dtype(self.dtype)?;
        let cond = match &self.cond {
            Conditioning::Speaker { proj } => match proj {
                Some(p) => p.forward(&spk)?,
                None => spk,
            },
            Conditioning::Cond { constant, proj } => {
                let s = match proj {
                    Some(p) => p.forward(&spk)?,
                    None => spk,
                };
                s.broadcast_add(constant)?
            }
        };
        Ok(x.broadcast_add(&cond.unsqueeze(1)?)?)
    }

    fn start(&self, rows: &[(&[u32], &[f32])]) -> Result<DecState> {
        let xenc = self.encode(rows)?;
        let n = self.config.n_head;
        let kpos: Vec<usize> = (0..self.config.stoks_len).map(|j| 3 * j).collect();
        let xkv = self
            .dec_layers
            .iter()
            .map(|layer| layer.cross_kv(&xenc, n, &kpos))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let caches = self
            .dec_layers
            .iter()
            .map(|_| KvCache::new(2, self.config.ctx_n))
            .collect();
        Ok(DecState { xkv, caches, pos: 0 })
    }

    /// Feeds `grid[b][q][n]` at positions `state.pos..`; returns f32 logits `[b, Q, n, VOCAB]`.
    fn step(&self, st: &mut DecState, grid: &[Vec<Vec<u32>>]) -> Result<Tensor> {
        let b = grid.len();
        let q_n = self.config.quantizers;
        let n = grid[0][0].len();
        if st.pos + n > self.config.ctx_n {
            return Err(S2aError::Request {
                index: 0,
                msg: "acoustic context exceeded".into(),
            });
        }
        let mut ids = Vec::with_capacity(b * n * q_n);
        for row in grid {
            for p in 0..n {
                for (q, qrow) in row.iter().enumerate() {
                    ids.push((q * VOCAB) as u32 + qrow[p]);
                }
            }
        }
        let ids = Tensor::from_vec(ids, b * n * q_n, &self.device)?;
        let x = self
            .dec_emb
            .index_select(&ids, 0)?
            .reshape((b, n, q_n, self.width))?
            .sum(2)?;
        let x = block::decoder_step(&self.dec_layers, x, self.config.n_head, st.pos, &mut st.caches, &st.xkv)?;
        st.pos += n;
        let x = self.dec_ln.forward(&x)?;
        let split = gelu(&self.splitter.forward(&x)?)?; // [b, n, Q·w]
        let split = split.reshape((b * n, q_n, self.width))?.transpose(0, 1)?.contiguous()?; // [Q, b·n, w]
        let u = &self.unembed;
        let e = match &u.h2e {
            Some((w, b)) => split.matmul(w)?.broadcast_add(b)?,
            None => split.clone(),
        };
        let main = match &u.main_q {
            Some(qs) => {
                let per_q = qs
                    .iter()
                    .enumerate()
                    .map(|(q, l)| l.forward(&e.get(q)?))
                    .collect::<candle_core::Result<Vec<_>>>()?;
                Tensor::stack(&per_q, 0)?
            }
            None => e.matmul(&u.main_t)?,
        }; // [Q, b·n, 1024]
        let special = split.broadcast_matmul(&u.special_t)?; // [Q, b·n, 2]
        let logits = Tensor::cat(&[&main, &special], 2)?; // [Q, b·n, V]
        let logits = logits
            .reshape((q_n, b, n, VOCAB))?
            .transpose(0, 1)?
            .contiguous()?
            .to_dtype(DType::F32)?;
        Ok((logits * self.logit_scale)?)
    }

    /// Teacher-forced logits `[b, Q, n, 1026]` (f32) for acoustic grids `atoks[b][q][n]` (ids 0..=1025, all rows
    /// of one length, positions 0..n) given semantic tokens and a speaker per row — the parity check.
    pub fn logits(&self, stoks: &[Vec<u32>], speakers: &[Vec<f32>], atoks: &[Vec<Vec<u32>>]) -> Result<Tensor> {
        let bad = |index: usize, msg: &str| S2aError::Request { index, msg: msg.into() };
        if stoks.is_empty() || stoks.len() != speakers.len() || stoks.len() != atoks.len() {
            return Err(bad(0, "one semantic row, speaker and acoustic grid per row is needed"));
        }
        let n = atoks[0].first().map_or(0, Vec::len);
        for (i, g) in atoks.iter().enumerate() {
            self.check(i, &stoks[i], &speakers[i])?;
            if g.len() != self.config.quantizers
                || g.iter().any(|r| r.len() != n || r.iter().any(|&t| t as usize >= VOCAB))
                || n == 0
                || n > self.config.ctx_n
            {
                return Err(bad(
                    i,
                    "acoustic grid must be [Q][n] with ids < 1026, one n for all rows",
                ));
            }
        }
        let rows: Vec<(&[u32], &[f32])> = stoks
            .iter()
            .zip(speakers)
            .map(|(s, k)| (s.as_slice(), k.as_slice()))
            .collect();
        let mut st = self.start(&rows)?;
        self.step(&mut st, atoks)
    }

    /// Generates acoustic tokens `[Q][3·len(stoks) − 4]` (codes 0..1023) for a batch of requests. Requests with
    /// the same prompt length run as one batch; each samples from its own RNG, so its result does not depend on
    /// its batch mates (up to float rounding).
    pub fn generate(&self, reqs: &[S2aRequest]) -> Result<Vec<Vec<Vec<u32>>>> {
        let q_n = self.config.quantizers;
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, r) in reqs.iter().enumerate() {
            self.check(i, &r.stoks, &r.speaker)?;
            let plen = match &r.prompt {
                None => 0,
                Some(p) => {
                    let plen = p.first().map_or(0, Vec::len);
                    if p.len() != q_n || p.iter().any(|r| r.len() != plen) {
                        return Err(S2aError::Request {
                            index: i,
                            msg: format!("acoustic prompt must be [{q_n}][P]"),
                        });
                    }
                    if p.iter().flatten().any(|&t| t as usize >= CODES) {
                        return Err(S2aError::Request {
                            index: i,
                            msg: "acoustic prompt codes must be below 1024".into(),
                        });
                    }
                    if plen + 2 > 3 * r.stoks.len() {
                        return Err(S2aError::Request {
                            index: i,
                            msg: "acoustic prompt is longer than the output".into(),
                        });
                    }
                    plen
                }
            };
            groups.entry(plen).or_default().push(i);
        }
        stage::run_groups(reqs.len(), groups, |idx, plen| self.generate_group(reqs, idx, plen))
    }

    fn generate_group(&self, reqs: &[S2aRequest], idx: &[usize], plen: usize) -> Result<Vec<Vec<Vec<u32>>>> {
        let q_n = self.config.quantizers;
        let ns: Vec<usize> = idx.iter().map(|&i| 3 * reqs[i].stoks.len()).collect();
        let n_max = ns.iter().copied().max().unwrap_or(0);
        let len = n_max.max(plen + q_n + 2);
        // grid[b][q][pos], start ids everywhere, then the prompt with the delay
        let mut grid: Vec<Vec<Vec<u32>>> = idx
            .iter()
            .map(|&i| {
                let mut g = vec![vec![START; len]; q_n];
                if let Some(p) = &reqs[i].prompt {
                    for (q, row) in p.iter().enumerate() {
                        g[q][1 + q..1 + q + plen].copy_from_slice(row);
                    }
                }
                g
            })
            .collect();
        let rows: Vec<(&[u32], &[f32])> = idx
            .iter()
            .map(|&i| (reqs[i].stoks.as_slice(), reqs[i].speaker.as_slice()))
            .collect();
        let mut st = self.start(&rows)?;
        let mut samplers: Vec<Sampler> = idx
            .iter()
            .map(|&i| Sampler::new(reqs[i].temperature, reqs[i].top_k, reqs[i].seed))
            .collect();
        let mut sample_into = |grid: &mut Vec<Vec<Vec<u32>>>, logits: &Tensor, pos: usize| -> Result<()> {
            // logits [b, Q, n, V]: the last position predicts `pos`
            let n = logits.dim(2)?;
            let last = logits.narrow(2, n - 1, 1)?.squeeze(2)?.to_vec3::<f32>()?;
            for (r, rowl) in last.into_iter().enumerate() {
                for (q, mut l) in rowl.into_iter().enumerate() {
                    // the special ids are never emitted (they would index the wrong Vocos codebook row)
                    for x in &mut l[CODES..] {
                        *x = f32::NEG_INFINITY;
                    }
                    let t = samplers[r].sample(&l);
                    if q < pos && pos < len {
                        grid[r][q][pos] = t;
                    }
                }
            }
            Ok(())
        };
        let mut start = plen + 1;
        let prefill: Vec<Vec<Vec<u32>>> = grid
            .iter()
            .map(|g| g.iter().map(|r| r[..start].to_vec()).collect())
            .collect();
        let logits = self.step(&mut st, &prefill)?;
        sample_into(&mut grid, &logits, start)?;
        start += 1;
        let end = n_max.min(self.config.ctx_n - 1);
        for i in start..end {
            let feed: Vec<Vec<Vec<u32>>> = grid
                .iter()
                .map(|g| g.iter().map(|r| vec![r[i - 1]]).collect())
                .collect();
            let logits = self.step(&mut st, &feed)?;
            sample_into(&mut grid, &logits, i)?;
        }
        // un-delay: drop position 0, roll quantizer q left by q, keep N − 4 frames
        Ok(grid
            .into_iter()
            .zip(ns)
            .map(|(g, n)| {
                let frames = output_frames(n / 3);
                g.into_iter()
                    .enumerate()
                    .map(|(q, row)| {
                        let body = &row[1..n];
                        (0..frames).map(|f| body[(f + q) % body.len()]).collect()
                    })
                    .collect()
            })
            .collect())
    }
}
