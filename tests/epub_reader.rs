//! EPUB reader tests: EPUBs built here with the zip crate, the real `alice.epub`, and broken inputs.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};

use support::{assert_no_text_lost, opf, xhtml, EpubBuilder};
use ws_book::manuscript::epub::read_epub;
use ws_book::manuscript::{BlockKind, ManuscriptError, RawBlock, RawBook, ReadOptions, Span};

const XHTML: &str = "application/xhtml+xml";

fn read(path: &Path) -> RawBook {
    read_epub(path, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn read_all(path: &Path) -> RawBook {
    read_epub(
        path,
        &ReadOptions {
            skip_front_matter: false,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn text(b: &RawBlock) -> String {
    b.spans.iter().map(|s| s.text.as_str()).collect()
}

fn texts(bs: &[RawBlock]) -> Vec<String> {
    bs.iter().map(text).collect()
}

fn err(path: &Path) -> String {
    match read_epub(path, &ReadOptions::default()) {
        Ok(b) => panic!("expected an error, got {} chapters", b.chapters.len()),
        Err(e @ ManuscriptError::Invalid { .. }) => e.to_string(),
        Err(e) => panic!("expected Invalid, got {e}"),
    }
}

fn span(t: &str, lang: Option<&str>, speaker: Option<&str>) -> Span {
    Span {
        text: t.into(),
        lang: lang.map(Into::into),
        speaker: speaker.map(Into::into),
        ph: None,
        ph_alphabet: None,
    }
}

// ------------------------------------------------------------------ EPUB 2

const NCX: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1">
  <head/><docTitle><text>Two Rivers</text></docTitle>
  <navMap>
    <navPoint id="n1" playOrder="1"><navLabel><text>The Spring</text></navLabel><content src="text/ch1.xhtml#start"/></navPoint>
    <navPoint id="n2" playOrder="2"><navLabel><text>Downstream</text></navLabel><content src="text/ch2.xhtml"/>
      <navPoint id="n3" playOrder="3"><navLabel><text>A sub-part</text></navLabel><content src="text/ch2.xhtml#part"/></navPoint>
    </navPoint>
  </navMap>
</ncx>"#;

fn epub2() -> EpubBuilder {
    let meta = r#"<dc:title>Two Rivers</dc:title><dc:creator opf:role="aut">Jan Kowalski</dc:creator>
    <dc:language>pl</dc:language><meta name="cover" content="cover-img"/>"#;
    let items = [
        ("ncx", "toc.ncx", "application/x-dtbncx+xml", ""),
        ("c1", "text/ch1.xhtml", XHTML, ""),
        ("c2", "text/ch2.xhtml", XHTML, ""),
        ("c2b", "text/ch2b.xhtml", XHTML, ""),
        ("cover-img", "img/cover.png", "image/png", ""),
    ];
    let ch1 = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" "http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>1</title></head>
<body><h1 id="start">The   Spring</h1><p>Water&nbsp;rises &mdash; slowly.</p><p>Second   paragraph
 over two lines.</p></body></html>"#;
    EpubBuilder::new()
        .file(
            "OEBPS/content.opf",
            opf(
                "2.0",
                meta,
                &items,
                &[("c1", true), ("c2", true), ("c2b", true)],
                Some("ncx"),
                "",
            ),
        )
        .file("OEBPS/toc.ncx", NCX)
        .file("OEBPS/text/ch1.xhtml", ch1)
        .file(
            "OEBPS/text/ch2.xhtml",
            xhtml(
                "",
                "<h2>Chapter Two</h2><p>The river bends.</p><h3 id=\"part\">Later</h3><p>It ends.</p>",
            ),
        )
        .file("OEBPS/text/ch2b.xhtml", xhtml("", "<p>Continued in a second file.</p>"))
        .file("OEBPS/img/cover.png", b"\x89PNG fake")
}

#[test]
fn epub2_with_ncx_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = epub2().write(dir.path(), "two.epub");
    let b = read(&p);
    assert_eq!(b.meta.title.as_deref(), Some("Two Rivers"));
    assert_eq!(b.meta.author.as_deref(), Some("Jan Kowalski"));
    assert_eq!(b.meta.language.as_deref(), Some("pl"));
    assert_eq!(b.cover, Some((b"\x89PNG fake".to_vec(), "image/png".to_string())));
    assert_eq!(b.chapters.len(), 2, "{:#?}", b.chapters);
    // NCX title equal to the first heading: the heading is the title, not repeated as a block.
    assert_eq!(b.chapters[0].title.as_deref(), Some("The Spring"));
    assert_eq!(
        texts(&b.chapters[0].blocks),
        ["Water rises \u{2014} slowly.", "Second paragraph over two lines."]
    );
    assert!(b.chapters[0].blocks.iter().all(|bl| bl.kind == BlockKind::Paragraph));
    // NCX title different from the heading: the heading stays as a heading block; ch2b continues ch2.
    assert_eq!(b.chapters[1].title.as_deref(), Some("Downstream"));
    assert_eq!(
        texts(&b.chapters[1].blocks),
        [
            "Chapter Two",
            "The river bends.",
            "Later",
            "It ends.",
            "Continued in a second file."
        ]
    );
    assert_eq!(b.chapters[1].blocks[0].kind, BlockKind::Heading);
    assert_eq!(b.chapters[1].blocks[2].kind, BlockKind::Heading);
}

// ------------------------------------------------------------------ EPUB 3

const NAV: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">
<head><title>Contents</title></head>
<body>
<nav epub:type="toc" id="toc"><h1>Contents</h1><ol>
  <li><a href="ch1.xhtml#top">Meeting at the Station</a></li>
  <li><a href="sub/ch2.xhtml">The   Market</a><ol><li><a href="sub/ch2.xhtml#s2">Stalls</a></li></ol></li>
</ol></nav>
<nav epub:type="landmarks"><ol><li><a epub:type="copyright-page" href="legal.xhtml">Legal</a></li>
<li><a epub:type="bodymatter" href="ch1.xhtml">Start</a></li></ol></nav>
</body></html>"##;

fn epub3() -> EpubBuilder {
    let meta = r#"<dc:title>Station</dc:title><dc:creator>Ann Smith</dc:creator><dc:language>en-GB</dc:language>
    <meta property="dcterms:modified">2024-01-01T00:00:00Z</meta>"#;
    let items = [
        ("nav", "nav.xhtml", XHTML, "nav"),
        ("cover", "cover.xhtml", XHTML, ""),
        ("legal", "legal.xhtml", XHTML, ""),
        ("c1", "ch1.xhtml", XHTML, ""),
        ("c2", "sub/ch2.xhtml", XHTML, ""),
        ("appx", "appendix.xhtml", XHTML, ""),
        ("img", "images/c.jpg", "image/jpeg", "cover-image"),
    ];
    let spine = [
        ("cover", true),
        ("nav", true),
        ("legal", true),
        ("c1", true),
        ("c2", true),
        ("appx", false),
    ];
    let ch1 = xhtml(
        "",
        r#"<section xml:lang="en"><h1 id="top">Meeting at the Station</h1>
<p>He said <span xml:lang="pl">dzień dobry</span> and smiled.</p>
<p data-speaker="alice">I know <i>that</i>, <span lang="fr">merci</span>!</p>
<div>Loose text in a div<br/>after a break.</div></section>"#,
    );
    let ch2 = xhtml(
        "",
        r#"<h1>Market day</h1><p>Apples.</p><ul><li>One</li><li>Two <b>pears</b></li></ul><blockquote><p>Quoted.</p></blockquote>"#,
    );
    EpubBuilder::new()
        .file("OEBPS/content.opf", opf("3.0", meta, &items, &spine, None, ""))
        .file("OEBPS/nav.xhtml", NAV)
        .file(
            "OEBPS/cover.xhtml",
            xhtml("", r#"<img src="images/c.jpg" alt="Cover"/>"#),
        )
        .file("OEBPS/legal.xhtml", xhtml("", "<p>All rights reserved.</p>"))
        .file("OEBPS/ch1.xhtml", ch1)
        .file("OEBPS/sub/ch2.xhtml", ch2)
        .file("OEBPS/appendix.xhtml", xhtml("", "<h1>Appendix</h1><p>Extra.</p>"))
        .file("OEBPS/images/c.jpg", b"JPEGDATA")
}

#[test]
fn epub3_nav_lang_spans_and_speakers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = epub3().write(dir.path(), "three.epub");
    let b = read(&p);
    assert_eq!(b.meta.language.as_deref(), Some("en-GB"));
    assert_eq!(b.cover, Some((b"JPEGDATA".to_vec(), "image/jpeg".to_string())));
    let titles: Vec<_> = b.chapters.iter().map(|c| c.title.clone().unwrap_or_default()).collect();
    assert_eq!(titles, ["Meeting at the Station", "The Market"]);
    let c1 = &b.chapters[0];
    assert_eq!(
        c1.blocks[0].spans,
        [
            span("He said ", Some("en"), None),
            span("dzień dobry", Some("pl"), None),
            span(" and smiled.", Some("en"), None)
        ]
    );
    assert_eq!(
        c1.blocks[1].spans,
        [
            span("I know that, ", Some("en"), Some("alice")),
            span("merci", Some("fr"), Some("alice")),
            span("!", Some("en"), Some("alice"))
        ]
    );
    assert_eq!(text(&c1.blocks[2]), "Loose text in a div after a break.");
    let c2 = &b.chapters[1];
    assert_eq!(
        texts(&c2.blocks),
        ["Market day", "Apples.", "One", "Two pears", "Quoted."]
    );
    let kinds: Vec<_> = c2.blocks.iter().map(|b| b.kind).collect();
    assert_eq!(
        kinds,
        [
            BlockKind::Heading,
            BlockKind::Paragraph,
            BlockKind::ListItem,
            BlockKind::ListItem,
            BlockKind::Paragraph
        ]
    );
}

#[test]
fn front_matter_and_non_linear_items_are_skipped_with_warnings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = epub3().write(dir.path(), "three.epub");
    let b = read(&p);
    let w = b.warnings.join("\n");
    assert!(w.contains("OEBPS/cover.xhtml") && w.contains("cover"), "{w}");
    assert!(
        w.contains("OEBPS/nav.xhtml") && w.contains("navigation document"),
        "{w}"
    );
    assert!(w.contains("OEBPS/legal.xhtml") && w.contains("copyright-page"), "{w}");
    assert!(w.contains("OEBPS/appendix.xhtml") && w.contains("linear=\"no\""), "{w}");
    assert!(!b
        .chapters
        .iter()
        .any(|c| c.blocks.iter().any(|bl| text(bl).contains("rights"))));
    // Not skipped when asked.
    let all = read_all(&p);
    let titles: Vec<_> = all
        .chapters
        .iter()
        .map(|c| c.title.clone().unwrap_or_default())
        .collect();
    assert!(titles.contains(&"Appendix".to_string()), "{titles:?}");
    assert!(all
        .chapters
        .iter()
        .any(|c| c.blocks.iter().any(|bl| text(bl) == "All rights reserved.")));
}

#[test]
fn epub_type_front_matter_is_detected_in_the_document() {
    let meta = "<dc:title>T</dc:title><dc:language>en</dc:language>";
    let items = [("a", "a.xhtml", XHTML, ""), ("b", "b.xhtml", XHTML, "")];
    let dir = tempfile::tempdir().expect("tempdir");
    let p = EpubBuilder::new()
        .file(
            "OEBPS/content.opf",
            opf("3.0", meta, &items, &[("a", true), ("b", true)], None, ""),
        )
        .file(
            "OEBPS/a.xhtml",
            xhtml(
                "",
                r#"<section epub:type="titlepage"><h1>T</h1><p>By someone</p></section>"#,
            ),
        )
        .file(
            "OEBPS/b.xhtml",
            xhtml("", r#"<section epub:type="chapter"><h1>One</h1><p>Body.</p></section>"#),
        )
        .write(dir.path(), "t.epub");
    let b = read(&p);
    assert_eq!(b.chapters.len(), 1);
    assert_eq!(b.chapters[0].title.as_deref(), Some("One"));
    assert!(
        b.warnings
            .iter()
            .any(|w| w.contains("OEBPS/a.xhtml") && w.contains("titlepage")),
        "{:?}",
        b.warnings
    );
}

// ------------------------------------------------------------------ footnotes, tables

#[test]
fn footnotes_and_asides_are_separated_and_noterefs_dropped() {
    let meta = "<dc:title>N</dc:title><dc:language>en</dc:language>";
    let items = [("a", "a.xhtml", XHTML, "")];
    let body = r##"<h1>Notes</h1>
<p>The claim<a epub:type="noteref" href="#fn1">1</a> stands<sup><a role="doc-noteref" href="#fn2">[2]</a></sup>.</p>
<aside epub:type="footnote" id="fn1"><p>First note.</p></aside>
<p>Middle.</p>
<aside><p>A side remark.</p></aside>
<section role="doc-endnotes"><ol><li id="fn2">Second <i>note</i>.</li></ol></section>
<script>var x = "no";</script><style>p { }</style><svg><title>no</title><circle r="1"/></svg>
<math><mi>x</mi></math><p>End.</p>"##;
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = xhtml("", body);
    let p = EpubBuilder::new()
        .file("OEBPS/content.opf", opf("3.0", meta, &items, &[("a", true)], None, ""))
        .file("OEBPS/a.xhtml", &doc)
        .write(dir.path(), "n.epub");
    let b = read(&p);
    let ch = &b.chapters[0];
    assert_eq!(texts(&ch.blocks), ["The claim stands.", "Middle.", "End."]);
    assert_eq!(texts(&ch.footnotes), ["First note.", "A side remark.", "Second note."]);
    assert!(ch.footnotes.iter().all(|f| f.kind == BlockKind::Footnote));
    // The generic check knows noterefs are dropped and scripts, graphics-only svg and math hidden.
    let visible = support::visible_words(&doc);
    assert!(
        !visible.iter().any(|w| w.contains("[2]") || w == "no" || w == "x"),
        "{visible:?}"
    );
    assert_no_text_lost(&b, &[doc]);
}

#[test]
fn tables_are_read_row_by_row() {
    let meta = "<dc:title>T</dc:title><dc:language>en</dc:language>";
    let items = [("a", "a.xhtml", XHTML, "")];
    let body = r#"<h1>Prices</h1><table><caption>Fruit prices</caption>
<thead><tr><th>Fruit</th><th>Price</th><th></th></tr></thead>
<tbody><tr><td>Apple</td><td>1 <b>zł</b></td><td>fresh<br/>today</td></tr>
<tr><td><p>Pear</p></td><td>2 zł</td></tr></tbody></table>"#;
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = xhtml("", body);
    let p = EpubBuilder::new()
        .file("OEBPS/content.opf", opf("3.0", meta, &items, &[("a", true)], None, ""))
        .file("OEBPS/a.xhtml", &doc)
        .write(dir.path(), "t.epub");
    let b = read(&p);
    let ch = &b.chapters[0];
    assert_eq!(
        texts(&ch.blocks),
        ["Fruit prices", "Fruit, Price", "Apple, 1 zł, fresh today", "Pear, 2 zł"]
    );
    assert_eq!(ch.blocks[1].kind, BlockKind::TableRow);
    assert_eq!(ch.blocks[3].kind, BlockKind::TableRow);
    assert_no_text_lost(&b, &[doc]);
}

// ------------------------------------------------------------------ PLS and ssml:ph

const PLS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon" alphabet="ipa" xml:lang="en">
  <lexeme><grapheme>Nguyen</grapheme><alias>Win</alias></lexeme>
  <lexeme><grapheme>SQL</grapheme><grapheme>sql</grapheme><alias>sequel</alias></lexeme>
  <lexeme><grapheme>tomato</grapheme><phoneme>təˈmɑːtoʊ</phoneme></lexeme>
</lexicon>"#;

#[test]
fn pls_lexicon_and_ssml_ph() {
    let meta = "<dc:title>L</dc:title><dc:language>en</dc:language>";
    let items = [
        ("a", "a.xhtml", XHTML, ""),
        ("b", "b.xhtml", XHTML, ""),
        ("lex", "lex/en.pls", "application/pls+xml", ""),
        ("lexpl", "lex/pl.pls", "application/pls+xml", ""),
    ];
    let link = r#"<link rel="pronunciation" type="application/pls+xml" href="lex/en.pls" hreflang="en"/>"#;
    let link_pl = r#"<link rel="pronunciation" type="application/pls+xml" href="lex/pl.pls"/>"#;
    let pls_pl = PLS
        .replace(r#"xml:lang="en""#, r#"xml:lang="pl""#)
        .replace("Nguyen", "Łódź")
        .replace(">Win<", ">Wudż<");
    let dir = tempfile::tempdir().expect("tempdir");
    let p = EpubBuilder::new()
        .file(
            "OEBPS/content.opf",
            opf("3.0", meta, &items, &[("a", true), ("b", true)], None, ""),
        )
        .file(
            "OEBPS/a.xhtml",
            xhtml(
                link,
                r#"<h1>A</h1><p>Say <span ssml:ph="təˈmɑːtoʊ" ssml:alphabet="ipa">tomato</span> to Nguyen.</p>"#,
            ),
        )
        .file(
            "OEBPS/b.xhtml",
            xhtml(&format!("{link}{link_pl}"), "<h1>B</h1><p>More SQL.</p>"),
        )
        .file("OEBPS/lex/en.pls", PLS)
        .file("OEBPS/lex/pl.pls", pls_pl)
        .write(dir.path(), "l.epub");
    let b = read(&p);
    let entries: Vec<_> = b
        .lexicon
        .iter()
        .map(|e| (e.grapheme.as_str(), e.alias.as_str(), e.lang.as_deref()))
        .collect();
    assert_eq!(
        entries,
        [
            ("Nguyen", "Win", Some("en")),
            ("SQL", "sequel", Some("en")),
            ("sql", "sequel", Some("en")),
            ("Łódź", "Wudż", Some("pl")),
            ("SQL", "sequel", Some("pl")),
            ("sql", "sequel", Some("pl")),
        ]
    );
    assert!(
        b.warnings.iter().any(|w| w.contains("tomato") && w.contains("phoneme")),
        "{:?}",
        b.warnings
    );
    let spans = &b.chapters[0].blocks[0].spans;
    assert_eq!(spans[1].text, "tomato");
    assert_eq!(spans[1].ph.as_deref(), Some("təˈmɑːtoʊ"));
    assert_eq!(spans[1].ph_alphabet.as_deref(), Some("ipa"));
    assert_eq!(spans[0].ph, None);
    assert_eq!(spans[2].text, " to Nguyen.");
}

// ------------------------------------------------------------------ the real book

fn corpus_alice() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/alice.epub")
}

/// The spine documents of an EPUB, read independently of the reader (zip + roxmltree), in order,
/// optionally only the linear ones.
fn spine_documents(path: &Path) -> Vec<(String, String)> {
    let f = std::fs::File::open(path).expect("open");
    let mut z = zip::ZipArchive::new(f).expect("zip");
    let mut get = |name: &str| {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut z.by_name(name).expect("entry"), &mut s).expect("utf8");
        s
    };
    let container = get("META-INF/container.xml");
    let c = roxmltree::Document::parse(&container).expect("xml");
    let opf_path = c
        .descendants()
        .find(|n| n.has_tag_name("rootfile"))
        .and_then(|n| n.attribute("full-path"))
        .expect("rootfile")
        .to_string();
    let opf_text = get(&opf_path);
    let o = roxmltree::Document::parse(&opf_text).expect("opf");
    let base = opf_path
        .rsplit_once('/')
        .map(|(d, _)| format!("{d}/"))
        .unwrap_or_default();
    let hrefs: std::collections::HashMap<_, _> = o
        .descendants()
        .filter(|n| n.has_tag_name("item"))
        .filter_map(|n| Some((n.attribute("id")?.to_string(), n.attribute("href")?.to_string())))
        .collect();
    o.descendants()
        .filter(|n| n.has_tag_name("itemref"))
        .filter_map(|n| n.attribute("idref"))
        .map(|id| {
            let name = format!("{base}{}", hrefs[id]);
            let doc = get(&name);
            (name, doc)
        })
        .collect()
}

#[test]
fn alice_reads_into_its_chapters() {
    let path = corpus_alice();
    let b = read(&path);
    for (i, c) in b.chapters.iter().enumerate() {
        let words: usize = c.blocks.iter().map(|bl| text(bl).split_whitespace().count()).sum();
        println!(
            "{i:2} {:40} {words:6} words, {} blocks",
            c.title.as_deref().unwrap_or("-"),
            c.blocks.len()
        );
    }
    println!("warnings: {:#?}", b.warnings);
    assert_eq!(b.meta.title.as_deref(), Some("Alice's Adventures in Wonderland"));
    assert_eq!(b.meta.author.as_deref(), Some("Lewis Carroll"));
    assert_eq!(b.meta.language.as_deref(), Some("en-US"));
    let cover = b.cover.as_ref().expect("cover");
    assert_eq!(cover.1, "image/jpeg");
    assert!(cover.0.starts_with(&[0xFF, 0xD8]), "JPEG magic");
    assert_eq!(b.chapters.len(), 10);
    let titles: Vec<_> = b.chapters.iter().map(|c| c.title.as_deref().unwrap_or("")).collect();
    assert_eq!(titles[0], "Down The Rabbit-Hole");
    assert_eq!(titles[6], "A Mad Tea-Party");
    assert_eq!(titles[9], "Alice's Evidence");
    assert!(text(&b.chapters[0].blocks[0])
        .starts_with("Alice was beginning to get very tired of sitting by her sister on the bank"));
    assert!(
        text(&b.chapters[6].blocks[0]).starts_with("There was a table set out under a tree in front of the house"),
        "{}",
        text(&b.chapters[6].blocks[0])
    );
    // Skipped with warnings: cover and nav (linear="no") and the title page.
    assert!(b.warnings.iter().any(|w| w.contains("OPS/cover.xhtml")));
    assert!(b.warnings.iter().any(|w| w.contains("OPS/titlepage.xhtml")));
    let total: usize = b
        .chapters
        .iter()
        .flat_map(|c| &c.blocks)
        .map(|bl| text(bl).split_whitespace().count())
        .sum();
    // This edition (Gutenberg #19033, Gordon Robinson's) is abridged: about 9,700 words in the ten chapters.
    assert!((9_500..10_000).contains(&total), "{total} words");
    let last = b.chapters[9].blocks.last().map(text).unwrap_or_default();
    assert!(last.ends_with("what a wonderful dream it had been."), "{last}");
}

#[test]
fn alice_loses_no_text() {
    let path = corpus_alice();
    let docs: Vec<String> = spine_documents(&path).into_iter().map(|(_, d)| d).collect();
    assert_eq!(docs.len(), 13);
    let b = read_all(&path);
    assert_no_text_lost(&b, &docs);
    // And the default reading is exactly the ten chapters' documents.
    let chapters: Vec<String> = spine_documents(&path)
        .into_iter()
        .filter(|(n, _)| n.contains("chapter_"))
        .map(|(_, d)| d)
        .collect();
    assert_no_text_lost(&read(&path), &chapters);
}

#[test]
fn built_books_lose_no_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = epub3().write(dir.path(), "three.epub");
    let docs: Vec<String> = spine_documents(&p).into_iter().map(|(_, d)| d).collect();
    assert_no_text_lost(&read_all(&p), &docs);
}

// ------------------------------------------------------------------ SVG text (fixed layout)

#[test]
fn fixed_layout_svg_pages_are_read_line_by_line_into_one_chapter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = support::fixed_layout_french().write(dir.path(), "renard.epub");
    let b = read(&p);
    assert_eq!(b.meta.language.as_deref(), Some("fr"));
    assert_eq!(b.chapters.len(), 1, "{:#?}", b.chapters);
    assert_eq!(b.chapters[0].title.as_deref(), Some("Le petit renard"));
    let want: Vec<String> = support::FXL_PAGES.iter().map(|lines| lines.join(" ")).collect();
    assert_eq!(texts(&b.chapters[0].blocks), want);
    assert!(b.chapters[0].blocks.iter().all(|bl| bl.kind == BlockKind::Paragraph));
    // The page image's description and the SVG page's title are not read; the xml:lang is kept.
    let all = texts(&b.chapters[0].blocks).join(" ");
    assert!(!all.contains("renard roux") && !all.contains("Page trois"), "{all}");
    assert!(b.chapters[0].blocks[2]
        .spans
        .iter()
        .all(|s| s.lang.as_deref() == Some("fr")));
    // No warning about an empty chapter or a skipped SVG page.
    assert!(
        !b.warnings
            .iter()
            .any(|w| w.contains("no text") || w.contains("not an XHTML")),
        "{:?}",
        b.warnings
    );
    let docs: Vec<String> = spine_documents(&p)
        .into_iter()
        .filter(|(n, _)| n.contains("page"))
        .map(|(_, d)| d)
        .collect();
    assert_eq!(docs.len(), 3);
    assert_no_text_lost(&b, &docs);
}

#[test]
fn a_fixed_layout_book_without_a_table_of_contents_is_one_chapter_not_one_per_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = support::fixed_layout_french_with(false).write(dir.path(), "renard.epub");
    let b = read(&p);
    assert_eq!(b.chapters.len(), 1, "{:#?}", b.chapters);
    assert_eq!(b.chapters[0].title, None);
    assert_eq!(b.chapters[0].blocks.len(), 3);
}

