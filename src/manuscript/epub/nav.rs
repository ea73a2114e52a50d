//! Navigation: chapter titles from the EPUB 3 navigation document (`toc` nav; parsed here, the `epub`
//! crate does not), else the EPUB 2 NCX; front-matter types from the OPF guide and the `landmarks` nav.
//!
//! Owns the table of contents; imports nothing outside the manuscript types.

use std::collections::HashMap;

use super::super::xhtml::{self, collapse, Element};
use super::archive::Archive;
use super::front_matter::is_front_type;
use super::package::Package;
use super::paths::{dir_of, normalize, resolve_href};

/// What the navigation says about the spine documents, by archive path.
#[derive(Debug, Default)]
pub(super) struct Toc {
    /// Chapter titles (the first entry for a file wins; nav before NCX).
    pub(super) titles: HashMap<String, String>,
    /// Front-matter types (guide first, then landmarks).
    pub(super) front: HashMap<String, String>,
}

impl Toc {
    /// Reads the guide (`(type, href)` pairs from the OPF at `opf_path`), the nav document and the NCX.
    /// A nav document that cannot be read is a warning.
    pub(super) fn read(
        ar: &mut Archive,
        pkg: &Package,
        guide: &[(String, String)],
        opf_path: &str,
        warnings: &mut Vec<String>,
    ) -> Toc {
        let mut toc = Toc::default();
        for (ty, href) in guide {
            if let Some(p) = resolve_href(&dir_of(opf_path), href) {
                if is_front_type(ty) {
                    toc.front.entry(p).or_insert_with(|| ty.clone());
                }
            }
        }
        let nav_path = pkg
            .nav_path
            .as_deref()
            .and_then(normalize)
            .and_then(|p| ar.resolve_name(&p));
        if let Some(nav) = &nav_path {
            match ar.read_text(nav) {
                Ok(text) => {
                    let parsed = xhtml::parse(&text);
                    toc.read_nav(&parsed.root, &dir_of(nav));
                }
                Err(e) => warnings.push(format!("navigation document {nav} not read: {e}")),
            }
        }
        for (label, content) in &pkg.ncx {
            if let Some(p) = resolve_href("", content) {
                let label = collapse(label);
                if !label.is_empty() {
                    toc.titles.entry(p).or_insert(label);
                }
            }
        }
        toc
    }

    /// Reads the EPUB 3 nav document: the `toc` nav's links give titles (first link to a file wins), the
    /// `landmarks` nav's links give front-matter types.
    fn read_nav(&mut self, root: &Element, dir: &str) {
        let mut navs = Vec::new();
        collect(root, "nav", &mut navs);
        let toc = navs.iter().find(|n| n.has_semantic("toc")).or_else(|| {
            navs.iter()
                .find(|n| !n.has_semantic("landmarks") && !n.has_semantic("page-list"))
        });
        if let Some(toc) = toc {
            let mut links = Vec::new();
            collect(toc, "a", &mut links);
            for a in links {
                let (Some(href), label) = (a.attr("href"), collapse(&a.text_content())) else {
                    continue;
                };
                if let Some(p) = resolve_href(dir, href) {
                    if !label.is_empty() {
                        self.titles.entry(p).or_insert(label);
                    }
                }
            }
        }
        for lm in navs.iter().filter(|n| n.has_semantic("landmarks")) {
            let mut links = Vec::new();
            collect(lm, "a", &mut links);
            for a in links {
                let Some(href) = a.attr("href") else { continue };
                let Some(ty) = a
                    .attr("epub:type")
                    .and_then(|t| t.split_ascii_whitespace().find(|t| is_front_type(t)))
                else {
                    continue;
                };
                if let Some(p) = resolve_href(dir, href) {
                    self.front.entry(p).or_insert_with(|| ty.to_string());
                }
            }
        }
    }
}

/// All descendants of `e` named `name`, in document order.
fn collect<'a>(e: &'a Element, name: &str, out: &mut Vec<&'a Element>) {
    for c in e.elements() {
        if c.name == name {
            out.push(c);
        }
        collect(c, name, out);
    }
}
