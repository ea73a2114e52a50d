//! Model references (`owner/repo:file`, a known repository, a local path, a library name) and the named
//! presets.

use std::fmt;
use std::path::PathBuf;

/// What a model does in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Text → semantic tokens.
    T2s,
    /// Semantic → acoustic tokens.
    S2a,
    /// Acoustic tokens → waveform.
    Vocos,
    /// Reference audio → speaker embedding (ECAPA-TDNN).
    Speaker,
    /// Speech → text (Whisper), for quality assurance.
    Asr,
}

impl ModelKind {
    /// The name used in project.yaml and listings.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::T2s => "t2s",
            ModelKind::S2a => "s2a",
            ModelKind::Vocos => "vocos",
            ModelKind::Speaker => "speaker",
            ModelKind::Asr => "asr",
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Vocos repository the reference pipeline uses.
pub const VOCOS_REPO: &str = "charactr/vocos-encodec-24khz";
/// speechbrain's ECAPA-TDNN speaker encoder repository.
pub const SPEAKER_REPO: &str = "speechbrain/spkrec-ecapa-voxceleb";
/// The WhisperSpeech repository.
pub const WHISPERSPEECH_REPO: &str = "collabora/whisperspeech";

/// A whole-repository model: its repo, the files it needs, the main (weights) file and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownRepo {
    /// `owner/name`.
    pub repo: &'static str,
    /// Files to fetch.
    pub files: &'static [&'static str],
    /// The weights among them.
    pub weights: &'static str,
    /// What it is.
    pub kind: ModelKind,
}

/// Files of a Whisper repository in the Hugging Face layout.
const WHISPER_HF_FILES: &[&str] = &["model.safetensors", "config.json", "tokenizer.json"];
/// Files of a CTranslate2 (faster-whisper) Whisper repository.
const WHISPER_CT2_FILES: &[&str] = &["model.bin", "config.json", "tokenizer.json"];

/// Declares [`WHISPER_SIZES`] and the two hub repositories of each size (`WHISPER_REPOS`).
macro_rules! whisper_tables {
    ($($size:literal),*) => {
        /// The Whisper sizes with a hub repository (`openai/whisper-SIZE`, `Systran/faster-whisper-SIZE`).
        pub const WHISPER_SIZES: &[&str] = &[$($size),*];

        const WHISPER_REPOS: &[KnownRepo] = &[$(
            KnownRepo { repo: concat!("openai/whisper-", $size), files: WHISPER_HF_FILES, weights: "model.safetensors", kind: ModelKind::Asr },
            KnownRepo { repo: concat!("Systran/faster-whisper-", $size), files: WHISPER_CT2_FILES, weights: "model.bin", kind: ModelKind::Asr },
        )*];
    };
}

whisper_tables!(
    "tiny",
    "tiny.en",
    "base",
    "base.en",
    "small",
    "small.en",
    "medium",
    "medium.en",
    "large-v3"
);

/// The Hugging Face hub repository of a Whisper size name (`base` → `openai/whisper-base`).
pub fn whisper_repo(size: &str) -> Option<KnownRepo> {
    let repo = format!("openai/whisper-{size}");
    WHISPER_REPOS.iter().find(|k| k.repo == repo).copied()
}

/// A whole-repository model ws-book knows, by `owner/name`.
pub fn known_repo(repo: &str) -> Option<KnownRepo> {
    KNOWN_REPOS
        .iter()
        .chain(WHISPER_REPOS.iter())
        .find(|k| k.repo == repo)
        .copied()
}

/// The whole-repository models ws-book knows besides Whisper (see [`known_repo`] for all).
pub const KNOWN_REPOS: &[KnownRepo] = &[
    KnownRepo {
        repo: VOCOS_REPO,
        files: &["config.yaml", "pytorch_model.bin"],
        weights: "pytorch_model.bin",
        kind: ModelKind::Vocos,
    },
    KnownRepo {
        repo: SPEAKER_REPO,
        files: &["hyperparams.yaml", "embedding_model.ckpt"],
        weights: "embedding_model.ckpt",
        kind: ModelKind::Speaker,
    },
];

