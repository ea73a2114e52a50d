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
//!   list items → [`BlockKind::ListItem`], table rows → [`BlockKind::TableRow`] (cells joined with `", "`);
//! * footnotes and asides (`epub:type` footnote/endnote/rearnote/footnotes/endnotes, `<aside>`,
//!   `role="doc-footnote|doc-endnote|doc-endnotes"`) → [`Walked::footnotes`] as [`BlockKind::Footnote`];
//! * note references (`epub:type="noteref"`, `role="doc-noteref"`) are dropped (only the marker);
//! * `<script>`, `<style>`, `<img>`, `<svg>`, `<math>`, `<head>` and media elements are skipped;
//! * `lang`/`xml:lang` (the latter wins), `data-speaker`, `ssml:ph` and `ssml:alphabet` are inherited by
//!   descendants into [`Span`]s; `<br>` is a space; whitespace is collapsed to single spaces and
//!   trimmed at block edges.

use super::{BlockKind, RawBlock, Span};

/// XML namespace of `xml:lang`.
const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";
/// SSML namespace (`ssml:ph`, `ssml:alphabet`).
pub const NS_SSML: &str = "http://www.w3.org/2001/10/synthesis";
/// EPUB OPS namespace (`epub:type`).
pub const NS_EPUB: &str = "http://www.idpf.org/2007/ops";

/// Deepest element nesting kept as a tree; deeper elements' content is attached to the deepest kept
/// element (text is never dropped), which bounds the walker's recursion.
const MAX_DEPTH: usize = 256;

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

    /// Whitespace-separated tokens of `epub:type` and `role`.
    fn semantic_tokens(&self) -> impl Iterator<Item = &str> {
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

/// The result of parsing: the root element and, when the tolerant parser had to be used, why.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// Root element (`html` for documents; a synthetic `div` for fragments).
    pub root: Element,
    /// `Some(reason)` when the input was not well-formed XML and was read by the tolerant parser.
    pub lenient: Option<String>,
}

/// A `<link rel="pronunciation">` found in a document head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PronunciationLink {
    /// The `href`, as written (relative to the document).
    pub href: String,
    /// The `hreflang`, if any.
    pub hreflang: Option<String>,
}

/// A walked document or fragment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Walked {
    /// Body blocks in order (headings included).
    pub blocks: Vec<RawBlock>,
    /// Footnote/aside blocks in order.
    pub footnotes: Vec<RawBlock>,
    /// Pronunciation lexicons linked from the head.
    pub pronunciation_links: Vec<PronunciationLink>,
    /// `epub:type`/`role` tokens of `<body>` and its element children (for front-matter detection).
    pub structural_types: Vec<String>,
}

