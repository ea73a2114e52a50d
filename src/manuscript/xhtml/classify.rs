//! Element classification for the walker: which elements are skipped, which start and end a block,
//! which are headings, footnotes/asides and note references.
//!
//! Owns the element-name tables; imports nothing outside this walker.

use super::tree::Element;

/// Elements whose content is never read (`<svg>` is read for its text elements: see `svg`).
pub(super) fn is_skipped(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "img"
            | "math"
            | "head"
            | "template"
            | "audio"
            | "video"
            | "object"
            | "iframe"
            | "canvas"
            | "embed"
    )
}

/// Elements that start and end a block.
pub(super) fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "blockquote"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "main"
            | "nav"
            | "figure"
            | "figcaption"
            | "ul"
            | "ol"
            | "dl"
            | "dt"
            | "dd"
            | "pre"
            | "address"
            | "hr"
            | "body"
            | "html"
            | "table"
            | "thead"
            | "tbody"
            | "tfoot"
            | "caption"
            | "details"
            | "summary"
            | "center"
            | "hgroup"
            | "fieldset"
            | "legend"
            | "form"
    )
}

/// `h1`…`h6`.
pub(super) fn is_heading(name: &str) -> bool {
    matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

/// A footnote, endnote or aside: read apart from the body (see [`super::Walked::footnotes`]).
pub(super) fn is_note(e: &Element) -> bool {
    e.name == "aside"
        || ["footnote", "endnote", "rearnote", "footnotes", "endnotes", "rearnotes"]
            .iter()
            .any(|t| e.has_token("epub:type", t))
        || ["doc-footnote", "doc-endnote", "doc-endnotes"]
            .iter()
            .any(|t| e.has_token("role", t))
}

/// A note reference (`epub:type="noteref"`, `role="doc-noteref"`): only a marker, never read.
pub(super) fn is_noteref(e: &Element) -> bool {
    e.has_token("epub:type", "noteref") || e.has_token("role", "doc-noteref")
}

/// Block elements whose text is a paragraph (other block elements only separate blocks).
pub(super) fn is_paragraph(name: &str) -> bool {
    matches!(
        name,
        "p" | "blockquote" | "div" | "figcaption" | "caption" | "dt" | "dd" | "pre"
    )
}
