//! The walker: an [`Element`] tree → [`Walked`] blocks of [`Span`]s, footnotes apart, plus what the
//! EPUB reader needs from the document head and body (pronunciation links, structural types).
//!
//! Owns block boundaries and kinds (using [`super::classify`]), table rows and footnote routing;
//! imports nothing outside this walker but the manuscript types.

use super::super::{BlockKind, RawBlock, Span};
use super::attrs::Inherited;
use super::classify::{is_block, is_heading, is_note, is_noteref, is_paragraph, is_skipped};
use super::lists::{marker_in_text, OrderedList};
use super::svg::{self, Piece};
use super::tree::{Element, Node};
use super::whitespace::collapse_spans;

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

/// What is in force at a point of the walk.
#[derive(Clone, Default)]
struct Ctx {
    /// Language, speaker and pronunciation inherited from enclosing elements.
    attrs: Inherited,
    /// Kind a flushed block gets.
    kind: Option<BlockKind>,
    /// Inside a footnote/aside.
    note: bool,
    /// Inside a table cell: block elements do not split.
    inline_only: bool,
}

struct Walker {
    out: Walked,
    /// Spans of the block being read.
    cur: Vec<Span>,
    /// The number of the `<ol>` item being read, given to the next block flushed.
    marker: Option<String>,
}

/// Walks a parsed element (usually [`super::Parsed::root`]) into blocks. Text directly under the root
/// is a paragraph (so a Markdown paragraph's HTML fragment gives one block).
pub fn walk_element(root: &Element) -> Walked {
    let mut w = Walker {
        out: Walked::default(),
        cur: Vec::new(),
        marker: None,
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
        ctx.attrs.inherit(e);
        if e.name == "svg" {
            self.svg(e, parent, &ctx);
            return;
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
            ctx.note = true;
            ctx.kind = Some(BlockKind::Footnote);
            self.block(e, parent, ctx, None);
            return;
        }
        match e.name.as_str() {
            "br" => self.text(" ", &ctx),
            "tr" => self.table_row(e, parent, ctx),
            "ol" if !ctx.note => self.ordered_list(e, parent, ctx),
            "li" => self.block(e, parent, ctx, Some(BlockKind::ListItem)),
            n if is_heading(n) => self.block(e, parent, ctx, Some(BlockKind::Heading)),
            n if is_block(n) => {
                // A paragraph inside a list item is still part of that item.
                let kind = (is_paragraph(n) && ctx.kind != Some(BlockKind::ListItem)).then_some(BlockKind::Paragraph);
                self.block(e, parent, ctx, kind)
            }
            _ => self.children(e, &ctx),
        }
    }

    /// A block element: ends the block open in `parent`, reads `e`'s content as a block of `kind`
    /// (`None`: the kind in force; inside a note the blocks stay footnotes), and ends that block.
    fn block(&mut self, e: &Element, parent: &Ctx, mut ctx: Ctx, kind: Option<BlockKind>) {
        self.flush(parent);
        if !ctx.note {
            if let Some(kind) = kind {
                ctx.kind = Some(kind);
            }
        }
        self.children(e, &ctx);
        self.flush(&ctx);
    }

    /// An `<ol>`: its items are read with their numbers (`start`, `reversed`, `type`, `<li value>`), unless
    /// the list hides them (`list-style: none`) or an item's text starts with its number already.
    fn ordered_list(&mut self, e: &Element, parent: &Ctx, ctx: Ctx) {
        self.flush(parent);
        let mut list = OrderedList::new(e);
        for c in &e.children {
            match c {
                Node::Element(li) if li.name == "li" => {
                    self.marker = list.next(li);
                    self.element(li, &ctx);
                    self.marker = None;
                }
                Node::Element(other) => self.element(other, &ctx),
                Node::Text(t) => self.text(t, &ctx),
            }
        }
        self.flush(&ctx);
    }

    /// An `<svg>`: its text lines as paragraphs (inside a table cell: inline); nothing for graphics only.
    fn svg(&mut self, e: &Element, parent: &Ctx, ctx: &Ctx) {
        let pieces = svg::pieces(e, &ctx.attrs);
        if pieces.is_empty() {
            return;
        }
        if ctx.inline_only {
            for p in pieces {
                self.text(" ", ctx);
                match p {
                    Piece::Line(l) => self.cur.extend(svg::join_lines(vec![l])),
                    Piece::Html(h) => self.children(h, ctx),
                }
            }
            return;
        }
        self.flush(parent);
        let mut lines = Vec::new();
        for p in pieces {
            match p {
                Piece::Line(l) => lines.push(l),
                Piece::Html(h) => {
                    self.svg_paragraphs(std::mem::take(&mut lines), ctx);
                    self.block(h, ctx, ctx.clone(), None);
                }
            }
        }
        self.svg_paragraphs(lines, ctx);
    }

    fn svg_paragraphs(&mut self, lines: Vec<svg::Line>, ctx: &Ctx) {
        for paragraph in svg::paragraphs(lines) {
            self.cur.extend(svg::join_lines(paragraph));
            self.flush(ctx);
        }
    }

    /// A table row: one block, its non-empty cells joined with `", "`.
    fn table_row(&mut self, e: &Element, parent: &Ctx, mut ctx: Ctx) {
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
            if ctx.attrs.matches(last) {
                last.text.push_str(t);
                return;
            }
        }
        self.cur.push(ctx.attrs.span(t));
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
        // An `<ol>` item's number goes to its first block, unless the text starts with it already.
        let marker = self.marker.take().filter(|m| !ctx.note && !marker_in_text(m, &spans));
        let block = RawBlock { kind, spans, marker };
        if ctx.note {
            self.out.footnotes.push(block);
        } else {
            self.out.blocks.push(block);
        }
    }
}
