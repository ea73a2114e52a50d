//! The tolerant stage: a small HTML tokenizer for documents that are not well-formed XML. It never
//! fails and never drops text: unclosed elements are closed at the end, stray end tags are ignored, a
//! `<` that does not start a tag and unknown entities are kept as text; comments, doctype and processing
//! instructions are skipped, and so is `<script>`/`<style>` content.
//!
//! Owns HTML tokenizing (tags, attributes, optional end tags); imports nothing outside this walker.

use std::ops::ControlFlow;

use super::entities::decode_entities;
use super::tree::{Element, Node};
use super::MAX_DEPTH;

/// Longest stretch of a tag scanned with quote tracking; past it the first `>` ends the tag, which
/// keeps unbalanced quotes from making the scan quadratic.
const MAX_TAG: usize = 4096;

fn is_void(name: &str) -> bool {
    matches!(
        name,
        "br" | "img"
            | "hr"
            | "meta"
            | "link"
            | "input"
            | "col"
            | "area"
            | "base"
            | "wbr"
            | "source"
            | "param"
            | "embed"
            | "track"
    )
}

/// Parses HTML tolerantly into an [`Element`] tree rooted at a synthetic `div` (or at the document's
/// `html` element when it is the only top-level element). Never fails: unclosed elements are closed at
/// the end, stray end tags are ignored, a `<` that does not start a tag and unknown entities are kept as
/// text, comments/doctype/processing instructions are skipped, `<script>`/`<style>` content is skipped.
pub fn parse_lenient(text: &str) -> Element {
    let mut p = Lenient {
        text,
        stack: vec![Element {
            name: "div".into(),
            ..Default::default()
        }],
        overflow: 0,
        i: 0,
        text_start: 0,
    };
    let bytes = text.as_bytes();
    while p.i < bytes.len() {
        if bytes[p.i] != b'<' {
            p.i += 1;
            continue;
        }
        if p.declaration() {
            continue;
        }
        if p.tag().is_break() {
            break;
        }
    }
    p.finish()
}

/// The tokenizer's state: the open elements and the read position.
struct Lenient<'t> {
    text: &'t str,
    /// Open elements; the bottom one is the synthetic root.
    stack: Vec<Element>,
    /// Depth beyond MAX_DEPTH: opened elements are not pushed; we count them to ignore their end tags.
    overflow: usize,
    /// Read position (byte offset).
    i: usize,
    /// Where the text not yet added to the tree starts.
    text_start: usize,
}