#[test]
fn ordered_lists_carry_their_numbers() {
    let meta = "<dc:title>L</dc:title><dc:language>de</dc:language>";
    let items = [("a", "a.xhtml", XHTML, "")];
    let body = r#"<h1>Liste</h1><ol start="14"><li>Januar war kalt.</li><li>Februar auch.</li></ol>
<ul><li>Punkt</li></ul><ol><li>1. Schon nummeriert</li></ol>"#;
    let dir = tempfile::tempdir().expect("tempdir");
    let p = EpubBuilder::new()
        .file("OEBPS/content.opf", opf("3.0", meta, &items, &[("a", true)], None, ""))
        .file("OEBPS/a.xhtml", xhtml("", body))
        .write(dir.path(), "l.epub");
    let b = read(&p);
    let got: Vec<(Option<String>, String)> = b.chapters[0]
        .blocks
        .iter()
        .map(|bl| (bl.marker.clone(), text(bl)))
        .collect();
    assert_eq!(
        got,
        [
            (Some("14.".to_string()), "Januar war kalt.".to_string()),
            (Some("15.".into()), "Februar auch.".into()),
            (None, "Punkt".into()),
            (None, "1. Schon nummeriert".into()),
        ]
    );
}

/// One generated SVG page: lines of words, each line a `<text>` or a positioned `<tspan>`.
fn svg_page(lines: &[(Vec<String>, bool)]) -> String {
    let mut body = String::new();
    let mut open_text = false;
    for (i, (words, own_text)) in lines.iter().enumerate() {
        let y = 100 + 24 * i;
        if *own_text || !open_text {
            if open_text {
                body.push_str("</text>");
            }
            body.push_str(&format!("<text x=\"20\" y=\"{y}\"><title>HIDDEN</title>"));
            open_text = true;
        }
        body.push_str(&format!("\n <tspan x=\"20\" y=\"{y}\">{}</tspan>", words.join(" ")));
    }
    if open_text {
        body.push_str("</text>");
    }
    xhtml(
        "",
        &format!("<svg xmlns=\"http://www.w3.org/2000/svg\"><desc>HIDDEN</desc><image width=\"9\" height=\"9\"/>{body}</svg>"),
    )
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
    /// No text lost on generated SVG pages: every word of every text line is read, in order, and nothing
    /// hidden (titles, descriptions) is.
    #[test]
    fn svg_pages_lose_no_text(
        pages in proptest::collection::vec(
            proptest::collection::vec(
                (proptest::collection::vec("[a-zA-Zéàç]{1,9}[.,!?]?", 1..8), proptest::bool::ANY),
                1..12,
            ),
            1..4,
        )
    ) {
        let meta = "<dc:title>S</dc:title><dc:language>fr</dc:language>";
        let ids: Vec<String> = (0..pages.len()).map(|i| format!("p{i}")).collect();
        let hrefs: Vec<String> = (0..pages.len()).map(|i| format!("p{i}.xhtml")).collect();
        let items: Vec<support::Item> = ids.iter().zip(&hrefs).map(|(i, h)| (i.as_str(), h.as_str(), XHTML, "")).collect();
        let spine: Vec<(&str, bool)> = ids.iter().map(|i| (i.as_str(), true)).collect();
        let docs: Vec<String> = pages.iter().map(|p| svg_page(p)).collect();
        let mut epub = EpubBuilder::new().file("OEBPS/content.opf", opf("3.0", meta, &items, &spine, None, ""));
        for (h, d) in hrefs.iter().zip(&docs) {
            epub = epub.file(&format!("OEBPS/{h}"), d);
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let b = read(&epub.write(dir.path(), "s.epub"));
        assert_no_text_lost(&b, &docs);
        let read_words: Vec<String> = b
            .chapters
            .iter()
            .flat_map(|c| c.blocks.iter().map(text))
            .flat_map(|t| t.split_whitespace().map(String::from).collect::<Vec<_>>())
            .collect();
        let want: Vec<String> = pages.iter().flatten().flat_map(|(w, _)| w.clone()).collect();
        proptest::prop_assert_eq!(read_words, want);
    }
}

// ------------------------------------------------------------------ broken input

#[test]
fn not_a_zip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("plain.epub");
    std::fs::write(&p, "just some text, not a zip").expect("write");
    let e = err(&p);
    assert!(e.contains("plain.epub") && e.contains("not a ZIP"), "{e}");
}

