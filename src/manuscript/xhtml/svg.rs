//! SVG text: the `<text>`/`<tspan>`/`<textPath>` content of an `<svg>` (inline in XHTML, or an SVG spine
//! document) read as lines in document order, and the lines joined into paragraphs.
//!
//! Fixed-layout books, comics and picture books put their text in SVG over a page image. The rules:
//! * a `<text>` element starts a line; inside it a `<tspan>` whose `y` differs from the line's or whose
//!   `dy` is not zero starts another (a tspan with only `x` continues the line: tools split words at
//!   kerning changes that way); whitespace is a space;
//! * a line's `y` is its `y` attribute plus the `<text>`'s own `translate`/`matrix` offset (enclosing
//!   `<g>` transforms are not followed); `em` lengths count 16 units;
//! * consecutive lines are one paragraph, joined with a space, except that a line moving up the page or
//!   down by more than 1.6 times the smallest line spacing of the `<svg>` starts a new paragraph; lines
//!   without positions stay in one paragraph;
//! * a line ending in a hyphen after a letter is joined to the next without a space: a soft hyphen is
//!   dropped, a hyphen is dropped before a lower-case letter (`chan-` `ter` → `chanter`) and kept
//!   otherwise (`Franco-` `Prussian`);
//! * `<title>`, `<desc>`, `<metadata>`, `<style>`, `<script>`, `<defs>`, `<symbol>` and paint servers,
//!   masks, clip paths, filters and images are not read; only the first child of a `<switch>` is
//!   read (the one a renderer shows); `<foreignObject>` content is HTML and read as such by the walker.
//!
//! An `<svg>` without text elements stays skipped. Owns SVG text extraction; imports nothing outside
//! this walker but the manuscript types.

use super::super::Span;
use super::attrs::Inherited;
use super::tree::{Element, Node};

/// One line of SVG text.
#[derive(Debug, Clone, Default)]
pub(super) struct Line {
    /// Its text, with the inherited language, speaker and pronunciation.
    pub(super) spans: Vec<Span>,
    /// Its baseline, when known.
    pub(super) y: Option<f64>,
}

impl Line {
    fn has_text(&self) -> bool {
        self.spans.iter().any(|s| !s.text.trim().is_empty())
    }
}

/// What an `<svg>` holds, in document order: text lines, or a `<foreignObject>` for the HTML walker.
pub(super) enum Piece<'a> {
    /// A line of text.
    Line(Line),
    /// HTML content.
    Html(&'a Element),
}

/// Elements under `<svg>` whose content is never read.
fn is_hidden(name: &str) -> bool {
    matches!(
        name,
        "title"
            | "desc"
            | "metadata"
            | "style"
            | "script"
            | "defs"
            | "symbol"
            | "clippath"
            | "mask"
            | "pattern"
            | "marker"
            | "lineargradient"
            | "radialgradient"
            | "filter"
            | "image"
    )
}

/// The lines and HTML islands of `svg`, with `attrs` in force at it.
pub(super) fn pieces<'a>(svg: &'a Element, attrs: &Inherited) -> Vec<Piece<'a>> {
    let mut c = Collector::default();
    c.container(svg, attrs);
    c.end_line();
    c.out
}

#[derive(Default)]
struct Collector<'a> {
    out: Vec<Piece<'a>>,
    line: Line,
    /// The current text element's vertical offset (from its own transform).
    offset: f64,
}

impl<'a> Collector<'a> {
    /// A structural element (`svg`, `g`, `a`, `switch`…): its text elements and HTML islands.
    fn container(&mut self, e: &'a Element, attrs: &Inherited) {
        let mut elements: Vec<&'a Element> = e.elements().collect();
        if e.name == "switch" {
            elements.truncate(1);
        }
        for c in elements {
            let mut a = attrs.clone();
            a.inherit(c);
            match c.name.as_str() {
                n if is_hidden(n) => {}
                "text" => {
                    self.end_line();
                    self.offset = transform_dy(c.attr("transform"));
                    let y = length(c.attr("y"));
                    self.line.y = match (y, c.attr("transform")) {
                        (Some(y), _) => Some(y + self.offset),
                        (None, Some(_)) => Some(self.offset),
                        (None, None) => None,
                    };
                    self.text(c, &a);
                    self.end_line();
                }
                "foreignobject" => {
                    self.end_line();
                    self.out.push(Piece::Html(c));
                }
                _ => self.container(c, &a),
            }
        }
    }

