//! Checkpoint reading without executing anything: PyTorch zip checkpoints (`torch.save`: `.model`,
//! `pytorch_model.bin`, speechbrain `.ckpt`) through a restricted unpickler, and safetensors + JSON.
//!
//! The unpickler understands only the opcodes a `torch.save` of dicts, lists, numbers, strings and tensors
//! needs, and only these globals: `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter`,
//! the `torch.*Storage` types and `collections.OrderedDict`. Any other global (for example `posix.system`)
//! is rejected with [`CheckpointError::ForbiddenGlobal`] before anything is built. No input panics: every
//! length, offset, stride and size is checked against the file.
//!
//! The result is a [`Checkpoint`]: the whole pickled object as JSON (tensors replaced by
//! `{"__tensor__": name}`), and the tensors by name. Tensor names are key paths joined by `.` below the
//! `state_dict` entry when the root has one (the WhisperSpeech `.model` layout), or below the root otherwise
//! (a plain state_dict).
//!
//! This module owns the public API ([`Checkpoint`], [`CheckpointError`], [`LoadOptions`], [`load`]); the
//! readers live in the submodules:
//!
//! * `container`: the PyTorch zip container (entries, byte order, storages) and [`load_pickle`]
//! * `pickle`: the restricted pickle virtual machine (opcodes → values)
//! * `globals`: the allow-listed globals and what REDUCE / persistent ids may build from them
//! * `value`: pickle values, their stack-safe drop and their JSON view (tensor specs collected by name)
//! * `tensor`: storage element types and tensor rebuilding (offset, size, stride → candle tensor)
//! * `safetensors_file`: [`load_safetensors`] (safetensors + JSON side file)
//!
//! Must never import anything above `engine::whisperspeech` (it is shared by every stage, the model library
//! and the speaker encoder), and never executes pickle code: globals are looked up in a fixed table, never
//! resolved or called.

mod container;
mod globals;
mod pickle;
mod safetensors_file;
mod tensor;
mod value;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde_json::Value as Json;

pub use container::load_pickle;
pub use safetensors_file::load_safetensors;

/// Errors reading a checkpoint. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// the file
        path: PathBuf,
        /// the cause
        source: std::io::Error,
    },
    /// The zip container is damaged or not a zip file (truncated downloads end here).
    #[error("{path}: not a readable PyTorch zip checkpoint (truncated or damaged?): {msg}")]
    Zip {
        /// the file
        path: PathBuf,
        /// what went wrong
        msg: String,
    },
    /// The pickle names a global that a checkpoint does not need; nothing was executed.
    #[error("{path}: refusing to load: the pickle calls the global `{global}`, which a model checkpoint never needs (possibly malicious)")]
    ForbiddenGlobal {
        /// the file
        path: PathBuf,
        /// `module.name`
        global: String,
    },
    /// The pickle stream is malformed or uses an opcode outside the supported set.
    #[error("{path}: malformed or unsupported pickle at byte {pos}: {msg}")]
    Pickle {
        /// the file
        path: PathBuf,
        /// byte offset in data.pkl
        pos: usize,
        /// what went wrong
        msg: String,
    },
    /// A tensor does not fit its storage, or has an unsupported type.
    #[error("{path}: tensor `{name}`: {msg}")]
    Tensor {
        /// the file
        path: PathBuf,
        /// the tensor's name
        name: String,
        /// what went wrong
        msg: String,
    },
    /// safetensors or its JSON side file could not be parsed.
    #[error("{path}: {msg}")]
    Format {
        /// the file
        path: PathBuf,
        /// what went wrong
        msg: String,
    },
    /// A tensor could not be created on the device.
    #[error("{path}: {source}")]
    Candle {
        /// the file
        path: PathBuf,
        /// the cause
        source: candle_core::Error,
    },
}

/// Result alias for this module.
pub type Result<T> = std::result::Result<T, CheckpointError>;

/// A loaded checkpoint: the pickled (or JSON) metadata and the tensors by name.
#[derive(Debug)]
pub struct Checkpoint {
    /// The file it came from.
    pub path: PathBuf,
    /// The whole object as JSON; tensors appear as `{"__tensor__": name}`.
    pub meta: Json,
    /// Tensors by name (f32 for floating point on disk unless asked otherwise; i64 / u8 for integers).
    pub tensors: BTreeMap<String, Tensor>,
}

impl Checkpoint {
    /// A top-level entry of the metadata (`config`, `tunables`, …).
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.meta.get(key)
    }

    /// The tensor `name`, or a [`CheckpointError::Tensor`] saying it is missing.
    pub fn tensor(&self, name: &str) -> Result<&Tensor> {
        self.tensors.get(name).ok_or_else(|| CheckpointError::Tensor {
            path: self.path.clone(),
            name: name.to_string(),
            msg: "missing from the checkpoint".into(),
        })
    }
}

/// Options for [`load_pickle`]: the dtype floating-point tensors are converted to (F32 by default).
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// dtype for floating-point tensors (f32/f16/bf16 on disk are all converted to it)
    pub float_dtype: DType,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            float_dtype: DType::F32,
        }
    }
}

/// Loads either format: a `.safetensors` file (with the JSON beside it: same stem, `.json`), or a PyTorch
/// zip checkpoint.
pub fn load(path: &Path, device: &Device, opts: LoadOptions) -> Result<Checkpoint> {
    if path.extension().is_some_and(|e| e == "safetensors") {
        let j = path.with_extension("json");
        let j = j.exists().then_some(j);
        load_safetensors(path, j.as_deref(), device, opts)
    } else {
        load_pickle(path, device, opts)
    }
}
