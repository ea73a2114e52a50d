//! The model library in `$WS_BOOK_HOME/models`: every checkpoint converted once to safetensors (+ its JSON
//! metadata, + Vocos' `config.yaml`) through the restricted checkpoint reader, with a manifest naming its
//! source and digests. Loads read the safetensors only (memory-mapped).
//!
//! Layout: `models/<name>/{model.safetensors, model.json, config.yaml (Vocos), manifest.json}`. A conversion is
//! written to a temporary folder and renamed into place, so a crash never leaves a half model under its name.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::reference::{valid_name, ModelKind};
use crate::engine::whisperspeech::checkpoint::{self, LoadOptions};

/// Errors of the library.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The checkpoint could not be read (never executed: see the checkpoint reader).
    #[error(transparent)]
    Checkpoint(#[from] checkpoint::CheckpointError),
    /// The file is not a model ws-book knows.
    #[error("{path}: {msg}")]
    Unrecognised {
        /// The file.
        path: PathBuf,
        /// Why.
        msg: String,
    },
    /// The name is taken by a different model.
    #[error("a different model is already in the library as `{0}`; remove it first (`ws-book models rm {0}`) or import with --force")]
    Exists(String),
    /// No such model.
    #[error("no model `{0}` in the library (see `ws-book models list`)")]
    Unknown(String),
    /// A bad name.
    #[error("`{0}` is not a valid model name (letters, digits, `.`, `_`, `+`, `-`)")]
    BadName(String),
    /// Writing the converted tensors failed.
    #[error("{path}: cannot write safetensors: {msg}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        msg: String,
    },
}

type Result<T> = std::result::Result<T, LibraryError>;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LibraryError + '_ {
    move |source| LibraryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A source file a model was converted from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// File name.
    pub file: String,
    /// SHA-256 (hex).
    pub sha256: String,
    /// Bytes.
    pub size: u64,
}

/// One model in the library (`manifest.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Library name.
    pub name: String,
    /// What it does.
    pub kind: ModelKind,
    /// Where it came from: a hub reference (`owner/repo:file`) or the original file name.
    pub source: String,
    /// The files converted.
    pub sources: Vec<SourceFile>,
    /// BLAKE3 (hex) of `model.safetensors`: part of every chunk's content key through the engine fingerprint.
    pub digest: String,
    /// Bytes on disk (all files).
    pub size: u64,
    /// Manifest format version.
    pub format: u32,
    /// The folder (not stored).
    #[serde(skip)]
    pub dir: PathBuf,
}

impl Entry {
    /// The converted weights.
    pub fn weights(&self) -> PathBuf {
        self.dir.join("model.safetensors")
    }

    /// The Vocos `config.yaml` (Vocos only).
    pub fn config(&self) -> Option<PathBuf> {
        (self.kind == ModelKind::Vocos).then(|| self.dir.join("config.yaml"))
    }
}

/// The library folder.
#[derive(Debug, Clone)]
pub struct Library {
    root: PathBuf,
}

/// Guesses what a checkpoint is from its tensor names.
pub fn detect_kind(names: &[&str]) -> Option<ModelKind> {
    let has = |p: &str| names.iter().any(|n| n.starts_with(p));
    if has("semantic_embedding.") {
        Some(ModelKind::S2a)
    } else if has("encoder.embedding.") || has("lang_embeddings.") && has("cps_embeddings.") {
        Some(ModelKind::T2s)
    } else if has("backbone.") && has("head.") {
        Some(ModelKind::Vocos)
    } else if has("blocks.0.") && (has("asp.") || has("mfa.")) {
        Some(ModelKind::Speaker)
    } else {
        None
    }
}

/// BLAKE3 of a file, hex.
pub fn blake3_file(path: &Path) -> std::io::Result<String> {
    let mut h = blake3::Hasher::new();
    h.update_reader(fs::File::open(path)?)?;
    Ok(h.finalize().to_hex().to_string())
}

