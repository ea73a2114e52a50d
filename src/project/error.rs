//! The error of reading and validating a project file: every message names the file, and where it can,
//! the line and column.
//!
//! Owns [`ProjectError`]. Must never import render, worker, store, engine.

use std::path::PathBuf;

/// Errors from reading or validating a project file.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The file could not be read.
    #[error("{path}: cannot read the project file: {source}")]
    Io {
        /// The project file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_PROJECT_BYTES`](super::MAX_PROJECT_BYTES).
    #[error("{path}: the project file is {size} bytes; a project.yaml must be under {max} bytes")]
    TooLarge {
        /// The project file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// YAML syntax, schema or budget error, with location.
    #[error("{path}:{line}:{column}: {message}{hint}")]
    Invalid {
        /// The project file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// What is wrong.
        message: String,
        /// A hint, starting with a separator, or empty.
        hint: String,
    },
}
