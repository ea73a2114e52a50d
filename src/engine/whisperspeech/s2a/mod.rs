//! S2A: semantic → EnCodec acoustic tokens (`s2a_delar_mup_wds_mlang.SADelARTransformer`, spec §5), including
//! the conditioned variant (`s2a_delar_mup_wds_mlang_cond`, §5.7) detected from the state_dict.
//!
//! Invariants: RoPE in f32 from the stored `inv_freq` (rotate-half form), cross-attention key positions ×3;
//! the special rows (1024 = pad, 1025 = start) are one shared table; the special ids are masked out of sampling,
//! so the output only ever holds EnCodec codes 0..1023; the output of a request is `[Q][3·len(stoks) − 4]`.
//!
//! Owns the S2A model. Must never import `t2s`, `vocos` or the engine: its loader reads the stored dicts and
//! builds its blocks through the shared `stage`, `block` and `checkpoint` modules.
//!
//! Layout: this module holds the model's state, the request type and the constants; `config` reads the stored
//! config and tunables, `load` builds the model from a checkpoint, `forward` runs the encoder and one decoder
//! step (and the teacher-forced logits), `generate` runs batched generation and the un-delay.

mod config;
mod forward;
mod generate;
mod load;

use candle_core::{DType, Device, Tensor};

use super::block::Block;
use super::layers::{LayerNorm, Linear, ModelOptions};
use super::stage::stage_error;

pub use config::{S2aConfig, S2aTunables};

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

impl S2a {
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
}