    /// The content of a text element or of a span inside it.
    fn text(&mut self, e: &Element, attrs: &Inherited) {
        for c in &e.children {
            match c {
                Node::Text(t) => self.push(t, attrs),
                Node::Element(el) if is_hidden(&el.name) => {}
                Node::Element(el) => {
                    let mut a = attrs.clone();
                    a.inherit(el);
                    self.position(el);
                    self.text(el, &a);
                }
            }
        }
    }

    /// A `tspan` that moves to another baseline starts a new line.
    fn position(&mut self, e: &Element) {
        let y = length(e.attr("y")).map(|y| y + self.offset);
        let dy = length(e.attr("dy")).filter(|d| d.abs() > 1e-6);
        let next = match (y, dy) {
            (Some(y), Some(d)) => Some(y + d),
            (Some(y), None) => Some(y),
            (None, Some(d)) => Some(self.line.y.unwrap_or(0.0) + d),
            (None, None) => return,
        };
        let moved = match self.line.y {
            Some(cur) => next.is_some_and(|n| (n - cur).abs() > 1e-6),
            None => dy.is_some(),
        };
        if moved && self.line.has_text() {
            self.end_line();
        }
        self.line.y = next.or(self.line.y);
    }

    fn push(&mut self, t: &str, attrs: &Inherited) {
        let t: String = t.chars().map(|c| if c.is_whitespace() { ' ' } else { c }).collect();
        if t.is_empty() {
            return;
        }
        if let Some(last) = self.line.spans.last_mut() {
            if attrs.matches(last) {
                last.text.push_str(&t);
                return;
            }
        }
        self.line.spans.push(attrs.span(&t));
    }

    fn end_line(&mut self) {
        let y = self.line.y;
        let line = std::mem::take(&mut self.line);
        if line.has_text() {
            self.out.push(Piece::Line(line));
        }
        // A tspan after a line break keeps the text element's baseline.
        self.line.y = y;
    }
}

/// The lines of one `<svg>` grouped into paragraphs (see the module documentation).
pub(super) fn paragraphs(lines: Vec<Line>) -> Vec<Vec<Line>> {
    let ys: Vec<Option<f64>> = lines.iter().map(|l| l.y).collect();
    let spacing = ys
        .windows(2)
        .filter_map(|w| Some(w[1]? - w[0]?))
        .filter(|g| *g > 0.5)
        .fold(f64::INFINITY, f64::min);
    let mut out: Vec<Vec<Line>> = Vec::new();
    let mut prev: Option<f64> = None;
    for line in lines {
        let new_paragraph = match (prev, line.y) {
            (Some(p), Some(y)) => y < p - 1e-6 || (spacing.is_finite() && y - p > 1.6 * spacing),
            _ => false,
        };
        prev = line.y.or(prev);
        match out.last_mut() {
            Some(par) if !new_paragraph => par.push(line),
            _ => out.push(vec![line]),
        }
    }
    out
}

/// The spans of a paragraph's lines joined: a space between lines, hyphenated line ends joined.
pub(super) fn join_lines(lines: Vec<Line>) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    for line in lines {
        let mut spans = line.spans;
        // Trim the edges of the line.
        if let Some(first) = spans.first_mut() {
            first.text = first.text.trim_start().to_string();
        }
        if let Some(last) = spans.last_mut() {
            last.text = last.text.trim_end().to_string();
        }
        spans.retain(|s| !s.text.is_empty());
        let Some(next_first) = spans.first().and_then(|s| s.text.chars().next()) else {
            continue;
        };
        if let Some(prev) = out.last_mut() {
            if !join_hyphenated(&mut prev.text, next_first) {
                prev.text.push(' ');
            }
        }
        out.extend(spans);
    }
    out
}

