//! The WhisperSpeech engine in candle (spec: `whisperspeech-spec.md`).
//!
//! * [`checkpoint`]: restricted reader for PyTorch zip checkpoints and safetensors + JSON (shared by all stages)
//! * [`layers`]: shared building blocks (linear/q8_0, LayerNorm in f32, attention)
//! * [`rope`]: rotary position embedding with precomputed tables (S2A)
//! * [`batch`]: the batch size `render.batch_size: auto` picks (CPU: measured; GPU: from free memory)
//! * [`block`]: the residual attention block of T2S and S2A and the weight loader that builds it
//! * `stage`: what the T2S and S2A loaders share (error type shape, stored config/tunables reading, depth split,
//!   logit scales)
//! * [`random`]: random-weight models at the published sizes (benchmarks, `scripts/gpu-check.sh`)
//! * [`sampling`]: temperature/top-k/greedy sampling from per-request seeded RNGs
//! * [`t2s`]: text → semantic tokens
//! * [`s2a`]: semantic → EnCodec acoustic tokens
//! * [`vocos`]: EnCodec tokens → 24 kHz waveform (on the CPU through the fused `vocos_cpu` passes)
//! * [`istft`]: the Vocos head's inverse STFT, planned once per model, parallel over frames
//! * [`device`]: `--device` names (`auto`, `cpu`, `cuda[:N]`) → a candle device, CUDA probed for real
//! * [`engine`]: the `whisperspeech` [`crate::engine::Engine`] (T2S → S2A → Vocos)
//!
//! Owns the WhisperSpeech models and their numerics. Must never import the queue, the planner, render, project
//! or the CLI; of the crate above it, it uses only [`crate::engine`] (the trait) and [`crate::lang`].

pub mod batch;
pub mod block;
pub mod checkpoint;
pub mod device;
pub mod engine;
pub mod istft;
pub mod layers;
pub mod random;
pub mod rope;
pub mod s2a;
pub mod sampling;
mod stage;
pub mod t2s;
pub mod vocos;
mod vocos_cpu;

pub use engine::{ModelPaths, WhisperSpeechEngine};
pub use layers::ModelOptions;
pub use s2a::{S2a, S2aError, S2aRequest};
pub use t2s::{Stop, T2s, T2sError, T2sOptions, T2sOutput, T2sRequest};
pub use vocos::{Vocos, VocosError};
