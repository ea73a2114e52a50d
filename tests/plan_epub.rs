//! `plan` on real EPUB files: built EPUB 2 (NCX) and EPUB 3 (nav, lang spans, speakers, PLS) books and
//! the corpus `alice.epub`, checked down to the chunks.

mod support;

use std::path::{Path, PathBuf};

use support::{opf, xhtml, EpubBuilder};
use ws_book::manuscript::epub::read_epub;
use ws_book::manuscript::ReadOptions;
use ws_book::plan::{self, Plan};

const XHTML: &str = "application/xhtml+xml";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

fn chunk_texts(p: &Plan, ch: usize) -> Vec<(String, String)> {
    p.chapters[ch]
        .chunks
        .iter()
        .map(|c| (c.speaker.clone(), c.runs.iter().map(|r| r.text.as_str()).collect()))
        .collect()
}

#[test]
fn epub3_code_switching_speakers_and_pls() {
    let d = tempfile::tempdir().expect("tempdir");
    let meta = r#"<dc:title>Station</dc:title><dc:creator>Ann Smith</dc:creator><dc:language>en-GB</dc:language>"#;
    let items = [
        ("nav", "nav.xhtml", XHTML, "nav"),
        ("c1", "ch1.xhtml", XHTML, ""),
        ("lex", "en.pls", "application/pls+xml", ""),
    ];
    let nav = xhtml(
        "",
        r#"<nav epub:type="toc"><ol><li><a href="ch1.xhtml">Meeting</a></li></ol></nav>"#,
    );
    let link = r#"<link rel="pronunciation" type="application/pls+xml" href="en.pls" hreflang="en"/>"#;
    let ch1 = xhtml(
        link,
        r#"<h1>Meeting</h1><p>Mr. Nguyen said <span xml:lang="pl">dzień dobry</span> and smiled.</p>
<p data-speaker="alice">I know SQL, <span lang="fr">merci</span>!</p>
<p>“Are you coming?” asked Alice. “The train leaves at 10:15.”</p>"#,
    );
    let pls = r#"<?xml version="1.0" encoding="UTF-8"?>
<lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon" alphabet="ipa" xml:lang="en">
  <lexeme><grapheme>Nguyen</grapheme><alias>Win</alias></lexeme>
  <lexeme><grapheme>SQL</grapheme><alias>sequel</alias></lexeme>
</lexicon>"#;
    EpubBuilder::new()
        .file(
            "OEBPS/content.opf",
            opf("3.0", meta, &items, &[("nav", true), ("c1", true)], None, ""),
        )
        .file("OEBPS/nav.xhtml", nav)
        .file("OEBPS/ch1.xhtml", ch1)
        .file("OEBPS/en.pls", pls)
        .write(d.path(), "station.epub");
    let y = write(
        d.path(),
        "p.yaml",
        "manuscripts: [station.epub]\ncharacters:\n  alice: {}\n",
    );
    let p = plan::load_and_plan(&y).expect("plan").1;
    assert_eq!(
        (p.title.as_str(), p.author.as_str(), p.language.as_str()),
        ("Station", "Ann Smith", "en")
    );
    assert_eq!(p.chapters.len(), 1);
    assert_eq!(p.chapters[0].title, "Meeting");
    let runs: Vec<(String, String)> = p.chapters[0].chunks[1]
        .runs
        .iter()
        .map(|r| (r.text.clone(), r.lang.clone()))
        .collect();
    assert_eq!(
        runs,
        [
            ("mister Win said ".to_string(), "en".to_string()),
            ("dzień dobry".into(), "pl".into()),
            (" and smiled.".into(), "en".into())
        ]
    );
    assert_eq!(
        chunk_texts(&p, 0)[2..],
        [
            ("alice".to_string(), "I know sequel, merci!".to_string()),
            ("alice".into(), "“Are you coming?”".into()),
            ("narrator".into(), "asked Alice.".into()),
            ("alice".into(), "“The train leaves at ten fifteen.”".into()),
        ]
    );
    let fr = &p.chapters[0].chunks[2].runs;
    assert_eq!(
        fr.iter().map(|r| r.lang.as_str()).collect::<Vec<_>>(),
        ["en", "fr", "en"]
    );
}

