//! A manuscript given directly: an EPUB with a cover renders to an M4B carrying that cover.

mod render_support;
mod support;

use std::process::Command;

use render_support::{bin, ffprobe};
use support::{opf, xhtml, EpubBuilder};

/// A valid 8×8 PNG made with ffmpeg's encoder, so ffprobe can decode it.
fn png(dir: &std::path::Path) -> Vec<u8> {
    let p = dir.join("c.png");
    let st = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=8x8",
            "-frames:v",
            "1",
        ])
        .arg(&p)
        .status()
        .expect("ffmpeg (Debian package ffmpeg) is needed by the tests");
    assert!(st.success());
    std::fs::read(&p).expect("png")
}

#[test]
fn epub_cover_is_embedded_in_the_m4b() {
    let d = tempfile::tempdir().expect("tempdir");
    let x = "application/xhtml+xml";
    let items = [
        ("c1", "c1.xhtml", x, ""),
        ("img", "cover.png", "image/png", "cover-image"),
    ];
    let meta = "<dc:title>Covered</dc:title><dc:creator>Ann</dc:creator><dc:language>en</dc:language>";
    let book = EpubBuilder::new()
        .file("OEBPS/content.opf", opf("3.0", meta, &items, &[("c1", true)], None, ""))
        .file("OEBPS/c1.xhtml", xhtml("", "<h1>One</h1><p>A short chapter.</p>"))
        .file("OEBPS/cover.png", png(d.path()))
        .write(d.path(), "covered.epub");
    let out = Command::new(bin())
        .args([
            "render",
            &book.display().to_string(),
            "--engine",
            "espeak",
            "--formats",
            "m4b",
            "--progress",
            "quiet",
        ])
        .env("WS_BOOK_HOME", d.path().join("home"))
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let m4b = d.path().join("out/Covered.m4b");
    assert!(
        m4b.is_file(),
        "outputs: {:?}",
        std::fs::read_dir(d.path().join("out")).map(|r| r.count())
    );
    let v = ffprobe(&m4b, &["-show_streams"]);
    let pics = v["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .filter(|s| s["disposition"]["attached_pic"] == 1)
        .count();
    assert_eq!(pics, 1, "{v}");
}
