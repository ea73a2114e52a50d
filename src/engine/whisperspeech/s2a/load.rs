//! Building the S2A model from a checkpoint: the stored config and tunables, the encoder and decoder blocks,
//! the speaker conditioning (plain or the conditioned variant) and the acoustic embedding / unembedding tables.
//!
//! Must never import `t2s`, `vocos` or the engine; it builds through the shared `stage`, `block` and
//! `checkpoint` modules.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use serde_json::Value as Json;

use super::super::block::{self, BlockShape, WeightLoader};
use super::super::checkpoint::{self, Checkpoint, LoadOptions};
use super::super::layers::{Linear, ModelOptions};
use super::super::stage;
use super::{Conditioning, Result, S2a, S2aConfig, S2aTunables, Unembed, CODES};

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
}
