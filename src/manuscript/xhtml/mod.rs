//! The shared HTML/XHTML walker: a document or fragment → [`RawBlock`]s of [`Span`]s.
//!
//! Used by the EPUB reader for spine documents and by the Markdown reader for inline HTML
//! (`<span lang="pl">…</span>`, `<span data-speaker="alice">…</span>`).
//!
//! Parsing is two-stage: well-formed XHTML is parsed with `roxmltree` (after HTML named entities such
//! as `&nbsp;` are rewritten to numeric references); anything else falls back to a small tolerant
//! HTML tokenizer ([`parse_lenient`]) that never fails and never drops text (unknown entities and stray
//! `<` are kept literally). Both produce the same [`Element`] tree, which [`walk_element`] turns into
//! blocks:
//!
//! * headings → [`BlockKind::Heading`], paragraphs / divs / block quotes → [`BlockKind::Paragraph`],
//!   list items → [`BlockKind::ListItem`] (an `<ol>` item with its number in [`RawBlock::marker`]), table rows →
//!   [`BlockKind::TableRow`] (cells joined with `", "`);
//! * `<svg>` text (`<text>`/`<tspan>` lines, in document order) → paragraphs; a purely graphical `<svg>` is
//!   skipped (see `svg` for the line and paragraph rules);
//! * footnotes and asides (`epub:type` footnote/endnote/rearnote/footnotes/endnotes, `<aside>`,
//!   `role="doc-footnote|doc-endnote|doc-endnotes"`) → [`Walked::footnotes`] as [`BlockKind::Footnote`];
//! * note references (`epub:type="noteref"`, `role="doc-noteref"`) are dropped (only the marker);
//! * `<script>`, `<style>`, `<img>`, `<math>`, `<head>` and media elements are skipped;
//! * `lang`/`xml:lang` (the latter wins), `data-speaker`, `ssml:ph` and `ssml:alphabet` are inherited by
//!   descendants into [`Span`]s; `<br>` is a space; whitespace is collapsed to single spaces and
//!   trimmed at block edges.
//!
//! Layout: `tree` holds the tree type ([`Element`], [`Node`]); `strict` converts `roxmltree` documents, `entities`
//! rewrites and decodes character references, `lenient` is the tolerant tokenizer; `walker` turns the
//! tree into blocks, using `classify` (skipped / block / heading / note elements), `attrs` (inherited
//! language, speaker and pronunciation), `whitespace` (collapsing and trimming), `svg` (SVG text lines
//! and paragraphs) and `lists` (`<ol>` item numbers).
//!
//! Owns HTML/XHTML parsing and walking. Must never import the plan, store, worker, engine, render,
//! publish or voice/audio modules, nor the EPUB or Markdown readers (they import this).
//!
//! [`Span`]: super::Span
//! [`BlockKind::Heading`]: super::BlockKind::Heading
//! [`BlockKind::Paragraph`]: super::BlockKind::Paragraph
//! [`BlockKind::ListItem`]: super::BlockKind::ListItem
//! [`BlockKind::TableRow`]: super::BlockKind::TableRow
//! [`BlockKind::Footnote`]: super::BlockKind::Footnote
//! [`RawBlock::marker`]: super::RawBlock::marker

mod attrs;
mod classify;
mod entities;
mod lenient;
mod lists;
mod strict;
mod svg;
mod tree;
mod walker;
mod whitespace;

pub use entities::decode_entities;
pub use lenient::parse_lenient;
pub use tree::{Element, Node};
pub use walker::{walk_element, PronunciationLink, Walked};
pub use whitespace::{collapse, collapse_spans};

use super::RawBlock;

/// SSML namespace (`ssml:ph`, `ssml:alphabet`).
pub const NS_SSML: &str = "http://www.w3.org/2001/10/synthesis";
/// EPUB OPS namespace (`epub:type`).
pub const NS_EPUB: &str = "http://www.idpf.org/2007/ops";

/// Deepest element nesting kept as a tree; deeper elements' content is attached to the deepest kept
/// element (text is never dropped), which bounds the walker's recursion.
const MAX_DEPTH: usize = 256;

/// The result of parsing: the root element and, when the tolerant parser had to be used, why.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// Root element (`html` for documents; a synthetic `div` for fragments).
    pub root: Element,
    /// `Some(reason)` when the input was not well-formed XML and was read by the tolerant parser.
    pub lenient: Option<String>,
}

/// Parses an XHTML/HTML document or fragment: strict XML first, the tolerant parser otherwise.
/// Never fails. A fragment (no single root element, or text at the top level) is wrapped in a `div`.
pub fn parse(text: &str) -> Parsed {
    let prepared = entities::replace_html_entities(text);
    match strict::parse_xml(&prepared) {
        Ok(root) => Parsed { root, lenient: None },
        Err(strict_err) => {
            // A fragment such as `a <span lang="pl">b</span> c` is not XML; wrap it and retry.
            let wrapped = format!("<div>{prepared}</div>");
            if let Ok(root) = strict::parse_xml(&wrapped) {
                return Parsed { root, lenient: None };
            }
            Parsed {
                root: parse_lenient(text),
                lenient: Some(strict_err.to_string()),
            }
        }
    }
}

/// Parses `text` and walks it: see the module documentation. Returns the walk and, when the tolerant
/// parser was used, the XML error that made it necessary.
pub fn walk_html(text: &str) -> (Walked, Option<String>) {
    let parsed = parse(text);
    (walk_element(&parsed.root), parsed.lenient)
}

/// Text of a block's spans, concatenated.
pub fn block_text(b: &RawBlock) -> String {
    b.spans.iter().map(|s| s.text.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The walk's block texts, and whether the tolerant parser had to be used.
    pub(super) fn walked_texts(html: &str) -> (Vec<String>, bool) {
        let (w, lenient) = walk_html(html);
        (w.blocks.iter().map(block_text).collect(), lenient.is_some())
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_markup(s in "[ab <>/p&;#x=\"'!-]{0,200}") {
            let _ = walk_html(&s);
        }

        #[test]
        fn plain_text_keeps_every_word(words in proptest::collection::vec("[a-zA-Z0-9.,!?'\"]{1,8}", 0..40)) {
            let text = words.join("  \n ");
            let (w, _) = walk_html(&text);
            let got: Vec<String> = w.blocks.iter().flat_map(|b| block_text(b).split_whitespace().map(str::to_string).collect::<Vec<_>>()).collect();
            proptest::prop_assert_eq!(got, words);
        }
    }
}
