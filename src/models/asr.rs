//! Whisper models in the library: a Hugging Face folder (`model.safetensors` + `config.json` +
//! `tokenizer.json`) or a CTranslate2 / faster-whisper folder (`model.bin` + `config.json` +
//! `tokenizer.json`) converted once into `models/<name>/{model.safetensors, config.json, tokenizer.json,
//! manifest.json}`, and the names `qa.asr` accepts: a folder, a library name, a size (`base`, `tiny.en`, …
//! → `openai/whisper-SIZE`) or a hub repository.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use candle_core::Tensor;

use super::hub::sha256_file;
use super::library::{blake3_file, dir_size, file_name, Entry, Library, LibraryError, SourceFile};
use super::reference::{self, valid_name, KnownRepo, ModelKind, ModelRef};
use super::{Fetch, ModelsError, Resolver};
use crate::asr::{ct2, AsrFiles};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LibraryError + '_ {
    move |source| LibraryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn unrecognised(path: &Path, msg: impl Into<String>) -> LibraryError {
    LibraryError::Unrecognised {
        path: path.into(),
        msg: msg.into(),
    }
}

/// Whether `dir` holds a Whisper model ws-book can convert (either layout).
pub fn is_whisper_dir(dir: &Path) -> bool {
    dir.join("tokenizer.json").is_file()
        && dir.join("config.json").is_file()
        && (dir.join("model.bin").is_file() || dir.join("model.safetensors").is_file())
}

/// What is missing for `dir` to be a Whisper folder, in words.
fn whisper_dir_problem(dir: &Path) -> String {
    let missing: Vec<&str> = ["config.json", "tokenizer.json"]
        .into_iter()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    let weights = dir.join("model.bin").is_file() || dir.join("model.safetensors").is_file();
    let mut m = missing.join(", ");
    if !weights {
        if !m.is_empty() {
            m.push_str(", ");
        }
        m.push_str("model.safetensors or model.bin");
    }
    format!(
        "not a Whisper model folder: {m} missing (a Hugging Face folder has model.safetensors + config.json + tokenizer.json; a faster-whisper one model.bin + config.json + tokenizer.json)"
    )
}

