//! This machine: its host name and whether a process of it still runs. Shared by the worker registry, the
//! render lock and the clean-up of temporary files. Imports nothing of the crate.

use std::path::Path;

/// This machine's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Whether a process of this id runs on this host (Linux `/proc`; elsewhere assumed alive, so its leases
/// return to the queue only when they expire, and its temporary files are kept).
pub fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}
