//! Crash safety: SIGKILL a real `ws-book render` child at several points, run it again, and prove the
//! final audio is bit-identical to an uninterrupted render and no chunk was completed twice. Also: two
//! standalone worker processes and a render share one database, and every chunk is done exactly once;
//! Ctrl-C (SIGINT) finishes or releases the in-flight chunk, exits 130, and the next run resumes.

mod render_support;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use render_support::{assert_same_audio, files, reference_render, wait_until, DemoProject};
use ws_book::audio::qc;
use ws_book::store::Store;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The demo render's name in its database (`<folder>/project.yaml`), from the project beside `.ws-book/`.
fn render_name(db: &std::path::Path) -> String {
    let yaml = db.parent().and_then(|d| d.parent()).unwrap().join("project.yaml");
    ws_book::render::render_name(&ws_book::project::load(&yaml).unwrap())
}

/// (done, total) of the demo render in `db`, if the render exists yet.
fn counts(rt: &tokio::runtime::Runtime, db: &std::path::Path) -> Option<(u64, u64)> {
    if !db.exists() {
        return None;
    }
    rt.block_on(async {
        let store = Store::open(&db.display().to_string()).await.ok()?;
        let r = store.render(&render_name(db)).await.ok()?;
        let p = store.progress(r.id).await.ok()?;
        store.close().await;
        Some((p.iter().map(|c| c.done).sum(), p.iter().map(|c| c.total).sum()))
    })
}

fn spawn_render(p: &DemoProject, workers: &str) -> Child {
    p.render_cmd(&["--workers", workers, "--lease-secs", "5"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn sigkill_at_several_points_then_resume_gives_bit_identical_audio() {
    let rt = runtime();
    let (reference, total) = reference_render();

    // Crashing render: kill after 1 chunk, after a few more, and once everything is synthesised (assembly).
    let p = DemoProject::new();
    let mut kills = 0;
    let mut last_done = 0;
    for target in [1u64, 4, 8, total] {
        let mut child = spawn_render(&p, "2");
        let t0 = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(
                    target >= total,
                    "render exited ({status}) before the kill point {target}"
                );
                break;
            }
            let done = counts(&rt, &p.db()).map(|c| c.0).unwrap_or(0);
            if done >= target.min(total) && done >= last_done {
                break;
            }
            assert!(t0.elapsed() < Duration::from_secs(120), "no progress towards {target}");
            std::thread::sleep(Duration::from_millis(20));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills += 1;
        }
        last_done = counts(&rt, &p.db()).unwrap().0;
        // A killed render never leaves a file that looks finished but is not.
        if p.out().exists() {
            for f in files(&p.out(), "m4b") {
                assert!(qc::decode_all(&f).is_ok(), "{} is readable", f.display());
            }
        }
    }
    assert!(kills >= 3, "killed {kills} times");

    let (out, v2) = p.render(&["--workers", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(v2["complete"], true);

    // Final audio bit-identical to the uninterrupted render (decoded samples), M4B and every MP3.
    assert_same_audio(&reference, &p);

    // No chunk completed twice; every chunk done.
    let states = rt.block_on(async {
        let s = Store::open(&p.db().display().to_string()).await.unwrap();
        let r = s.render(&render_name(&p.db())).await.unwrap();
        s.chunk_states(r.id).await.unwrap()
    });
    assert_eq!(states.len() as u64, total);
    for s in &states {
        assert_eq!(s.status, "done");
        assert!(
            s.completions <= 1,
            "chunk {}/{} completed {} times",
            s.chapter,
            s.index,
            s.completions
        );
    }
}

#[test]
fn two_worker_processes_and_a_render_share_one_database() {
    let rt = runtime();
    let p = DemoProject::new();
    let mut render = spawn_render(&p, "1");
    // Wait for the queue to exist, then start two standalone workers on the same database.
    let t0 = Instant::now();
    while counts(&rt, &p.db()).is_none() {
        assert!(t0.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(10));
    }
    let db = p.db().display().to_string();
    let workers: Vec<Child> = (0..2)
        .map(|_| {
            p.cmd(&["worker", "--db", &db, "--engine", "espeak", "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let status = render.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let mut worker_done = 0;
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        worker_done += v["done"].as_u64().unwrap();
    }
    let (states, rows) = rt.block_on(async {
        let s = Store::open(&db).await.unwrap();
        let r = s.render(&render_name(&p.db())).await.unwrap();
        (s.chunk_states(r.id).await.unwrap(), s.workers().await.unwrap())
    });
    assert!(states.iter().all(|s| s.status == "done"), "no lost chunk");
    assert!(states.iter().all(|s| s.completions <= 1), "no chunk done twice");
    let completions: u64 = states.iter().map(|s| s.completions as u64).sum();
    let by_workers: u64 = rows.iter().map(|w| w.chunks_done).sum();
    assert_eq!(completions, by_workers, "every completion is one worker's");
    assert!(rows.len() >= 3, "render worker and two standalone workers registered");
    assert!(worker_done > 0, "the standalone workers took part");
    assert!(worker_done < completions, "the render's own worker took part");
    assert!(files(&p.out(), "m4b").len() == 1);
}

#[test]
fn ctrl_c_finishes_in_flight_chunks_exits_130_and_the_next_run_resumes() {
    let rt = runtime();
    let (reference, total) = reference_render();

    let p = DemoProject::new();
    let child = p
        .render_cmd(&["--workers", "1"])
        .env(ws_book::engine::CHUNK_DELAY_ENV, "300")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("2 chunks done", || {
        counts(&rt, &p.db()).is_some_and(|(done, _)| done >= 2)
    });
    // SIGINT, as Ctrl-C in a terminal
    let st = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    let (done, all) = counts(&rt, &p.db()).unwrap();
    assert_eq!(all, total);
    assert!(done >= 2 && done < total, "{done} of {total} done when interrupted");
    // nothing left leased: the in-flight chunk was finished or released
    let leased = rt.block_on(async {
        let store = Store::open(&p.db().display().to_string()).await.unwrap();
        let r = store.render(&render_name(&p.db())).await.unwrap();
        let n = store
            .chunk_states(r.id)
            .await
            .unwrap()
            .iter()
            .filter(|c| c.status == "leased")
            .count();
        store.close().await;
        n
    });
    assert_eq!(leased, 0);
    // the same command again: only the rest is synthesised, and the audio equals an uninterrupted render
    let (out, v) = p.render(&["--workers", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(v["chunks"]["synthesized"].as_u64().unwrap(), total - done);
    assert_same_audio(&reference, &p);
}
