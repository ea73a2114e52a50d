//! The parsed tree both parsers produce: [`Element`]s and text [`Node`]s, with the queries the walker
//! and the EPUB navigation reader ask of it.
//!
//! Owns only the tree type; imports nothing outside `std`.

/// A parsed element: local name (lower case) and attributes with canonical prefixes
/// (`xml:lang`, `ssml:ph`, `ssml:alphabet`, `epub:type`; un-namespaced attributes as written).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// Local name, lower case (`p`, `span`, `h1`…).
    pub name: String,
    /// Attributes `(name, value)`, names lower case with canonical prefixes.
    pub attrs: Vec<(String, String)>,
    /// Child nodes in order.
    pub children: Vec<Node>,
}

/// A node of the parsed tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// An element.
    Element(Element),
    /// Text (entities decoded).
    Text(String),
}

impl Element {
    /// The value of attribute `name` (canonical name, e.g. `xml:lang`).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether the whitespace-separated attribute `name` contains `token` exactly (case-sensitive).
    pub(super) fn has_token(&self, name: &str, token: &str) -> bool {
        self.attr(name)
            .is_some_and(|v| v.split_ascii_whitespace().any(|x| x == token))
    }

    /// Whitespace-separated tokens of `epub:type` and `role`.
    pub(super) fn semantic_tokens(&self) -> impl Iterator<Item = &str> {
        self.attr("epub:type")
            .into_iter()
            .chain(self.attr("role"))
            .flat_map(str::split_ascii_whitespace)
    }

    /// Whether `epub:type` or `role` contains `token`.
    pub fn has_semantic(&self, token: &str) -> bool {
        self.semantic_tokens().any(|t| t.eq_ignore_ascii_case(token))
    }

    /// All text below this element, concatenated (no skipping, no collapsing).
    pub fn text_content(&self) -> String {
        let mut out = String::new();
        fn rec(e: &Element, out: &mut String) {
            for c in &e.children {
                match c {
                    Node::Text(t) => out.push_str(t),
                    Node::Element(e) => rec(e, out),
                }
            }
        }
        rec(self, &mut out);
        out
    }

    /// Depth-first search for the first element named `name` (this element included).
    pub fn find(&self, name: &str) -> Option<&Element> {
        if self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| match c {
            Node::Element(e) => e.find(name),
            Node::Text(_) => None,
        })
    }

    /// Element children.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|c| match c {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }
}
