//! What the render says on the terminal: a bad flag value exits 2, an input is named once, the human summary
//! uses the same counts as the first progress line, says "nothing synthesised" rather than "0.0×", speaks of
//! episodes for a podcast, and the draft warning appears once (stderr, or the summary when quiet); chapter
//! files get readable, portable names.

mod render_support;

use render_support::DemoProject;

fn text(o: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

#[test]
fn bad_values_exit_2_and_an_input_is_named_once() {
    let p = DemoProject::new();
    let yaml = p.yaml().display().to_string();
    let o = p.cmd(&["render", &yaml, "--engine", "bogus"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{:?}", text(&o));
    assert!(text(&o).1.contains("auto, whisperspeech, espeak"), "{:?}", text(&o));
    let missing = p.dir.path().join("nope.yaml").display().to_string();
    let o = p.cmd(&["render", &missing]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{:?}", text(&o));
    let err = text(&o).1;
    assert_eq!(err.matches(&missing).count(), 1, "{err}");
    assert!(err.contains("cannot read the project file"), "{err}");
}

#[test]
fn the_summary_agrees_with_the_progress_and_the_draft_warning_is_said_once() {
    let p = DemoProject::new();
    let yaml = p.yaml().display().to_string();
    let (first, _) = p.render(&[]);
    assert!(first.status.success(), "{:?}", text(&first));
    // file names: "Chapter 1: The Storm" → a readable separator, not an underscore
    for name in [
        "01 - Chapter 1 - The Storm.mp3",
        "02 - Chapter 2 - The Letter.mp3",
        "The Lighthouse Keeper's Visitors.m4b",
    ] {
        assert!(
            p.out().join(name).is_file(),
            "{name}: {:?}",
            std::fs::read_dir(p.out()).unwrap().collect::<Vec<_>>()
        );
    }
    // a second render: everything already done, nothing synthesised; the engine is `auto` (no models: draft)
    let render = |progress: &str| {
        p.cmd(&["render", &yaml, "--progress", progress, "--no-qa"])
            .output()
            .unwrap()
    };
    let plain = render("plain");
    assert!(plain.status.success(), "{:?}", text(&plain));
    let (out, err) = text(&plain);
    assert!(
        err.contains("22 already done, 0 reused from stored audio, 0 to synthesise"),
        "{err}"
    );
    assert!(
        out.contains("chunks: 22 total, 22 already done, 0 reused from stored audio, 0 synthesised"),
        "{out}"
    );
    assert!(out.contains("nothing synthesised") && !out.contains("0.0×"), "{out}");
    assert_eq!(err.matches("DRAFT render:").count(), 1, "{err}");
    assert!(!out.contains("DRAFT render:"), "{out}");
    assert!(out.contains("complete: 3 chapters"), "{out}");
    let quiet = render("quiet");
    let (out, err) = text(&quiet);
    assert!(quiet.status.success(), "{err}");
    assert_eq!(out.matches("DRAFT render:").count(), 1, "{out}");
    assert!(!err.contains("DRAFT"), "{err}");
}

#[test]
fn a_podcast_summary_counts_episodes() {
    let d = tempfile::tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("projects/podcast-demo");
    let copied = std::process::Command::new("cp")
        .arg("-r")
        .arg(src.join("."))
        .arg(d.path())
        .status()
        .unwrap();
    assert!(copied.success());
    let _ = std::fs::remove_dir_all(d.path().join(".ws-book"));
    let _ = std::fs::remove_dir_all(d.path().join("out"));
    let o = std::process::Command::new(render_support::bin())
        .args(["render", "project.yaml", "--engine", "espeak", "--progress", "quiet"])
        .current_dir(d.path())
        .env("WS_BOOK_HOME", d.path().join("home"))
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("complete: 3 episodes, 3 files"), "{out}");
    // an explicit --engine espeak is a draft too, and says so
    assert!(out.contains("DRAFT render with the espeak-ng engine"), "{out}");
    assert!(!out.contains("chapters"), "{out}");
}

/// The `comment` tag of a file, read back with ffprobe (format tags for MP3/M4B, stream tags for Ogg Opus).
fn comment(path: &std::path::Path) -> Option<String> {
    let v = render_support::ffprobe(path, &["-show_format", "-show_streams"]);
    let find = |tags: &serde_json::Value| {
        tags.as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("comment"))
            .and_then(|(_, v)| v.as_str().map(str::to_string))
    };
    find(&v["format"]["tags"]).or_else(|| find(&v["streams"][0]["tags"]))
}

#[test]
fn drafts_are_marked_and_final_refuses_the_fallback() {
    let p = DemoProject::new();
    let yaml = p.yaml().display().to_string();
    // --final: WhisperSpeech or nothing (no models here), and never with --engine espeak
    let o = p
        .cmd(&["render", &yaml, "--final", "--progress", "quiet", "--no-qa"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    assert!(text(&o).1.contains("models fetch"), "{:?}", text(&o));
    assert!(!p.out().exists(), "a refused final render wrote files");
    let o = p
        .cmd(&["render", &yaml, "--final", "--engine", "espeak"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{:?}", text(&o));
    assert!(text(&o).1.contains("--final"), "{:?}", text(&o));

    // engine auto without models: a draft, marked in every file, in qc.json and in the summary
    let o = p
        .cmd(&[
            "render",
            &yaml,
            "--formats",
            "m4b,mp3,opus",
            "--progress",
            "quiet",
            "--no-qa",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["draft"], true, "{v}");
    let qc: serde_json::Value = serde_json::from_slice(&std::fs::read(p.out().join("qc.json")).unwrap()).unwrap();
    assert_eq!(
        (&qc["draft"], &qc["engine"]),
        (&serde_json::json!(true), &serde_json::json!("espeak"))
    );
    for ext in ["m4b", "mp3", "opus"] {
        let fs = render_support::files(&p.out(), ext);
        assert!(!fs.is_empty(), "{ext}");
        for f in fs {
            assert_eq!(comment(&f).as_deref(), Some("draft: espeak-ng"), "{}", f.display());
        }
    }
}
