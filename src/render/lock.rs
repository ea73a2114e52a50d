//! One render per project at a time: an advisory lock (`flock`) on `.ws-book/<project file>.lock`, held for
//! the whole render. The kernel releases it when the holder exits in any way (SIGKILL, crash, reboot), so a
//! dead render's lock is taken over at once on the same host; on a network file system, after the server's
//! lock lease. The file says who holds it (host, pid, since when), for the message a second render prints
//! and for `status`.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::progress::Progress;
use super::RenderError;
use crate::project::Project;

/// Who holds a project's render lock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LockHolder {
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// When the render started (RFC 3339, UTC).
    pub since: String,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "host {}, pid {}, since {}", self.host, self.pid, self.since)
    }
}

/// A held render lock; dropping it releases the lock.
#[derive(Debug)]
pub struct RenderLock {
    _file: File,
}

/// The lock file of a project: `.ws-book/<project or manuscript file name>.lock`.
pub fn lock_path(project: &Project) -> PathBuf {
    let name = project.source_file_name();
    project.state_dir().join(format!("{name}.lock"))
}

/// The holder of a project's render lock while a render runs; `None` when no render of it runs.
pub fn running(project: &Project) -> Option<LockHolder> {
    let path = lock_path(project);
    let file = OpenOptions::new().read(true).write(true).open(&path).ok()?;
    match file.try_lock() {
        Ok(()) => None, // released when `file` is dropped
        Err(_) => Some(read_holder(&path).unwrap_or_else(unknown_holder)),
    }
}

/// Takes the project's render lock. Another render holds it: with `wait`, waits for it (printing who holds
/// it, checking `cancel` every second); without, [`RenderError::Busy`].
pub(super) async fn acquire(
    project: &Project,
    wait: bool,
    cancel: &AtomicBool,
    progress: &Progress,
) -> Result<Option<RenderLock>, RenderError> {
    let path = lock_path(project);
    let io = |source| RenderError::Io {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| RenderError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let holder = read_holder(&path).unwrap_or_else(unknown_holder);
        if !wait {
            return Err(RenderError::Busy { holder, lock: path });
        }
        if !told {
            progress.notice(&format!(
                "render: waiting for the running render of this project ({holder})"
            ));
            told = true;
        }
        if cancel.load(Ordering::SeqCst) {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let me = LockHolder {
        host: crate::host::hostname(),
        pid: std::process::id(),
        since: jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .unwrap_or(jiff::Timestamp::now())
            .to_string(),
    };
    let text = serde_json::to_string(&me).unwrap_or_default();
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(text.as_bytes()))
        .map_err(io)?;
    Ok(Some(RenderLock { _file: file }))
}

fn read_holder(path: &Path) -> Option<LockHolder> {
    let mut s = String::new();
    File::open(path).ok()?.read_to_string(&mut s).ok()?;
    serde_json::from_str(&s).ok()
}

fn unknown_holder() -> LockHolder {
    LockHolder {
        host: "?".into(),
        pid: 0,
        since: "?".into(),
    }
}