#[test]
fn missing_container() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = epub2()
        .without("META-INF/container.xml")
        .write(dir.path(), "nocontainer.epub");
    let e = err(&p);
    assert!(
        e.contains("nocontainer.epub") && e.contains("missing META-INF/container.xml"),
        "{e}"
    );
}

#[test]
fn container_points_to_missing_opf() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = epub2()
        .file("META-INF/container.xml", support::container("OEBPS/other.opf"))
        .write(dir.path(), "noopf.epub");
    let e = err(&p);
    assert!(
        e.contains("noopf.epub") && e.contains("OEBPS/other.opf") && e.contains("missing"),
        "{e}"
    );
}

#[test]
fn spine_item_missing_from_manifest_or_archive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let meta = "<dc:title>T</dc:title>";
    let items = [("a", "a.xhtml", XHTML, "")];
    let p = EpubBuilder::new()
        .file(
            "OEBPS/content.opf",
            opf("3.0", meta, &items, &[("a", true), ("ghost", true)], None, ""),
        )
        .file("OEBPS/a.xhtml", xhtml("", "<p>x</p>"))
        .write(dir.path(), "ghost.epub");
    let e = err(&p);
    assert!(
        e.contains("ghost.epub") && e.contains("\"ghost\"") && e.contains("manifest"),
        "{e}"
    );

    let p = EpubBuilder::new()
        .file("OEBPS/content.opf", opf("3.0", meta, &items, &[("a", true)], None, ""))
        .write(dir.path(), "nofile.epub");
    let e = err(&p);
    assert!(
        e.contains("nofile.epub") && e.contains("OEBPS/a.xhtml") && e.contains("missing from the archive"),
        "{e}"
    );
}