/// Parses an XHTML/HTML document or fragment: strict XML first, the tolerant parser otherwise.
/// Never fails. A fragment (no single root element, or text at the top level) is wrapped in a `div`.
pub fn parse(text: &str) -> Parsed {
    let prepared = replace_html_entities(text);
    let opts = || roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    match roxmltree::Document::parse_with_options(&prepared, opts()) {
        Ok(doc) => Parsed {
            root: convert(doc.root_element(), 0),
            lenient: None,
        },
        Err(strict_err) => {
            // A fragment such as `a <span lang="pl">b</span> c` is not XML; wrap it and retry.
            let wrapped = format!("<div>{prepared}</div>");
            if let Ok(doc) = roxmltree::Document::parse_with_options(&wrapped, opts()) {
                return Parsed {
                    root: convert(doc.root_element(), 0),
                    lenient: None,
                };
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

// ---------------------------------------------------------------- walking

#[derive(Clone, Default)]
struct Ctx {
    lang: Option<String>,
    speaker: Option<String>,
    ph: Option<String>,
    alphabet: Option<String>,
    /// Kind a flushed block gets.
    kind: Option<BlockKind>,
    /// Inside a footnote/aside.
    note: bool,
    /// Inside a table cell: block elements do not split.
    inline_only: bool,
}

struct Walker {
    out: Walked,
    cur: Vec<Span>,
}

/// Elements whose content is never read.
fn is_skipped(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "img"
            | "svg"
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
fn is_block(name: &str) -> bool {
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

fn is_heading(name: &str) -> bool {
    matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

fn is_note(e: &Element) -> bool {
    e.name == "aside"
        || ["footnote", "endnote", "rearnote", "footnotes", "endnotes", "rearnotes"]
            .iter()
            .any(|t| {
                e.attr("epub:type")
                    .is_some_and(|v| v.split_ascii_whitespace().any(|x| x == *t))
            })
        || ["doc-footnote", "doc-endnote", "doc-endnotes"].iter().any(|t| {
            e.attr("role")
                .is_some_and(|v| v.split_ascii_whitespace().any(|x| x == *t))
        })
}

fn is_noteref(e: &Element) -> bool {
    e.attr("epub:type")
        .is_some_and(|v| v.split_ascii_whitespace().any(|x| x == "noteref"))
        || e.attr("role")
            .is_some_and(|v| v.split_ascii_whitespace().any(|x| x == "doc-noteref"))
}

/// Walks a parsed element (usually [`Parsed::root`]) into blocks. Text directly under the root is a
/// paragraph (so a Markdown paragraph's HTML fragment gives one block).
pub fn walk_element(root: &Element) -> Walked {
    let mut w = Walker {
        out: Walked::default(),
        cur: Vec::new(),
    };
    if let Some(head) = root.find("head") {
        collect_links(head, &mut w.out.pronunciation_links);
    }
    if let Some(body) = root.find("body") {
        w.out
            .structural_types
            .extend(body.semantic_tokens().map(str::to_string));
        for c in body.elements() {
            w.out.structural_types.extend(c.semantic_tokens().map(str::to_string));
        }
    }
    let ctx = Ctx::default();
    w.element(root, &ctx);
    w.flush(&ctx);
    w.out
}

fn collect_links(head: &Element, out: &mut Vec<PronunciationLink>) {
    for e in head.elements() {
        if e.name == "link"
            && e.attr("rel").is_some_and(|r| {
                r.split_ascii_whitespace()
                    .any(|x| x.eq_ignore_ascii_case("pronunciation"))
            })
        {
            if let Some(href) = e.attr("href") {
                out.push(PronunciationLink {
                    href: href.to_string(),
                    hreflang: e.attr("hreflang").map(str::to_string),
                });
            }
        }
    }
}

impl Walker {
    fn element(&mut self, e: &Element, parent: &Ctx) {
        if is_skipped(&e.name) || is_noteref(e) {
            return;
        }
        let mut ctx = parent.clone();
        if let Some(l) = e.attr("xml:lang").or_else(|| e.attr("lang")) {
            ctx.lang = if l.trim().is_empty() {
                None
            } else {
                Some(l.trim().to_string())
            };
        }
        if let Some(s) = e.attr("data-speaker") {
            ctx.speaker = if s.trim().is_empty() {
                None
            } else {
                Some(s.trim().to_string())
            };
        }
        if let Some(p) = e.attr("ssml:ph") {
            ctx.ph = Some(p.to_string());
            ctx.alphabet = e.attr("ssml:alphabet").map(str::to_string);
        }
        if ctx.inline_only {
            // Inside a table cell: everything is inline; blocks become spaces.
            if e.name == "br" || is_block(&e.name) || is_heading(&e.name) || e.name == "li" {
                self.text(" ", &ctx);
            }
            self.children(e, &ctx);
            return;
        }
        if is_note(e) && !ctx.note {
            self.flush(parent);
            ctx.note = true;
            ctx.kind = Some(BlockKind::Footnote);
            self.children(e, &ctx);
            self.flush(&ctx);
            return;
        }
        match e.name.as_str() {
            "br" => self.text(" ", &ctx),
            "tr" => {
                self.flush(parent);
                ctx.inline_only = true;
                let mut first = true;
                for cell in e.elements() {
                    if !matches!(cell.name.as_str(), "td" | "th") {
                        self.element(cell, &ctx);
                        continue;
                    }
                    // Walk the cell on its own, then append it after a ", " separator if it has text.
                    let outer = std::mem::take(&mut self.cur);
                    self.element(cell, &ctx);
                    let cell_spans = std::mem::replace(&mut self.cur, outer);
                    if cell_spans.iter().any(|s| !s.text.trim().is_empty()) {
                        if !first {
                            self.text(", ", &ctx);
                        }
                        first = false;
                        self.cur.extend(cell_spans);
                    }
                }
                ctx.inline_only = false;
                ctx.kind = Some(if ctx.note {
                    BlockKind::Footnote
                } else {
                    BlockKind::TableRow
                });
                self.flush(&ctx);
            }
            "li" => {
                self.flush(parent);
                if !ctx.note {
                    ctx.kind = Some(BlockKind::ListItem);
                }
                self.children(e, &ctx);
                self.flush(&ctx);
            }
            n if is_heading(n) => {
                self.flush(parent);
                if !ctx.note {
                    ctx.kind = Some(BlockKind::Heading);
                }
                self.children(e, &ctx);
                self.flush(&ctx);
            }
            n if is_block(n) => {
                self.flush(parent);
                if !ctx.note
                    && matches!(
                        n,
                        "p" | "blockquote" | "div" | "figcaption" | "caption" | "dt" | "dd" | "pre"
                    )
                {
                    // A paragraph inside a list item is still part of that item.
                    if ctx.kind != Some(BlockKind::ListItem) {
                        ctx.kind = Some(BlockKind::Paragraph);
                    }
                }
                self.children(e, &ctx);
                self.flush(&ctx);
            }
            _ => self.children(e, &ctx),
        }
    }

    fn children(&mut self, e: &Element, ctx: &Ctx) {
        for c in &e.children {
            match c {
                Node::Text(t) => self.text(t, ctx),
                Node::Element(el) => self.element(el, ctx),
            }
        }
    }

    fn text(&mut self, t: &str, ctx: &Ctx) {
        if t.is_empty() {
            return;
        }
        if let Some(last) = self.cur.last_mut() {
            if last.lang == ctx.lang
                && last.speaker == ctx.speaker
                && last.ph == ctx.ph
                && last.ph_alphabet == ctx.alphabet
            {
                last.text.push_str(t);
                return;
            }
        }
        self.cur.push(Span {
            text: t.to_string(),
            lang: ctx.lang.clone(),
            speaker: ctx.speaker.clone(),
            ph: ctx.ph.clone(),
            ph_alphabet: ctx.alphabet.clone(),
        });
    }

    /// Ends the current block: collapses whitespace across spans, trims the edges, drops empty spans,
    /// and stores the block if it has any text.
    fn flush(&mut self, ctx: &Ctx) {
        if self.cur.is_empty() {
            return;
        }
        let spans = collapse_spans(std::mem::take(&mut self.cur));
        if spans.is_empty() {
            return;
        }
        let kind = if ctx.note {
            BlockKind::Footnote
        } else {
            ctx.kind.unwrap_or(BlockKind::Paragraph)
        };
        let block = RawBlock { kind, spans };
        if ctx.note {
            self.out.footnotes.push(block);
        } else {
            self.out.blocks.push(block);
        }
    }
}

/// Collapses whitespace runs to one space across span boundaries, trims the block's edges, and drops
/// spans left empty (merging neighbours with equal attributes).
pub fn collapse_spans(spans: Vec<Span>) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    let mut prev_space = true; // trims the leading edge
    for mut s in spans {
        let mut text = String::with_capacity(s.text.len());
        for ch in s.text.chars() {
            if ch.is_whitespace() {
                if !prev_space {
                    text.push(' ');
                    prev_space = true;
                }
            } else {
                text.push(ch);
                prev_space = false;
            }
        }
        if text.is_empty() {
            continue;
        }
        s.text = text;
        if let Some(last) = out.last_mut() {
            if last.lang == s.lang && last.speaker == s.speaker && last.ph == s.ph && last.ph_alphabet == s.ph_alphabet
            {
                last.text.push_str(&s.text);
                continue;
            }
        }
        out.push(s);
    }
    // Trim the trailing edge.
    while let Some(last) = out.last_mut() {
        if last.text.ends_with(' ') {
            last.text.pop();
        }
        if last.text.is_empty() {
            out.pop();
        } else {
            break;
        }
    }
    out
}

/// Text of a block's spans, concatenated.
pub fn block_text(b: &RawBlock) -> String {
    b.spans.iter().map(|s| s.text.as_str()).collect()
}

// ---------------------------------------------------------------- entities

/// HTML named entities that XML does not define, as code points (the common ones plus all of Latin-1).
fn named_entity(name: &str) -> Option<u32> {
    const LATIN1: [&str; 96] = [
        "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf", "laquo", "not",
        "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro", "para", "middot", "cedil", "sup1",
        "ordm", "raquo", "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc", "Atilde", "Auml",
        "Aring", "AElig", "Ccedil", "Egrave", "Eacute", "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH",
        "Ntilde", "Ograve", "Oacute", "Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc",
        "Uuml", "Yacute", "THORN", "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil",
        "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde", "ograve", "oacute",
        "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave", "uacute", "ucirc", "uuml", "yacute", "thorn", "yuml",
    ];
    if let Some(i) = LATIN1.iter().position(|n| *n == name) {
        return Some(160 + i as u32);
    }
    const OTHER: &[(&str, u32)] = &[
        ("amp", 38),
        ("lt", 60),
        ("gt", 62),
        ("quot", 34),
        ("apos", 39),
        ("OElig", 338),
        ("oelig", 339),
        ("Scaron", 352),
        ("scaron", 353),
        ("Yuml", 376),
        ("fnof", 402),
        ("circ", 710),
        ("tilde", 732),
        ("ensp", 8194),
        ("emsp", 8195),
        ("thinsp", 8201),
        ("zwnj", 8204),
        ("zwj", 8205),
        ("lrm", 8206),
        ("rlm", 8207),
        ("ndash", 8211),
        ("mdash", 8212),
        ("lsquo", 8216),
        ("rsquo", 8217),
        ("sbquo", 8218),
        ("ldquo", 8220),
        ("rdquo", 8221),
        ("bdquo", 8222),
        ("dagger", 8224),
        ("Dagger", 8225),
        ("bull", 8226),
        ("hellip", 8230),
        ("permil", 8240),
        ("prime", 8242),
        ("Prime", 8243),
        ("lsaquo", 8249),
        ("rsaquo", 8250),
        ("oline", 8254),
        ("frasl", 8260),
        ("euro", 8364),
        ("trade", 8482),
        ("larr", 8592),
        ("rarr", 8594),
        ("minus", 8722),
        ("infin", 8734),
        ("ne", 8800),
        ("le", 8804),
        ("ge", 8805),
        ("alpha", 945),
        ("beta", 946),
        ("pi", 960),
    ];
    OTHER.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// Rewrites HTML named entities (other than XML's five) to numeric references so that XML parsing
/// accepts typical EPUB XHTML (`&nbsp;`, `&mdash;`…). Unknown names are left as they are.
fn replace_html_entities(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('&') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map(|p| p + 1)
            .unwrap_or(rest.len());
        let name = &rest[1..end];
        if rest[end..].starts_with(';') && !matches!(name, "amp" | "lt" | "gt" | "quot" | "apos") {
            if let Some(cp) = named_entity(name) {
                out.push_str(&format!("&#{cp};"));
                rest = &rest[end + 1..];
                continue;
            }
        }
        out.push('&');
        rest = &rest[1..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Decodes entity references in `s` (numeric, XML's five, and the HTML names above); unknown or
/// malformed references are kept literally.
/// Decodes HTML named entities and numeric character references (unknown ones are kept as written).
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        // Bounded look-ahead: text with many '&' and no ';' stays linear.
        let semi = rest.as_bytes().iter().take(34).position(|&b| b == b';');
        let decoded = semi.and_then(|p| {
            let name = &rest[1..p];
            let cp = if let Some(num) = name.strip_prefix('#') {
                if let Some(hex) = num.strip_prefix('x').or_else(|| num.strip_prefix('X')) {
                    u32::from_str_radix(hex, 16).ok()
                } else {
                    num.parse::<u32>().ok()
                }
            } else {
                named_entity(name)
            };
            cp.and_then(char::from_u32).map(|c| (c, p))
        });
        match decoded {
            Some((c, p)) => {
                out.push(c);
                rest = &rest[p + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------- tolerant parser

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
    let mut stack: Vec<Element> = vec![Element {
        name: "div".into(),
        ..Default::default()
    }];
    // Depth beyond MAX_DEPTH: opened elements are not pushed; we count them to ignore their end tags.
    let mut overflow = 0usize;
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut text_start = 0;
    let flush_text = |stack: &mut Vec<Element>, s: &str| {
        if !s.is_empty() {
            if let Some(top) = stack.last_mut() {
                top.children.push(Node::Text(decode_entities(s)));
            }
        }
    };
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        let rest = &text[i..];
        // Comments, CDATA, doctype, processing instructions.
        if let Some(after) = rest.strip_prefix("<!--") {
            flush_text(&mut stack, &text[text_start..i]);
            let end = after.find("-->").map(|p| i + 4 + p + 3).unwrap_or(bytes.len());
            i = end;
            text_start = i;
            continue;
        }
        if let Some(after) = rest.strip_prefix("<![CDATA[") {
            flush_text(&mut stack, &text[text_start..i]);
            let (content_end, end) = after
                .find("]]>")
                .map(|p| (i + 9 + p, i + 9 + p + 3))
                .unwrap_or((bytes.len(), bytes.len()));
            if let Some(top) = stack.last_mut() {
                top.children.push(Node::Text(text[i + 9..content_end].to_string()));
            }
            i = end;
            text_start = i;
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            flush_text(&mut stack, &text[text_start..i]);
            i = rest.find('>').map(|p| i + p + 1).unwrap_or(bytes.len());
            text_start = i;
            continue;
        }
        let closing = rest.starts_with("</");
        let name_start = if closing { i + 2 } else { i + 1 };
        let name_len = text[name_start..]
            .find(|c: char| !(c.is_alphanumeric() || c == ':' || c == '-' || c == '_' || c == '.'))
            .unwrap_or(text.len() - name_start);
        let first_ok = text[name_start..].chars().next().is_some_and(|c| c.is_alphabetic());
        if name_len == 0 || !first_ok {
            i += 1; // a literal '<'
            continue;
        }
        // Find the tag's end, respecting quotes for at most MAX_TAG bytes (then the first '>' wins),
        // which keeps unbalanced quotes from making the scan quadratic.
        const MAX_TAG: usize = 4096;
        let j0 = name_start + name_len;
        let mut j = j0;
        let mut quote: Option<u8> = None;
        while j < bytes.len() && j - j0 < MAX_TAG {
            match (quote, bytes[j]) {
                (Some(q), b) if b == q => quote = None,
                (Some(_), _) => {}
                (None, b'"') | (None, b'\'') => quote = Some(bytes[j]),
                (None, b'>') => break,
                _ => {}
            }
            j += 1;
        }
        if j >= bytes.len() || j - j0 >= MAX_TAG {
            match text[j0..].find('>') {
                Some(p) => j = j0 + p,
                // No '>' anywhere after this point: no more tags; the rest is text.
                None => break,
            }
        }
        flush_text(&mut stack, &text[text_start..i]);
        let raw_name = &text[name_start..name_start + name_len];
        let local = raw_name.rsplit(':').next().unwrap_or(raw_name).to_ascii_lowercase();
        let inner = &text[name_start + name_len..j];
        i = j + 1;
        text_start = i;
        if closing {
            if overflow > 0 {
                overflow -= 1;
                continue;
            }
            if let Some(pos) = stack.iter().rposition(|e| e.name == local) {
                if pos == 0 {
                    continue;
                }
                while stack.len() > pos {
                    close_top(&mut stack);
                }
            }
            continue;
        }
        let self_closing = inner.trim_end().ends_with('/');
        let el = Element {
            name: local.clone(),
            attrs: parse_attrs(inner.trim_end().trim_end_matches('/')),
            children: Vec::new(),
        };
        if local == "script" || local == "style" {
            // Raw text: skip to the matching end tag.
            if !self_closing {
                let mut end = bytes.len();
                let mut k = i;
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
                i = text[end..].find('>').map(|p| end + p + 1).unwrap_or(bytes.len());
                text_start = i;
            }
            continue;
        }
        // Implicitly close an open <p> or <li> when a new one starts (HTML's optional end tags).
        if (local == "p" || local == "li") && stack.last().is_some_and(|t| t.name == local) {
            close_top(&mut stack);
        }
        if self_closing || is_void(&local) {
            if let Some(top) = stack.last_mut() {
                top.children.push(Node::Element(el));
            }
        } else if stack.len() >= MAX_DEPTH {
            overflow += 1;
        } else {
            stack.push(el);
        }
    }
    flush_text(&mut stack, &text[text_start.min(bytes.len())..]);
    while stack.len() > 1 {
        close_top(&mut stack);
    }
    let mut root = stack.pop().unwrap_or_default();
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
    use super::*;

    fn texts(w: &Walked) -> Vec<String> {
        w.blocks.iter().map(block_text).collect()
    }

    #[test]
    fn fragment_with_lang_and_speaker() {
        let (w, lenient) =
            walk_html(r#"He said <span lang="pl">dzień  dobry</span> and <span data-speaker="alice">hi</span>."#);
        assert!(lenient.is_none());
        assert_eq!(w.blocks.len(), 1);
        let s = &w.blocks[0].spans;
        assert_eq!(s[0].text, "He said ");
        assert_eq!((s[1].text.as_str(), s[1].lang.as_deref()), ("dzień dobry", Some("pl")));
        assert_eq!(s[2].text, " and ");
        assert_eq!((s[3].text.as_str(), s[3].speaker.as_deref()), ("hi", Some("alice")));
        assert_eq!(s[4].text, ".");
    }

    #[test]
    fn lenient_keeps_text() {
        let (w, lenient) = walk_html("<p>One &nbsp;&bogus; <b>two<p>three < four</div>");
        assert!(lenient.is_some());
        assert_eq!(texts(&w), vec!["One &bogus; two", "three < four"]);
    }

    #[test]
    fn html_entities_in_xhtml() {
        let (w, lenient) = walk_html("<html><body><p>a&nbsp;b&mdash;c &amp; d</p></body></html>");
        assert!(lenient.is_none());
        assert_eq!(texts(&w), vec!["a b\u{2014}c & d"]);
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
