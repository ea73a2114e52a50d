//! `ws-book render A.yaml B.yaml`: two projects in one database and one worker pool; an injected chunk failure
//! in one leaves the other complete; the JSON summary, the JSON progress lines, `status` and the exit code (3)
//! report it.

mod render_support;

use std::path::Path;

use render_support::{bin, files};

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            if e.file_name() != ".ws-book" && e.file_name() != "out" {
                copy_dir(&e.path(), &to);
            }
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

#[test]
fn a_failing_chunk_in_one_project_does_not_stop_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("projects");
    copy_dir(&root.join("demo"), &dir.path().join("demo"));
    copy_dir(&root.join("podcast-demo"), &dir.path().join("podcast-demo"));
    let db = dir.path().join("batch.db").display().to_string();
    let book = dir.path().join("demo/project.yaml").display().to_string();
    let pod = dir.path().join("podcast-demo/project.yaml").display().to_string();
    let cmd = |args: &[&str]| {
        let mut c = std::process::Command::new(bin());
        c.args(args)
            .env("WS_BOOK_HOME", dir.path().join("home"))
            .env_remove("WS_BOOK_FAIL_CHUNKS");
        c
    };
    // "soaked from the rain" is in the podcast's second episode only.
    let out = cmd(&[
        "render",
        &book,
        &pod,
        "--engine",
        "espeak",
        "--db",
        &db,
        "--json",
        "--progress",
        "json",
        "--workers",
        "2",
    ])
    .env("WS_BOOK_FAIL_CHUNKS", "soaked from the rain")
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["exit_code"], 3);
    let projects = v["projects"].as_array().unwrap();
    assert_eq!(projects.len(), 2);
    // The book completes.
    let b = &projects[0]["summary"];
    assert_eq!(b["complete"], true, "{b:#}");
    assert_eq!(b["chunks"]["failed"], 0);
    assert_eq!(files(&dir.path().join("demo/out"), "m4b").len(), 1);
    // The podcast has one failed chunk; its other episodes are assembled and in the feed.
    let p = &projects[1]["summary"];
    assert_eq!(p["complete"], false);
    let failed = p["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["chapter"], 1);
    assert!(failed[0]["error"].as_str().unwrap().contains("injected failure"));
    assert_eq!(projects[1]["feed"]["episodes"], 2);
    assert_eq!(projects[1]["feed"]["missing"][0], "the-visitor");
    assert_eq!(files(&dir.path().join("podcast-demo/out"), "mp3").len(), 2);
    // One worker pool: the first project's workers claimed the second's chunks too (claims go by engine
    // fingerprint), so the podcast's own render found them done.
    assert_eq!(p["chunks"]["synthesized"], 0, "{p:#}");
    // Both projects are in the one database.
    assert!(!dir.path().join("demo/.ws-book/state.db").exists());
    assert!(!dir.path().join("podcast-demo/.ws-book/state.db").exists());

    // Progress: JSON lines on stderr, chunk events of both projects, the failure among them.
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    for name in ["demo/project.yaml", "podcast-demo/project.yaml"] {
        assert!(
            events
                .iter()
                .any(|e| e["event"] == "chunk" && e["project"] == name && e["status"] == "done"),
            "no chunk events for {name}"
        );
        assert!(events.iter().any(|e| e["event"] == "output" && e["project"] == name));
    }
    assert!(events
        .iter()
        .any(|e| e["event"] == "chunk" && e["status"] == "failed" && e["chapter"] == 1));

    // status lists both renders of the database and exits 3 for the failure.
    let st = cmd(&["status", "--db", &db]).output().unwrap();
    let text = String::from_utf8_lossy(&st.stdout);
    assert_eq!(st.status.code(), Some(3), "{text}");
    assert!(
        text.contains("The Lighthouse Keeper's Visitors") && text.contains("Lighthouse Notes"),
        "{text}"
    );
    assert!(
        text.contains("failed: chapter 2") && text.contains("injected failure"),
        "{text}"
    );
    let st = cmd(&["status", &book, "--db", &db]).output().unwrap();
    assert_eq!(st.status.code(), Some(0), "{}", String::from_utf8_lossy(&st.stdout));

    // Without the fault, the batch finishes: only the failed chunk is synthesised.
    let out = cmd(&[
        "render",
        &book,
        &pod,
        "--engine",
        "espeak",
        "--db",
        &db,
        "--json",
        "--progress",
        "quiet",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let synth: u64 = v["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["summary"]["chunks"]["synthesized"].as_u64().unwrap())
        .sum();
    assert_eq!(synth, 1);
    assert_eq!(v["projects"][1]["feed"]["episodes"], 3);
}

#[test]
fn an_input_error_in_one_project_exits_2_and_the_other_still_renders() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("projects");
    copy_dir(&root.join("podcast-demo"), &dir.path().join("podcast-demo"));
    std::fs::create_dir_all(dir.path().join("broken")).unwrap();
    std::fs::write(
        dir.path().join("broken/project.yaml"),
        "kind: podcast\nepisodes: posts/*.md\nfeed:\n  titel: x\n",
    )
    .unwrap();
    // A folder stands for the projects in it.
    let out = std::process::Command::new(bin())
        .args([
            "render",
            &dir.path().display().to_string(),
            "--engine",
            "espeak",
            "--json",
            "--progress",
            "plain",
        ])
        .env("WS_BOOK_HOME", dir.path().join("home"))
        .env_remove("WS_BOOK_FAIL_CHUNKS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("broken/project.yaml:4:3") && stderr.contains("did you mean `title`"),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let projects = v["projects"].as_array().unwrap();
    assert_eq!(projects.len(), 2);
    assert!(projects[0]["error"].is_string());
    assert_eq!(projects[1]["summary"]["complete"], true);
    // Plain progress: log lines, no JSON.
    assert!(stderr.lines().any(|l| l.starts_with("render: ")), "{stderr}");
}
