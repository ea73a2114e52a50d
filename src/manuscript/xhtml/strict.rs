//! The strict stage: well-formed XML parsed with `roxmltree` and converted to the shared [`Element`]
//! tree, attribute names given canonical prefixes and nesting capped at [`MAX_DEPTH`].
//!
//! Owns the `roxmltree` → [`Element`] conversion; imports nothing outside this walker but `roxmltree`.

use super::tree::{Element, Node};
use super::{MAX_DEPTH, NS_EPUB, NS_SSML};

/// XML namespace of `xml:lang`.
const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";

/// Parses `text` as XML (a DTD is allowed) and converts its root element.
pub(super) fn parse_xml(text: &str) -> Result<Element, roxmltree::Error> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, opts)?;
    Ok(convert(doc.root_element(), 0))
}

fn convert(node: roxmltree::Node<'_, '_>, depth: usize) -> Element {
    let mut el = Element {
        name: node.tag_name().name().to_ascii_lowercase(),
        ..Default::default()
    };
    for a in node.attributes() {
        let local = a.name().to_ascii_lowercase();
        let name = match a.namespace() {
            None => local,
            Some(NS_XML) => format!("xml:{local}"),
            Some(NS_SSML) => format!("ssml:{local}"),
            Some(NS_EPUB) => format!("epub:{local}"),
            Some(_) => format!("ns:{local}"),
        };
        el.attrs.push((name, a.value().to_string()));
    }
    append_children(node, depth, &mut el.children);
    el
}

/// Converts `node`'s children into `out`; at [`MAX_DEPTH`] an element's children are attached in its
/// place (flattened) instead of nesting deeper.
fn append_children(node: roxmltree::Node<'_, '_>, depth: usize, out: &mut Vec<Node>) {
    for c in node.children() {
        if c.is_element() {
            if depth + 1 >= MAX_DEPTH {
                append_children(c, depth, out);
            } else {
                out.push(Node::Element(convert(c, depth + 1)));
            }
        } else if c.is_text() {
            if let Some(t) = c.text() {
                out.push(Node::Text(t.to_string()));
            }
        }
    }
}
