//! Helpers to build EPUB files in tests (with the `zip` crate) and to check that no text is lost.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

/// An EPUB under construction: entries in order (`mimetype` first, stored).
#[derive(Default, Clone)]
pub struct EpubBuilder {
    files: Vec<(String, Vec<u8>)>,
}

impl EpubBuilder {
    /// A builder with the `mimetype` entry and a container.xml pointing at `OEBPS/content.opf`.
    pub fn new() -> Self {
        EpubBuilder::default()
            .file("mimetype", "application/epub+zip")
            .file("META-INF/container.xml", container("OEBPS/content.opf"))
    }

    /// A builder with no entries at all.
    pub fn empty() -> Self {
        EpubBuilder::default()
    }

    /// Adds (or replaces) an entry.
    pub fn file(mut self, name: &str, content: impl AsRef<[u8]>) -> Self {
        self.files.retain(|(n, _)| n != name);
        self.files.push((name.to_string(), content.as_ref().to_vec()));
        self
    }

    /// Removes an entry.
    pub fn without(mut self, name: &str) -> Self {
        self.files.retain(|(n, _)| n != name);
        self
    }

    /// Writes the archive to `dir/name` and returns its path.
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        let f = std::fs::File::create(&path).expect("create epub");
        let mut z = zip::ZipWriter::new(f);
        for (n, data) in &self.files {
            let method = if n == "mimetype" {
                CompressionMethod::Stored
            } else {
                CompressionMethod::Deflated
            };
            z.start_file(n.as_str(), SimpleFileOptions::default().compression_method(method))
                .expect("start");
            z.write_all(data).expect("write");
        }
        z.finish().expect("finish");
        path
    }
}

/// `META-INF/container.xml` naming `opf`.
pub fn container(opf: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="{opf}" media-type="application/oebps-package+xml"/></rootfiles>
</container>"#
    )
}

/// A manifest item: (id, href, media-type, properties).
pub type Item<'a> = (&'a str, &'a str, &'a str, &'a str);