impl Lenient<'_> {
    /// Adds the pending text up to `end` (entity-decoded) to the innermost open element.
    fn flush_text(&mut self, end: usize) {
        let s = &self.text[self.text_start..end];
        if !s.is_empty() {
            if let Some(top) = self.stack.last_mut() {
                top.children.push(Node::Text(decode_entities(s)));
            }
        }
    }

    /// Consumes a comment, CDATA section (kept as text), doctype or processing instruction at `self.i`;
    /// `false` when there is none.
    fn declaration(&mut self) -> bool {
        let (text, len, i) = (self.text, self.text.len(), self.i);
        let rest = &text[i..];
        if let Some(after) = rest.strip_prefix("<!--") {
            self.flush_text(i);
            self.i = after.find("-->").map(|p| i + 4 + p + 3).unwrap_or(len);
        } else if let Some(after) = rest.strip_prefix("<![CDATA[") {
            self.flush_text(i);
            let (content_end, end) = after
                .find("]]>")
                .map(|p| (i + 9 + p, i + 9 + p + 3))
                .unwrap_or((len, len));
            if let Some(top) = self.stack.last_mut() {
                top.children.push(Node::Text(text[i + 9..content_end].to_string()));
            }
            self.i = end;
        } else if rest.starts_with("<!") || rest.starts_with("<?") {
            self.flush_text(i);
            self.i = rest.find('>').map(|p| i + p + 1).unwrap_or(len);
        } else {
            return false;
        }
        self.text_start = self.i;
        true
    }

    /// Consumes a start or end tag at `self.i`, or steps over a literal `<`. Breaks when no `>` follows
    /// anywhere: there are no more tags and the rest is text.
    fn tag(&mut self) -> ControlFlow<()> {
        let (text, i) = (self.text, self.i);
        let closing = text[i..].starts_with("</");
        let name_start = if closing { i + 2 } else { i + 1 };
        let name_len = text[name_start..]
            .find(|c: char| !(c.is_alphanumeric() || c == ':' || c == '-' || c == '_' || c == '.'))
            .unwrap_or(text.len() - name_start);
        let first_ok = text[name_start..].chars().next().is_some_and(|c| c.is_alphabetic());
        if name_len == 0 || !first_ok {
            self.i += 1; // a literal '<'
            return ControlFlow::Continue(());
        }
        let name_end = name_start + name_len;
        let Some(j) = tag_end(text, name_end) else {
            return ControlFlow::Break(());
        };
        self.flush_text(i);
        let raw_name = &text[name_start..name_end];
        let local = raw_name.rsplit(':').next().unwrap_or(raw_name).to_ascii_lowercase();
        let inner = &text[name_end..j];
        self.i = j + 1;
        self.text_start = self.i;
        if closing {
            self.end_tag(&local);
        } else {
            self.start_tag(local, inner);
        }
        ControlFlow::Continue(())
    }

    /// Closes the innermost open element named `local` and everything inside it; a stray end tag (no
    /// such element open, or only the synthetic root) is ignored.
    fn end_tag(&mut self, local: &str) {
        if self.overflow > 0 {
            self.overflow -= 1;
            return;
        }
        if let Some(pos) = self.stack.iter().rposition(|e| e.name == local) {
            if pos == 0 {
                return;
            }
            while self.stack.len() > pos {
                close_top(&mut self.stack);
            }
        }
    }

    /// Opens element `local` with the attributes in `inner` (or adds it whole when void/self-closing).
    fn start_tag(&mut self, local: String, inner: &str) {
        let self_closing = inner.trim_end().ends_with('/');
        let el = Element {
            name: local.clone(),
            attrs: parse_attrs(inner.trim_end().trim_end_matches('/')),
            children: Vec::new(),
        };
        if local == "script" || local == "style" {
            if !self_closing {
                self.skip_raw_text(&local);
            }
            return;
        }
        // Implicitly close an open <p> or <li> when a new one starts (HTML's optional end tags).
        if (local == "p" || local == "li") && self.stack.last().is_some_and(|t| t.name == local) {
            close_top(&mut self.stack);
        }
        if self_closing || is_void(&local) {
            if let Some(top) = self.stack.last_mut() {
                top.children.push(Node::Element(el));
            }
        } else if self.stack.len() >= MAX_DEPTH {
            self.overflow += 1;
        } else {
            self.stack.push(el);
        }
    }

    /// Raw text (`<script>`, `<style>`): skips to just after the matching end tag.
    fn skip_raw_text(&mut self, local: &str) {
        let (text, bytes) = (self.text, self.text.as_bytes());
        let mut end = bytes.len();
        let mut k = self.i;
        while let Some(p) = text[k..].find("</") {
            let at = k + p + 2;
            if bytes
                .get(at..at + local.len())
                .is_some_and(|n| n.eq_ignore_ascii_case(local.as_bytes()))
            {
                end = k + p;
                break;
            }
            k = at;
        }
        self.i = text[end..].find('>').map(|p| end + p + 1).unwrap_or(bytes.len());
        self.text_start = self.i;
    }

    /// Adds the trailing text, closes what is still open, and returns the root (the document's `html`
    /// element when it is the only top-level element).
    fn finish(mut self) -> Element {
        self.text_start = self.text_start.min(self.text.len());
        self.flush_text(self.text.len());
        while self.stack.len() > 1 {
            close_top(&mut self.stack);
        }
        let mut root = self.stack.pop().unwrap_or_default();
        // A whole document: use its <html> element as the root.
        let non_ws: Vec<&Node> = root
            .children
            .iter()
            .filter(|c| !matches!(c, Node::Text(t) if t.trim().is_empty()))
            .collect();
        if non_ws.len() == 1 {
            if let Node::Element(e) = non_ws[0] {
                if e.name == "html" {
                    let e = e.clone();
                    root = e;
                }
            }
        }
        root
    }
}

/// Index of the `>` ending a tag whose name ends at `from`: quotes are respected for [`MAX_TAG`] bytes,
/// then the first `>` wins. `None` when no `>` follows at all.
fn tag_end(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut j = from;
    let mut quote: Option<u8> = None;
    while j < bytes.len() && j - from < MAX_TAG {
        match (quote, bytes[j]) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"') | (None, b'\'') => quote = Some(bytes[j]),
            (None, b'>') => break,
            _ => {}
        }
        j += 1;
    }
    if j >= bytes.len() || j - from >= MAX_TAG {
        return text[from..].find('>').map(|p| from + p);
    }
    Some(j)
}

fn close_top(stack: &mut Vec<Element>) {
    if stack.len() > 1 {
        if let Some(done) = stack.pop() {
            if let Some(parent) = stack.last_mut() {
                parent.children.push(Node::Element(done));
            }
        }
    }
}

/// Parses `name="v" name='v' name=v name` attribute lists; names lower-cased, values entity-decoded.
fn parse_attrs(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        if start == i {
            if i < b.len() {
                i += 1;
            }
            continue;
        }
        let name = s[start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let vs = i + 1;
                let ve = s[vs..].find(q as char).map(|p| vs + p).unwrap_or(b.len());
                value = decode_entities(&s[vs..ve]);
                i = (ve + 1).min(b.len());
            } else {
                let vs = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = decode_entities(&s[vs..i]);
            }
        }
        out.push((name, value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::walked_texts;

    #[test]
    fn lenient_keeps_text() {
        let (texts, lenient) = walked_texts("<p>One &nbsp;&bogus; <b>two<p>three < four</div>");
        assert!(lenient);
        assert_eq!(texts, vec!["One &bogus; two", "three < four"]);
    }
}
