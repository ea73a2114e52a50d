//! Path resolution: every path written in `project.yaml` is relative to the project file's folder.
//!
//! Owns where a project's files are (manuscripts, output and state folders) and the project made up for a
//! manuscript given directly. Must never import render, worker, store, engine.

use std::path::{Path, PathBuf};

use super::schema::ProjectConfig;
use super::Project;

impl Project {
    /// The project for a manuscript given directly (`ws-book plan book.epub`): all defaults.
    pub fn for_manuscript(path: &Path) -> Project {
        let base_dir = parent_dir(path);
        let name = path
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| path.to_path_buf());
        Project {
            source: path.to_path_buf(),
            base_dir,
            config: ProjectConfig {
                manuscripts: vec![name],
                ..Default::default()
            },
        }
    }

    /// A path from the project resolved against the project's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    /// The lexicon file (`lexicon:`), resolved; `None` when the project has none.
    pub fn lexicon_path(&self) -> Option<PathBuf> {
        self.config.lexicon.as_ref().map(|p| self.resolve(p))
    }

    /// The manuscripts, resolved.
    pub fn manuscript_paths(&self) -> Vec<PathBuf> {
        self.config.manuscripts.iter().map(|p| self.resolve(p)).collect()
    }

    /// The output folder, resolved.
    pub fn output_dir(&self) -> PathBuf {
        self.resolve(&self.config.output.dir)
    }

    /// The project (or manuscript) file's name, `book` when the source has none: names the render and its lock.
    pub fn source_file_name(&self) -> String {
        self.source
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "book".into())
    }

    /// The state folder (`.ws-book/` beside the project).
    pub fn state_dir(&self) -> PathBuf {
        self.base_dir.join(".ws-book")
    }
}

/// The folder of `path` (`.` for a bare file name): the folder relative paths resolve against.
pub(super) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