/// An OPF package document.
pub fn opf(
    version: &str,
    metadata: &str,
    items: &[Item],
    spine: &[(&str, bool)],
    spine_toc: Option<&str>,
    extra: &str,
) -> String {
    let mut m = String::new();
    for (id, href, mime, props) in items {
        let p = if props.is_empty() {
            String::new()
        } else {
            format!(r#" properties="{props}""#)
        };
        m.push_str(&format!(
            r#"    <item id="{id}" href="{href}" media-type="{mime}"{p}/>"#
        ));
        m.push('\n');
    }
    let mut s = String::new();
    for (idref, linear) in spine {
        let l = if *linear { "" } else { r#" linear="no""# };
        s.push_str(&format!(r#"    <itemref idref="{idref}"{l}/>"#));
        s.push('\n');
    }
    let toc = spine_toc.map(|t| format!(r#" toc="{t}""#)).unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="{version}" unique-identifier="uid">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">
    <dc:identifier id="uid">urn:uuid:test</dc:identifier>
{metadata}
  </metadata>
  <manifest>
{m}  </manifest>
  <spine{toc}>
{s}  </spine>
{extra}
</package>"#
    )
}

/// An XHTML document with `head` extra markup and `body` content.
pub fn xhtml(head: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" xmlns:ssml="http://www.w3.org/2001/10/synthesis">
<head><title>Doc</title>{head}</head>
<body>{body}</body>
</html>"#
    )
}

/// Words of the visible text of an XHTML document's body, or of an SVG document (independent of the
/// reader: roxmltree directly), skipping script/style/math and note references; of an `<svg>` only its
/// text elements count.
pub fn visible_words(xhtml: &str) -> Vec<String> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(xhtml, opts).expect("well-formed test document");
    let mut text = String::new();
    if doc.root_element().tag_name().name() == "svg" {
        svg_text(doc.root_element(), false, &mut text);
        return words(&text);
    }
    let Some(body) = doc
        .descendants()
        .find(|n| n.has_tag_name("body") || n.tag_name().name() == "body")
    else {
        return Vec::new();
    };
    visible_text(body, &mut text);
    words(&text)
}

/// The text an SVG renderer shows below `node`: text elements and tspans that move to a new baseline
/// apart, nothing outside text elements, no title/desc/defs/style/script, only a `<switch>`'s first
/// child; `<foreignObject>` as HTML.
fn svg_text(node: roxmltree::Node<'_, '_>, in_text: bool, out: &mut String) {
    let mut children: Vec<_> = node.children().collect();
    if node.tag_name().name() == "switch" {
        children.retain(|c| c.is_element());
        children.truncate(1);
    }
    for c in children {
        if c.is_text() {
            if in_text {
                out.push_str(c.text().unwrap_or(""));
            }
            continue;
        }
        if !c.is_element() {
            continue;
        }
        let name = c.tag_name().name();
        if matches!(
            name,
            "title" | "desc" | "metadata" | "style" | "script" | "defs" | "symbol" | "image"
        ) {
            continue;
        }
        if name == "foreignObject" {
            out.push(' ');
            visible_text(c, out);
            out.push(' ');
            continue;
        }
        let apart = name == "text" || (name == "tspan" && (c.has_attribute("y") || c.has_attribute("dy")));
        if apart {
            out.push(' ');
        }
        svg_text(c, in_text || name == "text", out);
        if apart {
            out.push(' ');
        }
    }
}

/// Appends the visible text below `node`: text nodes as they are, a space around block-level
/// elements and `<br>`; script/style/svg/math/img and note references skipped.
fn visible_text(node: roxmltree::Node<'_, '_>, out: &mut String) {
    for c in node.children() {
        if c.is_text() {
            out.push_str(c.text().unwrap_or(""));
            continue;
        }
        if !c.is_element() {
            continue;
        }
        let name = c.tag_name().name();
        if matches!(name, "script" | "style" | "math" | "img" | "head") {
            continue;
        }
        if name == "svg" {
            out.push(' ');
            svg_text(c, false, out);
            out.push(' ');
            continue;
        }
        let noteref = c.attributes().any(|a| {
            (a.name() == "type" && a.value().split_whitespace().any(|t| t == "noteref"))
                || (a.name() == "role" && a.value().split_whitespace().any(|t| t == "doc-noteref"))
        });
        if noteref {
            continue;
        }
        let inline = matches!(
            name,
            "a" | "span"
                | "i"
                | "b"
                | "em"
                | "strong"
                | "small"
                | "sup"
                | "sub"
                | "abbr"
                | "cite"
                | "code"
                | "q"
                | "u"
                | "s"
                | "mark"
                | "dfn"
                | "kbd"
                | "samp"
                | "var"
                | "time"
                | "bdi"
                | "bdo"
                | "ruby"
                | "rt"
                | "rp"
                | "font"
                | "big"
                | "tt"
        );
        if !inline {
            out.push(' ');
        }
        visible_text(c, out);
        if !inline {
            out.push(' ');
        }
    }
}

/// Whitespace-separated words.
/// Commas are removed (the reader joins table cells with ", "), and words left empty dropped.
pub fn words(s: &str) -> Vec<String> {
    s.split_whitespace()
        .map(|w| w.replace(',', ""))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Asserts that no text is lost: the words of all chapters' blocks and footnotes, plus chapter
/// titles taken from headings, equal (as a multiset) the visible words of the spine documents read,
/// and body words appear in document order.
pub fn assert_no_text_lost(book: &ws_book::manuscript::RawBook, spine_docs: &[String]) {
    use std::collections::HashMap;
    let mut doc_words: Vec<String> = Vec::new();
    for d in spine_docs {
        doc_words.extend(visible_words(d));
    }
    let mut read: Vec<String> = Vec::new();
    let mut body_seq: Vec<String> = Vec::new();
    let mut title_words: Vec<String> = Vec::new();
    for ch in &book.chapters {
        if let Some(t) = &ch.title {
            title_words.extend(words(t));
        }
        for b in &ch.blocks {
            let w = words(&b.spans.iter().map(|s| s.text.as_str()).collect::<String>());
            body_seq.extend(w.iter().cloned());
            read.extend(w);
        }
        for b in &ch.footnotes {
            read.extend(words(&b.spans.iter().map(|s| s.text.as_str()).collect::<String>()));
        }
    }
    let count = |v: &[String]| {
        let mut m: HashMap<String, i64> = HashMap::new();
        for w in v {
            *m.entry(w.clone()).or_default() += 1;
        }
        m
    };
    let mut missing = count(&doc_words);
    for (w, n) in count(&read) {
        let e = missing.entry(w.clone()).or_default();
        *e -= n;
        assert!(*e >= 0, "word {w:?} read more often than it appears in the documents");
    }
    // Whatever was not read must be a title taken from a heading.
    let mut titles = count(&title_words);
    for (w, n) in missing.iter().filter(|(_, n)| **n > 0) {
        let t = titles.entry(w.clone()).or_default();
        assert!(
            *t >= *n,
            "text lost: word {w:?} ({n}x) is in the documents but not in the book"
        );
        *t -= n;
    }
    // Body words in document order (a subsequence of the documents' words).
    let mut it = doc_words.iter();
    for w in &body_seq {
        assert!(it.any(|d| d == w), "body word {w:?} out of document order");
    }
}

/// The pages of the fixed-layout French picture book: each page's lines, in reading order.
pub const FXL_PAGES: [&[&str]; 3] = [
    &[
        "Il était une fois un petit renard",
        "qui vivait au bord de la forêt.",
        "Chaque matin, il regardait le soleil",
        "se lever sur les collines.",
    ],
    &[
        "« Où vas-tu, petit renard ? »",
        "demanda la chouette.",
        "« Je pars voir la mer », répondit-il.",
    ],
    &["Il marcha longtemps, très longtemps,", "jusqu'à la plage dorée."],
];

/// A fixed-layout EPUB 3 (`rendition:layout` pre-paginated) in French: an image-only cover page, then
/// pages that are each an XHTML document holding one `<svg>` with the page image and the page's lines
/// as `<text><tspan>` elements (the second page as tspans of one text element), and a last page that is
/// an SVG spine document itself. The nav lists only the first page, so all pages form one chapter.
pub fn fixed_layout_french() -> EpubBuilder {
    fixed_layout_french_with(true)
}

/// [`fixed_layout_french`], with or without its nav document (without: no chapter titles at all).
pub fn fixed_layout_french_with(nav_doc: bool) -> EpubBuilder {
    const XHTML: &str = "application/xhtml+xml";
    let meta = r#"<dc:title>Le petit renard</dc:title><dc:creator>Anne Martin</dc:creator><dc:language>fr</dc:language>
    <meta property="rendition:layout">pre-paginated</meta><meta property="dcterms:modified">2024-01-01T00:00:00Z</meta>"#;
    let mut items = vec![
        ("nav", "nav.xhtml", XHTML, "nav"),
        ("cover", "cover.xhtml", XHTML, ""),
        ("p1", "page1.xhtml", XHTML, ""),
        ("p2", "page2.xhtml", XHTML, ""),
        ("p3", "page3.svg", "image/svg+xml", ""),
        ("img", "images/p.jpg", "image/jpeg", ""),
    ];
    let spine = [("cover", true), ("p1", true), ("p2", true), ("p3", true)];
    if !nav_doc {
        items.remove(0);
    }
    let nav = xhtml(
        "",
        r#"<nav epub:type="toc"><ol><li><a href="page1.xhtml">Le petit renard</a></li></ol></nav>"#,
    );
    let page = |svg_body: &str| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="fr"><head><title>Page</title>
<meta name="viewport" content="width=600, height=800"/></head>
<body><svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" viewBox="0 0 600 800">
<image width="600" height="800" xlink:href="images/p.jpg"/><desc>Un renard roux sous un arbre</desc>
{svg_body}
</svg></body></html>"#
        )
    };
    let lines_as_texts = |lines: &[&str]| -> String {
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let y = 600 + 30 * i;
                format!(r#"<text x="40" y="{y}" font-size="24"><tspan x="40" y="{y}">{l}</tspan></text>"#)
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let tspans: String = FXL_PAGES[1]
        .iter()
        .enumerate()
        .map(|(i, l)| format!("\n  <tspan x=\"0\" y=\"{}\">{l}</tspan>", 28 * i))
        .collect();
    let p2 = format!(r#"<text transform="matrix(1 0 0 1 60 120)" font-size="22">{tspans}</text>"#);
    let p3 = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" xml:lang="fr" viewBox="0 0 600 800">
<title>Page trois</title><image width="600" height="800" xlink:href="images/p.jpg"/>
{}
</svg>"#,
        lines_as_texts(FXL_PAGES[2])
    );
    let book = EpubBuilder::new()
        .file("OEBPS/content.opf", opf("3.0", meta, &items, &spine, None, ""))
        .file("OEBPS/cover.xhtml", page(""))
        .file("OEBPS/page1.xhtml", page(&lines_as_texts(FXL_PAGES[0])))
        .file("OEBPS/page2.xhtml", page(&p2))
        .file("OEBPS/page3.svg", p3)
        .file("OEBPS/images/p.jpg", b"JPEGDATA");
    if nav_doc {
        book.file("OEBPS/nav.xhtml", nav)
    } else {
        book
    }
}