const ENCRYPTION: &str = r#"<?xml version="1.0"?>
<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" xmlns:enc="http://www.w3.org/2001/04/xmlenc#">
  <enc:EncryptedData>
    <enc:EncryptionMethod Algorithm="ALGO"/>
    <enc:CipherData><enc:CipherReference URI="TARGET"/></enc:CipherData>
  </enc:EncryptedData>
</encryption>"#;

#[test]
fn drm_encrypted_content_is_refused_but_font_obfuscation_is_fine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let drm = ENCRYPTION
        .replace("ALGO", "http://www.w3.org/2001/04/xmlenc#aes128-cbc")
        .replace("TARGET", "OEBPS/text/ch1.xhtml");
    let p = epub2()
        .file("META-INF/encryption.xml", drm)
        .write(dir.path(), "drm.epub");
    let e = err(&p);
    assert!(
        e.contains("drm.epub") && e.contains("DRM") && e.contains("OEBPS/text/ch1.xhtml"),
        "{e}"
    );

    let fonts = ENCRYPTION
        .replace("ALGO", "http://www.idpf.org/2008/embedding")
        .replace("TARGET", "OEBPS/fonts/a.otf");
    let p = epub2()
        .file("META-INF/encryption.xml", fonts)
        .write(dir.path(), "fonts.epub");
    assert_eq!(read(&p).chapters.len(), 2);

    // Obfuscation applied to a text document is not font obfuscation.
    let odd = ENCRYPTION
        .replace("ALGO", "http://www.idpf.org/2008/embedding")
        .replace("TARGET", "OEBPS/text/ch2.xhtml");
    let p = epub2()
        .file("META-INF/encryption.xml", odd)
        .write(dir.path(), "odd.epub");
    assert!(err(&p).contains("OEBPS/text/ch2.xhtml"));
}

