//! The ws-book home directory: `$WS_BOOK_HOME`, else `$XDG_DATA_HOME/ws-book`, else `~/.local/share/ws-book`.
//!
//! It holds the model library (`models/`) and the voice library (`voices.db`). Shared by the model manager and
//! the voice library so both agree on one location.

use std::path::PathBuf;

/// Environment variable that overrides the home directory.
pub const HOME_ENV: &str = "WS_BOOK_HOME";

/// The ws-book home directory (not created here).
pub fn home_dir() -> PathBuf {
    if let Some(h) = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(h);
    }
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("ws-book");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local").join("share").join("ws-book")
}

/// The model library: converted safetensors + JSON configs.
pub fn models_dir() -> PathBuf {
    home_dir().join("models")
}

/// The voice library database.
pub fn voices_db() -> PathBuf {
    home_dir().join("voices.db")
}
