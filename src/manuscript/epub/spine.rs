//! The spine: every `itemref` resolved to its manifest item and archive entry before any document is
//! read, so that a broken book fails before any work.
//!
//! Owns spine resolution; imports nothing outside the manuscript types.

use super::super::ManuscriptError;
use super::archive::Archive;
use super::package::Package;
use super::paths::normalize;

/// A spine item, resolved.
pub(super) struct Item {
    /// Manifest id.
    pub(super) id: String,
    /// Archive entry name.
    pub(super) path: String,
    /// Media type.
    pub(super) mime: String,
    /// `linear` (false for `linear="no"`).
    pub(super) linear: bool,
    /// Manifest and itemref `properties`, space-separated.
    pub(super) properties: String,
}

impl Item {
    /// Whether the item is a document the walker can read: (X)HTML, or an SVG content document
    /// (EPUB 3 allows SVG pages in the spine; their text elements are read).
    pub(super) fn is_document(&self) -> bool {
        matches!(
            self.mime.as_str(),
            "application/xhtml+xml"
                | "text/html"
                | "application/xml"
                | "text/xml"
                | "text/x-oeb1-document"
                | "image/svg+xml"
                | ""
        )
    }
}

/// Resolves and checks every spine item: in the manifest, inside the archive, present in it; the
/// spine must list at least one document.
pub(super) fn resolve_spine(pkg: &Package, ar: &Archive, opf_path: &str) -> Result<Vec<Item>, ManuscriptError> {
    let mut items = Vec::with_capacity(pkg.spine.len());
    for s in &pkg.spine {
        let Some(res) = pkg.resources.get(&s.idref) else {
            return Err(ar.invalid(format!(
                "spine itemref \"{}\" refers to no item in the manifest of {opf_path}",
                s.idref
            )));
        };
        let path = normalize(&res.path).ok_or_else(|| {
            ar.invalid(format!(
                "spine item \"{}\" has a path escaping the archive: {}",
                s.idref, res.path
            ))
        })?;
        let Some(path) = ar.resolve_name(&path) else {
            return Err(ar.invalid(format!(
                "spine item \"{}\" ({path}) is missing from the archive",
                s.idref
            )));
        };
        items.push(Item {
            id: s.idref.clone(),
            path,
            mime: res.mime.clone(),
            linear: s.linear,
            properties: format!("{} {}", res.properties, s.properties),
        });
    }
    if items.is_empty() {
        return Err(ar.invalid(format!("the spine of {opf_path} lists no documents")));
    }
    Ok(items)
}
