//! Loading a project file: size limit, reading, parsing, validation, in that order.
//!
//! Owns [`load`] and [`MAX_PROJECT_BYTES`]. Must never import render, worker, store, engine.

use std::path::Path;

use super::error::ProjectError;
use super::parse::parse;
use super::paths::parent_dir;
use super::validate::validate;
use super::Project;
use crate::files::{read_capped, CappedRead};

/// Largest `project.yaml` accepted (a project file is a few kB; this refuses a 100 MB file early).
pub const MAX_PROJECT_BYTES: u64 = 1 << 20;

/// Reads and validates a project file.
pub fn load(path: &Path) -> Result<Project, ProjectError> {
    let text = read_capped(path, MAX_PROJECT_BYTES, std::fs::read_to_string).map_err(|e| match e {
        CappedRead::Io(source) => ProjectError::Io {
            path: path.to_path_buf(),
            source,
        },
        CappedRead::TooLarge(size) => ProjectError::TooLarge {
            path: path.to_path_buf(),
            size,
            max: MAX_PROJECT_BYTES,
        },
    })?;
    let config = parse(&text).map_err(|e| e.with_path(path))?;
    let project = Project {
        source: path.to_path_buf(),
        base_dir: parent_dir(path),
        config,
    };
    validate(&project, &text)?;
    let mut project = project;
    if let Some(path) = project.lexicon_path() {
        for (lang, words) in super::lexicon::read(&path)? {
            project.config.pronunciations.entry(lang).or_default().extend(words);
        }
    }
    Ok(project)
}
