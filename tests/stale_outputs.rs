//! Re-rendering with fewer formats: the files of the dropped format move to `out/stale/` (after a complete
//! render only), `qc.json` lists what is there, and files ws-book never wrote stay where they are.

mod render_support;

use render_support::{files, DemoProject};

#[test]
fn a_dropped_format_moves_to_stale_and_foreign_files_stay() {
    let p = DemoProject::new();
    let (o, v) = p.render(&["--formats", "m4b,mp3"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(v["stale"], serde_json::json!([]), "{v}");
    let m4b = files(&p.out(), "m4b");
    assert_eq!(m4b.len(), 1);
    std::fs::write(p.out().join("notes.txt"), "mine").unwrap();

    let (o, v) = p.render(&["--formats", "mp3"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(files(&p.out(), "m4b").is_empty());
    let name = m4b[0].file_name().unwrap();
    assert!(p.out().join("stale").join(name).is_file());
    assert_eq!(v["stale"].as_array().unwrap().len(), 1, "{v}");
    assert!(p.out().join("notes.txt").is_file());
    let qc: serde_json::Value = serde_json::from_slice(&std::fs::read(p.out().join("qc.json")).unwrap()).unwrap();
    let listed: Vec<&str> = qc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(listed.iter().all(|f| f.ends_with(".mp3")), "{listed:?}");
    // the mp3s and their transcripts stay
    assert_eq!(files(&p.out(), "mp3").len(), 3);
    assert_eq!(files(&p.out(), "vtt").len(), 3);

    // the human summary says so too
    let (o, _) = p.render(&["--formats", "m4b"]);
    assert!(o.status.success());
    let o = p.render_cmd(&["--formats", "mp3"]).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("to stale/"), "{out}");
}
