//! The portable voice file (`voices export` / `voices import`): a small JSON document with the embedding, its
//! BLAKE3 digest (checked on import), the source digests and the metadata. f32 values are written in their
//! shortest round-trip form, so an import gives the identical embedding.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::files::{read_capped, CappedRead};

use super::{embedding_digest, validate_name, SourceRef, Voice, VoiceError};

/// The `format` field of a voice file.
pub const FORMAT: &str = "ws-book-voice";
/// The current version.
pub const VERSION: u32 = 1;

/// A voice file on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoiceFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// Format version.
    pub version: u32,
    /// Voice name.
    pub name: String,
    /// Main language.
    pub lang: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// The embedding.
    pub embedding: Vec<f32>,
    /// BLAKE3 of the embedding's f32 little-endian bytes.
    pub embedding_blake3: String,
    /// Source recordings.
    pub sources: Vec<SourceRef>,
    /// BLAKE3 of the speaker-encoder weights.
    pub model: String,
    /// Creation time.
    pub created: String,
}

/// Writes `voice` to `path` (temp file + rename).
pub fn export(voice: &Voice, path: &Path) -> Result<(), VoiceError> {
    let f = VoiceFile {
        format: FORMAT.into(),
        version: VERSION,
        name: voice.name.clone(),
        lang: voice.lang.clone(),
        description: voice.description.clone(),
        embedding: voice.embedding.clone(),
        embedding_blake3: voice.embedding_digest(),
        sources: voice.sources.clone(),
        model: voice.model.clone(),
        created: voice.created.clone(),
    };
    let ferr = |message: String| VoiceError::File {
        path: path.to_path_buf(),
        message,
    };
    let text = serde_json::to_string_pretty(&f).map_err(|e| ferr(e.to_string()))?;
    let tmp = path.with_extension("json.part");
    std::fs::write(&tmp, text + "\n").map_err(|e| ferr(format!("cannot write: {e}")))?;
    std::fs::rename(&tmp, path).map_err(|e| ferr(format!("cannot write: {e}")))
}

/// Reads and checks a voice file (format, version, name, finite values, embedding digest).
pub fn read(path: &Path) -> Result<Voice, VoiceError> {
    let ferr = |message: String| VoiceError::File {
        path: path.to_path_buf(),
        message,
    };
    let text = read_capped(path, 1 << 20, std::fs::read_to_string).map_err(|e| match e {
        CappedRead::Io(e) => ferr(format!("cannot read: {e}")),
        CappedRead::TooLarge(_) => ferr("too large for a voice file (over 1 MiB)".into()),
    })?;
    let f: VoiceFile = serde_json::from_str(&text).map_err(|e| {
        ferr(format!(
            "not a ws-book voice file (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })?;
    if f.format != FORMAT {
        return Err(ferr(format!("format is `{}`, expected `{FORMAT}`", f.format)));
    }
    if f.version != VERSION {
        return Err(ferr(format!(
            "version {} is not supported (this ws-book reads {VERSION})",
            f.version
        )));
    }
    validate_name(&f.name).map_err(|e| ferr(e.to_string()))?;
    if f.embedding.is_empty() || f.embedding.iter().any(|x| !x.is_finite()) {
        return Err(ferr("the embedding is empty or has non-finite values".into()));
    }
    let digest = embedding_digest(&f.embedding);
    if digest != f.embedding_blake3 {
        return Err(ferr(format!(
            "embedding digest mismatch (file says {}, content is {digest}); the file was altered or damaged",
            f.embedding_blake3
        )));
    }
    Ok(Voice {
        name: f.name,
        lang: f.lang,
        description: f.description,
        embedding: f.embedding,
        sources: f.sources,
        model: f.model,
        created: f.created,
        builtin: false,
    })
}
