//! The S2A constructor arguments and tunables as stored in the checkpoint (`config`, `tunables`), with the
//! reference's defaults for missing entries.
//!
//! Must never import the model, `t2s`, `vocos` or the engine; it reads JSON through the shared `stage` helpers.

use serde_json::Value as Json;

use super::super::stage::{self, cfg_usize};

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
        if c.n_head == 0 || c.head_width == 0 || !c.head_width.is_multiple_of(2) || c.stoks_len < 2 || c.stoks_codes < 2
        {
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
