//! T2S: text → semantic tokens (`t2s_up_wds_mlang_enclm.TSARTransformer`, spec §4).
//!
//! Built only from the stored `config`/`tunables`. The decoder runs with a KV cache for self-attention and
//! cross-attention K/V computed once per utterance; several requests run as one batch, each row stopping
//! at its own EOS and sampling from its own seeded RNG.
//!
//! Owns the T2S model. Must never import `s2a`, `vocos` or the engine: its loader reads the stored dicts and
//! builds its blocks through the shared `stage`, `block` and `checkpoint` modules.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::kv_cache::KvCache;
use serde_json::Value as Json;

use super::block::{self, Block, BlockShape, WeightLoader};
use super::checkpoint::{self, Checkpoint, LoadOptions};
use super::layers::{LayerNorm, Linear, ModelOptions};
use super::sampling::Sampler;
use super::stage::{self, cfg_usize, stage_error};

/// Number of language-embedding rows (WhisperSpeech's 99 languages).
pub const N_LANGUAGES: usize = 99;

stage_error! {
    /// Errors of the T2S stage.
    T2sError {
        model: "{path}: invalid T2S model: {msg}",
        request: "invalid T2S request {index}: {msg}",
        request_doc: "A request cannot be run (text too long, unknown language id, bad prompt token…).",
        candle: "T2S computation failed: {0}",
    }
}

/// Result alias for this module.
pub type Result<T> = std::result::Result<T, T2sError>;

/// The constructor arguments stored in the checkpoint's `config`.
#[derive(Debug, Clone, PartialEq)]
pub struct T2sConfig {
    /// `depth` (encoder + decoder layers = 2·depth)
    pub depth: usize,
    /// attention heads
    pub n_head: usize,
    /// width of one head (model width = n_head·head_width)
    pub head_width: usize,
    /// MLP width multiplier
    pub ffn_mult: usize,
    /// padded text length
    pub ttoks_len: usize,
    /// text vocabulary (256 bytes)
    pub ttoks_codes: usize,
    /// text embedding width (= model width when `None` in the file)
    pub ttoks_width: usize,
    /// semantic-token context (output cap is `stoks_len − 1`)
    pub stoks_len: usize,
    /// semantic codes (the vocabulary is `stoks_codes + 1`)
    pub stoks_codes: usize,
    /// semantic embedding width (= model width when `None`)
    pub stoks_width: usize,
}

/// The inference-relevant tunables (`Tunables.upgrade` defaults applied).
#[derive(Debug, Clone, PartialEq)]
pub struct T2sTunables {
    /// logit multiplier (divided by `w / base_width`)
    pub output_mult: f64,
    /// attention logit multiplier (scale `query_mult·8/d`)
    pub query_mult: f64,
    /// encoder share of the 2·depth layers
    pub encoder_depth_ratio: f64,
    /// causal text encoder
    pub causal_encoder: bool,
    /// cps conditioning present
    pub cps_input: bool,
    /// number of cps bins
    pub cps_bins: usize,
    /// SOT/EOS = `stoks_codes + padding_token_offset` (−1 for old files without the field)
    pub padding_token_offset: i64,
}

/// Why a row stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stop {
    /// the model produced EOS
    Eos,
    /// the length cap (`stoks_len − 1` minus the prompt, or `max_tokens`) was reached
    Cap,
}

/// One utterance to generate.
#[derive(Debug, Clone)]
pub struct T2sRequest {
    /// text runs with their language ids (`ws_book::lang::id`); several runs = code-switching
    pub runs: Vec<(String, usize)>,
    /// speaking rate in characters per second (reference default 15)
    pub cps: f32,
    /// sampling temperature; 0 = greedy
    pub temperature: f32,
    /// optional top-k
    pub top_k: Option<usize>,
    /// RNG seed of this request
    pub seed: u64,
    /// optional cap below the model's `stoks_len − 1 − prompt length`
    pub max_tokens: Option<usize>,
    /// optional semantic-token prompt (continuation); not repeated in the output
    pub prompt: Option<Vec<u32>>,
}

