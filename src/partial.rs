//! Temporary output names. Every file ws-book writes goes first to `.NAME.PID.partial` beside its final name,
//! then is synced and renamed into place, so no reader ever sees half a file and no two processes can rename
//! each other's temporary files. [`remove_stale`] clears what killed processes left behind.
//!
//! Imports only `host` (whether a pid still runs).

use std::path::{Path, PathBuf};

/// The temporary name of `path` for this process: `.NAME.PID.partial` in the same folder.
pub fn tmp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.partial", std::process::id()))
}

/// The process that owns a temporary name, if it is one of ours: `Some(Some(pid))` for `.NAME.PID.partial`,
/// `Some(None)` for the older `.NAME.partial` (written before names carried the pid), `None` otherwise.
fn owner(file_name: &str) -> Option<Option<u32>> {
    let stem = file_name.strip_prefix('.')?.strip_suffix(".partial")?;
    if stem.is_empty() {
        return None;
    }
    let pid = stem.rsplit_once('.').and_then(|(_, p)| p.parse::<u32>().ok());
    Some(pid)
}

/// Removes the temporary files in `dir` that no running process of this host owns (left by a SIGKILL, a
/// crash or a full disk). Returns the paths removed. A missing folder is not an error.
pub fn remove_stale(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let me = std::process::id();
    let mut removed = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let stale = match owner(&name) {
            None => false,
            Some(None) => true,
            Some(Some(pid)) => pid != me && !crate::host::process_alive(pid),
        };
        if stale && e.file_type().is_ok_and(|t| t.is_file()) && std::fs::remove_file(e.path()).is_ok() {
            removed.push(e.path());
        }
    }
    removed.sort();
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_pid() {
        let t = tmp_path(Path::new("/out/01 - Storm.mp3"));
        assert_eq!(
            t,
            PathBuf::from(format!("/out/.01 - Storm.mp3.{}.partial", std::process::id()))
        );
        assert_eq!(
            owner(&t.file_name().unwrap().to_string_lossy()),
            Some(Some(std::process::id()))
        );
        assert_eq!(owner(".book.m4b.partial"), Some(None));
        assert_eq!(owner("book.m4b"), None);
        assert_eq!(owner(".partial"), None);
    }

    #[test]
    fn stale_partials_are_removed_live_ones_kept() {
        let d = tempfile::tempdir().unwrap();
        let mine = tmp_path(&d.path().join("a.mp3"));
        // No process has this pid (above any pid_max), so its file is stale.
        let dead = d.path().join(".b.mp3.4294967295.partial");
        let legacy = d.path().join(".c.m4b.partial");
        let keep = d.path().join("c.m4b");
        for p in [&mine, &dead, &legacy, &keep] {
            std::fs::write(p, b"x").unwrap();
        }
        assert_eq!(remove_stale(d.path()), vec![dead.clone(), legacy.clone()]);
        assert!(mine.exists() && keep.exists() && !dead.exists() && !legacy.exists());
        assert!(remove_stale(&d.path().join("missing")).is_empty());
    }
}
