//! Greedy decoding without timestamps, batched: every row starts from its prompt, takes the most likely
//! token (lowest id on ties) among those not suppressed, and stops at end of text or the token cap.

use candle_core::{DType, Device, Tensor};

use super::whisper::Decoder;

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

/// Greedy-decodes `prompts` (one per row of `audio`, all the same length) against the encoder output. The
/// decoder runs incrementally (one position per step after the prompt) and a row that reached end of text
/// leaves the batch.
pub fn greedy(
    dec: &Decoder,
    audio: &Tensor,
    prompts: &[Vec<u32>],
    eot: u32,
    suppress: &Suppress,
    max_new: usize,
) -> Result<Decoded, AsrError> {
    let rows = prompts.len();
    let device: &Device = audio.device();
    let vocab = dec.vocab();
    let always = Tensor::from_vec(mask(vocab, &suppress.always), (1, vocab), device)?;
    let mut first_ids = suppress.always.clone();
    first_ids.extend(&suppress.begin);
    let first = Tensor::from_vec(mask(vocab, &first_ids), (1, vocab), device)?;
    let plen = prompts.first().map_or(0, Vec::len);
    let max_new = max_new.min(dec.n_ctx().saturating_sub(plen));
    let mut tokens: Vec<Vec<u32>> = vec![Vec::new(); rows];
    let mut stops = vec![DecodeStop::Cap; rows];
    if rows == 0 || max_new == 0 {
        return Ok(Decoded { tokens, stops });
    }
    let mut cache = dec.start(audio)?;
    // the original row of each row still in the batch
    let mut active: Vec<usize> = (0..rows).collect();
    let flat: Vec<u32> = prompts.iter().flatten().copied().collect();
    let mut input = Tensor::from_vec(flat, (rows, plen), device)?;
    for step in 0..max_new {
        let logits = dec.step(&input, &mut cache)?.to_dtype(DType::F32)?;
        let logits = logits.broadcast_add(if step == 0 { &first } else { &always })?;
        let best = argmax_rows(&logits)?;
        let mut keep: Vec<u32> = Vec::with_capacity(active.len());
        let mut next: Vec<u32> = Vec::with_capacity(active.len());
        for (i, (&r, &t)) in active.iter().zip(&best).enumerate() {
            if t == eot {
                stops[r] = DecodeStop::Eot;
            } else {
                tokens[r].push(t);
                keep.push(i as u32);
                next.push(t);
            }
        }
        if keep.is_empty() {
            break;
        }
        if keep.len() < active.len() {
            cache.keep(&keep)?;
            active = keep.iter().map(|&i| active[i as usize]).collect();
        }
        input = Tensor::from_vec(next, (active.len(), 1), device)?;
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
    dec: &Decoder,
    audio: &Tensor,
    sot: u32,
    langs: &[(u32, &'static str)],
) -> Result<Vec<&'static str>, AsrError> {
    let rows = audio.dim(0)?;
    let toks = Tensor::from_vec(vec![sot; rows], (rows, 1), audio.device())?;
    let mut cache = dec.start(audio)?;
    let logits: Vec<Vec<f32>> = dec.step(&toks, &mut cache)?.to_dtype(DType::F32)?.to_vec2()?;
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
