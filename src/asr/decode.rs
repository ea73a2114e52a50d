//! Greedy decoding without timestamps, batched: every row starts from its prompt, takes the most likely
//! token (lowest id on ties) among those not suppressed, and stops at end of text or the token cap.

use candle_core::{DType, Device, IndexOp, Tensor};
use candle_transformers::models::whisper::model::Whisper;

use super::AsrError;

/// Tokens a decoder may generate at most (openai-whisper's `sample_len`: half the text context).
pub const MAX_NEW_TOKENS: usize = 224;

/// Why a row stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeStop {
    /// End of text.
    Eot,
    /// The token cap.
    Cap,
}

/// Generated ids (without prompt or end of text) and the stop reason of each row.
pub struct Decoded {
    /// Per row.
    pub tokens: Vec<Vec<u32>>,
    /// Per row.
    pub stops: Vec<DecodeStop>,
}

/// What the decoder must never emit (`always`), and what it must not emit first (`begin`).
pub struct Suppress {
    /// Logit set to −∞ at every step.
    pub always: Vec<u32>,
    /// Also at the first generated step (a blank and end of text: `suppress_blank`).
    pub begin: Vec<u32>,
}

fn mask(vocab: usize, ids: &[u32]) -> Vec<f32> {
    let mut m = vec![0f32; vocab];
    for &i in ids {
        if let Some(v) = m.get_mut(i as usize) {
            *v = f32::NEG_INFINITY;
        }
    }
    m
}

/// Greedy-decodes `prompts` (one per row of `audio`, all the same length) against the encoder output.
pub fn greedy(
    model: &mut Whisper,
    embed: &Tensor,
    audio: &Tensor,
    prompts: &[Vec<u32>],
    eot: u32,
    suppress: &Suppress,
    max_new: usize,
) -> Result<Decoded, AsrError> {
    let rows = prompts.len();
    let device: &Device = audio.device();
    let vocab = model.config.vocab_size;
    let n_ctx = model.config.max_target_positions;
    let always = Tensor::from_vec(mask(vocab, &suppress.always), (1, vocab), device)?;
    let mut first_ids = suppress.always.clone();
    first_ids.extend(&suppress.begin);
    let first = Tensor::from_vec(mask(vocab, &first_ids), (1, vocab), device)?;
    let mut seqs: Vec<Vec<u32>> = prompts.to_vec();
    let plen = prompts.first().map_or(0, Vec::len);
    let mut done = vec![None::<DecodeStop>; rows];
    let max_new = max_new.min(n_ctx.saturating_sub(plen));
    for step in 0..max_new {
        if done.iter().all(Option::is_some) {
            break;
        }
        let flat: Vec<u32> = seqs.iter().flatten().copied().collect();
        let len = plen + step;
        let toks = Tensor::from_vec(flat, (rows, len), device)?;
        let hidden = model.decoder.forward(&toks, audio, step == 0)?;
        let last = hidden.i((.., len - 1..len, ..))?;
        // the tied output layer as `hidden · Eᵀ` on a transposed view (candle's `final_linear` broadcasts the
        // embedding per row and copies it into a contiguous transpose at every step)
        let logits = last.squeeze(1)?.matmul(&embed.t()?)?.to_dtype(DType::F32)?;
        let logits = logits.broadcast_add(if step == 0 { &first } else { &always })?;
        let best = argmax_rows(&logits)?;
        for (r, seq) in seqs.iter_mut().enumerate() {
            if done[r].is_some() {
                seq.push(eot);
                continue;
            }
            let t = best[r];
            seq.push(t);
            if t == eot {
                done[r] = Some(DecodeStop::Eot);
            }
        }
    }
    let mut tokens = Vec::with_capacity(rows);
    let mut stops = Vec::with_capacity(rows);
    for (seq, d) in seqs.into_iter().zip(done) {
        let gen: Vec<u32> = seq[plen..].iter().copied().take_while(|&t| t != eot).collect();
        tokens.push(gen);
        stops.push(d.unwrap_or(DecodeStop::Cap));
    }
    Ok(Decoded { tokens, stops })
}

/// Row-wise argmax, lowest index on ties (NaN never wins).
fn argmax_rows(logits: &Tensor) -> Result<Vec<u32>, AsrError> {
    let v: Vec<Vec<f32>> = logits.to_vec2()?;
    Ok(v.iter()
        .map(|row| {
            let mut best = 0usize;
            for (i, &x) in row.iter().enumerate() {
                if x > row[best] || row[best].is_nan() && !x.is_nan() {
                    best = i;
                }
            }
            best as u32
        })
        .collect())
}

/// Language detection: one decoder step on `sot`, the most likely of the `langs` tokens.
pub fn detect_language(
    model: &mut Whisper,
    audio: &Tensor,
    sot: u32,
    langs: &[(u32, &'static str)],
) -> Result<Vec<&'static str>, AsrError> {
    let rows = audio.dim(0)?;
    let device = audio.device();
    let toks = Tensor::from_vec(vec![sot; rows], (rows, 1), device)?;
    let hidden = model.decoder.forward(&toks, audio, true)?;
    let logits: Vec<Vec<f32>> = model
        .decoder
        .final_linear(&hidden)?
        .squeeze(1)?
        .to_dtype(DType::F32)?
        .to_vec2()?;
    Ok(logits
        .iter()
        .map(|row| {
            langs
                .iter()
                .max_by(|a, b| row[a.0 as usize].total_cmp(&row[b.0 as usize]).then(b.0.cmp(&a.0)))
                .map_or("en", |l| l.1)
        })
        .collect())
}
