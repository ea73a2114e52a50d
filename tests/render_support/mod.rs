//! Shared helpers of the render tests: a copy of the demo project in a temp dir, running the binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `ws-book` binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ws-book")
}

/// A temp dir holding a copy of `projects/demo`.
pub struct DemoProject {
    pub dir: tempfile::TempDir,
}

impl DemoProject {
    pub fn new() -> DemoProject {
        let dir = tempfile::tempdir().unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("projects/demo");
        for e in std::fs::read_dir(&src).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
            }
        }
        DemoProject { dir }
    }
    pub fn yaml(&self) -> PathBuf {
        self.dir.path().join("project.yaml")
    }
    pub fn db(&self) -> PathBuf {
        self.dir.path().join(".ws-book/state.db")
    }
    pub fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }
    pub fn story(&self) -> PathBuf {
        self.dir.path().join("story.md")
    }
    /// A `ws-book` command with a private WS_BOOK_HOME and no failure injection.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args(args)
            .env("WS_BOOK_HOME", self.dir.path().join("home"))
            // hermetic: never reach the real model hub from a test
            .env("HF_HUB_OFFLINE", "1")
            .env("HF_HOME", self.dir.path().join("hf"))
            .env_remove("WS_BOOK_FAIL_CHUNKS");
        c
    }
    /// `render project.yaml --engine espeak --progress quiet` plus `extra`, not started.
    pub fn render_cmd(&self, extra: &[&str]) -> Command {
        let yaml = self.yaml().display().to_string();
        let mut args = vec!["render", yaml.as_str(), "--engine", "espeak", "--progress", "quiet"];
        args.extend_from_slice(extra);
        self.cmd(&args)
    }
    /// Runs `render project.yaml --engine espeak --json --progress quiet` plus `extra`.
    pub fn render(&self, extra: &[&str]) -> (Output, serde_json::Value) {
        let mut args = vec!["--json"];
        args.extend_from_slice(extra);
        let out = self.render_cmd(&args).output().unwrap();
        let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        (out, v)
    }
}

/// Runs ffprobe and parses its JSON.
pub fn ffprobe(path: &Path, what: &[&str]) -> serde_json::Value {
    let mut args = vec!["-v", "error", "-of", "json"];
    args.extend_from_slice(what);
    let out = Command::new("ffprobe")
        .args(&args)
        .arg(path)
        .output()
        .expect("ffprobe (Debian package ffmpeg) is needed by the tests");
    assert!(
        out.status.success(),
        "ffprobe failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Files in `dir` with extension `ext`, sorted.
pub fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// A reference: the demo rendered once by one worker, uninterrupted; with its chunk count.
pub fn reference_render() -> (DemoProject, u64) {
    let p = DemoProject::new();
    let (out, v) = p.render(&["--workers", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let total = v["chunks"]["total"].as_u64().unwrap();
    (p, total)
}

/// Polls `cond` every 20 ms until it holds; fails with `what` after 120 s.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let t0 = std::time::Instant::now();
    while !cond() {
        assert!(t0.elapsed() < std::time::Duration::from_secs(120), "timed out: {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The decoded samples of an audio file, as bits (exact comparison).
pub fn decoded(path: &Path) -> Vec<u32> {
    ws_book::audio::qc::decode_all(path)
        .unwrap()
        .1
        .iter()
        .map(|x| x.to_bits())
        .collect()
}

/// `p`'s one M4B and every MP3 decode bit-identical to `reference`'s.
pub fn assert_same_audio(reference: &DemoProject, p: &DemoProject) {
    let (a, b) = (files(&reference.out(), "m4b"), files(&p.out(), "m4b"));
    assert_eq!(b.len(), 1, "one m4b");
    assert_eq!(
        decoded(&a[0]),
        decoded(&b[0]),
        "m4b audio differs from the reference render"
    );
    let (ma, mb) = (files(&reference.out(), "mp3"), files(&p.out(), "mp3"));
    assert!(!ma.is_empty() && ma.len() == mb.len(), "{ma:?} vs {mb:?}");
    for (x, y) in ma.iter().zip(&mb) {
        assert_eq!(decoded(x), decoded(y), "{} differs", y.display());
    }
}