#[test]
fn paths_escaping_the_archive_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = epub2().file("../evil.xhtml", "x").write(dir.path(), "slip.epub");
    let e = err(&p);
    assert!(
        e.contains("slip.epub") && e.contains("../evil.xhtml") && e.contains("escaping"),
        "{e}"
    );

    let meta = "<dc:title>T</dc:title>";
    let items = [("a", "../../../etc/passwd", XHTML, "")];
    let p = EpubBuilder::new()
        .file("OEBPS/content.opf", opf("3.0", meta, &items, &[("a", true)], None, ""))
        .write(dir.path(), "href.epub");
    let e = err(&p);
    assert!(
        e.contains("href.epub") && e.contains("\"a\"") && e.contains("escaping"),
        "{e}"
    );
}

#[test]
fn zip_bomb_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 200 MiB of zeros, streamed into the archive (a few hundred KiB on disk).
    let path = epub2().write(dir.path(), "base.epub");
    let bomb = dir.path().join("bomb.epub");
    {
        let src = std::fs::File::open(&path).expect("open");
        let mut zin = zip::ZipArchive::new(src).expect("zip");
        let mut z = zip::ZipWriter::new(std::fs::File::create(&bomb).expect("create"));
        for i in 0..zin.len() {
            let f = zin.by_index_raw(i).expect("entry");
            z.raw_copy_file(f).expect("copy");
        }
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(1));
        z.start_file("OEBPS/text/zeros.xhtml", opts).expect("start");
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..200 {
            z.write_all(&chunk).expect("write");
        }
        z.finish().expect("finish");
    }
    assert!(std::fs::metadata(&bomb).expect("meta").len() < 2 << 20);
    let e = err(&bomb);
    assert!(
        e.contains("bomb.epub") && e.contains("OEBPS/text/zeros.xhtml") && e.contains("zip bomb"),
        "{e}"
    );

    // A smaller entry that is still compressed far too much.
    let ratio = epub2()
        .file("OEBPS/text/ch2b.xhtml", vec![b' '; 8 << 20])
        .write(dir.path(), "ratio.epub");
    let e = err(&ratio);
    assert!(
        e.contains("ratio.epub") && e.contains("OEBPS/text/ch2b.xhtml") && e.contains("compressed"),
        "{e}"
    );
}

