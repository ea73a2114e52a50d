//! Markdown manuscripts (pulldown-cmark) → [`RawBook`].
//!
//! Headings at or above the chapter level start chapters (text before the first one is a prologue),
//! deeper headings are read as their own blocks. Paragraphs, list items, block quotes and table rows
//! become blocks; an ordered list's items keep their numbers (counted from the list's start, as
//! CommonMark renders them) in [`RawBlock::marker`], so `14. Januar war kalt.` is read with its `14.`; footnote definitions go to the chapter's footnotes; code blocks and images are
//! skipped. Inline HTML `<span lang="…">` / `<span data-speaker="…">` (and `xml:lang`) set the language
//! or speaker of the text inside; other tags are dropped but their text is kept (inside an `<svg>` only
//! its text elements, not its titles, descriptions or defs; each `<text>` line apart).
//!
//! Owns the Markdown reader (and its inline-HTML tag tracker); the HTML entity decoder and whitespace
//! collapsing are the XHTML walker's. Must never import the plan, store, worker, engine, render, publish
//! or voice/audio modules.

use std::path::Path;

use pulldown_cmark::{Event, HeadingLevel, MetadataBlockKind, Options, Parser, Tag, TagEnd};
use serde::Deserialize;

use super::xhtml::{collapse, decode_entities};
use super::{BlockKind, BookMeta, ManuscriptError, RawBlock, RawBook, RawChapter, ReadOptions, Span};
use crate::files::{read_capped, CappedRead};

/// Largest Markdown manuscript accepted (a very long novel is ~5 MB).
pub const MAX_MARKDOWN_BYTES: u64 = 64 << 20;

/// YAML front matter of a Markdown manuscript (other keys are kept for podcast episodes).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FrontMatter {
    /// Title.
    pub title: Option<String>,
    /// Author.
    pub author: Option<String>,
    /// Language code.
    pub language: Option<String>,
    /// Any other keys.
    #[serde(flatten)]
    pub other: std::collections::BTreeMap<String, serde_json::Value>,
}

/// Reads a Markdown file.
pub fn read_markdown(path: &Path, opts: &ReadOptions) -> Result<RawBook, ManuscriptError> {
    let text = read_text(path)?;
    parse_markdown(&text, opts).map_err(|message| ManuscriptError::Invalid {
        path: path.to_path_buf(),
        message,
    })
}

/// Reads a Markdown file's text: at most [`MAX_MARKDOWN_BYTES`], UTF-8 (the error gives the offset of the first
/// bad byte), a leading byte-order mark dropped (editors on Windows write one; it would turn a first `# Heading`
/// or the front matter into spoken text).
pub fn read_text(path: &Path) -> Result<String, ManuscriptError> {
    let bytes = read_capped(path, MAX_MARKDOWN_BYTES, std::fs::read).map_err(|e| match e {
        CappedRead::Io(source) => ManuscriptError::Io {
            path: path.to_path_buf(),
            source,
        },
        CappedRead::TooLarge(size) => ManuscriptError::Invalid {
            path: path.to_path_buf(),
            message: format!(
                "the file is {size} bytes; Markdown manuscripts are limited to {MAX_MARKDOWN_BYTES} bytes"
            ),
        },
    })?;
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let skip = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
    let text = std::str::from_utf8(&bytes[skip..]).map_err(|e| ManuscriptError::Invalid {
        path: path.to_path_buf(),
        message: format!(
            "not UTF-8 text (invalid byte at offset {}); save the manuscript as UTF-8",
            skip + e.valid_up_to()
        ),
    })?;
    Ok(text.to_string())
}

/// Parses Markdown text; errors are messages without the file name.
pub fn parse_markdown(text: &str, opts: &ReadOptions) -> Result<RawBook, String> {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_FOOTNOTES);
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_YAML_STYLE_METADATA_BLOCKS);
    let mut r = Reader::new(opts.chapter_level);
    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        r.event(event)
            .map_err(|m| format!("line {}: {m}", line_of(text, range.start)))?;
    }
    r.finish()
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

