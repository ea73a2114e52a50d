//! Incremental assembly (real espeak-ng renders, real FFmpeg files): after a one-sentence edit only the
//! edited chapter's files are rewritten (modification times and bytes), and the M4B, rebuilt from the
//! chapters' AAC segments, is byte-identical to a from-scratch render of the edited project; a deleted
//! chapter file or a damaged cache entry is rebuilt; deleting the whole cache is safe.

mod render_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use render_support::{ffprobe, files, DemoProject};

const FORMATS: &[&str] = &["--formats", "m4b,mp3,opus"];
const OLD: &str = "She always knew when to write.";
const NEW: &str = "She always knew when a letter was needed.";

/// Every audio file in `out`: name → (modification time, bytes).
fn snapshot(out: &Path) -> BTreeMap<String, (SystemTime, Vec<u8>)> {
    let mut m = BTreeMap::new();
    for ext in ["m4b", "mp3", "opus"] {
        for f in files(out, ext) {
            let t = std::fs::metadata(&f).unwrap().modified().unwrap();
            m.insert(name(&f), (t, std::fs::read(&f).unwrap()));
        }
    }
    m
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().to_string()
}

fn render_ok(p: &DemoProject) -> serde_json::Value {
    let (o, v) = p.render(FORMATS);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(v["complete"], true, "{v}");
    v
}

fn counts(v: &serde_json::Value) -> (u64, u64, u64, u64) {
    let a = &v["assembly"];
    let n = |k: &str| a[k].as_u64().unwrap_or_else(|| panic!("assembly.{k} in {v}"));
    (
        n("chapters_encoded"),
        n("chapters_reused"),
        n("files_encoded"),
        n("files_reused"),
    )
}

/// Waits past the file system's timestamp granularity, so a rewritten file gets a later mtime.
fn tick() {
    std::thread::sleep(std::time::Duration::from_millis(1100));
}