impl T2sRequest {
    /// A single-language request with the reference defaults (cps 15, T 0.7, no top-k).
    pub fn new(text: impl Into<String>, lang_id: usize, seed: u64) -> Self {
        Self {
            runs: vec![(text.into(), lang_id)],
            cps: 15.0,
            temperature: 0.7,
            top_k: None,
            seed,
            max_tokens: None,
            prompt: None,
        }
    }
}

/// The generated semantic tokens of one request (without SOT, prompt and EOS).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct T2sOutput {
    /// semantic tokens
    pub tokens: Vec<u32>,
    /// why generation stopped
    pub stop: Stop,
}

/// Load options (the shared [`ModelOptions`]).
pub type T2sOptions = ModelOptions;

/// The T2S model.
#[derive(Debug, Clone)]
pub struct T2s {
    /// stored config
    pub config: T2sConfig,
    /// stored tunables (upgraded)
    pub tunables: T2sTunables,
    device: Device,
    dtype: DType,
    quantized: bool,
    width: usize,
    lang_emb: Tensor,
    cps_emb: Option<Tensor>,
    enc_emb: Tensor,
    enc_pos: Tensor,
    enc_layers: Vec<Block>,
    enc_ln: LayerNorm,
    dec_emb: Tensor,
    dec_pos: Tensor,
    dec_layers: Vec<Block>,
    dec_ln: LayerNorm,
    unembed: Linear,
    logit_scale: f64,
}

impl T2sConfig {
    /// Reads the stored `config` dict; `None` widths mean the model width.
    pub fn from_json(v: &Json) -> std::result::Result<Self, String> {
        let need = |k: &str| cfg_usize(v, k).ok_or_else(|| format!("config.{k} is missing or not a number"));
        let n_head = need("n_head")?;
        let head_width = need("head_width")?;
        let w = n_head * head_width;
        let opt = |k: &str| stage::cfg_width(v, k, w);
        let c = Self {
            depth: need("depth")?,
            n_head,
            head_width,
            ffn_mult: need("ffn_mult")?,
            ttoks_len: need("ttoks_len")?,
            ttoks_codes: need("ttoks_codes")?,
            ttoks_width: opt("ttoks_width")?,
            stoks_len: need("stoks_len")?,
            stoks_codes: need("stoks_codes")?,
            stoks_width: opt("stoks_width")?,
        };
        if c.n_head == 0 || c.head_width == 0 || c.ttoks_len < 2 || c.stoks_len < 2 || c.stoks_codes == 0 {
            return Err("config has zero sizes".into());
        }
        Ok(c)
    }

    /// Model width `n_head·head_width`.
    pub fn width(&self) -> usize {
        self.n_head * self.head_width
    }
}

impl T2sTunables {
    /// Reads the stored `tunables`, filling missing fields like `Tunables.upgrade` + the dataclass defaults.
    pub fn from_json(v: &Json) -> Self {
        let f = |k: &str, d: f64| stage::tunable_f64(v, k, d);
        let b = |k: &str, d: bool| stage::tunable_bool(v, k, d);
        Self {
            output_mult: f("output_mult", 0.35),
            query_mult: f("query_mult", 1.0),
            encoder_depth_ratio: f("encoder_depth_ratio", 0.25),
            causal_encoder: b("causal_encoder", true),
            cps_input: b("cps_input", true),
            cps_bins: cfg_usize(v, "cps_bins").unwrap_or(32),
            // the old default of `Tunables.upgrade`
            padding_token_offset: v.get("padding_token_offset").and_then(Json::as_i64).unwrap_or(-1),
        }
    }
}