/// A model reference as written by a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelRef {
    /// One file of a hub repository: `owner/repo:file` (optionally `owner/repo@revision:file`).
    HubFile {
        /// `owner/name`.
        repo: String,
        /// Revision (`main` by default).
        revision: String,
        /// File in the repository.
        file: String,
    },
    /// A known whole-repository model (Vocos, the speaker encoder).
    HubRepo(KnownRepo),
    /// A local file or folder.
    Local(PathBuf),
    /// A model already in the library, by name.
    Library(String),
}

impl ModelRef {
    /// The library name this reference converts to (file stem for files, repository name for repositories).
    pub fn library_name(&self) -> String {
        match self {
            ModelRef::HubFile { file, .. } => stem(file),
            ModelRef::HubRepo(k) => k.repo.rsplit('/').next().unwrap_or(k.repo).to_string(),
            ModelRef::Local(p) => {
                let f = p
                    .file_name()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_default();
                // `pytorch_model.bin` / `embedding_model.ckpt` are named after their folder
                if matches!(
                    f.as_str(),
                    "pytorch_model.bin" | "embedding_model.ckpt" | "model.safetensors"
                ) {
                    p.parent()
                        .and_then(|d| d.file_name())
                        .map(|s| sanitize(&s.to_string_lossy()))
                        .unwrap_or_else(|| stem(&f))
                } else {
                    stem(&f)
                }
            }
            ModelRef::Library(n) => n.clone(),
        }
    }

    /// The canonical text of a hub reference (`owner/repo:file`, `owner/repo`), if it is one.
    pub fn hub_source(&self) -> Option<String> {
        match self {
            ModelRef::HubFile { repo, revision, file } if revision == "main" => Some(format!("{repo}:{file}")),
            ModelRef::HubFile { repo, revision, file } => Some(format!("{repo}@{revision}:{file}")),
            ModelRef::HubRepo(k) => Some(k.repo.to_string()),
            _ => None,
        }
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelRef::Local(p) => write!(f, "{}", p.display()),
            ModelRef::Library(n) => f.write_str(n),
            _ => f.write_str(&self.hub_source().unwrap_or_default()),
        }
    }
}

fn stem(file: &str) -> String {
    let base = file.rsplit('/').next().unwrap_or(file);
    let s = [".model", ".safetensors", ".ckpt", ".bin", ".pt"]
        .iter()
        .find_map(|e| base.strip_suffix(e))
        .unwrap_or(base);
    sanitize(s)
}

/// Keeps `[A-Za-z0-9._+-]`, replacing anything else with `-`.
pub fn sanitize(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    out.trim_matches('.').to_string()
}

/// Whether `name` is a valid library model name.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'))
}

fn looks_like_repo(s: &str) -> bool {
    let mut parts = s.split('/');
    let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let ok = |p: &str| {
        !p.is_empty()
            && !p.starts_with('.')
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    ok(a) && ok(b)
}

/// Why a reference cannot be understood.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a model reference: use a preset (tiny, base, small), `owner/repo:file` (e.g. collabora/whisperspeech:t2s-base-en+pl.model), {VOCOS_REPO}, {SPEAKER_REPO}, openai/whisper-SIZE or Systran/faster-whisper-SIZE (SIZE: tiny, base, small, medium, large-v3; .en for English-only), an existing file or folder, or the name of a model in `ws-book models list`")]
pub struct BadRef(pub String);

/// Parses a reference. `exists` says whether a local path exists; `in_library` whether a name is in the
/// library. Order: `owner/repo:file` → an existing path → a known repository → a library name.
pub fn parse(s: &str, exists: impl Fn(&str) -> bool, in_library: impl Fn(&str) -> bool) -> Result<ModelRef, BadRef> {
    let s = s.trim();
    if let Some((left, file)) = s.split_once(':') {
        let (repo, revision) = match left.split_once('@') {
            Some((r, rev)) => (r, rev),
            None => (left, "main"),
        };
        if looks_like_repo(repo)
            && !file.is_empty()
            && !file.starts_with('/')
            && !file.split('/').any(|p| p == ".." || p.is_empty())
            && !revision.is_empty()
            && !revision.contains(['/', '.'])
        {
            return Ok(ModelRef::HubFile {
                repo: repo.into(),
                revision: revision.into(),
                file: file.into(),
            });
        }
    }
    if exists(s) {
        return Ok(ModelRef::Local(PathBuf::from(s)));
    }
    if let Some(k) = known_repo(s) {
        return Ok(ModelRef::HubRepo(k));
    }
    if valid_name(s) && in_library(s) {
        return Ok(ModelRef::Library(s.into()));
    }
    Err(BadRef(s.into()))
}

/// A named preset: the four models the pipeline needs, and the Whisper model that checks its speech (QA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// `tiny`, `base` or `small`.
    pub name: &'static str,
    /// T2S `repo:file`.
    pub t2s: &'static str,
    /// S2A `repo:file`.
    pub s2a: &'static str,
    /// Download size in MB of the T2S and S2A files (third-party listing, spec §1.1).
    pub mb: (u32, u32),
    /// The Whisper QA model fetched with the preset (multilingual: the presets speak en and pl).
    pub asr: &'static str,
}

