//! End to end on the demo project with the espeak-ng draft engine and real FFmpeg encodes: M4B chapters,
//! titles and durations (ffprobe), MP3 tags, loudness, QC report, reuse after an edit, failures.

mod render_support;

use render_support::{ffprobe, files, DemoProject};
use ws_book::audio::loudness::AUDIOBOOK;
use ws_book::audio::qc;

fn plan_titles(p: &DemoProject) -> Vec<String> {
    let out = p
        .cmd(&["plan", &p.yaml().display().to_string(), "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["chapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn demo_renders_to_a_chaptered_m4b_and_tagged_mp3s_then_reuses_after_an_edit() {
    let p = DemoProject::new();
    let titles = plan_titles(&p);
    assert!(titles.len() >= 2);

    let (out, v) = p.render(&["--workers", "2"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}\nstdout: {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(v["complete"], true);
    let total = v["chunks"]["total"].as_u64().unwrap();
    assert!(total > 5);
    assert_eq!(
        v["chunks"]["synthesized"].as_u64().unwrap() + v["chunks"]["reused"].as_u64().unwrap(),
        total
    );

    // M4B: one chapter per plan chapter, titles, durations equal to the stitched chapter lengths.
    let m4b = files(&p.out(), "m4b");
    assert_eq!(m4b.len(), 1, "one m4b in {:?}", p.out());
    let probe = ffprobe(&m4b[0], &["-show_chapters", "-show_format", "-show_streams"]);
    let chapters = probe["chapters"].as_array().unwrap();
    assert_eq!(chapters.len(), titles.len());
    let loud = v["loudness"].as_array().unwrap();
    for (i, ch) in chapters.iter().enumerate() {
        assert_eq!(ch["tags"]["title"].as_str().unwrap(), titles[i]);
        let dur = ch["end_time"].as_str().unwrap().parse::<f64>().unwrap()
            - ch["start_time"].as_str().unwrap().parse::<f64>().unwrap();
        let want = loud[i]["duration"].as_f64().unwrap();
        assert!(
            (dur - want).abs() < 0.05,
            "chapter {i}: {dur} s in the m4b, {want} s stitched"
        );
        assert!(want > 2.0);
    }
    let fmt = &probe["format"];
    assert_eq!(
        fmt["tags"]["title"].as_str().unwrap(),
        "The Lighthouse Keeper's Visitors"
    );
    assert_eq!(fmt["tags"]["artist"].as_str().unwrap(), "ws-book contributors");
    let stream = &probe["streams"][0];
    assert_eq!(stream["codec_name"], "aac");
    assert_eq!(stream["channels"], 1);
    let total_dur = fmt["duration"].as_str().unwrap().parse::<f64>().unwrap();
    let want_total: f64 = loud.iter().map(|l| l["duration"].as_f64().unwrap()).sum();
    assert!((total_dur - want_total).abs() < 0.1, "{total_dur} vs {want_total}");

    // Loudness of the result within 1 LU of the preset's target; ACX peak limit.
    let q = qc::measure(&m4b[0], &AUDIOBOOK).unwrap();
    assert!((q.lufs - AUDIOBOOK.target_lufs).abs() <= 1.0, "m4b at {} LUFS", q.lufs);
    assert!(q.peak_db <= -3.0, "peak {}", q.peak_db);

    // MP3 per chapter: ACX 44.1 kHz 192 kbps CBR mono, ID3 tags.
    let mp3s = files(&p.out(), "mp3");
    assert_eq!(mp3s.len(), titles.len());
    for (i, f) in mp3s.iter().enumerate() {
        let pr = ffprobe(f, &["-show_format", "-show_streams"]);
        let tags = &pr["format"]["tags"];
        assert_eq!(tags["title"].as_str().unwrap(), titles[i]);
        assert_eq!(tags["album"].as_str().unwrap(), "The Lighthouse Keeper's Visitors");
        assert_eq!(tags["artist"].as_str().unwrap(), "ws-book contributors");
        assert_eq!(tags["track"].as_str().unwrap(), format!("{}/{}", i + 1, titles.len()));
        let s = &pr["streams"][0];
        assert_eq!(s["sample_rate"], "44100");
        assert_eq!(s["channels"], 1);
        assert_eq!(s["bit_rate"], "192000");
        let q = qc::measure(f, &AUDIOBOOK).unwrap();
        assert!(
            (q.lufs - AUDIOBOOK.target_lufs).abs() <= 1.0,
            "{} at {} LUFS",
            f.display(),
            q.lufs
        );
    }

    // QC report.
    let qcj: serde_json::Value = serde_json::from_slice(&std::fs::read(p.out().join("qc.json")).unwrap()).unwrap();
    assert_eq!(qcj["files"].as_array().unwrap().len(), 1 + titles.len());
    assert_eq!(qcj["pass"], true, "{qcj:#}");
    // paths relative to out/: each names a file there, whatever folder the command ran in
    for f in qcj["files"].as_array().unwrap() {
        let rel = std::path::Path::new(f["path"].as_str().unwrap());
        assert!(rel.is_relative() && rel.components().count() == 1, "{f}");
        assert!(p.out().join(rel).is_file(), "{f}");
    }
    // No temporary files left behind.
    assert!(std::fs::read_dir(p.out()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".partial")));

    // Captions show what the author wrote; the engine spoke the normalised, respelled text.
    let vtt = std::fs::read_to_string(&files(&p.out(), "vtt")[0]).unwrap();
    let srt = std::fs::read_to_string(&files(&p.out(), "srt")[0]).unwrap();
    for t in [&vtt, &srt] {
        assert!(
            t.contains("The storm reached the peninsula of Hel at 9:30 in the evening."),
            "{t}"
        );
        assert!(t.contains("for 21 years"), "{t}");
        assert!(
            !t.contains("nine thirty") && !t.contains("Hell") && !t.contains("twenty-one"),
            "{t}"
        );
    }

    // A second run synthesises nothing.
    let (out, v2) = p.render(&[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(v2["chunks"]["synthesized"], 0);
    assert_eq!(v2["chunks"]["reused"].as_u64().unwrap(), total);

    // Changing one sentence re-synthesises only its chunk(s).
    let story = std::fs::read_to_string(p.story()).unwrap();
    assert!(story.contains("soaked to the bone"));
    std::fs::write(
        p.story(),
        story.replace("soaked to the bone", "wet through and shivering"),
    )
    .unwrap();
    let (out, v3) = p.render(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let synth = v3["chunks"]["synthesized"].as_u64().unwrap();
    assert!(
        (1..=2).contains(&synth),
        "one edited sentence re-synthesised {synth} chunks"
    );
    assert_eq!(
        v3["chunks"]["reused"].as_u64().unwrap() + synth,
        v3["chunks"]["total"].as_u64().unwrap()
    );

    // status shows the finished render.
    let st = p
        .cmd(&["status", &p.yaml().display().to_string(), "--json"])
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let sv: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(sv["done"], sv["total"]);
    assert!(sv["render"]["outputs"].as_array().unwrap().len() > titles.len());
}

#[test]
fn a_failing_chunk_is_retried_then_failed_and_the_rest_completes() {
    let p = DemoProject::new();
    let yaml = p.yaml().display().to_string();
    let out = p
        .cmd(&[
            "render",
            &yaml,
            "--engine",
            "espeak",
            "--json",
            "--progress",
            "quiet",
            "--formats",
            "m4b,mp3,opus",
        ])
        .env("WS_BOOK_FAIL_CHUNKS", "soaked to the bone")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed = v["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{v:#}");
    assert_eq!(failed[0]["chapter"], 0);
    assert_eq!(failed[0]["attempts"], 3, "retried up to max_attempts");
    assert!(failed[0]["error"].as_str().unwrap().contains("injected failure"));
    assert_eq!(v["complete"], false);
    // The other chapters are assembled; no M4B with a hole in it.
    let n_ch = v["loudness"].as_array().unwrap().len();
    assert!(n_ch >= 1);
    assert!(files(&p.out(), "m4b").is_empty());
    let mp3s = files(&p.out(), "mp3");
    assert_eq!(mp3s.len(), n_ch);
    assert!(mp3s
        .iter()
        .all(|f| !f.file_name().unwrap().to_string_lossy().starts_with("01 ")));
    assert_eq!(files(&p.out(), "opus").len(), n_ch);
    let pr = ffprobe(&files(&p.out(), "opus")[0], &["-show_streams"]);
    assert_eq!(pr["streams"][0]["codec_name"], "opus");

    // status shows the failure with its message.
    let st = p.cmd(&["status", &yaml]).output().unwrap();
    let text = String::from_utf8_lossy(&st.stdout);
    assert!(
        text.contains("failed: chapter 1") && text.contains("injected failure"),
        "{text}"
    );

    // Without the fault, the next run synthesises only the failed chunk and completes.
    let (out, v) = p.render(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(v["chunks"]["synthesized"], 1);
    assert_eq!(files(&p.out(), "m4b").len(), 1);
}

#[test]
fn bad_input_exits_2_and_whisperspeech_says_what_is_missing() {
    let p = DemoProject::new();
    let yaml = p.yaml().display().to_string();
    let out = p.cmd(&["render", &yaml, "--formats", "wav"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown output format `wav`"));
    let out = p.cmd(&["render", &yaml, "--engine", "whisperspeech"]).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("WhisperSpeech") && err.contains("missing"), "{err}");
    let out = p.cmd(&["render", "/nonexistent/book.md"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // a manuscript with nothing to speak is an input error, not an empty "complete" render
    let empty = p.dir.path().join("empty.md");
    std::fs::write(&empty, "<!-- nothing yet -->\n\n![cover](cover.png)\n").unwrap();
    let out = p
        .cmd(&["render", &empty.display().to_string(), "--engine", "espeak"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("nothing to speak: no text in") && err.contains("empty.md"),
        "{err}"
    );
    assert!(!p.dir.path().join("out").exists() || files(&p.dir.path().join("out"), "m4b").is_empty());
}