/// Byte tokens and per-position language ids for a request, padded to `ttoks_len`: `[0] + bytes + 0…`,
/// every byte carrying its run's language, the start and padding positions the first run's language.
/// Each run is `strip()`ped separately, as the reference tokenizer does. Text that does not fit is an error.
pub fn encode_text(runs: &[(String, usize)], ttoks_len: usize) -> std::result::Result<(Vec<u32>, Vec<u32>), String> {
    let Some(first) = runs.first() else {
        return Err("no text".into());
    };
    let lang0 = first.1 as u32;
    let mut toks = vec![0u32];
    let mut langs = vec![lang0];
    for (text, lang) in runs {
        if *lang >= N_LANGUAGES {
            return Err(format!("language id {lang} is out of range (0..{N_LANGUAGES})"));
        }
        for b in text.trim().bytes() {
            toks.push(b as u32);
            langs.push(*lang as u32);
        }
    }
    if toks.len() > ttoks_len {
        return Err(format!(
            "text is {} bytes; the model takes at most {} (split it into shorter chunks)",
            toks.len() - 1,
            ttoks_len - 1
        ));
    }
    toks.resize(ttoks_len, 0);
    langs.resize(ttoks_len, lang0);
    Ok((toks, langs))
}

/// The cps bin: `trunc(cps / 20 · bins)` in f32, clamped to `0..bins`.
pub fn cps_bin(cps: f32, bins: usize) -> usize {
    let x = cps / 20.0 * bins as f32;
    if x.is_nan() || x <= 0.0 {
        0
    } else {
        (x as usize).min(bins.saturating_sub(1))
    }
}

/// The semantic tables (FlexEmbeddings with one special code): the decoder's input embedding and its
/// unembedding, with `emb_to_hidden`/`hidden_to_emb` folded in when the embedding is narrower than the model.
fn semantic_tables(
    ld: &WeightLoader,
    c: &T2sConfig,
    w: usize,
    dtype: DType,
    device: &Device,
) -> Result<(Tensor, Linear)> {
    let p = "embeddings.embedding";
    let main = ld.ts(&format!("{p}.main.weight"), &[c.stoks_codes, c.stoks_width])?;
    let special = ld.ts(&format!("{p}.special.weight"), &[1, w])?;
    Ok(if c.stoks_width != w {
        let e2h = ld.lin(&format!("{p}.emb_to_hidden"), w, c.stoks_width, true)?;
        let h2e_w = ld.ts(&format!("{p}.hidden_to_emb.weight"), &[c.stoks_width, w])?;
        let h2e_b = ld.ts(&format!("{p}.hidden_to_emb.bias"), &[c.stoks_width])?;
        let emb_in = Tensor::cat(
            &[&e2h.forward(&main.to_dtype(dtype)?)?.to_dtype(DType::F32)?, &special],
            0,
        )?;
        // logits = h2e(x) @ mainᵀ = x @ (main @ W_h2e)ᵀ + b_h2e @ mainᵀ; special logits = x @ specialᵀ
        let out_w = Tensor::cat(&[&main.matmul(&h2e_w)?, &special], 0)?;
        let out_b = Tensor::cat(
            &[
                &h2e_b.unsqueeze(0)?.matmul(&main.t()?)?.squeeze(0)?,
                &Tensor::zeros(1, DType::F32, device)?,
            ],
            0,
        )?;
        (
            emb_in,
            Linear::new(out_w.to_dtype(dtype)?, Some(out_b.to_dtype(dtype)?)),
        )
    } else {
        let t = Tensor::cat(&[&main, &special], 0)?;
        (t.clone(), Linear::new(t.to_dtype(dtype)?, None))
    })
}

/// Per-utterance decoder state: encoder cross K/V per layer, cps embedding and self-attention caches.
struct DecState {
    xkv: Vec<(Tensor, Tensor)>,
    cps: Option<Tensor>,
    caches: Vec<KvCache>,
    pos: usize,
}

impl T2s {
    /// Loads a T2S model from a `.model` (PyTorch zip) file or a `.safetensors` file with its `.json`
    /// (`{"format":"whisperspeech-t2s","config":…,"tunables":…}`) beside it.
    pub fn load(path: &Path, device: &Device, dtype: DType) -> Result<Self> {
        Self::load_with(path, device, T2sOptions { dtype, quantize: false })
    }

    /// [`T2s::load`] with options (quantized decoder).
    pub fn load_with(path: &Path, device: &Device, opts: T2sOptions) -> Result<Self> {
        let ck = checkpoint::load(path, device, LoadOptions::default())?;
        Self::from_checkpoint(&ck, device, opts)
    }