/// Parses YAML front matter (title, author, language and any other keys).
pub fn parse_front_matter(yaml: &str) -> Result<FrontMatter, String> {
    if yaml.trim().is_empty() {
        return Ok(FrontMatter::default());
    }
    let options = crate::yaml::budgeted(10_000, 100, |_| {});
    serde_saphyr::from_str_with_options::<FrontMatter>(yaml, options).map_err(|e| {
        let loc = e
            .location()
            .map(|l| format!(" (front matter line {})", l.line()))
            .unwrap_or_default();
        format!(
            "invalid YAML front matter{loc}: {}",
            e.to_string().lines().next().unwrap_or("")
        )
    })
}

/// Attributes inherited from enclosing inline HTML elements.
#[derive(Debug, Clone)]
struct HtmlFrame {
    tag: String,
    lang: Option<String>,
    speaker: Option<String>,
    /// Its content is not read (`<script>`, `<style>`; inside an `<svg>`, its titles, descriptions and defs).
    skip: bool,
}

#[derive(Default)]
struct Reader {
    chapter_level: u8,
    meta: BookMeta,
    chapters: Vec<RawChapter>,
    current: Option<RawChapter>,
    /// Spans of the block being read.
    spans: Vec<Span>,
    kind: Option<BlockKind>,
    /// Inside a chapter-level heading: its text collects here.
    heading: Option<(bool, String)>,
    in_footnote: usize,
    skip_depth: usize,
    in_metadata: bool,
    metadata: String,
    table_cells: Vec<String>,
    cell: Option<Vec<Span>>,
    html: Vec<HtmlFrame>,
    /// Open lists, innermost last: the next item's number for an ordered list, `None` for a bullet list.
    lists: Vec<Option<u64>>,
    /// The number of the ordered-list item being read, given to its first block.
    marker: Option<String>,
}

impl Reader {
    fn new(chapter_level: u8) -> Self {
        Reader {
            chapter_level,
            ..Default::default()
        }
    }

    fn chapter(&mut self) -> &mut RawChapter {
        self.current.get_or_insert_with(|| RawChapter {
            title: None,
            blocks: vec![],
            footnotes: vec![],
        })
    }

    fn flush_block(&mut self) {
        let spans = std::mem::take(&mut self.spans);
        let kind = self.kind.take().unwrap_or(BlockKind::Paragraph);
        if spans.iter().all(|s| s.text.trim().is_empty()) {
            return;
        }
        let in_footnote = self.in_footnote > 0;
        let block = RawBlock {
            kind: if in_footnote { BlockKind::Footnote } else { kind },
            spans,
            marker: self.marker.take(),
        };
        let ch = self.chapter();
        if in_footnote {
            ch.footnotes.push(block);
        } else {
            ch.blocks.push(block);
        }
    }

    fn push_text(&mut self, text: &str) {
        if self.skip_depth > 0 {
            return;
        }
        if let Some((_, title)) = &mut self.heading {
            title.push_str(text);
            return;
        }
        let (lang, speaker) = self.attrs();
        let target = match &mut self.cell {
            Some(cell) => cell,
            None => &mut self.spans,
        };
        if let Some(last) = target.last_mut() {
            if last.lang == lang && last.speaker == speaker && last.ph.is_none() {
                last.text.push_str(text);
                return;
            }
        }
        target.push(Span {
            text: text.to_string(),
            lang,
            speaker,
            ph: None,
            ph_alphabet: None,
        });
    }

    fn attrs(&self) -> (Option<String>, Option<String>) {
        let lang = self.html.iter().rev().find_map(|f| f.lang.clone());
        let speaker = self.html.iter().rev().find_map(|f| f.speaker.clone());
        (lang, speaker)
    }