impl Library {
    /// The library at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `$WS_BOOK_HOME/models`.
    pub fn default_location() -> Self {
        Self::new(crate::home::models_dir())
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every model, by name. Folders without a readable manifest are skipped (they are not models: a
    /// conversion in progress or foreign files).
    pub fn entries(&self) -> Vec<Entry> {
        let Ok(rd) = fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let mut v: Vec<Entry> = rd
            .filter_map(|e| e.ok())
            .filter_map(|e| self.get(&e.file_name().to_string_lossy()))
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// The model `name`, if present.
    pub fn get(&self, name: &str) -> Option<Entry> {
        if !valid_name(name) {
            return None;
        }
        let dir = self.root.join(name);
        let text = fs::read_to_string(dir.join("manifest.json")).ok()?;
        let mut e: Entry = serde_json::from_str(&text).ok()?;
        e.dir = dir;
        Some(e)
    }

    /// The model converted from the hub reference `source`, or named `name`.
    pub fn find(&self, source: Option<&str>, name: &str) -> Option<Entry> {
        let all = self.entries();
        if let Some(s) = source {
            if let Some(e) = all.iter().find(|e| e.source == s) {
                return Some(e.clone());
            }
        }
        all.into_iter().find(|e| e.name == name)
    }

    /// The model whose main source file has this SHA-256.
    pub fn find_by_source_digest(&self, sha256: &str) -> Option<Entry> {
        self.entries()
            .into_iter()
            .find(|e| e.sources.first().is_some_and(|s| s.sha256 == sha256))
    }

    /// Converts a checkpoint (`.model`, `pytorch_model.bin`, `.ckpt` or `.safetensors`; Vocos needs its
    /// `config.yaml`) into the library as `name`. Nothing in a pickle is executed. An existing model of the
    /// same name and source is kept; a different one is an error unless `force`.
    pub fn convert(
        &self,
        weights: &Path,
        config: Option<&Path>,
        name: &str,
        source: &str,
        force: bool,
    ) -> Result<Entry> {
        if !valid_name(name) {
            return Err(LibraryError::BadName(name.into()));
        }
        let src_sha = super::hub::sha256_file(weights).map_err(io_err(weights))?;
        if let Some(old) = self.get(name) {
            if old.sources.first().is_some_and(|s| s.sha256 == src_sha) {
                return Ok(old);
            }
            if !force {
                return Err(LibraryError::Exists(name.into()));
            }
        }
        let ck = checkpoint::load(weights, &Device::Cpu, LoadOptions::default())?;
        let names: Vec<&str> = ck.tensors.keys().map(String::as_str).collect();
        let kind = detect_kind(&names).ok_or_else(|| LibraryError::Unrecognised {
            path: weights.into(),
            msg: "not a WhisperSpeech T2S/S2A, Vocos or ECAPA-TDNN checkpoint (unknown tensor names)".into(),
        })?;
        let mut sources = vec![SourceFile {
            file: file_name(weights),
            sha256: src_sha,
            size: fs::metadata(weights).map_err(io_err(weights))?.len(),
        }];
        let config = match (kind, config) {
            (ModelKind::Vocos, Some(c)) => Some(c.to_path_buf()),
            (ModelKind::Vocos, None) => {
                let c = weights.with_file_name("config.yaml");
                if !c.is_file() {
                    return Err(LibraryError::Unrecognised {
                        path: weights.into(),
                        msg: "a Vocos model needs its config.yaml beside the weights".into(),
                    });
                }
                Some(c)
            }
            _ => None,
        };
        fs::create_dir_all(&self.root).map_err(io_err(&self.root))?;
        let tmp = self.root.join(format!(".{name}.tmp-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
        let out = tmp.join("model.safetensors");
        let map: HashMap<&str, Tensor> = ck.tensors.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        candle_core::safetensors::save(&map, &out).map_err(|e| LibraryError::Write {
            path: out.clone(),
            msg: e.to_string(),
        })?;
        let meta_path = tmp.join("model.json");
        if kind == ModelKind::Speaker {
            // for the speaker encoder `model.json` is its ECAPA_TDNN constructor arguments: a config beside the
            // weights (`<stem>.json`, as reduced-size test models have) or `{}` = the spkrec-ecapa-voxceleb ones
            let cfg = weights.with_extension("json");
            let text = if cfg.is_file() {
                fs::read_to_string(&cfg).map_err(io_err(&cfg))?
            } else {
                "{}".to_string()
            };
            fs::write(&meta_path, text).map_err(io_err(&meta_path))?;
        } else {
            fs::write(&meta_path, serde_json::to_vec(&ck.meta).unwrap_or_default()).map_err(io_err(&meta_path))?;
        }
        if let Some(c) = &config {
            let dst = tmp.join("config.yaml");
            fs::copy(c, &dst).map_err(io_err(c))?;
            sources.push(SourceFile {
                file: file_name(c),
                sha256: super::hub::sha256_file(c).map_err(io_err(c))?,
                size: fs::metadata(c).map_err(io_err(c))?.len(),
            });
        }
        let digest = blake3_file(&out).map_err(io_err(&out))?;
        let mut entry = Entry {
            name: name.into(),
            kind,
            source: source.into(),
            sources,
            digest,
            size: 0,
            format: 1,
            dir: tmp.clone(),
        };
        entry.size = dir_size(&tmp);
        let manifest = tmp.join("manifest.json");
        fs::write(&manifest, serde_json::to_vec_pretty(&entry).unwrap_or_default()).map_err(io_err(&manifest))?;
        self.install(&tmp, name, entry)
    }

    /// Moves a finished conversion folder into place as `name` (replacing an older one) by rename.
    pub(super) fn install(&self, tmp: &Path, name: &str, mut entry: Entry) -> Result<Entry> {
        let dst = self.root.join(name);
        if dst.exists() {
            fs::remove_dir_all(&dst).map_err(io_err(&dst))?;
        }
        fs::rename(tmp, &dst).map_err(io_err(&dst))?;
        entry.dir = dst;
        Ok(entry)
    }

    /// Copies a library folder from another machine (it has a `manifest.json`), checking its digest.
    pub fn import_converted(&self, dir: &Path, force: bool) -> Result<Entry> {
        let text = fs::read_to_string(dir.join("manifest.json")).map_err(io_err(dir))?;
        let mut e: Entry = serde_json::from_str(&text).map_err(|err| LibraryError::Unrecognised {
            path: dir.join("manifest.json"),
            msg: format!("bad manifest: {err}"),
        })?;
        if !valid_name(&e.name) {
            return Err(LibraryError::BadName(e.name));
        }
        e.dir = dir.to_path_buf();
        if let Err(msg) = verify_entry(&e) {
            return Err(LibraryError::Unrecognised { path: dir.into(), msg });
        }
        if let Some(old) = self.get(&e.name) {
            if old.digest == e.digest {
                return Ok(old);
            }
            if !force {
                return Err(LibraryError::Exists(e.name));
            }
        }
        fs::create_dir_all(&self.root).map_err(io_err(&self.root))?;
        let tmp = self.root.join(format!(".{}.tmp-{}", e.name, std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
        for f in [
            "model.safetensors",
            "model.json",
            "config.yaml",
            "config.json",
            "tokenizer.json",
            "manifest.json",
        ] {
            let s = dir.join(f);
            if s.is_file() {
                fs::copy(&s, tmp.join(f)).map_err(io_err(&s))?;
            }
        }
        let name = e.name.clone();
        self.install(&tmp, &name, e)
    }

    /// Removes a model.
    pub fn remove(&self, name: &str) -> Result<Entry> {
        let e = self.get(name).ok_or_else(|| LibraryError::Unknown(name.into()))?;
        fs::remove_dir_all(&e.dir).map_err(io_err(&e.dir))?;
        Ok(e)
    }
}

/// Checks a model's files against its manifest: the safetensors digest and that it parses.
pub fn verify_entry(e: &Entry) -> std::result::Result<(), String> {
    let w = e.weights();
    let fail = |err: &dyn std::fmt::Display| format!("{}: {err}", w.display());
    let file = fs::File::open(&w).map_err(|err| fail(&err))?;
    // one read of the file (memory-mapped) serves both the digest and the parse check
    // SAFETY: read-only map of a library file, which is only ever replaced by rename, never rewritten in place
    let bytes = unsafe { memmap2::Mmap::map(&file) }.map_err(|err| fail(&err))?;
    let d = blake3::hash(&bytes).to_hex().to_string();
    if d != e.digest {
        return Err(format!(
            "{}: digest {} differs from the manifest's {} (corrupted or modified; remove and fetch or import again)",
            w.display(),
            &d[..16],
            &e.digest[..16.min(e.digest.len())]
        ));
    }
    safetensors::SafeTensors::deserialize(&bytes).map_err(|err| fail(&format!("not a safetensors file: {err}")))?;
    if let Some(c) = e.config() {
        if !c.is_file() {
            return Err(format!("{} is missing", c.display()));
        }
    }
    if e.kind == ModelKind::Asr {
        for f in ["config.json", "tokenizer.json"] {
            if !e.dir.join(f).is_file() {
                return Err(format!("{} is missing", e.dir.join(f).display()));
            }
        }
    }
    Ok(())
}

/// The file name of `p` as text (lossy), empty when it has none.
pub(super) fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// Bytes in the files directly inside `dir` (0 when it cannot be read).
pub(super) fn dir_size(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