#[test]
fn malformed_xhtml_is_read_tolerantly_and_non_utf8_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = epub2()
        .file(
            "OEBPS/text/ch2b.xhtml",
            "<html><body><p>Unclosed <b>bold<p>Next & last <br> line</div></body>",
        )
        .write(dir.path(), "tolerant.epub");
    let b = read(&p);
    assert!(
        b.warnings
            .iter()
            .any(|w| w.contains("OEBPS/text/ch2b.xhtml") && w.contains("not well-formed")),
        "{:?}",
        b.warnings
    );
    let last = &b.chapters[1].blocks;
    assert_eq!(texts(&last[last.len() - 2..]), ["Unclosed bold", "Next & last line"]);

    let p = epub2()
        .file(
            "OEBPS/text/ch2.xhtml",
            b"<html><body><p>Caf\xe9</p></body></html>".as_slice(),
        )
        .write(dir.path(), "latin.epub");
    let e = err(&p);
    assert!(
        e.contains("latin.epub") && e.contains("OEBPS/text/ch2.xhtml") && e.contains("UTF-8"),
        "{e}"
    );
}

#[test]
fn malformed_package_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = epub2()
        .file("OEBPS/content.opf", "<package><metadata>")
        .write(dir.path(), "badopf.epub");
    let e = err(&p);
    assert!(e.contains("badopf.epub") && e.contains("OEBPS/content.opf"), "{e}");
    let p = epub2()
        .file("OEBPS/content.opf", "<package><metadata/><manifest/></package>")
        .write(dir.path(), "nospine.epub");
    let e = err(&p);
    assert!(e.contains("nospine.epub") && e.contains("<spine>"), "{e}");
}
