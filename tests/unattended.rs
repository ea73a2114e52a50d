//! Unattended runs (issue 20): one render per project at a time, SIGTERM and SIGINT handled like Ctrl-C at
//! every phase (synthesis and encoding), prompt cancel during encoding with nothing partial left behind, and
//! resumes that end bit-identical to an uninterrupted render. Real processes, real signals.

mod render_support;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use render_support::{assert_same_audio, files, reference_render, wait_until, DemoProject};
use ws_book::store::Store;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// (done, leased) chunks of the demo render in its database.
fn done_and_leased(rt: &tokio::runtime::Runtime, p: &DemoProject) -> Option<(usize, usize)> {
    if !p.db().exists() {
        return None;
    }
    let name = ws_book::render::render_name(&ws_book::project::load(&p.yaml()).unwrap());
    rt.block_on(async {
        let store = Store::open(&p.db().display().to_string()).await.ok()?;
        let r = store.render(&name).await.ok()?;
        let st = store.chunk_states(r.id).await.ok()?;
        store.close().await;
        let n = |s: &str| st.iter().filter(|c| c.status == s).count();
        Some((n("done"), n("leased")))
    })
}

/// `render --engine espeak --workers 1` plus `extra` in the background, with extra environment.
fn spawn(p: &DemoProject, extra: &[&str], env: &[(&str, &str)]) -> Child {
    let mut args = vec!["--workers", "1"];
    args.extend_from_slice(extra);
    let mut c = p.render_cmd(&args);
    c.envs(env.iter().copied());
    c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

fn signal(child: &Child, sig: &str) {
    let st = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

/// Every `.partial` temporary file in `dir`.
fn partials(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.ends_with(".partial"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_second_render_of_the_same_project_says_who_renders_and_exits_75_or_waits_with_wait() {
    let rt = runtime();
    let (reference, _) = reference_render();
    let p = DemoProject::new();
    let first = spawn(&p, &[], &[(ws_book::engine::CHUNK_DELAY_ENV, "150")]);
    wait_until("the first render synthesises", || {
        done_and_leased(&rt, &p).is_some_and(|(done, _)| done >= 1)
    });
    // The same command again, at once: refused, naming the running render.
    let (out, _) = p.render(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{err}");
    assert!(err.contains("already running"), "{err}");
    assert!(err.contains(&format!("pid {}", first.id())), "{err}");
    assert!(err.contains("--wait"), "{err}");
    // `status` shows the running render's holder.
    let yaml = p.yaml().display().to_string();
    let st = p.cmd(&["status", &yaml, "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(v["running"]["pid"], first.id(), "{v}");
    // With --wait it starts when the first ends, and finds everything done.
    let waiting = spawn(&p, &["--wait", "--json"], &[]);
    let first = first.wait_with_output().unwrap();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let waited = waiting.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&waited.stderr);
    assert_eq!(waited.status.code(), Some(0), "{err}");
    assert!(err.contains("waiting for the running render"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&waited.stdout).unwrap();
    assert_eq!(v["chunks"]["synthesized"], 0, "{v}");
    assert_same_audio(&reference, &p);
    assert!(partials(&p.out()).is_empty());
    let st = p.cmd(&["status", &yaml, "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert!(v["running"].is_null(), "{v}");
}

#[test]
fn a_sigkilled_render_s_lock_is_taken_over_at_once() {
    let rt = runtime();
    let p = DemoProject::new();
    let mut first = spawn(&p, &[], &[(ws_book::engine::CHUNK_DELAY_ENV, "300")]);
    wait_until("the first render synthesises", || {
        done_and_leased(&rt, &p).is_some_and(|(done, _)| done >= 1)
    });
    first.kill().unwrap(); // SIGKILL: no clean-up at all
    first.wait().unwrap();
    // `status --check` sees the dead holder's workers with their leases.
    let yaml = p.yaml().display().to_string();
    let st = p.cmd(&["status", &yaml, "--check", "--json"]).output().unwrap();
    assert_eq!(st.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert!(
        v["problems"]
            .to_string()
            .contains("is gone without returning its leases"),
        "{v}"
    );
    assert!(v["running"].is_null(), "the lock died with its holder: {v}");
    let (out, v) = p.render(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(v["complete"], true);
}

#[test]
fn sigterm_during_synthesis_releases_leases_exits_143_and_the_next_run_resumes() {
    let rt = runtime();
    let (reference, total) = reference_render();
    let p = DemoProject::new();
    let child = spawn(&p, &[], &[(ws_book::engine::CHUNK_DELAY_ENV, "300")]);
    wait_until("2 chunks done", || {
        done_and_leased(&rt, &p).is_some_and(|(done, _)| done >= 2)
    });
    signal(&child, "TERM");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{err}");
    assert!(err.contains("interrupted (SIGTERM)"), "{err}");
    let (done, leased) = done_and_leased(&rt, &p).unwrap();
    assert_eq!(leased, 0, "leases returned");
    assert!(done >= 2 && (done as u64) < total, "{done} of {total}");
    let (out, v) = p.render(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(v["chunks"]["synthesized"].as_u64().unwrap(), total - done as u64);
    assert_same_audio(&reference, &p);
}

/// Renders the demo's chunks, removes its outputs, and renders again with a slow encoder; `sig` arrives
/// once the encoder's first temporary file exists. Returns the exit code and how long the render took to
/// exit after the signal.
fn signal_during_encode(p: &DemoProject, sig: &str) -> (Option<i32>, Duration, String) {
    let (out, _) = p.render(&[]);
    assert_eq!(out.status.code(), Some(0));
    std::fs::remove_dir_all(p.out()).unwrap();
    // 40 ms per 0.5 s block: the demo's encode takes ≥ 7 s, instead of well under one.
    let child = spawn(p, &[], &[(ws_book::assembly::ENCODE_DELAY_ENV, "40")]);
    wait_until("encoding started", || !partials(&p.out()).is_empty());
    std::thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    signal(&child, sig);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        t0.elapsed(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn sigint_and_sigterm_during_encoding_stop_within_a_second_leave_no_partial_file_and_resume() {
    let (reference, _) = reference_render();
    for (sig, code) in [("INT", 130), ("TERM", 143)] {
        let p = DemoProject::new();
        let (status, took, err) = signal_during_encode(&p, sig);
        assert_eq!(status, Some(code), "SIG{sig}: {err}");
        // The slow encoder would need seconds more; a generous bound keeps this robust on a loaded machine.
        assert!(took < Duration::from_secs(3), "SIG{sig}: exit took {took:?}");
        assert!(partials(&p.out()).is_empty(), "SIG{sig}: {:?}", partials(&p.out()));
        assert!(
            files(&p.out(), "m4b").is_empty(),
            "no book file from an interrupted assembly"
        );
        assert!(!p.out().join("qc.json").exists());
        // Every file under a final name is whole: it decodes to its full length.
        for f in files(&p.out(), "mp3") {
            ws_book::audio::qc::decode_all(&f).unwrap();
        }
        let (out, v) = p.render(&[]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(v["chunks"]["synthesized"], 0);
        assert_same_audio(&reference, &p);
    }
}

#[test]
fn temporary_files_of_dead_processes_are_removed_by_the_next_render() {
    let p = DemoProject::new();
    std::fs::create_dir_all(p.out()).unwrap();
    // An older version's name (no pid) and one whose process no longer exists (above any pid_max).
    let stale = [".The book.m4b.partial", ".01 - Chapter 1.mp3.4294967295.partial"];
    for s in stale {
        std::fs::write(p.out().join(s), b"half a file").unwrap();
    }
    let (out, _) = p.render(&["--formats", "mp3"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(partials(&p.out()).is_empty(), "{:?}", partials(&p.out()));
}

#[test]
fn damaged_stored_audio_is_reported_by_status_check_and_synthesised_again() {
    let (reference, _) = reference_render();
    let p = DemoProject::new();
    let (out, _) = p.render(&[]);
    assert_eq!(out.status.code(), Some(0));
    // Garbage over one chunk's stored samples (same length, so only the digest can tell).
    let st = std::process::Command::new("sqlite3")
        .arg(p.db())
        .arg("UPDATE audio SET data = randomblob(length(data)) WHERE key = (SELECT MIN(key) FROM audio)")
        .status()
        .expect("sqlite3 (Debian package sqlite3) is needed by this test");
    assert!(st.success());
    let yaml = p.yaml().display().to_string();
    let plain = p.cmd(&["status", &yaml]).output().unwrap();
    assert_eq!(plain.status.code(), Some(0), "without --check, status reads no audio");
    let check = p.cmd(&["status", &yaml, "--check", "--json"]).output().unwrap();
    assert_eq!(
        check.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let damaged = v["damaged"].as_array().unwrap();
    assert!(
        !damaged.is_empty() && damaged[0]["why"].as_str().unwrap().contains("blake3"),
        "{v}"
    );
    // The next render queues it again, says so, and the book is whole and identical.
    std::fs::remove_dir_all(p.out()).unwrap();
    let (out, v) = p.render(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("damaged"), "{err}");
    assert_eq!(v["chunks"]["synthesized"].as_u64(), Some(damaged.len() as u64), "{v}");
    assert_same_audio(&reference, &p);
    let check = p.cmd(&["status", &yaml, "--check"]).output().unwrap();
    assert_eq!(check.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&check.stdout).contains("intact"));
    // An edited sentence leaves its old audio unused (kept for an undo): a note, not a problem.
    let story = std::fs::read_to_string(p.story()).unwrap();
    assert!(story.contains("Someone knocked at the door."));
    std::fs::write(
        p.story(),
        story.replace("Someone knocked at the door.", "Someone knocked twice."),
    )
    .unwrap();
    let (out, _) = p.render(&[]);
    assert_eq!(out.status.code(), Some(0));
    let check = p.cmd(&["status", &yaml, "--check", "--json"]).output().unwrap();
    assert_eq!(check.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert!(v["unused_audio"]["entries"].as_u64().unwrap() >= 1, "{v}");
    assert!(v["unused_audio"]["seconds"].as_f64().unwrap() > 0.1, "{v}");
}

#[test]
fn a_terminal_ctrl_c_to_the_whole_process_group_counts_no_failed_attempt() {
    use std::os::unix::process::CommandExt;
    let rt = runtime();
    let p = DemoProject::new();
    // As in a terminal: ws-book leads its own process group, and Ctrl-C goes to every process in it.
    // A slow espeak-ng, so that the signal finds it running (it would die of it in ws-book's group).
    let slow = p.dir.path().join("slow-espeak");
    std::fs::write(&slow, "#!/bin/sh\nsleep 0.4\nexec espeak-ng \"$@\"\n").unwrap();
    std::fs::set_permissions(&slow, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let child = p
        .render_cmd(&["--workers", "2"])
        .env("WS_BOOK_ESPEAK", &slow)
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("2 chunks done", || {
        done_and_leased(&rt, &p).is_some_and(|(done, _)| done >= 2)
    });
    std::thread::sleep(Duration::from_millis(150)); // inside the next chunks' espeak-ng
    let st = std::process::Command::new("kill")
        .args(["-INT", "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let name = ws_book::render::render_name(&ws_book::project::load(&p.yaml()).unwrap());
    let states = rt.block_on(async {
        let store = Store::open(&p.db().display().to_string()).await.unwrap();
        let r = store.render(&name).await.unwrap();
        let s = store.chunk_states(r.id).await.unwrap();
        store.close().await;
        s
    });
    assert!(
        states
            .iter()
            .all(|c| c.attempts == 0 && c.status != "failed" && c.status != "leased"),
        "an interrupted chunk must be released, never failed: {states:?}"
    );
}
