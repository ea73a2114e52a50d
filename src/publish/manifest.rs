//! `out/.ws-book-outputs.json`: the files each project's render wrote into the output folder (names relative
//! to it, under the render's name, so projects sharing one `--out` folder never move each other's files). A
//! complete render moves the files an earlier render of the same project wrote and this one did not — a format no longer asked
//! for, a chapter renamed or removed — into `out/stale/` (moved, never deleted: nothing is lost, and the
//! folder can be emptied by hand). An incomplete render moves nothing and adds its files to the list. Files
//! ws-book never wrote are never touched. Imports nothing of the render.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{write_atomic, PublishError};

/// The manifest's file name inside the output folder.
pub const MANIFEST: &str = ".ws-book-outputs.json";
/// Where stale outputs go, inside the output folder.
pub const STALE_DIR: &str = "stale";

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Manifest {
    /// Render name (`folder/project.yaml`) → the file names it wrote.
    renders: BTreeMap<String, BTreeSet<String>>,
}

/// Records what the render `owner` wrote (`written`, paths inside `out_dir`) and, when `complete`, moves the
/// files it wrote before and not now to `out_dir/stale/` — unless another project's entry lists them too.
/// Returns the moved files' new paths.
pub fn update(out_dir: &Path, owner: &str, written: &[PathBuf], complete: bool) -> Result<Vec<PathBuf>, PublishError> {
    let path = out_dir.join(MANIFEST);
    // an unreadable or damaged manifest is treated as empty: nothing is moved on its word
    let mut manifest: Manifest = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let before = manifest.renders.remove(owner).unwrap_or_default();
    let others: BTreeSet<String> = manifest.renders.values().flatten().cloned().collect();
    let now: BTreeSet<String> = written
        .iter()
        .filter_map(|p| p.strip_prefix(out_dir).unwrap_or(p).to_str().map(str::to_string))
        .filter(|n| !n.contains('/') && !n.contains('\\'))
        .collect();
    let mut moved = Vec::new();
    let files = if complete {
        for old in before.difference(&now) {
            // a name from the manifest is a plain file name inside out/ (never a path elsewhere)
            if old.contains('/') || old.contains('\\') || old == ".." || old == "." {
                continue;
            }
            let from = out_dir.join(old);
            if !from.is_file() || others.contains(old) {
                continue;
            }
            let dir = out_dir.join(STALE_DIR);
            let io = |p: &Path| {
                let path = p.to_path_buf();
                move |source| PublishError::Io { path, source }
            };
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
            let to = dir.join(old);
            std::fs::rename(&from, &to).map_err(io(&from))?;
            moved.push(to);
        }
        now
    } else {
        before.union(&now).cloned().collect()
    };
    manifest.renders.insert(owner.to_string(), files);
    let bytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    write_atomic(&path, &bytes)?;
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_files_move_only_after_a_complete_render_and_foreign_files_stay() {
        let d = tempfile::tempdir().unwrap();
        let o = d.path();
        for f in ["a.m4b", "a.mp3", "mine.txt"] {
            std::fs::write(o.join(f), f).unwrap();
        }
        update(o, "p/project.yaml", &[o.join("a.m4b"), o.join("a.mp3")], true).unwrap();
        // incomplete, without the m4b: nothing moves
        assert!(update(o, "p/project.yaml", &[o.join("a.mp3")], false)
            .unwrap()
            .is_empty());
        assert!(o.join("a.m4b").is_file());
        // complete, without the m4b: it moves to stale/, the user's file stays
        let moved = update(o, "p/project.yaml", &[o.join("a.mp3")], true).unwrap();
        assert_eq!(moved, vec![o.join("stale/a.m4b")]);
        assert_eq!(std::fs::read_to_string(o.join("stale/a.m4b")).unwrap(), "a.m4b");
        assert!(o.join("a.mp3").is_file() && o.join("mine.txt").is_file());
        // a hostile manifest naming paths outside out/ moves nothing
        std::fs::write(
            o.join(MANIFEST),
            r#"{"renders": {"p/project.yaml": ["../x", "/etc/passwd", "a.mp3"]}}"#,
        )
        .unwrap();
        assert!(update(o, "p/project.yaml", &[o.join("a.mp3")], true)
            .unwrap()
            .is_empty());
        // another project sharing the folder: its files are never moved by this one
        std::fs::write(o.join("b.mp3"), "b").unwrap();
        update(o, "q/project.yaml", &[o.join("b.mp3")], true).unwrap();
        assert!(update(o, "p/project.yaml", &[o.join("a.mp3")], true)
            .unwrap()
            .is_empty());
        assert!(o.join("b.mp3").is_file());
        // a damaged manifest counts as empty
        std::fs::write(o.join(MANIFEST), "not json").unwrap();
        assert!(update(o, "p/project.yaml", &[], true).unwrap().is_empty());
    }
}
