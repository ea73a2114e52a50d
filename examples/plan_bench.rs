//! Benchmark: `plan` on a generated 200k+ word book, as Markdown and as EPUB.
//!
//! `cargo run --release --example plan_bench [WORDS]` prints words/s for each format.

use std::io::Write;
use std::time::Instant;

const WORDS: &[&str] = &[
    "the",
    "storm",
    "reached",
    "lighthouse",
    "keeper",
    "said",
    "Mira",
    "quietly",
    "and",
    "sea",
    "was",
    "grey",
    "morning",
    "letter",
    "grandmother",
    "harbour",
    "light",
    "turned",
    "again",
    "before",
    "door",
    "Mr.",
    "Nowak",
    "3.5",
    "1984",
];

/// A deterministic paragraph generator (no RNG crate needed).
fn paragraph(seed: &mut u64, words: usize) -> String {
    let mut out = String::new();
    for i in 0..words {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let w = WORDS[(*seed >> 33) as usize % WORDS.len()];
        if i > 0 {
            out.push(' ');
        }
        out.push_str(w);
        if (*seed >> 20).is_multiple_of(11) {
            out.push('.');
        } else if (*seed >> 24).is_multiple_of(13) {
            out.push(',');
        }
    }
    if (*seed >> 40).is_multiple_of(5) {
        out = format!("\u{201c}{out},\u{201d} said Mira.");
    }
    out.push('.');
    out
}

fn book(total_words: usize) -> Vec<(String, Vec<String>)> {
    let mut seed = 42u64;
    let mut chapters = Vec::new();
    let mut n = 0;
    while n < total_words {
        let mut paras = Vec::new();
        for _ in 0..40 {
            paras.push(paragraph(&mut seed, 120));
            n += 120;
        }
        chapters.push((format!("Chapter {}", chapters.len() + 1), paras));
    }
    chapters
}

fn write_epub(path: &std::path::Path, chapters: &[(String, Vec<String>)]) -> std::io::Result<()> {
    use zip::write::SimpleFileOptions;
    let f = std::fs::File::create(path)?;
    let mut z = zip::ZipWriter::new(f);
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = SimpleFileOptions::default();
    z.start_file("mimetype", stored)?;
    z.write_all(b"application/epub+zip")?;
    z.start_file("META-INF/container.xml", deflated)?;
    z.write_all(br#"<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#)?;
    let mut manifest =
        String::from(r#"<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>"#);
    let mut spine = String::new();
    let mut nav = String::new();
    for (i, (title, paras)) in chapters.iter().enumerate() {
        manifest.push_str(&format!(
            r#"<item id="c{i}" href="c{i}.xhtml" media-type="application/xhtml+xml"/>"#
        ));
        spine.push_str(&format!(r#"<itemref idref="c{i}"/>"#));
        nav.push_str(&format!(r#"<li><a href="c{i}.xhtml">{title}</a></li>"#));
        let body: String = paras.iter().map(|p| format!("<p>{p}</p>\n")).collect();
        z.start_file(format!("OEBPS/c{i}.xhtml"), deflated)?;
        write!(
            z,
            r#"<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"#
        )?;
    }
    z.start_file("OEBPS/nav.xhtml", deflated)?;
    write!(
        z,
        r#"<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body><nav epub:type="toc"><ol>{nav}</ol></nav></body></html>"#
    )?;
    z.start_file("OEBPS/content.opf", deflated)?;
    write!(
        z,
        r#"<?xml version="1.0" encoding="utf-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">bench</dc:identifier><dc:title>Bench</dc:title><dc:language>en</dc:language></metadata><manifest>{manifest}</manifest><spine>{spine}</spine></package>"#
    )?;
    z.finish()?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let words: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let chapters = book(words);
    let dir = tempfile::tempdir()?;
    let md: String = chapters
        .iter()
        .map(|(t, ps)| format!("# {t}\n\n{}\n", ps.join("\n\n")))
        .collect();
    let md_path = dir.path().join("big.md");
    std::fs::write(&md_path, &md)?;
    let epub_path = dir.path().join("big.epub");
    write_epub(&epub_path, &chapters)?;
    for path in [&md_path, &epub_path] {
        // One warm-up, then the best of three.
        let mut best = f64::MAX;
        let mut plan = None;
        for _ in 0..4 {
            let t = Instant::now();
            let (_, p) = ws_book::plan::load_and_plan(path)?;
            best = best.min(t.elapsed().as_secs_f64());
            plan = Some(p);
        }
        let plan = plan.expect("planned");
        let n: usize = plan.chapters.iter().flat_map(|c| &c.chunks).map(|c| c.words).sum();
        let chunks: usize = plan.chapters.iter().map(|c| c.chunks.len()).sum();
        println!(
            "{}: {n} words, {} chapters, {chunks} chunks in {:.3} s = {:.0} words/s",
            path.extension().and_then(|e| e.to_str()).unwrap_or("?"),
            plan.chapters.len(),
            best,
            n as f64 / best
        );
    }
    Ok(())
}