    /// Builds the model from a loaded checkpoint (config, tunables and state_dict).
    pub fn from_checkpoint(ck: &Checkpoint, device: &Device, opts: T2sOptions) -> Result<Self> {
        let merr = |msg: String| T2sError::Model {
            path: ck.path.display().to_string(),
            msg,
        };
        let config =
            T2sConfig::from_json(ck.get("config").ok_or_else(|| merr("no `config` entry".into()))?).map_err(merr)?;
        let tunables = T2sTunables::from_json(ck.get("tunables").ok_or_else(|| merr("no `tunables` entry".into()))?);
        let c = &config;
        let w = c.width();
        let dtype = opts.dtype;
        let ld = WeightLoader::new(ck, dtype);
        let shape = BlockShape {
            width: w,
            ffn_mult: c.ffn_mult,
            head_width: c.head_width,
            scale: stage::attention_scale(tunables.query_mult, c.head_width),
            rope_positions: None,
        };
        let (enc_depth, dec_depth) = stage::layer_depths(c.depth, tunables.encoder_depth_ratio);

        let lang_emb = ld.ts("lang_embeddings.weight", &[N_LANGUAGES, w])?;
        let cps_emb = if tunables.cps_input {
            Some(ld.ts("cps_embeddings.weight", &[tunables.cps_bins, w])?)
        } else {
            None
        };
        // text embedding: emb_to_hidden(main) when ttoks_width != w
        let main = ld.ts("encoder.embedding.main.weight", &[c.ttoks_codes, c.ttoks_width])?;
        let enc_emb = if c.ttoks_width != w {
            ld.lin("encoder.embedding.emb_to_hidden", w, c.ttoks_width, true)?
                .forward(&main.to_dtype(dtype)?)?
        } else {
            main
        };
        let enc_pos = ld.ts("encoder.positional_embedding", &[c.ttoks_len, w])?;
        let enc_layers = ld.blocks("encoder.layers", enc_depth, &shape, false)?;
        let enc_ln = ld.ln("encoder.ln_post", w)?;

        let (dec_emb, unembed) = semantic_tables(&ld, c, w, dtype, device)?;
        let dec_pos = ld.ts("embeddings.positional_embedding", &[c.stoks_len, w])?;
        let dec_layers = ld.blocks("decoder.layers", dec_depth, &shape, true)?;
        let dec_ln = ld.ln("decoder.ln_post", w)?;
        let logit_scale = stage::logit_scale(tunables.output_mult, w, c.head_width);

        let mut m = Self {
            config: config.clone(),
            tunables,
            device: device.clone(),
            dtype,
            quantized: false,
            width: w,
            lang_emb: lang_emb.to_dtype(dtype)?,
            cps_emb: cps_emb.map(|t| t.to_dtype(dtype)).transpose()?,
            enc_emb: enc_emb.to_dtype(dtype)?,
            enc_pos: enc_pos.to_dtype(dtype)?,
            enc_layers,
            enc_ln,
            dec_emb: dec_emb.to_dtype(dtype)?,
            dec_pos: dec_pos.to_dtype(dtype)?,
            dec_layers,
            dec_ln,
            unembed,
            logit_scale,
        };
        if opts.quantize {
            m.dec_layers = block::quantize_all(m.dec_layers)?;
            m.unembed = m.unembed.quantize()?;
            m.quantized = true;
        }
        Ok(m)
    }

    /// The SOT/EOS/padding token id, `stoks_codes + padding_token_offset`.
    pub fn eos(&self) -> u32 {
        (self.config.stoks_codes as i64 + self.tunables.padding_token_offset).max(0) as u32
    }

    /// Output vocabulary size (`stoks_codes + 1`).
    pub fn vocab(&self) -> usize {
        self.config.stoks_codes + 1
    }

    /// Device the model lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Weights dtype.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Whether the decoder runs q8_0 matmuls.
    pub fn is_quantized(&self) -> bool {
        self.quantized
    }