impl Library {
    /// Converts a Whisper folder (either layout) into the library as `name`. The same source is kept; a
    /// different model under the name is an error unless `force`.
    pub fn convert_asr(&self, dir: &Path, name: &str, source: &str, force: bool) -> Result<Entry, LibraryError> {
        if !valid_name(name) {
            return Err(LibraryError::BadName(name.into()));
        }
        if !is_whisper_dir(dir) {
            return Err(unrecognised(dir, whisper_dir_problem(dir)));
        }
        let ct2_weights = dir.join("model.bin");
        let is_ct2 = ct2_weights.is_file() && !dir.join("model.safetensors").is_file();
        let main = if is_ct2 {
            ct2_weights
        } else {
            dir.join("model.safetensors")
        };
        let src_sha = sha256_file(&main).map_err(io(&main))?;
        if let Some(old) = self.get(name) {
            if old.sources.first().is_some_and(|s| s.sha256 == src_sha) {
                return Ok(old);
            }
            if !force {
                return Err(LibraryError::Exists(name.into()));
            }
        }
        fs::create_dir_all(self.root()).map_err(io(self.root()))?;
        let tmp = self.root().join(format!(".{name}.tmp-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        let out = tmp.join("model.safetensors");
        let cfg_path = dir.join("config.json");
        let cfg_text = fs::read_to_string(&cfg_path).map_err(io(&cfg_path))?;
        let cfg: serde_json::Value =
            serde_json::from_str(&cfg_text).map_err(|e| unrecognised(&cfg_path, format!("not JSON: {e}")))?;
        if is_ct2 {
            let m = ct2::Ct2Model::open(&main).map_err(|e| unrecognised(&main, e.to_string()))?;
            let conv = ct2::convert(&m, &cfg).map_err(|e| unrecognised(&main, e.to_string()))?;
            let map: HashMap<&str, Tensor> = conv.tensors.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            candle_core::safetensors::save(&map, &out).map_err(|e| LibraryError::Write {
                path: out.clone(),
                msg: e.to_string(),
            })?;
            let c = tmp.join("config.json");
            fs::write(&c, serde_json::to_vec_pretty(&conv.config).unwrap_or_default()).map_err(io(&c))?;
        } else {
            if cfg.get("d_model").is_none() || cfg.get("num_mel_bins").is_none() {
                return Err(unrecognised(
                    &cfg_path,
                    "not a Whisper config.json (no d_model / num_mel_bins)",
                ));
            }
            fs::copy(&main, &out).map_err(io(&main))?;
            fs::copy(&cfg_path, tmp.join("config.json")).map_err(io(&cfg_path))?;
        }
        let tok = dir.join("tokenizer.json");
        fs::copy(&tok, tmp.join("tokenizer.json")).map_err(io(&tok))?;
        // the model must load before it is called converted
        crate::asr::Transcriber::load(&AsrFiles::in_dir(&tmp), &candle_core::Device::Cpu)
            .map_err(|e| unrecognised(dir, format!("does not load as Whisper: {e}")))?;
        let mut sources = vec![source_file(&main, src_sha)?];
        for f in ["config.json", "tokenizer.json"] {
            let p = dir.join(f);
            let sha = sha256_file(&p).map_err(io(&p))?;
            sources.push(source_file(&p, sha)?);
        }
        let entry = Entry {
            name: name.into(),
            kind: ModelKind::Asr,
            source: source.into(),
            sources,
            digest: blake3_file(&out).map_err(io(&out))?,
            size: dir_size(&tmp),
            format: 1,
            dir: tmp.clone(),
        };
        let manifest = tmp.join("manifest.json");
        fs::write(&manifest, serde_json::to_vec_pretty(&entry).unwrap_or_default()).map_err(io(&manifest))?;
        self.install(&tmp, name, entry)
    }
}

fn source_file(p: &Path, sha256: String) -> Result<SourceFile, LibraryError> {
    Ok(SourceFile {
        file: file_name(p),
        sha256,
        size: fs::metadata(p).map_err(io(p))?.len(),
    })
}

/// A resolved Whisper model: its files and the library entry (name, digest).
#[derive(Debug, Clone)]
pub struct AsrModel {
    /// The files to load.
    pub files: AsrFiles,
    /// The library entry.
    pub entry: Entry,
}

impl AsrModel {
    fn of(entry: Entry) -> Self {
        Self {
            files: AsrFiles::in_dir(&entry.dir),
            entry,
        }
    }
}

impl Resolver {
    /// Resolves a Whisper model as `qa.asr` and `--model` name it: an existing folder (converted into the
    /// library on first use), a library name, a size (`base`, `tiny.en`, … → `openai/whisper-SIZE`), or a
    /// hub repository (`openai/whisper-…`, `Systran/faster-whisper-…`), fetched when `fetch` allows.
    pub fn resolve_asr(&self, text: &str, base: &Path, fetch: Fetch) -> Result<AsrModel, ModelsError> {
        let t = text.trim();
        let path = base.join(t);
        if path.is_dir() {
            return self.asr_from_dir(&path);
        }
        if path.exists() {
            return Err(ModelsError::Settings(format!(
                "{}: a Whisper model is a folder (model.safetensors or model.bin, config.json, tokenizer.json), not a file",
                path.display()
            )));
        }
        if let Some(e) = self.library.get(t) {
            return asr_entry(e);
        }
        let repo: KnownRepo = match reference::whisper_repo(t).or_else(|| reference::known_repo(t)) {
            Some(k) if k.kind == ModelKind::Asr => k,
            _ => {
                return Err(ModelsError::Settings(format!(
                    "`{t}` is not a Whisper model: use a size ({}), openai/whisper-SIZE, Systran/faster-whisper-SIZE, a model folder, or a name from `ws-book models list`",
                    reference::WHISPER_SIZES.join(", ")
                )))
            }
        };
        let r = ModelRef::HubRepo(repo);
        if let Some(e) = self.present(&r) {
            return asr_entry(e);
        }
        if fetch == Fetch::Never {
            return Err(ModelsError::Missing(
                vec![repo.repo.to_string()],
                self.hub.config().offline,
            ));
        }
        asr_entry(self.fetch(&r, false)?)
    }

    fn asr_from_dir(&self, dir: &Path) -> Result<AsrModel, ModelsError> {
        if dir.join("manifest.json").is_file() {
            if let Some(e) = dir
                .file_name()
                .and_then(|n| self.library.get(&n.to_string_lossy()))
                .filter(|e| e.dir == dir)
            {
                return asr_entry(e);
            }
        }
        if !is_whisper_dir(dir) {
            return Err(LibraryError::Unrecognised {
                path: dir.into(),
                msg: whisper_dir_problem(dir),
            }
            .into());
        }
        let main = if dir.join("model.safetensors").is_file() {
            dir.join("model.safetensors")
        } else {
            dir.join("model.bin")
        };
        let sha = sha256_file(&main).map_err(|source| LibraryError::Io {
            path: main.clone(),
            source,
        })?;
        if let Some(e) = self.library.find_by_source_digest(&sha) {
            return asr_entry(e);
        }
        let mut name = format!(
            "whisper-{}",
            reference::sanitize(
                &dir.file_name()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_default()
            )
        );
        if self.library.get(&name).is_some() {
            name = format!("{name}-{}", &sha[..8]);
        }
        let e = self
            .library
            .convert_asr(dir, &name, &dir.display().to_string(), false)?;
        Ok(AsrModel::of(e))
    }

    /// Fetches a Whisper repository's files and converts the folder they arrived in.
    pub(super) fn fetch_asr_repo(
        &self,
        k: &KnownRepo,
        paths: &HashMap<&str, PathBuf>,
        force: bool,
    ) -> Result<Entry, ModelsError> {
        let dir = paths
            .get(k.weights)
            .and_then(|p| p.parent())
            .ok_or_else(|| ModelsError::Settings(format!("{}: nothing fetched", k.repo)))?;
        let name = ModelRef::HubRepo(*k).library_name();
        Ok(self.library.convert_asr(dir, &name, k.repo, force)?)
    }
}

fn asr_entry(e: Entry) -> Result<AsrModel, ModelsError> {
    if e.kind != ModelKind::Asr {
        return Err(ModelsError::Settings(format!(
            "`{}` in the library is a {} model, not Whisper",
            e.name, e.kind
        )));
    }
    Ok(AsrModel::of(e))
}