/// The presets (spec §1.1); the reference pipeline's default is `small`.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "tiny",
        t2s: "collabora/whisperspeech:t2s-tiny-en+pl.model",
        s2a: "collabora/whisperspeech:s2a-q4-tiny-en+pl.model",
        mb: (74, 74),
        asr: "openai/whisper-tiny",
    },
    Preset {
        name: "base",
        t2s: "collabora/whisperspeech:t2s-base-en+pl.model",
        s2a: "collabora/whisperspeech:s2a-q4-base-en+pl.model",
        mb: (193, 203),
        asr: "openai/whisper-base",
    },
    Preset {
        name: "small",
        t2s: "collabora/whisperspeech:t2s-small-en+pl.model",
        s2a: "collabora/whisperspeech:s2a-q4-small-en+pl.model",
        mb: (856, 874),
        asr: "openai/whisper-base",
    },
];

/// The default preset (the reference pipeline's defaults).
pub const DEFAULT_PRESET: &str = "small";

/// A preset by name.
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// The reference a preset gives for one kind.
pub fn preset_ref(p: &Preset, kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::T2s => p.t2s,
        ModelKind::S2a => p.s2a,
        ModelKind::Vocos => VOCOS_REPO,
        ModelKind::Speaker => SPEAKER_REPO,
        ModelKind::Asr => p.asr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<ModelRef, BadRef> {
        parse(s, |x| x == "local.model", |n| n == "mine")
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(
            p("collabora/whisperspeech:t2s-small-en+pl.model").unwrap(),
            ModelRef::HubFile {
                repo: "collabora/whisperspeech".into(),
                revision: "main".into(),
                file: "t2s-small-en+pl.model".into()
            }
        );
        assert!(matches!(p("a/b@v1:x.model").unwrap(), ModelRef::HubFile { revision, .. } if revision == "v1"));
        assert_eq!(p("local.model").unwrap(), ModelRef::Local("local.model".into()));
        assert!(matches!(p(VOCOS_REPO).unwrap(), ModelRef::HubRepo(k) if k.kind == ModelKind::Vocos));
        assert_eq!(p("mine").unwrap(), ModelRef::Library("mine".into()));
        assert!(p("nope/nothing").is_err());
        assert!(p("a/b:../etc/passwd").is_err());
        assert!(p("/abs/missing.model").is_err());
    }

    #[test]
    fn library_names() {
        assert_eq!(
            p("collabora/whisperspeech:t2s-small-en+pl.model")
                .unwrap()
                .library_name(),
            "t2s-small-en+pl"
        );
        assert_eq!(p(SPEAKER_REPO).unwrap().library_name(), "spkrec-ecapa-voxceleb");
        assert_eq!(
            ModelRef::Local("/x/vocos-encodec-24khz/pytorch_model.bin".into()).library_name(),
            "vocos-encodec-24khz"
        );
    }
}
