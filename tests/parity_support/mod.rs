//! Helpers shared by the WhisperSpeech parity tests: fixture paths and tensor distances.
#![allow(dead_code)]

use std::path::PathBuf;

use candle_core::Tensor;

/// A file under `tests/fixtures/whisperspeech/`.
pub fn fx(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/whisperspeech")
        .join(name)
}

/// max |t| over all elements.
pub fn max_abs(t: &Tensor) -> f32 {
    t.abs()
        .and_then(|a| a.flatten_all())
        .and_then(|a| a.max(0))
        .and_then(|a| a.to_scalar::<f32>())
        .expect("max |t|")
}

/// max |a − b| over all elements.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    max_abs(&(a - b).expect("same shapes"))
}