    fn event(&mut self, event: Event) -> Result<(), String> {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => {
                if self.in_metadata {
                    self.metadata.push_str(&t);
                } else {
                    self.push_text(&t);
                }
            }
            Event::Code(t) => self.push_text(&t),
            Event::SoftBreak | Event::HardBreak => self.push_text(" "),
            Event::Html(h) | Event::InlineHtml(h) => self.html_fragment(&h),
            Event::FootnoteReference(_) | Event::Rule | Event::TaskListMarker(_) => {}
            Event::InlineMath(t) | Event::DisplayMath(t) => self.push_text(&t),
        }
        Ok(())
    }

    fn start(&mut self, tag: Tag) {
        match tag {
            Tag::Heading { level, .. } => {
                self.flush_block();
                let lvl = heading_level(level);
                self.heading = Some((lvl <= self.chapter_level, String::new()));
            }
            Tag::Paragraph if self.kind.is_none() => self.kind = Some(BlockKind::Paragraph),
            Tag::Item => {
                self.flush_block();
                self.kind = Some(BlockKind::ListItem);
                if let Some(Some(n)) = self.lists.last_mut() {
                    self.marker = Some(format!("{n}."));
                    *n += 1;
                }
            }
            Tag::List(start) => {
                self.flush_block();
                self.lists.push(start);
            }
            Tag::BlockQuote(_) => self.flush_block(),
            Tag::FootnoteDefinition(_) => {
                self.flush_block();
                self.in_footnote += 1;
            }
            Tag::CodeBlock(_) | Tag::Image { .. } => self.skip_depth += 1,
            Tag::MetadataBlock(MetadataBlockKind::YamlStyle) => self.in_metadata = true,
            Tag::MetadataBlock(_) => self.skip_depth += 1,
            Tag::TableRow | Tag::TableHead => {
                self.flush_block();
                self.table_cells.clear();
                self.kind = Some(BlockKind::TableRow);
            }
            Tag::TableCell => self.cell = Some(vec![]),
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) => {
                if let Some((is_chapter, title)) = self.heading.take() {
                    let title = collapse(&title);
                    if is_chapter {
                        self.flush_block();
                        if let Some(ch) = self.current.take() {
                            self.chapters.push(ch);
                        }
                        self.current = Some(RawChapter {
                            title: Some(title),
                            blocks: vec![],
                            footnotes: vec![],
                        });
                    } else if !title.is_empty() {
                        let (lang, speaker) = self.attrs();
                        self.spans = vec![Span {
                            text: title,
                            lang,
                            speaker,
                            ph: None,
                            ph_alphabet: None,
                        }];
                        self.kind = Some(BlockKind::Heading);
                        self.flush_block();
                    }
                }
            }
            TagEnd::Paragraph => {
                // A paragraph inside a list item continues the item's block only until the item ends.
                if self.kind != Some(BlockKind::ListItem) {
                    self.flush_block();
                } else {
                    self.push_text(" ");
                }
            }
            TagEnd::List(_) => {
                self.flush_block();
                self.lists.pop();
            }
            TagEnd::Item | TagEnd::BlockQuote(_) | TagEnd::HtmlBlock => self.flush_block(),
            TagEnd::FootnoteDefinition => {
                self.flush_block();
                self.in_footnote = self.in_footnote.saturating_sub(1);
            }
            TagEnd::CodeBlock | TagEnd::Image => self.skip_depth = self.skip_depth.saturating_sub(1),
            TagEnd::MetadataBlock(MetadataBlockKind::YamlStyle) => self.in_metadata = false,
            TagEnd::MetadataBlock(_) => self.skip_depth = self.skip_depth.saturating_sub(1),
            TagEnd::TableCell => {
                if let Some(cell) = self.cell.take() {
                    // Cells are joined with ", " into the row's spans.
                    let has_text = cell.iter().any(|s| !s.text.trim().is_empty());
                    if has_text {
                        if !self.spans.is_empty() {
                            self.push_text(", ");
                        }
                        self.spans.extend(cell);
                    }
                }
            }
            TagEnd::TableRow | TagEnd::TableHead => self.flush_block(),
            _ => {}
        }
    }

    /// Tracks inline HTML tags; keeps the text between tags.
    fn html_fragment(&mut self, html: &str) {
        for tok in html_tokens(html) {
            match tok {
                HtmlToken::Text(t) => self.push_text(&decode_entities(&t)),
                HtmlToken::Open {
                    name,
                    attrs,
                    self_closing,
                } => {
                    if name == "br" {
                        self.push_text(" ");
                        continue;
                    }
                    if self_closing || is_void(&name) {
                        continue;
                    }
                    let get = |k: &str| attrs.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
                    let lang = get("lang").or_else(|| get("xml:lang"));
                    let speaker = get("data-speaker");
                    let in_svg = self.html.iter().any(|f| f.tag == "svg");
                    let skip = matches!(name.as_str(), "script" | "style")
                        || (in_svg && matches!(name.as_str(), "title" | "desc" | "defs" | "metadata" | "symbol"));
                    if skip {
                        self.skip_depth += 1;
                    }
                    let new_line = name == "text" || (name == "tspan" && (get("y").is_some() || get("dy").is_some()));
                    if in_svg && new_line {
                        // SVG text lines (and positioned tspans) are apart, as the XHTML reader reads them.
                        self.push_text(" ");
                    }
                    self.html.push(HtmlFrame {
                        tag: name,
                        lang,
                        speaker,
                        skip,
                    });
                }
                HtmlToken::Close(name) => {
                    if let Some(pos) = self.html.iter().rposition(|f| f.tag == name) {
                        for f in self.html.drain(pos..) {
                            if f.skip {
                                self.skip_depth = self.skip_depth.saturating_sub(1);
                            }
                        }
                    }
                }
            }
        }
    }

    fn finish(mut self) -> Result<RawBook, String> {
        self.flush_block();
        if let Some(ch) = self.current.take() {
            self.chapters.push(ch);
        }
        let mut book = RawBook {
            meta: self.meta,
            chapters: self.chapters,
            ..Default::default()
        };
        if !self.metadata.is_empty() {
            let fm = parse_front_matter(&self.metadata)?;
            book.meta = BookMeta {
                title: fm.title,
                author: fm.author,
                language: fm.language,
            };
        }
        Ok(book)
    }
}

