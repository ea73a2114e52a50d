//! ws-book: manuscripts to chaptered audiobooks and podcasts with WhisperSpeech.
//!
//! Data flows one way: [`project`] + [`manuscript`] → [`plan`] → store → worker → engine → assembly → publish.
//! See `ARCHITECTURE.md` for the code map and invariants.

pub mod asr;
pub mod assembly;
pub mod audio;
pub mod batch;
pub mod device_check;
pub mod engine;
mod files;
pub mod home;
pub mod host;
pub(crate) mod kernels;
pub mod lang;
pub mod manuscript;
pub mod models;
pub mod partial;
pub mod plan;
pub mod podcast;
pub mod project;
pub mod publish;
pub mod qa;
pub mod render;
pub mod review;
pub mod speaker;
mod sqlite_file;
pub mod store;
pub mod suggest;
pub mod voices;
pub mod worker;
mod yaml;
