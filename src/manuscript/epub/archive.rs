//! Resource limits: the ZIP archive validated before anything reads it, and every entry read through a
//! size-limited reader and decoded as text (UTF-8, UTF-16 with a BOM, or declared ISO-8859-1).
//!
//! Owns the limits and the [`Archive`]; imports nothing outside the manuscript types but `zip`.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::super::ManuscriptError;
use super::paths::percent_decode;

/// Largest uncompressed size accepted for one archive entry.
pub const MAX_ENTRY_BYTES: u64 = 64 << 20;
/// Largest total uncompressed size accepted for the whole archive.
pub const MAX_TOTAL_BYTES: u64 = 512 << 20;
/// Largest compression ratio accepted for an entry bigger than [`RATIO_CHECK_FROM`].
pub const MAX_RATIO: u64 = 100;
/// Entries at least this big (uncompressed) are subject to the [`MAX_RATIO`] check.
pub const RATIO_CHECK_FROM: u64 = 1 << 20;
/// Largest number of entries accepted.
pub const MAX_ENTRIES: usize = 50_000;

const MIB: u64 = 1 << 20;

/// A validated ZIP archive with size-limited reads.
pub(super) struct Archive {
    path: PathBuf,
    zip: zip::ZipArchive<BufReader<File>>,
    names: HashSet<String>,
    total_read: u64,
}

impl Archive {
    /// A [`ManuscriptError::Invalid`] naming this book.
    pub(super) fn invalid(&self, message: impl Into<String>) -> ManuscriptError {
        ManuscriptError::Invalid {
            path: self.path.clone(),
            message: message.into(),
        }
    }