#[test]
fn epub2_ncx_titles_and_book_language() {
    let d = tempfile::tempdir().expect("tempdir");
    let meta = r#"<dc:title>Dwie rzeki</dc:title><dc:creator>Jan Kowalski</dc:creator><dc:language>pl</dc:language>"#;
    let items = [
        ("ncx", "toc.ncx", "application/x-dtbncx+xml", ""),
        ("c1", "ch1.xhtml", XHTML, ""),
        ("c2", "ch2.xhtml", XHTML, ""),
    ];
    let ncx = r#"<?xml version="1.0" encoding="UTF-8"?>
<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1"><head/><docTitle><text>Dwie rzeki</text></docTitle>
<navMap>
<navPoint id="a" playOrder="1"><navLabel><text>Źródło</text></navLabel><content src="ch1.xhtml"/></navPoint>
<navPoint id="b" playOrder="2"><navLabel><text>Ujście</text></navLabel><content src="ch2.xhtml"/></navPoint>
</navMap></ncx>"#;
    let p = EpubBuilder::new()
        .file(
            "OEBPS/content.opf",
            opf("2.0", meta, &items, &[("c1", true), ("c2", true)], Some("ncx"), ""),
        )
        .file("OEBPS/toc.ncx", ncx)
        .file(
            "OEBPS/ch1.xhtml",
            xhtml("", "<p>Woda płynie, np. do morza. Dr Nowak patrzy.</p>"),
        )
        .file("OEBPS/ch2.xhtml", xhtml("", "<p>Koniec.</p>"))
        .write(d.path(), "rzeki.epub");
    let plan = plan::load_and_plan(&p).expect("plan").1;
    assert_eq!(plan.language, "pl");
    let titles: Vec<&str> = plan.chapters.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, ["Źródło", "Ujście"]);
    // Polish abbreviations do not end sentences; every chunk is narrator's and Polish.
    let sentences: Vec<String> = plan.chapters[0]
        .chunks
        .iter()
        .flat_map(|c| c.sentences.clone())
        .collect();
    assert_eq!(
        sentences,
        ["Źródło", "Woda płynie, na przykład do morza.", "Doktor Nowak patrzy."]
    );
    assert!(plan
        .chapters
        .iter()
        .flat_map(|c| &c.chunks)
        .all(|c| c.voice == "default" && c.runs.iter().all(|r| r.lang == "pl")));
}

fn alice() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/alice.epub")
}

