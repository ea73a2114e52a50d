//! The model manager: references and presets ([`reference`]), the hub client ([`hub`]) and the converted
//! library ([`library`]), and [`Resolver`], which turns project settings into loadable files: present → use;
//! absent and online → fetch with progress and convert; absent and offline → an error naming every file to
//! fetch or import.

pub mod asr;
pub mod hub;
pub mod library;
pub mod reference;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use asr::AsrModel;
pub use hub::{FetchProgress, Hub, HubConfig, HubError};
pub use library::{Entry, Library, LibraryError};
pub use reference::{ModelKind, ModelRef, Preset, DEFAULT_PRESET, PRESETS};

use crate::engine::whisperspeech::ModelPaths;

/// Errors of the model manager.
#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    /// A reference that is not one.
    #[error(transparent)]
    BadRef(#[from] reference::BadRef),
    /// Fetching failed.
    #[error(transparent)]
    Hub(#[from] HubError),
    /// Converting or reading the library failed.
    #[error(transparent)]
    Library(#[from] LibraryError),
    /// Models are missing and may not be fetched.
    #[error("{}", missing_message(.0, *.1))]
    Missing(Vec<String>, bool),
    /// A project setting that is wrong.
    #[error("{0}")]
    Settings(String),
}

fn missing_message(refs: &[String], offline: bool) -> String {
    let list = refs.join(" ");
    let why = if offline {
        "offline (HF_HUB_OFFLINE=1 or --offline)"
    } else {
        "not fetched"
    };
    format!(
        "WhisperSpeech models missing ({why}): {}. Fetch them with `ws-book models fetch {list}` on a machine with \
         internet, then copy them here with `ws-book models import PATH` (the hub cache folder or the ws-book models \
         folder); or render a draft with `--engine espeak`",
        refs.join(", ")
    )
}

/// A model ready to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Weights (safetensors from the library, or a local safetensors file).
    pub weights: PathBuf,
    /// Vocos `config.yaml`, when there is one.
    pub config: Option<PathBuf>,
    /// Library name, when it is in the library.
    pub name: Option<String>,
}

/// Whether a missing model may be downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch {
    /// Download what is missing (unless the hub is offline).
    Allow,
    /// Only what is already present.
    Never,
}

/// Resolves references against the library and the hub.
pub struct Resolver {
    /// The converted library.
    pub library: Library,
    /// The hub client.
    pub hub: Hub,
    progress: Box<dyn Fn() -> Box<dyn FetchProgress>>,
}

impl Resolver {
    /// The library in `$WS_BOOK_HOME/models` and the hub from the environment; `offline` forces offline mode.
    pub fn from_env(offline: bool) -> Self {
        let mut cfg = HubConfig::from_env();
        cfg.offline |= offline;
        Self::new(Library::default_location(), Hub::new(cfg))
    }

    /// From parts (tests point these at temporary folders and a local server).
    pub fn new(library: Library, hub: Hub) -> Self {
        Self {
            library,
            hub,
            progress: Box::new(|| Box::new(hub::NoProgress)),
        }
    }

    /// Reports downloads through progress objects made by `f`.
    pub fn with_progress(mut self, f: impl Fn() -> Box<dyn FetchProgress> + 'static) -> Self {
        self.progress = Box::new(f);
        self
    }

    /// Parses a reference (relative paths against `base`).
    pub fn parse(&self, s: &str, base: &Path) -> Result<ModelRef, ModelsError> {
        let r = match reference::parse(s, |p| base.join(p).exists(), |n| self.library.get(n).is_some()) {
            Ok(r) => r,
            Err(_) if looks_like_path(s) => {
                return Err(ModelsError::Settings(format!(
                    "model file {} is missing (no such file)",
                    base.join(s).display()
                )))
            }
            Err(e) => return Err(e.into()),
        };
        Ok(match r {
            ModelRef::Local(p) => ModelRef::Local(base.join(p)),
            other => other,
        })
    }

    /// The library entry a hub reference or name already has, if any.
    pub fn present(&self, r: &ModelRef) -> Option<Entry> {
        match r {
            ModelRef::HubFile { .. } | ModelRef::HubRepo(_) | ModelRef::Library(_) => {
                self.library.find(r.hub_source().as_deref(), &r.library_name())
            }
            ModelRef::Local(_) => None,
        }
    }