    /// Opens and validates the archive: ZIP structure, entry names, sizes, ratios.
    pub(super) fn open(path: &Path) -> Result<Archive, ManuscriptError> {
        let invalid = |m: String| ManuscriptError::Invalid {
            path: path.to_path_buf(),
            message: m,
        };
        let file = File::open(path).map_err(|source| ManuscriptError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut zip = zip::ZipArchive::new(BufReader::new(file))
            .map_err(|e| invalid(format!("not an EPUB: not a ZIP archive ({e})")))?;
        if zip.len() > MAX_ENTRIES {
            return Err(invalid(format!(
                "has {} archive entries (limit {MAX_ENTRIES})",
                zip.len()
            )));
        }
        let mut names = HashSet::with_capacity(zip.len());
        let mut total: u64 = 0;
        for i in 0..zip.len() {
            let f = zip
                .by_index_raw(i)
                .map_err(|e| invalid(format!("archive entry #{i} is unreadable: {e}")))?;
            let name = f
                .name()
                .map_err(|e| invalid(format!("archive entry #{i} has an unreadable name: {e}")))?
                .to_string();
            if escapes(&name) {
                return Err(invalid(format!(
                    "archive entry \"{name}\" has a path escaping the archive"
                )));
            }
            let size = f.size();
            let packed = f.compressed_size();
            if size > MAX_ENTRY_BYTES {
                return Err(invalid(format!(
                    "archive entry \"{name}\" is {} MiB uncompressed (limit {} MiB): refusing a possible zip bomb",
                    size / MIB,
                    MAX_ENTRY_BYTES / MIB
                )));
            }
            if size >= RATIO_CHECK_FROM && size / packed.max(1) > MAX_RATIO {
                return Err(invalid(format!(
                    "archive entry \"{name}\" is compressed {}:1 (limit {MAX_RATIO}:1): refusing a possible zip bomb",
                    size / packed.max(1)
                )));
            }
            total = total.saturating_add(size);
            if total > MAX_TOTAL_BYTES {
                return Err(invalid(format!(
                    "archive is more than {} MiB uncompressed: refusing a possible zip bomb",
                    MAX_TOTAL_BYTES / MIB
                )));
            }
            if !f.is_dir() {
                names.insert(name);
            }
        }
        Ok(Archive {
            path: path.to_path_buf(),
            zip,
            names,
            total_read: 0,
        })
    }

    /// Whether the archive has a (non-directory) entry named exactly `name`.
    pub(super) fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// The archive's name for `path`: as is, or percent-decoded.
    pub(super) fn resolve_name(&self, path: &str) -> Option<String> {
        if self.names.contains(path) {
            return Some(path.to_string());
        }
        let decoded = percent_decode(path);
        self.names.contains(&decoded).then_some(decoded)
    }

    /// Reads an entry, never more than [`MAX_ENTRY_BYTES`] (declared sizes may lie).
    pub(super) fn read(&mut self, name: &str) -> Result<Vec<u8>, ManuscriptError> {
        let path = self.path.clone();
        let invalid = |m: String| ManuscriptError::Invalid {
            path: path.clone(),
            message: m,
        };
        let mut f = self.zip.by_name(name).map_err(|e| match e {
            zip::result::ZipError::UnsupportedArchive(m) if m == zip::result::ZipError::PASSWORD_REQUIRED => {
                invalid(format!("item {name} is encrypted (DRM-protected books cannot be read)"))
            }
            zip::result::ZipError::FileNotFound => invalid(format!("item {name} is missing from the archive")),
            e => invalid(format!("item {name} cannot be read: {e}")),
        })?;
        let mut buf = Vec::with_capacity(f.size().min(MAX_ENTRY_BYTES) as usize);
        (&mut f)
            .take(MAX_ENTRY_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| invalid(format!("item {name} cannot be read: {e}")))?;
        if buf.len() as u64 > MAX_ENTRY_BYTES {
            return Err(invalid(format!(
                "item {name} inflates beyond {} MiB: refusing a possible zip bomb",
                MAX_ENTRY_BYTES / MIB
            )));
        }
        self.total_read += buf.len() as u64;
        if self.total_read > MAX_TOTAL_BYTES {
            return Err(invalid(format!(
                "archive inflates beyond {} MiB: refusing a possible zip bomb",
                MAX_TOTAL_BYTES / MIB
            )));
        }
        Ok(buf)
    }

    /// Reads an entry as text: UTF-8 (BOM allowed), UTF-16 with a BOM, or ISO-8859-1 when the XML
    /// declaration says so.
    pub(super) fn read_text(&mut self, name: &str) -> Result<String, ManuscriptError> {
        let bytes = self.read(name)?;
        decode_text(&bytes).map_err(|m| self.invalid(format!("item {name} {m}")))
    }
}

/// Whether a ZIP entry name escapes the archive (`..` components, absolute paths, drive letters).
fn escapes(name: &str) -> bool {
    name.starts_with('/')
        || name.starts_with('\\')
        || name.as_bytes().get(1) == Some(&b':')
        || name.split(['/', '\\']).any(|c| c == "..")
}

fn decode_text(bytes: &[u8]) -> Result<String, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        utf16(rest, u16::from_le_bytes)?
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        utf16(rest, u16::from_be_bytes)?
    } else {
        match std::str::from_utf8(bytes) {
            Ok(s) => s.to_string(),
            Err(e) => {
                let head = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).to_ascii_lowercase();
                let latin1 = head.starts_with("<?xml")
                    && ["iso-8859-1", "latin1", "latin-1", "iso8859-1"]
                        .iter()
                        .any(|n| head.contains(n));
                if latin1 {
                    bytes.iter().map(|&b| b as char).collect()
                } else {
                    return Err(format!(
                        "is not valid UTF-8 (invalid byte at offset {})",
                        e.valid_up_to()
                    ));
                }
            }
        }
    };
    if text.contains('\0') {
        return Err("is not a text document (contains NUL characters)".to_string());
    }
    Ok(text)
}

fn utf16(bytes: &[u8], f: fn([u8; 2]) -> u16) -> Result<String, String> {
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| f([c[0], c[1]])).collect();
    String::from_utf16(&units).map_err(|_| "is not valid UTF-16".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_names() {
        assert!(escapes("../evil") && escapes("a/../../b") && escapes("/abs") && !escapes("OPS/a..b"));
    }
}