#[test]
fn alice_plans_without_losing_text_and_attributes_dialogue() {
    let d = tempfile::tempdir().expect("tempdir");
    let book = alice();
    let y = write(
        d.path(),
        "alice.yaml",
        &format!(
            "manuscripts: [{}]\nreading: {{ normalize: false }}\ncharacters:\n  alice: {{}}\n  queen: {{ aliases: [the Queen] }}\n  rabbit: {{ aliases: [the White Rabbit, the Rabbit] }}\n  hatter: {{ aliases: [the Hatter] }}\n",
            book.display()
        ),
    );
    let p = plan::load_and_plan(&y).expect("plan").1;
    assert_eq!(p.title, "Alice's Adventures in Wonderland");
    assert_eq!(p.chapters.len(), 10);
    // No text lost: the words of every chapter's chunks equal the reader's words (title + body + notes).
    let raw = read_epub(&book, &ReadOptions::default()).expect("read");
    assert_eq!(raw.chapters.len(), p.chapters.len());
    for (rc, pc) in raw.chapters.iter().zip(&p.chapters) {
        let mut want: Vec<String> = rc
            .title
            .iter()
            .flat_map(|t| t.split_whitespace().map(String::from))
            .collect();
        for b in rc.blocks.iter().chain(&rc.footnotes) {
            let t: String = b.spans.iter().map(|s| s.text.as_str()).collect();
            want.extend(t.split_whitespace().map(String::from));
        }
        let got: Vec<String> = pc
            .chunks
            .iter()
            .flat_map(|c| {
                c.runs
                    .iter()
                    .map(|r| r.text.as_str())
                    .collect::<String>()
                    .split_whitespace()
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(got, want, "chapter {}", pc.title);
    }
    let by = |s: &str| {
        p.chapters
            .iter()
            .flat_map(|c| &c.chunks)
            .filter(|c| c.speaker == s)
            .count()
    };
    assert!(by("alice") >= 40, "alice speaks in {} chunks", by("alice"));
    assert!(
        by("queen") >= 5 && by("hatter") >= 5 && by("rabbit") >= 3,
        "{} {} {}",
        by("queen"),
        by("hatter"),
        by("rabbit")
    );
    for c in p.chapters.iter().flat_map(|c| &c.chunks) {
        let bytes: usize = c.runs.iter().map(|r| r.text.len()).sum();
        assert!(bytes <= 500 && c.est_seconds <= 25.0, "chunk {} too long", c.key);
    }
}

/// Words of every chunk's captions (the written text) and of its spoken runs, over the whole plan.
fn plan_words(p: &Plan) -> (Vec<String>, Vec<String>) {
    let chunks = || p.chapters.iter().flat_map(|c| &c.chunks);
    let written = chunks()
        .flat_map(|c| c.captions.iter().flat_map(|s| s.split_whitespace().map(String::from)))
        .collect();
    let spoken = chunks()
        .flat_map(|c| {
            c.runs
                .iter()
                .map(|r| r.text.as_str())
                .collect::<String>()
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    (written, spoken)
}

#[test]
fn fixed_layout_svg_book_is_planned_word_for_word() {
    let d = tempfile::tempdir().expect("tempdir");
    let book = support::fixed_layout_french().write(d.path(), "renard.epub");
    let p = plan::load_and_plan(&book).expect("plan").1;
    assert_eq!(p.language, "fr");
    assert_eq!(p.chapters.len(), 1);
    let mut want: Vec<String> = vec!["Le".into(), "petit".into(), "renard".into()];
    for line in support::FXL_PAGES.iter().flat_map(|l| l.iter()) {
        want.extend(line.split_whitespace().map(String::from));
    }
    assert!(want.len() > 50, "{} words", want.len());
    let (written, spoken) = plan_words(&p);
    assert_eq!(written, want);
    assert_eq!(spoken, want, "no digits or respellings: spoken = written");
    assert!(p.chapters[0]
        .chunks
        .iter()
        .all(|c| c.runs.iter().all(|r| r.lang == "fr")));
    assert!(
        !p.chapters[0].warnings.iter().any(|w| w.contains("no text")),
        "{:?}",
        p.chapters[0].warnings
    );
}

/// An English poetry book quoting Homer in Ancient Greek (`grc`, not one of WhisperSpeech's 99).
fn poetry(d: &Path) -> PathBuf {
    let meta = r#"<dc:title>Odes</dc:title><dc:language>en</dc:language>"#;
    let items = [("c1", "ch1.xhtml", XHTML, "")];
    let ch1 = xhtml(
        "",
        r#"<h1>To Homer</h1><p>The poet begins: <q xml:lang="grc">μῆνιν ἄειδε θεὰ Πηληϊάδεω Ἀχιλῆος</q>, and we listen.</p>
<p>Again <span xml:lang="grc">ἄνδρα μοι ἔννεπε</span> he sings.</p>"#,
    );
    EpubBuilder::new()
        .file("OEBPS/content.opf", opf("3.0", meta, &items, &[("c1", true)], None, ""))
        .file("OEBPS/ch1.xhtml", ch1)
        .write(d, "odes.epub")
}

#[test]
fn a_quotation_in_a_language_outside_the_99_falls_back_with_one_warning() {
    let d = tempfile::tempdir().expect("tempdir");
    let book = poetry(d.path());
    let p = plan::load_and_plan(&book)
        .expect("an unknown span language no longer refuses the book")
        .1;
    assert_eq!(p.language, "en");
    let runs: Vec<(String, String)> = p.chapters[0]
        .chunks
        .iter()
        .flat_map(|c| c.runs.iter().map(|r| (r.text.clone(), r.lang.clone())))
        .collect();
    assert!(
        runs.contains(&("μῆνιν ἄειδε θεὰ Πηληϊάδεω Ἀχιλῆος".to_string(), "el".to_string())),
        "{runs:?}"
    );
    assert!(
        runs.contains(&("ἄνδρα μοι ἔννεπε".to_string(), "el".to_string())),
        "{runs:?}"
    );
    let grc: Vec<&String> = p.warnings.iter().filter(|w| w.contains("`grc`")).collect();
    assert_eq!(grc.len(), 1, "one warning per code: {:?}", p.warnings);
    assert!(
        grc[0].contains("odes.epub") && grc[0].contains("`el`") && grc[0].contains("μῆνιν"),
        "{}",
        grc[0]
    );
    // languages_map overrides the built-in fallback (and silences it).
    let y = write(
        d.path(),
        "p.yaml",
        "manuscripts: [odes.epub]\nlanguages_map: { grc: la, sco: en }\n",
    );
    let p = plan::load_and_plan(&y).expect("plan").1;
    let langs: std::collections::BTreeSet<String> = p.chapters[0]
        .chunks
        .iter()
        .flat_map(|c| c.runs.iter().map(|r| r.lang.clone()))
        .collect();
    assert_eq!(langs.into_iter().collect::<Vec<_>>(), ["en", "la"]);
    assert!(!p.warnings.iter().any(|w| w.contains("grc")), "{:?}", p.warnings);
}

#[test]
fn a_book_language_outside_the_99_falls_back_to_its_closest() {
    let d = tempfile::tempdir().expect("tempdir");
    let meta = r#"<dc:title>Scots</dc:title><dc:language>sco</dc:language>"#;
    let items = [("c1", "ch1.xhtml", XHTML, "")];
    let book = EpubBuilder::new()
        .file("OEBPS/content.opf", opf("3.0", meta, &items, &[("c1", true)], None, ""))
        .file(
            "OEBPS/ch1.xhtml",
            xhtml("", "<h1>Ane</h1><p>It wis a braw bricht nicht.</p>"),
        )
        .write(d.path(), "scots.epub");
    let p = plan::load_and_plan(&book).expect("plan").1;
    assert_eq!(p.language, "en");
    assert!(
        p.warnings.iter().any(|w| w.contains("`sco`") && w.contains("`en`")),
        "{:?}",
        p.warnings
    );
}