    /// Makes `r` loadable: a library entry, a local safetensors file, or (converted on first use) a local
    /// checkpoint; a hub reference not in the library is fetched when `fetch` allows and the hub is online.
    pub fn resolve(&self, r: &ModelRef, fetch: Fetch) -> Result<Resolved, ModelsError> {
        if let Some(e) = self.present(r) {
            return Ok(entry_resolved(&e));
        }
        match r {
            ModelRef::Local(p) => self.resolve_local(p),
            ModelRef::Library(n) => Err(LibraryError::Unknown(n.clone()).into()),
            ModelRef::HubFile { .. } | ModelRef::HubRepo(_) => {
                if fetch == Fetch::Never {
                    return Err(ModelsError::Missing(vec![r.to_string()], self.hub.config().offline));
                }
                let e = self.fetch(r, false)?;
                Ok(entry_resolved(&e))
            }
        }
    }

    /// Downloads a hub reference (or takes it from the hub cache) and converts it into the library.
    pub fn fetch(&self, r: &ModelRef, force: bool) -> Result<Entry, ModelsError> {
        let source = r.hub_source().unwrap_or_default();
        match r {
            ModelRef::HubFile { repo, revision, file } => {
                let mut p = (self.progress)();
                let path = self.hub.fetch(repo, file, revision, p.as_mut())?;
                Ok(self.library.convert(&path, None, &r.library_name(), &source, force)?)
            }
            ModelRef::HubRepo(k) => {
                let mut paths = BTreeMap::new();
                for f in k.files {
                    let mut p = (self.progress)();
                    paths.insert(*f, self.hub.fetch(k.repo, f, "main", p.as_mut())?);
                }
                if k.kind == ModelKind::Asr {
                    return self.fetch_asr_repo(k, &paths.into_iter().collect(), force);
                }
                let weights = &paths[k.weights];
                let config = paths.get("config.yaml").map(PathBuf::as_path);
                Ok(self
                    .library
                    .convert(weights, config, &r.library_name(), &source, force)?)
            }
            ModelRef::Local(p) => Err(ModelsError::Settings(format!(
                "{} is a local path; use `ws-book models import` for local files",
                p.display()
            ))),
            ModelRef::Library(n) => self
                .library
                .get(n)
                .ok_or_else(|| LibraryError::Unknown(n.clone()).into()),
        }
    }

    fn resolve_local(&self, p: &Path) -> Result<Resolved, ModelsError> {
        let p = local_weights(p)?;
        if p.extension().is_some_and(|e| e == "safetensors") {
            let cfg = p.with_file_name("config.yaml");
            return Ok(Resolved {
                weights: p.clone(),
                config: cfg.is_file().then_some(cfg),
                name: None,
            });
        }
        let sha = hub::sha256_file(&p).map_err(|source| LibraryError::Io {
            path: p.clone(),
            source,
        })?;
        if let Some(e) = self.library.find_by_source_digest(&sha) {
            return Ok(entry_resolved(&e));
        }
        let r = ModelRef::Local(p.clone());
        let mut name = r.library_name();
        if self.library.get(&name).is_some() {
            name = format!("{name}-{}", &sha[..8]);
        }
        let e = self.library.convert(&p, None, &name, &file_label(&p), false)?;
        Ok(entry_resolved(&e))
    }

    /// The models for an engine choice, as `render`, `worker`, `say` and `voices preview` all resolve them:
    /// `whisperspeech` fetches what is missing (unless offline), `auto` uses only what is present (the caller
    /// then falls back to the draft engine with this error as the warning), other engines need none (`None`).
    pub fn for_engine(
        &self,
        choice: &str,
        settings: &BTreeMap<String, String>,
        base: &Path,
    ) -> Option<Result<ModelPaths, String>> {
        let fetch = match choice {
            "whisperspeech" => Fetch::Allow,
            "auto" => Fetch::Never,
            _ => return None,
        };
        Some(self.engine_models(settings, base, fetch).map_err(|e| e.to_string()))
    }

