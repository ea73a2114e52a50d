//! Publishing after assembly: timed transcripts (WebVTT, SRT), chapter JSON and the podcast RSS feed, all
//! rendered from templates in `templates/` (minijinja). Nothing here synthesises or encodes audio; it reads the
//! plan, the assembled timelines and the encoded files.

pub mod feed;
pub mod manifest;
pub mod templates;
pub mod transcript;

use std::path::PathBuf;

/// Errors from publishing.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// A template failed to parse or render.
    #[error("template {name}: {message}")]
    Template {
        /// Template name (`podcast/feed.xml.j2`) or override path.
        name: String,
        /// minijinja's message, with the line.
        message: String,
    },
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// Writes `bytes` to `path` atomically (temporary name, then rename); unchanged files are not rewritten.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), PublishError> {
    let io = |p: &std::path::Path| {
        let path = p.to_path_buf();
        move |source| PublishError::Io { path, source }
    };
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let tmp = crate::partial::tmp_path(path);
    // A failed write (a full disk) leaves nothing behind under either name.
    let written = std::fs::write(&tmp, bytes)
        .map_err(io(&tmp))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(io(path)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    Ok(())
}
