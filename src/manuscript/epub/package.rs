//! The OPF package: metadata, manifest, spine, NCX, nav and cover as the `epub` crate reads them
//! (inside `catch_unwind`, its panic message silenced), and the OPF `<guide>` parsed here.
//!
//! Owns the only use of the `epub` crate; imports nothing outside the manuscript types but `epub`
//! and `roxmltree`.

use std::collections::HashMap;
use std::path::Path;

use super::super::xhtml::collapse;

/// A spine `itemref`.
pub(super) struct SpineRef {
    /// Manifest id it refers to.
    pub(super) idref: String,
    /// `linear` (false for `linear="no"`).
    pub(super) linear: bool,
    /// `properties`, space-separated.
    pub(super) properties: String,
}

/// A manifest item.
pub(super) struct Resource {
    /// Path inside the archive, as the crate resolved it.
    pub(super) path: String,
    /// Media type.
    pub(super) mime: String,
    /// `properties`, space-separated.
    pub(super) properties: String,
}

/// What the `epub` crate gives us, copied out of it inside `catch_unwind`.
pub(super) struct Package {
    pub(super) title: Option<String>,
    pub(super) author: Option<String>,
    pub(super) language: Option<String>,
    pub(super) spine: Vec<SpineRef>,
    /// Manifest items by id.
    pub(super) resources: HashMap<String, Resource>,
    /// NCX entries (label, content path with fragment), depth-first.
    pub(super) ncx: Vec<(String, String)>,
    pub(super) nav_path: Option<String>,
    pub(super) cover_path: Option<String>,
    pub(super) cover_mime: Option<String>,
}

/// Reads the package with the `epub` crate; a panic in it becomes an error.
pub(super) fn load_package(path: &Path) -> Result<Package, String> {
    let result = quietly(|| -> Result<Package, String> {
        let doc = epub::doc::EpubDoc::new(path).map_err(|e| format!("the package document cannot be read: {e}"))?;
        let meta = |name: &str| doc.mdata(name).map(|m| collapse(&m.value)).filter(|v| !v.is_empty());
        let resources: HashMap<String, Resource> = doc
            .resources
            .iter()
            .map(|(id, r)| {
                let res = Resource {
                    path: r.path.to_string_lossy().replace('\\', "/"),
                    mime: r.mime.clone(),
                    properties: r.properties.clone().unwrap_or_default(),
                };
                (id.clone(), res)
            })
            .collect();
        let mut ncx = Vec::new();
        fn flatten(points: &[epub::doc::NavPoint], out: &mut Vec<(String, String)>) {
            for p in points {
                out.push((p.label.clone(), p.content.to_string_lossy().replace('\\', "/")));
                flatten(&p.children, out);
            }
        }
        flatten(&doc.toc, &mut ncx);
        let nav_path = resources
            .values()
            .find(|r| r.properties.split_ascii_whitespace().any(|p| p == "nav"))
            .map(|r| r.path.clone());
        let cover = resources
            .values()
            .find(|r| r.properties.split_ascii_whitespace().any(|p| p == "cover-image"))
            .or_else(|| doc.mdata("cover").and_then(|m| resources.get(m.value.trim())))
            .filter(|r| r.mime.starts_with("image/"));
        Ok(Package {
            title: meta("title"),
            author: meta("creator"),
            language: meta("language"),
            spine: doc
                .spine
                .iter()
                .map(|s| SpineRef {
                    idref: s.idref.clone(),
                    linear: s.linear,
                    properties: s.properties.clone().unwrap_or_default(),
                })
                .collect(),
            cover_path: cover.map(|r| r.path.clone()),
            cover_mime: cover.map(|r| r.mime.clone()),
            resources,
            ncx,
            nav_path,
        })
    });
    match result {
        Ok(r) => r,
        Err(_) => Err("the package document is malformed (the EPUB parser failed on it)".to_string()),
    }
}

thread_local! {
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, catching a panic and keeping the default hook from printing it (only on this thread and
/// only for this call; other panics are reported as usual).
fn quietly<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    r
}

/// `(type, href)` of the OPF `<guide>` references; also checks the package is well-formed XML.
pub(super) fn parse_opf_guide(text: &str) -> Result<Vec<(String, String)>, String> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, opts).map_err(|e| format!("not valid XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "package" {
        return Err(format!(
            "root element is <{}>, expected <package>",
            root.tag_name().name()
        ));
    }
    for needed in ["metadata", "manifest", "spine"] {
        if !root.children().any(|n| n.tag_name().name() == needed) {
            return Err(format!("has no <{needed}>"));
        }
    }
    Ok(root
        .descendants()
        .filter(|n| n.tag_name().name() == "reference")
        .filter_map(|n| {
            Some((
                n.attribute("type")?.to_ascii_lowercase(),
                n.attribute("href")?.to_string(),
            ))
        })
        .collect())
}

/// Whether the OPF declares a fixed-layout book (`<meta property="rendition:layout">pre-paginated</meta>`):
/// its pages are one continuous text, not chapters. A package that is not XML is not fixed-layout.
pub(super) fn is_fixed_layout(text: &str) -> bool {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let Ok(doc) = roxmltree::Document::parse_with_options(text, opts) else {
        return false;
    };
    doc.descendants().any(|n| {
        n.tag_name().name() == "meta"
            && n.attribute("property") == Some("rendition:layout")
            && n.text().is_some_and(|t| t.trim() == "pre-paginated")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_panics_are_caught() {
        let r = quietly(|| -> u8 { panic!("boom") });
        assert!(r.is_err());
    }
}