/// Joins a line ending in a hyphen after a letter to the next line starting with `next`: drops a soft
/// hyphen, drops a hyphen before a lower-case letter, keeps it otherwise. False when `prev` does not end
/// in such a hyphen (the lines are then joined with a space).
fn join_hyphenated(prev: &mut String, next: char) -> bool {
    let mut rev = prev.chars().rev();
    let (Some(h), Some(before)) = (rev.next(), rev.next()) else {
        return false;
    };
    if !before.is_alphabetic() || !matches!(h, '-' | '\u{2010}' | '\u{00AD}') {
        return false;
    }
    if h == '\u{00AD}' || next.is_lowercase() {
        prev.pop();
    }
    true
}

/// The first length of an SVG coordinate list (`10`, `10 20`, `1.2em`, `12px`); `em` counts 16.
fn length(v: Option<&str>) -> Option<f64> {
    let first = v?.split([' ', ',', '\t', '\n']).find(|s| !s.is_empty())?;
    let (num, unit) = first.split_at(
        first
            .find(|c: char| c.is_ascii_alphabetic() || c == '%')
            .unwrap_or(first.len()),
    );
    let n: f64 = num.parse().ok()?;
    Some(if unit.starts_with("em") { n * 16.0 } else { n })
}

/// The vertical offset of a `translate(tx ty)` or `matrix(a b c d e f)` transform (0 otherwise).
fn transform_dy(t: Option<&str>) -> f64 {
    let Some(t) = t else { return 0.0 };
    let args = |name: &str| -> Option<Vec<f64>> {
        let rest = &t[t.find(name)? + name.len()..];
        let inner = &rest[rest.find('(')? + 1..rest.find(')')?];
        Some(
            inner
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .filter_map(|s| s.parse().ok())
                .collect(),
        )
    };
    if let Some(m) = args("matrix") {
        return m.get(5).copied().unwrap_or(0.0);
    }
    if let Some(tr) = args("translate") {
        return tr.get(1).copied().unwrap_or(0.0);
    }
    0.0
}

#[cfg(test)]
mod tests {
    use super::super::{block_text, walk_html};

    fn texts(html: &str) -> Vec<String> {
        walk_html(html).0.blocks.iter().map(block_text).collect()
    }

    #[test]
    fn text_lines_join_into_paragraphs_by_their_spacing() {
        let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 600 800">
<image href="page.jpg" width="600" height="800"/><title>Page 3</title>
<text x="40" y="100">Il était une fois un petit</text>
<text x="40" y="130">renard qui vivait dans la forêt.</text>
<text x="40" y="250"><tspan>Un jour, il </tspan><tspan font-weight="bold">partit</tspan><tspan> au loin.</tspan></text>
</svg>"#;
        assert_eq!(
            texts(svg),
            [
                "Il était une fois un petit renard qui vivait dans la forêt.",
                "Un jour, il partit au loin."
            ]
        );
    }

    #[test]
    fn tspans_on_new_baselines_are_lines_and_hyphens_join() {
        let html = r#"<html xmlns="http://www.w3.org/1999/xhtml"><body><p>Before.</p>
<svg xmlns="http://www.w3.org/2000/svg"><text transform="matrix(1 0 0 1 72 100)">
  <tspan x="0" y="0">Le cha-</tspan><tspan x="0" y="20">peau de Franco-</tspan><tspan x="0" dy="20">Prussien, gar&#xAD;</tspan>
  <tspan x="0" dy="1.25em">dé. K</tspan><tspan x="9.5" y="60">ern.</tspan></text></svg><p>After.</p></body></html>"#;
        assert_eq!(
            texts(html),
            ["Before.", "Le chapeau de Franco-Prussien, gardé. Kern.", "After."]
        );
    }

    #[test]
    fn graphics_only_svg_and_hidden_parts_are_skipped() {
        let html = r#"<div><p>One <svg><title>icon</title><circle r="3"/></svg> two.</p>
<svg><defs><text id="t">hidden</text></defs><switch><text y="10">shown</text><text y="30">fallback</text></switch></svg></div>"#;
        assert_eq!(texts(html), ["One two.", "shown"]);
    }

    #[test]
    fn an_upward_move_starts_a_new_paragraph_and_lang_is_inherited() {
        let svg = r#"<svg><text y="500">Bubble one.</text><text y="100" xml:lang="fr">Bulle deux.</text></svg>"#;
        let (w, _) = walk_html(svg);
        assert_eq!(w.blocks.len(), 2);
        assert_eq!(w.blocks[1].spans[0].lang.as_deref(), Some("fr"));
    }
}