    /// Runs the text encoder on a batch: `ttoks`/`langs` `[b, ttoks_len]` → `[b, ttoks_len, w]`.
    fn encode(&self, ttoks: &[Vec<u32>], langs: &[Vec<u32>]) -> Result<Tensor> {
        let b = ttoks.len();
        let l = self.config.ttoks_len;
        let flat = |v: &[Vec<u32>]| Tensor::from_vec(v.concat(), b * l, &self.device);
        let tt = flat(ttoks)?;
        let ll = flat(langs)?;
        let xin = (self.enc_emb.index_select(&tt, 0)? + self.lang_emb.index_select(&ll, 0)?)?;
        let mut x = xin.reshape((b, l, self.width))?.broadcast_add(&self.enc_pos)?;
        for layer in &self.enc_layers {
            x = layer.forward(&x, self.config.n_head, 0, self.tunables.causal_encoder, None, None)?;
        }
        Ok(self.enc_ln.forward(&x)?)
    }

    fn start(&self, reqs: &[(Vec<(String, usize)>, f32)]) -> Result<DecState> {
        let mut ttoks = Vec::new();
        let mut langs = Vec::new();
        let mut bins = Vec::new();
        for (i, (runs, cps)) in reqs.iter().enumerate() {
            let (t, l) = encode_text(runs, self.config.ttoks_len).map_err(|msg| T2sError::Request { index: i, msg })?;
            ttoks.push(t);
            langs.push(l);
            bins.push(cps_bin(*cps, self.tunables.cps_bins) as u32);
        }
        let xenc = self.encode(&ttoks, &langs)?;
        let xkv = self
            .dec_layers
            .iter()
            .map(|layer| layer.cross_kv(&xenc, self.config.n_head, &[]))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let cps = match &self.cps_emb {
            Some(e) => Some(
                e.index_select(&Tensor::from_vec(bins, reqs.len(), &self.device)?, 0)?
                    .unsqueeze(1)?,
            ),
            None => None,
        };
        let caches = self
            .dec_layers
            .iter()
            .map(|_| KvCache::new(2, self.config.stoks_len))
            .collect();
        Ok(DecState {
            xkv,
            cps,
            caches,
            pos: 0,
        })
    }

    /// Feeds `toks` `[b, n]` at positions `state.pos..`, returns f32 logits `[b, n, vocab]`.
    fn step(&self, st: &mut DecState, toks: &[Vec<u32>]) -> Result<Tensor> {
        let b = toks.len();
        let n = toks[0].len();
        if st.pos + n > self.config.stoks_len {
            return Err(T2sError::Model {
                path: String::new(),
                msg: "semantic context exceeded".into(),
            });
        }
        let ids = Tensor::from_vec(toks.concat(), b * n, &self.device)?;
        let x = self.dec_emb.index_select(&ids, 0)?.reshape((b, n, self.width))?;
        let mut x = x.broadcast_add(&self.dec_pos.narrow(0, st.pos, n)?)?;
        if let Some(c) = &st.cps {
            x = x.broadcast_add(c)?;
        }
        let x = block::decoder_step(&self.dec_layers, x, self.config.n_head, st.pos, &mut st.caches, &st.xkv)?;
        st.pos += n;
        let x = self.dec_ln.forward(&x)?;
        Ok((self.unembed.forward(&x)?.to_dtype(DType::F32)? * self.logit_scale)?)
    }

    /// Teacher-forced logits `[b, n, vocab]` (f32) for semantic tokens `stoks[b]` (each starting with SOT,
    /// all of one length) conditioned on `(runs, cps)` per row — the parity check against the reference.
    pub fn logits(&self, rows: &[(Vec<(String, usize)>, f32)], stoks: &[Vec<u32>]) -> Result<Tensor> {
        self.check_rows(rows.len(), stoks)?;
        let mut st = self.start(rows)?;
        self.step(&mut st, stoks)
    }

