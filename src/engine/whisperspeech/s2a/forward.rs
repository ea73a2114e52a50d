//! The S2A forward pass: request checks, the encoder with its speaker conditioning, the decoder state (cross
//! K/V once per batch, self-attention caches) and one decoder step to per-quantizer logits; the teacher-forced
//! [`S2a::logits`] of the parity tests.
//!
//! Must never import `t2s`, `vocos` or the engine, nor sample: generation lives in `generate`.

use candle_core::{DType, Tensor};
use candle_nn::kv_cache::KvCache;

use super::super::block;
use super::super::layers::gelu;
use super::{Conditioning, Result, S2a, S2aError, VOCAB};

/// Per-batch decoder state: rotated cross K/V per layer and the self-attention caches.
pub(super) struct DecState {
    xkv: Vec<(Tensor, Tensor)>,
    caches: Vec<KvCache>,
    pos: usize,
}

impl S2a {
    pub(super) fn check(&self, index: usize, stoks: &[u32], speaker: &[f32]) -> Result<()> {
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

    pub(super) fn start(&self, rows: &[(&[u32], &[f32])]) -> Result<DecState> {
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
    pub(super) fn step(&self, st: &mut DecState, grid: &[Vec<Vec<u32>>]) -> Result<Tensor> {
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
}
