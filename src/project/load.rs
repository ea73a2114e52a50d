//! Loading a project file: size limit, reading, parsing, validation, in that order.
//!
//! Owns [`load`] and [`MAX_PROJECT_BYTES`]. Must never import render, worker, store, engine.

use std::path::Path;

use super::error::ProjectError;
use super::parse::parse;
use super::paths::parent_dir;
use super::validate::validate;
use super::Project;

/// Largest `project.yaml` accepted (a project file is a few kB; this refuses a 100 MB file early).
pub const MAX_PROJECT_BYTES: u64 = 1 << 20;

/// Reads and validates a project file.
pub fn load(path: &Path) -> Result<Project, ProjectError> {
    let io = |source| ProjectError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_PROJECT_BYTES {
        return Err(ProjectError::TooLarge {
            path: path.to_path_buf(),
            size,
            max: MAX_PROJECT_BYTES,
        });
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    let config = parse(&text).map_err(|e| e.with_path(path))?;
    let project = Project {
        source: path.to_path_buf(),
        base_dir: parent_dir(path),
        config,
    };
    validate(&project, &text)?;
    Ok(project)
}