    fn check_rows(&self, n: usize, stoks: &[Vec<u32>]) -> Result<()> {
        let bad = |index: usize, msg: String| Err(T2sError::Request { index, msg });
        if stoks.len() != n || n == 0 {
            return bad(0, "one token row per text row is needed".into());
        }
        for (i, r) in stoks.iter().enumerate() {
            if r.len() != stoks[0].len() || r.is_empty() || r.len() > self.config.stoks_len {
                return bad(
                    i,
                    "token rows must be non-empty, of one length, within stoks_len".into(),
                );
            }
            if let Some(t) = r.iter().find(|&&t| t as usize >= self.vocab()) {
                return bad(i, format!("token {t} is outside the vocabulary of {}", self.vocab()));
            }
        }
        Ok(())
    }

    /// Generates semantic tokens for a batch of requests. Requests with the same prompt length run as one
    /// batch; each row stops at its own EOS (or cap) and samples from its own RNG, so its result does not
    /// depend on its batch mates (up to float rounding).
    pub fn generate(&self, reqs: &[T2sRequest]) -> Result<Vec<T2sOutput>> {
        let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for (i, r) in reqs.iter().enumerate() {
            let p = r.prompt.as_ref().map_or(0, Vec::len);
            if p + 2 > self.config.stoks_len {
                return Err(T2sError::Request {
                    index: i,
                    msg: "prompt is longer than the model context".into(),
                });
            }
            if let Some(t) = r.prompt.iter().flatten().find(|&&t| t as usize >= self.vocab()) {
                return Err(T2sError::Request {
                    index: i,
                    msg: format!("prompt token {t} is outside the vocabulary"),
                });
            }
            groups.entry(p).or_default().push(i);
        }
        stage::run_groups(reqs.len(), groups, |idx, plen| self.generate_group(reqs, idx, plen))
    }

    fn generate_group(&self, reqs: &[T2sRequest], idx: &[usize], plen: usize) -> Result<Vec<T2sOutput>> {
        let eos = self.eos();
        let n_ctx = self.config.stoks_len;
        let rows: Vec<_> = idx.iter().map(|&i| (reqs[i].runs.clone(), reqs[i].cps)).collect();
        let mut st = self.start(&rows).map_err(|e| match e {
            T2sError::Request { index, msg } => T2sError::Request { index: idx[index], msg },
            e => e,
        })?;
        let mut samplers: Vec<Sampler> = idx
            .iter()
            .map(|&i| Sampler::new(reqs[i].temperature, reqs[i].top_k, reqs[i].seed))
            .collect();
        let limits: Vec<usize> = idx
            .iter()
            .map(|&i| reqs[i].max_tokens.unwrap_or(usize::MAX).min(n_ctx - 1 - plen))
            .collect();
        let mut outs: Vec<T2sOutput> = idx
            .iter()
            .map(|_| T2sOutput {
                tokens: Vec::new(),
                stop: Stop::Cap,
            })
            .collect();
        let mut done: Vec<bool> = limits.iter().map(|&l| l == 0).collect();
        // prefill: SOT + prompt
        let first: Vec<Vec<u32>> = idx
            .iter()
            .map(|&i| {
                std::iter::once(eos)
                    .chain(reqs[i].prompt.iter().flatten().copied())
                    .collect()
            })
            .collect();
        let mut logits = self.step(&mut st, &first)?;
        let mut prefill = true;
        while !done.iter().all(|&d| d) {
            let last = logits.narrow(1, logits.dim(1)? - 1, 1)?.squeeze(1)?.to_vec2::<f32>()?;
            let mut next = Vec::with_capacity(idx.len());
            for r in 0..idx.len() {
                if done[r] {
                    next.push(vec![eos]);
                    continue;
                }
                let t = samplers[r].sample(&last[r]);
                if t == eos && !prefill {
                    outs[r].stop = Stop::Eos;
                    done[r] = true;
                } else {
                    outs[r].tokens.push(t);
                    if outs[r].tokens.len() >= limits[r] {
                        done[r] = true;
                    }
                }
                next.push(vec![t]);
            }
            prefill = false;
            if done.iter().all(|&d| d) || st.pos >= n_ctx {
                break;
            }
            logits = self.step(&mut st, &next)?;
        }
        Ok(outs)
    }
}
