//! A rendered project and a running `ws-book review` for the review tests.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const STORY: &str = "# The Walk\n\nThe weather was cold, so we stayed inside and read a book.\n\n\
Please open the window before the meeting starts.\n\n\
# The River\n\nWe walked along the river and talked about the long summer.\n";

/// A project in a temp dir with its own WS_BOOK_HOME.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// `story.md` + `project.yaml` (m4b and mp3, seed 11) with `yaml_extra` appended.
    pub fn new(yaml_extra: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("story.md"), STORY).unwrap();
        std::fs::write(
            dir.path().join("project.yaml"),
            format!("title: Review Walk\nauthor: Tests\nlanguage: en\nmanuscripts: [story.md]\noutput:\n  formats: [m4b, mp3]\nrender:\n  seed: 11\n{yaml_extra}"),
        )
        .unwrap();
        Project { dir }
    }
    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    pub fn yaml(&self) -> String {
        self.path("project.yaml").display().to_string()
    }
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ws-book"));
        c.args(args)
            .env("WS_BOOK_HOME", self.path("home"))
            .env("HF_HUB_OFFLINE", "1")
            .env("HF_HOME", self.path("hf"))
            .env_remove("WS_BOOK_FAIL_CHUNKS")
            .env_remove("WS_BOOK_BAD_TAKES")
            .env_remove("WS_BOOK_BAD_TAKES_ALL")
            .env_remove("WS_BOOK_REVIEW_TOKEN");
        c
    }
    /// A draft render (espeak), with `extra` flags and environment; returns the exit code.
    pub fn render(&self, extra: &[&str], env: &[(&str, &str)]) -> i32 {
        let yaml = self.yaml();
        let mut args = vec![
            "render",
            yaml.as_str(),
            "--engine",
            "espeak",
            "--progress",
            "quiet",
            "--workers",
            "1",
        ];
        args.extend_from_slice(extra);
        let mut c = self.cmd(&args);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        let code = out.status.code().unwrap_or(-1);
        assert!(
            code == 0 || code == 5,
            "render failed ({code}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        code
    }
    /// `ws-book review` on a free port with `extra` flags; waits for its URL.
    pub fn review(&self, extra: &[&str]) -> Review {
        let yaml = self.yaml();
        let mut args = vec!["review", yaml.as_str(), "--port", "0", "--engine", "espeak"];
        args.extend_from_slice(extra);
        let mut child = self
            .cmd(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.split(" open ").nth(1) {
                        let url = url.trim().to_string();
                        let token = url.split("token=").nth(1).unwrap().to_string();
                        let base = url.split("/?").next().unwrap().to_string();
                        return Review {
                            child,
                            url,
                            base,
                            token,
                        };
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let out = child.wait_with_output().unwrap();
                    panic!("review did not start: {}", String::from_utf8_lossy(&out.stderr));
                }
            }
        }
    }
}

/// A running review server.
pub struct Review {
    pub child: Child,
    /// The page's URL with its token.
    pub url: String,
    /// `http://HOST:PORT`.
    pub base: String,
    pub token: String,
}

impl Review {
    pub fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into()
    }
    /// GET with the token header: (status, body).
    pub fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let mut r = Self::agent()
            .get(&format!("{}{path}", self.base))
            .header("x-ws-book-token", &self.token)
            .call()
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_vec().unwrap())
    }
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let (s, b) = self.get(path);
        assert_eq!(s, 200, "{path}: {}", String::from_utf8_lossy(&b));
        serde_json::from_slice(&b).unwrap()
    }
    /// POST JSON with the token header: (status, body as JSON).
    pub fn post(&self, path: &str, body: &str) -> (u16, serde_json::Value) {
        let mut r = Self::agent()
            .post(&format!("{}{path}", self.base))
            .header("x-ws-book-token", &self.token)
            .content_type("application/json")
            .send(body)
            .unwrap();
        let s = r.status().as_u16();
        let b = r.body_mut().read_to_vec().unwrap();
        (s, serde_json::from_slice(&b).unwrap_or(serde_json::Value::Null))
    }
    /// Waits until no job is queued or running; returns the jobs.
    pub fn wait_jobs(&self) -> serde_json::Value {
        for _ in 0..600 {
            let j = self.get_json("/api/jobs");
            if j.as_array()
                .unwrap()
                .iter()
                .all(|j| j["state"] == "done" || j["state"] == "failed")
            {
                return j;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("jobs did not finish");
    }
}

impl Drop for Review {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Bytes of a file.
pub fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