fn heading_level(l: HeadingLevel) -> u8 {
    match l {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

fn is_void(name: &str) -> bool {
    matches!(
        name,
        "br" | "img" | "hr" | "input" | "meta" | "link" | "wbr" | "source" | "area" | "col" | "embed"
    )
}

#[derive(Debug, PartialEq)]
enum HtmlToken {
    Text(String),
    Open {
        name: String,
        attrs: Vec<(String, String)>,
        self_closing: bool,
    },
    Close(String),
}

/// A small tokenizer for the HTML fragments Markdown passes through (tags, attributes, comments, text).
fn html_tokens(s: &str) -> Vec<HtmlToken> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map(|i| &after[i + 3..]).unwrap_or("");
            continue;
        }
        if rest.starts_with('<') {
            let inner_start = &rest[1..];
            let valid = inner_start.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!' || c == '?');
            if valid {
                if let Some(end) = find_tag_end(inner_start) {
                    let inner = &inner_start[..end];
                    rest = &inner_start[end + 1..];
                    if let Some(name) = inner.strip_prefix('/') {
                        out.push(HtmlToken::Close(name.trim().to_ascii_lowercase()));
                    } else if !inner.starts_with('!') && !inner.starts_with('?') {
                        let self_closing = inner.trim_end().ends_with('/');
                        let body = inner.trim_end().trim_end_matches('/');
                        let name_end = body.find(|c: char| c.is_whitespace()).unwrap_or(body.len());
                        let name = body[..name_end].to_ascii_lowercase();
                        out.push(HtmlToken::Open {
                            name,
                            attrs: parse_attrs(&body[name_end..]),
                            self_closing,
                        });
                    }
                    continue;
                }
            }
        }
        let next = rest[1..].find('<').map(|i| i + 1).unwrap_or(rest.len());
        out.push(HtmlToken::Text(rest[..next].to_string()));
        rest = &rest[next..];
    }
    out
}