fn cache_files(p: &DemoProject, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(p.out().join(".ws-book-cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|f| name(f).ends_with(suffix))
        .collect();
    v.sort();
    v
}

#[test]
fn a_one_sentence_edit_rewrites_only_its_chapter_and_the_m4b_matches_a_fresh_render() {
    let p = DemoProject::new();
    let v1 = render_ok(&p);
    assert_eq!(counts(&v1), (3, 0, 6, 0), "a first render encodes everything");
    let before = snapshot(&p.out());
    assert_eq!(before.len(), 7, "{:?}", before.keys());
    assert_eq!(cache_files(&p, ".seg").len(), 3, "one M4B segment per chapter");

    // the M4B's chapter markers start where each chapter's audio does: each spans its stitched length
    // rounded up to whole AAC frames (< 1024 samples at 44.1 kHz more)
    let m4b = files(&p.out(), "m4b")[0].clone();
    let probe = ffprobe(&m4b, &["-show_chapters", "-show_format"]);
    let loud = v1["loudness"].as_array().unwrap();
    for (i, ch) in probe["chapters"].as_array().unwrap().iter().enumerate() {
        let t = |k: &str| ch[k].as_str().unwrap().parse::<f64>().unwrap();
        let extra = t("end_time") - t("start_time") - loud[i]["duration"].as_f64().unwrap();
        assert!(
            (-0.001..1024.0 / 44_100.0 + 0.001).contains(&extra),
            "chapter {i}: {extra} s"
        );
    }

    // edit one sentence of chapter 2
    tick();
    let story = std::fs::read_to_string(p.story()).unwrap();
    assert!(story.contains(OLD));
    std::fs::write(p.story(), story.replace(OLD, NEW)).unwrap();
    let v2 = render_ok(&p);
    assert_eq!(counts(&v2), (1, 2, 2, 4), "{}", v2["assembly"]);
    let after = snapshot(&p.out());
    assert_eq!(after.len(), 7);
    for (n, (t, bytes)) in &after {
        let (t0, b0) = &before[n];
        if n.starts_with("01 ") || n.starts_with("03 ") {
            assert_eq!(t, t0, "{n} was rewritten");
            assert!(bytes == b0, "{n} changed");
        } else {
            assert!(t > t0, "{n} was not rewritten");
            assert!(bytes != b0, "{n} did not change");
        }
    }

    // a from-scratch render of the edited project (fresh out folder, fresh database) writes the same bytes
    let fresh = DemoProject::new();
    std::fs::write(fresh.story(), std::fs::read(p.story()).unwrap()).unwrap();
    assert!(!fresh.out().exists() && !fresh.db().exists());
    let vf = render_ok(&fresh);
    assert_eq!(counts(&vf), (3, 0, 6, 0));
    let scratch = snapshot(&fresh.out());
    assert_eq!(scratch.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>());
    for (n, (_, bytes)) in &scratch {
        assert!(*bytes == after[n].1, "{n}: incremental and from-scratch renders differ");
    }

    // nothing changed: nothing is rewritten, the M4B included
    tick();
    let v3 = render_ok(&p);
    assert_eq!(counts(&v3), (0, 3, 0, 6));
    assert_eq!(snapshot(&p.out()), after);

    // a deleted chapter file is encoded again (to the same bytes); the others and the M4B stay
    let mp3_3 = files(&p.out(), "mp3")[2].clone();
    std::fs::remove_file(&mp3_3).unwrap();
    tick();
    let v4 = render_ok(&p);
    assert_eq!(counts(&v4), (1, 2, 1, 5));
    let s4 = snapshot(&p.out());
    for (n, (t, bytes)) in &s4 {
        assert!(*bytes == after[n].1, "{n}");
        assert_eq!(*t > after[n].0, *n == name(&mp3_3), "{n}: rewritten?");
    }

    // a file changed by hand is not taken for ours: re-encoded
    let opus_1 = files(&p.out(), "opus")[0].clone();
    let mut b = std::fs::read(&opus_1).unwrap();
    let k = b.len() / 2;
    b[k] ^= 0x55;
    std::fs::write(&opus_1, &b).unwrap();
    let v5 = render_ok(&p);
    assert_eq!(counts(&v5), (1, 2, 1, 5));
    assert!(std::fs::read(&opus_1).unwrap() == after[&name(&opus_1)].1);

    // a damaged M4B segment is encoded again; with the M4B gone, it is remuxed to the same bytes
    for s in cache_files(&p, ".seg") {
        let mut b = std::fs::read(&s).unwrap();
        let k = b.len() - 10;
        b[k] ^= 0xFF;
        std::fs::write(&s, &b).unwrap();
    }
    std::fs::remove_file(&m4b).unwrap();
    let v6 = render_ok(&p);
    assert_eq!(counts(&v6), (3, 0, 0, 6), "segments re-encoded, chapter files kept");
    assert!(std::fs::read(&m4b).unwrap() == scratch[&name(&m4b)].1);

    // deleting the cache is safe: everything is encoded again, to the same bytes
    std::fs::remove_dir_all(p.out().join(".ws-book-cache")).unwrap();
    let v7 = render_ok(&p);
    assert_eq!(counts(&v7), (3, 0, 6, 0));
    for (n, (_, bytes)) in snapshot(&p.out()) {
        assert!(bytes == scratch[&n].1, "{n} after the cache was deleted");
    }
    // the cache holds what the last render used: three chapters, six files, one M4B (older entries pruned)
    assert_eq!(cache_files(&p, ".chapter.json").len(), 3);
    assert_eq!(cache_files(&p, ".file.json").len(), 6);
    assert_eq!(cache_files(&p, ".m4b.json").len(), 1);
}

#[test]
fn editing_chapter_one_prunes_its_old_cache_entries_after_a_complete_render() {
    let p = DemoProject::new();
    render_ok(&p);
    let old = cache_files(&p, ".seg");
    tick();
    let story = std::fs::read_to_string(p.story()).unwrap();
    std::fs::write(p.story(), story.replace("soaked to the bone", "wet through")).unwrap();
    let v = render_ok(&p);
    assert_eq!(counts(&v), (1, 2, 2, 4), "{}", v["assembly"]);
    let new = cache_files(&p, ".seg");
    assert_eq!(new.len(), 3);
    assert_eq!(
        old.iter().filter(|s| new.contains(s)).count(),
        2,
        "one segment replaced"
    );
    // the human progress line says how many chapters are assembled and how many are unchanged
    tick();
    std::fs::write(p.story(), story.replace("soaked to the bone", "drenched")).unwrap();
    let o = p
        .cmd(&[
            "render",
            &p.yaml().display().to_string(),
            "--engine",
            "espeak",
            "--formats",
            "m4b,mp3",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains("assembling 1 of 3 chapters (2 unchanged)"), "{text}");
}
