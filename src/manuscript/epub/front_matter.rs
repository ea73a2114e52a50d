//! Front matter: which spine items are cover, table of contents, copyright or title pages (skipped
//! with [`ReadOptions::skip_front_matter`](super::super::ReadOptions::skip_front_matter)), judged
//! before reading (`linear`, nav property, guide/landmarks type, id or file name) and after
//! (`epub:type`/`role` of the body).
//!
//! Owns the front-matter vocabulary; imports nothing.

use std::collections::HashMap;

/// A guide/landmarks/`epub:type` value naming front matter.
pub(super) fn is_front_type(t: &str) -> bool {
    matches!(
        t.to_ascii_lowercase().as_str(),
        "cover" | "toc" | "copyright-page" | "copyright" | "titlepage" | "title-page" | "halftitlepage" | "landmarks"
    )
}

/// Why an item is skipped as front matter, judged before reading it.
pub(super) fn pre_read_skip(
    linear: bool,
    properties: &str,
    id: &str,
    path: &str,
    front: &HashMap<String, String>,
) -> Option<String> {
    if !linear {
        return Some("linear=\"no\"".to_string());
    }
    if properties.split_ascii_whitespace().any(|p| p == "nav") {
        return Some("navigation document".to_string());
    }
    if let Some(ty) = front.get(path) {
        return Some(format!("{ty} page (guide/landmarks)"));
    }
    let stem = path.rsplit('/').next().unwrap_or(path);
    let stem = stem.split('.').next().unwrap_or(stem);
    for name in [id, stem] {
        let lower = name.to_ascii_lowercase();
        if lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|t| matches!(t, "cover" | "copyright" | "toc" | "titlepage" | "coverpage" | "nav"))
        {
            return Some(format!("front matter (named \"{name}\")"));
        }
    }
    None
}

/// A front-matter `epub:type`/`role` on `<body>` or, when every typed child of body is front matter,
pub(super) fn front_structural_type(types: &[String]) -> Option<&str> {
    let front: Vec<&String> = types
        .iter()
        .filter(|t| is_front_type(t) && t.as_str() != "landmarks")
        .collect();
    let main = types.iter().any(|t| {
        matches!(
            t.as_str(),
            "chapter" | "bodymatter" | "part" | "division" | "doc-chapter"
        )
    });
    if main {
        return None;
    }
    front.first().map(|t| t.as_str())
}