/// Index of the `>` that ends a tag, skipping quoted attribute values.
fn find_tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn parse_attrs(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let name_end = rest.find(|c: char| c.is_whitespace() || c == '=').unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        rest = rest[name_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            if let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') {
                let body = &after[1..];
                let end = body.find(q).unwrap_or(body.len());
                value = body[..end].to_string();
                rest = body.get(end + 1..).unwrap_or("");
            } else {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                value = after[..end].to_string();
                rest = &after[end..];
            }
        }
        if !name.is_empty() {
            out.push((name, decode_entities(&value)));
        }
        rest = rest.trim_start();
        if name_end == 0 && !rest.is_empty() {
            // Skip a stray character to guarantee progress.
            let mut ch = rest.chars();
            ch.next();
            rest = ch.as_str();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(md: &str) -> RawBook {
        parse_markdown(md, &ReadOptions::default()).expect("parses")
    }

    #[test]
    fn chapters_prologue_and_front_matter() {
        let b = read("---\ntitle: T\nauthor: A\nlanguage: pl\n---\nIntro text.\n\n# One\n\nPara *one*.\n\n## Sub\n\nMore.\n\n# Two\n\n- a\n- b\n");
        assert_eq!(b.meta.title.as_deref(), Some("T"));
        assert_eq!(b.meta.language.as_deref(), Some("pl"));
        assert_eq!(b.chapters.len(), 3);
        assert_eq!(b.chapters[0].title, None);
        assert_eq!(b.chapters[1].title.as_deref(), Some("One"));
        assert_eq!(b.chapters[1].blocks.len(), 3);
        assert_eq!(b.chapters[1].blocks[1].kind, BlockKind::Heading);
        assert_eq!(b.chapters[2].blocks.len(), 2);
        assert_eq!(b.chapters[2].blocks[0].kind, BlockKind::ListItem);
    }

    #[test]
    fn lang_and_speaker_spans() {
        let b = read("# C\n\nShe said <span lang=\"pl\">dzień dobry</span> to <span data-speaker='bob'>him</span>.\n");
        let spans = &b.chapters[0].blocks[0].spans;
        assert_eq!(spans[0].text, "She said ");
        assert_eq!(spans[1].text, "dzień dobry");
        assert_eq!(spans[1].lang.as_deref(), Some("pl"));
        assert_eq!(spans[3].speaker.as_deref(), Some("bob"));
    }

    #[test]
    fn ordered_list_items_keep_their_numbers() {
        let b = read("# C\n\n14. Januar war kalt.\n15. Februar auch.\n\n- bullet\n\n3) three\n   1. nested\n4) four\n");
        let blocks = &b.chapters[0].blocks;
        let got: Vec<(Option<&str>, String)> = blocks
            .iter()
            .map(|b| (b.marker.as_deref(), b.spans.iter().map(|s| s.text.as_str()).collect()))
            .collect();
        let want: Vec<(Option<&str>, String)> = vec![
            (Some("14."), "Januar war kalt.".into()),
            (Some("15."), "Februar auch.".into()),
            (None, "bullet".into()),
            (Some("3."), "three".into()),
            (Some("1."), "nested".into()),
            (Some("4."), "four".into()),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn inline_svg_text_is_read_without_its_title() {
        let b =
            read("# C\n\n<svg><title>icon</title><text y=\"1\">First</text><text y=\"2\">line</text></svg>\n\nNext.\n");
        let texts: Vec<String> = b.chapters[0]
            .blocks
            .iter()
            .map(|b| collapse(&b.spans.iter().map(|s| s.text.as_str()).collect::<String>()))
            .collect();
        assert_eq!(texts, ["First line", "Next."]);
    }

    #[test]
    fn footnotes_code_images_tables() {
        let b = read("# C\n\nText[^1].\n\n```\ncode\n```\n\n![alt](x.png)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n[^1]: The note.\n");
        let ch = &b.chapters[0];
        let texts: Vec<String> = ch
            .blocks
            .iter()
            .map(|b| b.spans.iter().map(|s| s.text.clone()).collect())
            .collect();
        assert_eq!(texts, vec!["Text.", "a, b", "1, 2"]);
        assert_eq!(ch.footnotes.len(), 1);
    }
}
