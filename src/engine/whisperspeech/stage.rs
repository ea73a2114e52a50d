//! What the T2S and S2A stages share when they are built from a checkpoint: their error type's shape, reading
//! the stored `config` and `tunables` dicts, the encoder/decoder depth split, the logit scales, and running a
//! batch as groups of equal prompt length.
//!
//! Owns no model: [`super::t2s`] and [`super::s2a`] call these helpers with their own keys and defaults, so the
//! arithmetic is the one each stage did before (bit for bit). Must never import the stages, nor anything of
//! the crate outside `engine::whisperspeech` (it sits below the stages, beside `block` and `checkpoint`).

use std::collections::BTreeMap;

use serde_json::Value as Json;

/// Defines a stage's error type and its conversion from [`super::block::LoadError`]: the variants
/// `Checkpoint`, `Model { path, msg }`, `Request { index, msg }` and `Candle`, whose messages name the stage.
/// A macro rather than one generic type so `T2sError` and `S2aError` stay plain enums (matched by variant,
/// e.g. in the engine's request errors); the messages are given in full, as `thiserror` takes only literals.
macro_rules! stage_error {
    (
        $(#[$meta:meta])*
        $name:ident {
            model: $model:literal,
            request: $request:literal,
            request_doc: $request_doc:literal,
            candle: $candle:literal $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, thiserror::Error)]
        pub enum $name {
            /// The checkpoint could not be read.
            #[error(transparent)]
            Checkpoint(#[from] $crate::engine::whisperspeech::checkpoint::CheckpointError),
            /// The stored config/tunables are missing a field or are inconsistent with the tensors.
            #[error($model)]
            Model {
                /// the file
                path: String,
                /// what is wrong
                msg: String,
            },
            #[doc = $request_doc]
            #[error($request)]
            Request {
                /// position of the request in the batch
                index: usize,
                /// what is wrong
                msg: String,
            },
            /// A tensor operation failed.
            #[error($candle)]
            Candle(#[from] candle_core::Error),
        }

        impl From<$crate::engine::whisperspeech::block::LoadError> for $name {
            fn from(e: $crate::engine::whisperspeech::block::LoadError) -> Self {
                use $crate::engine::whisperspeech::block::LoadError;
                match e {
                    LoadError::Checkpoint(e) => Self::Checkpoint(e),
                    LoadError::Model { path, msg } => Self::Model { path, msg },
                    LoadError::Candle(e) => Self::Candle(e),
                }
            }
        }
    };
}
pub(super) use stage_error;

/// `config[key]` as a size, `None` when missing or not a non-negative integer.
pub(super) fn cfg_usize(v: &Json, key: &str) -> Option<usize> {
    v.get(key).and_then(Json::as_u64).map(|x| x as usize)
}

/// An embedding width from `config[key]`: missing or `None` (null) in the file means the model width `w`.
pub(super) fn cfg_width(v: &Json, key: &str, w: usize) -> Result<usize, String> {
    match v.get(key) {
        None | Some(Json::Null) => Ok(w),
        Some(x) => x
            .as_u64()
            .map(|x| x as usize)
            .ok_or_else(|| format!("config.{key} is not a number")),
    }
}

/// `tunables[key]` as a float, `default` when missing (the dataclass default).
pub(super) fn tunable_f64(v: &Json, key: &str, default: f64) -> f64 {
    v.get(key).and_then(Json::as_f64).unwrap_or(default)
}

/// `tunables[key]` as a flag, `default` when missing (the dataclass default).
pub(super) fn tunable_bool(v: &Json, key: &str, default: bool) -> bool {
    v.get(key).and_then(Json::as_bool).unwrap_or(default)
}

/// The `(encoder, decoder)` layer counts: the encoder takes `encoder_depth_ratio` of the `2·depth` layers.
pub(super) fn layer_depths(depth: usize, encoder_depth_ratio: f64) -> (usize, usize) {
    let enc_depth = (2.0 * depth as f64 * encoder_depth_ratio) as usize;
    (enc_depth, (2 * depth).saturating_sub(enc_depth))
}

/// The net attention logit scale `query_mult·8/head_width` (folded into the query weights).
pub(super) fn attention_scale(query_mult: f64, head_width: usize) -> f64 {
    query_mult * 8.0 / head_width as f64
}

/// The output logit scale: `output_mult` divided by `width / base_width`, with `base_width = 3·head_width`.
pub(super) fn logit_scale(output_mult: f64, width: usize, head_width: usize) -> f64 {
    let base_width = 3 * head_width;
    output_mult / (width as f64 / base_width as f64)
}

/// Runs `n` requests as batches: each group of request indices (keyed by prompt length, so a group shares one
/// prefill) through `run(indices, prompt_len)`, which returns one row per index; the rows come back in request
/// order.
pub(super) fn run_groups<T, E>(
    n: usize,
    groups: BTreeMap<usize, Vec<usize>>,
    mut run: impl FnMut(&[usize], usize) -> Result<Vec<T>, E>,
) -> Result<Vec<T>, E> {
    let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
    for (plen, idx) in groups {
        let res = run(&idx, plen)?;
        for (i, r) in idx.into_iter().zip(res) {
            out[i] = Some(r);
        }
    }
    Ok(out.into_iter().flatten().collect())
}
