//! The voice library: named speaker embeddings in `$WS_BOOK_HOME/voices.db` (SQLite, migrations in
//! `migrations/voices/`), the portable export format, and the resolution of project voices (library names,
//! reference-audio paths, the built-in `default`) to embeddings at render time.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub mod library;
pub mod portable;
pub mod resolve;

pub use library::VoiceLibrary;
pub use resolve::{VoiceResolver, VoiceSource};

/// Name of the built-in voice (the reference pipeline's default speaker).
pub const DEFAULT_VOICE: &str = "default";

/// Errors of the voice library.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    /// A voice name breaks the naming rules.
    #[error("invalid voice name `{name}`: {why}")]
    InvalidName {
        /// The name.
        name: String,
        /// The rule it breaks.
        why: String,
    },
    /// No such voice.
    #[error("unknown voice `{name}`{hint}")]
    Unknown {
        /// The name.
        name: String,
        /// A hint (known voices, or how to add it).
        hint: String,
    },
    /// The voice exists already.
    #[error("voice `{0}` exists already; pass --force to replace it")]
    Exists(String),
    /// The built-in voice cannot be changed.
    #[error("`default` is the built-in voice and cannot be {0}")]
    BuiltIn(&'static str),
    /// The library database failed.
    #[error("voice library {path}: {source}")]
    Db {
        /// The database file.
        path: PathBuf,
        /// The cause.
        source: sqlx::Error,
    },
    /// The library database could not be migrated.
    #[error("voice library {path}: migration failed: {source}")]
    Migrate {
        /// The database file.
        path: PathBuf,
        /// The cause.
        source: sqlx::migrate::MigrateError,
    },
    /// An export file is unreadable or inconsistent.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Computing an embedding failed.
    #[error(transparent)]
    Speaker(#[from] crate::speaker::SpeakerError),
    /// A project voice cannot be resolved.
    #[error("{speaker}: voice `{voice}`: {message}")]
    Project {
        /// The character (or `narrator`).
        speaker: String,
        /// The voice as written in project.yaml.
        voice: String,
        /// Why.
        message: String,
    },
}

/// Checks a voice name: 1–64 ASCII letters, digits, `-` or `_`, starting with a letter or digit (so a name
/// can never be mistaken for a file path in project.yaml).
pub fn validate_name(name: &str) -> Result<(), VoiceError> {
    let why = if name.is_empty() {
        Some("it is empty".to_string())
    } else if name.len() > 64 {
        Some("it is longer than 64 characters".to_string())
    } else if !name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
        Some("it must start with a letter or digit".to_string())
    } else {
        name.chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
            .map(|c| format!("`{c}` is not allowed (use letters, digits, `-` and `_`)"))
    };
    match why {
        Some(why) => Err(VoiceError::InvalidName {
            name: name.to_string(),
            why,
        }),
        None => Ok(()),
    }
}

/// One reference recording a voice was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRef {
    /// File name (no directories).
    pub file: String,
    /// BLAKE3 of the file, hex.
    pub blake3: String,
    /// Seconds of audio used.
    pub seconds: f64,
}

/// A voice in the library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Voice {
    /// Library name.
    pub name: String,
    /// Main language code, if given.
    pub lang: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// The embedding: mean of the L2-normalised embeddings of the sources.
    pub embedding: Vec<f32>,
    /// The recordings it was made from.
    pub sources: Vec<SourceRef>,
    /// BLAKE3 of the speaker-encoder weights that made it ("" when unknown).
    pub model: String,
    /// Creation time, UTC (RFC 3339).
    pub created: String,
    /// Whether this is the built-in `default`.
    pub builtin: bool,
}

impl Voice {
    /// The built-in voice: WhisperSpeech's default speaker.
    pub fn builtin_default() -> Self {
        Voice {
            name: DEFAULT_VOICE.into(),
            lang: None,
            description: Some("built-in: the WhisperSpeech reference pipeline's default speaker".into()),
            embedding: crate::engine::whisperspeech::engine::default_speaker(),
            sources: Vec::new(),
            model: String::new(),
            created: String::new(),
            builtin: true,
        }
    }

    /// BLAKE3 of the embedding's little-endian bytes, hex.
    pub fn embedding_digest(&self) -> String {
        embedding_digest(&self.embedding)
    }
}

/// BLAKE3 of an embedding's f32 little-endian bytes, hex.
pub fn embedding_digest(e: &[f32]) -> String {
    blake3::hash(&to_bytes(e)).to_hex().to_string()
}

/// f32 little-endian bytes.
pub fn to_bytes(e: &[f32]) -> Vec<u8> {
    e.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Inverse of [`to_bytes`] (`None` when the length is not a multiple of 4).
pub fn from_bytes(b: &[u8]) -> Option<Vec<f32>> {
    b.len().is_multiple_of(4).then(|| {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    })
}

/// BLAKE3 of a file, hex.
pub fn file_digest(path: &std::path::Path) -> std::io::Result<String> {
    let mut h = blake3::Hasher::new();
    h.update_reader(std::fs::File::open(path)?)?;
    Ok(h.finalize().to_hex().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["anna", "Anna_2", "x", "9-lives"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "_a", "a b", "a.wav", "a/b", "ą", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn classify_names_and_paths() {
        use resolve::VoiceSource;
        let base = std::path::Path::new("/p");
        assert_eq!(VoiceSource::classify("default", base), VoiceSource::Builtin);
        assert_eq!(VoiceSource::classify("anna", base), VoiceSource::Library("anna".into()));
        assert_eq!(
            VoiceSource::classify("refs/anna.wav", base),
            VoiceSource::File("/p/refs/anna.wav".into())
        );
    }

    #[test]
    fn bytes_round_trip() {
        let e = vec![1.5f32, -0.0, f32::MIN_POSITIVE, 3.0e-7];
        assert_eq!(from_bytes(&to_bytes(&e)).unwrap(), e);
        assert!(from_bytes(&[1, 2, 3]).is_none());
    }
}
