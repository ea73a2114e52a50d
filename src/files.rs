//! Reading an input file under a size limit (project files, Markdown manuscripts, voice files): the size is
//! checked before anything is read, so an oversized file is refused early.

use std::path::Path;

/// Why [`read_capped`] failed.
#[derive(Debug)]
pub(crate) enum CappedRead {
    /// The file could not be examined or read.
    Io(std::io::Error),
    /// The file is larger than the limit; its size in bytes.
    TooLarge(u64),
}

/// Reads `path` with `read` (e.g. [`std::fs::read`], [`std::fs::read_to_string`]) when it is at most `max`
/// bytes long.
pub(crate) fn read_capped<'a, T>(
    path: &'a Path,
    max: u64,
    read: impl FnOnce(&'a Path) -> std::io::Result<T>,
) -> Result<T, CappedRead> {
    let size = std::fs::metadata(path).map_err(CappedRead::Io)?.len();
    if size > max {
        return Err(CappedRead::TooLarge(size));
    }
    read(path).map_err(CappedRead::Io)
}