    /// The engine's three models from project.yaml `engine.models` (`preset`, `t2s`, `s2a`, `vocos`; a value
    /// may be a preset name, a hub reference, a local path or a library name). Everything missing is named in
    /// one error.
    pub fn engine_models(
        &self,
        settings: &BTreeMap<String, String>,
        base: &Path,
        fetch: Fetch,
    ) -> Result<ModelPaths, ModelsError> {
        for k in settings.keys() {
            if !matches!(
                k.as_str(),
                "preset" | "t2s" | "s2a" | "vocos" | "vocos_config" | "speaker"
            ) {
                return Err(ModelsError::Settings(format!(
                    "unknown key `engine.models.{k}`; use preset, t2s, s2a, vocos, vocos_config or speaker"
                )));
            }
        }
        let preset_name = settings.get("preset").map(String::as_str).unwrap_or(DEFAULT_PRESET);
        let preset = reference::preset(preset_name).ok_or_else(|| {
            ModelsError::Settings(format!(
                "unknown preset `{preset_name}` in engine.models.preset; use tiny, base or small"
            ))
        })?;
        let refs: Vec<ModelRef> = [ModelKind::T2s, ModelKind::S2a, ModelKind::Vocos]
            .iter()
            .map(|&k| {
                let v = settings.get(k.as_str()).map(String::as_str);
                let text = match v {
                    Some(v) => match reference::preset(v) {
                        Some(p) => reference::preset_ref(p, k),
                        None => v,
                    },
                    None => reference::preset_ref(preset, k),
                };
                self.parse(text, base).map_err(|e| match e {
                    ModelsError::BadRef(b) => ModelsError::Settings(format!("engine.models.{k}: {b}")),
                    other => other,
                })
            })
            .collect::<Result<_, _>>()?;
        // name everything missing at once rather than one file per run
        if fetch == Fetch::Never || self.hub.config().offline {
            let missing: Vec<String> = refs
                .iter()
                .filter(|r| !matches!(r, ModelRef::Local(_)) && self.present(r).is_none())
                .map(ToString::to_string)
                .collect();
            if !missing.is_empty() {
                return Err(ModelsError::Missing(missing, self.hub.config().offline));
            }
        }
        let mut out = Vec::with_capacity(3);
        for (r, k) in refs.iter().zip(["T2S", "S2A", "Vocos"]) {
            out.push(self.resolve(r, fetch).map_err(|e| match e {
                ModelsError::Hub(h) => ModelsError::Settings(format!("fetching the WhisperSpeech {k} model {r}: {h}")),
                other => other,
            })?);
        }
        let vocos_config = match settings.get("vocos_config") {
            Some(c) => Some(base.join(c)),
            None => out[2].config.clone(),
        };
        Ok(ModelPaths {
            t2s: out[0].weights.clone(),
            s2a: out[1].weights.clone(),
            vocos: out[2].weights.clone(),
            vocos_config,
        })
    }
}

/// A reference that can only mean a local file (a relative or absolute path, or a checkpoint file name).
fn looks_like_path(s: &str) -> bool {
    s.starts_with('/')
        || s.starts_with('.')
        || s.matches('/').count() > 1
        || [".model", ".safetensors", ".bin", ".ckpt", ".pt"]
            .iter()
            .any(|e| s.ends_with(e))
            && !s.contains(':')
}

fn entry_resolved(e: &Entry) -> Resolved {
    Resolved {
        weights: e.weights(),
        config: e.config(),
        name: Some(e.name.clone()),
    }
}

fn file_label(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// The weights file of a local reference: the file itself, or the known weights inside a folder.
fn local_weights(p: &Path) -> Result<PathBuf, ModelsError> {
    if p.is_file() {
        return Ok(p.to_path_buf());
    }
    for f in ["model.safetensors", "pytorch_model.bin", "embedding_model.ckpt"] {
        let c = p.join(f);
        if c.is_file() {
            return Ok(c);
        }
    }
    Err(ModelsError::Settings(format!(
        "{}: no model file here (expected a checkpoint file, or a folder with model.safetensors, pytorch_model.bin or embedding_model.ckpt)",
        p.display()
    )))
}

/// Download progress on stderr: an indicatif bar on a terminal, one log line per file otherwise.
pub struct BarProgress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
}

impl BarProgress {
    /// A new reporter.
    pub fn boxed() -> Box<dyn FetchProgress> {
        Box::new(Self { bar: None, total: 0 })
    }
}

impl FetchProgress for BarProgress {
    fn start(&mut self, file: &str, total: u64, resumed_from: u64) {
        use std::io::IsTerminal;
        self.total = total;
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{elapsed_precise}] [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} ({eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message(file.to_string());
            bar.set_position(resumed_from);
            self.bar = Some(bar);
        } else if resumed_from > 0 {
            eprintln!("fetching {file}: resuming at {resumed_from} of {total} bytes");
        } else {
            eprintln!("fetching {file}: {total} bytes");
        }
    }

    fn advance(&mut self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    fn finish(&mut self, file: &str) {
        match self.bar.take() {
            Some(b) => b.finish_and_clear(),
            None if self.total > 0 => eprintln!("fetched {file}"),
            None => {}
        }
        eprintln!("{file}: verified");
    }
}
