//! QA renders with real Whisper models (faster-whisper `tiny.en` and multilingual `base` from PyPI wheels, see
//! `asr_support`) on espeak-ng speech: a clean render passes the draft threshold; bad first takes
//! (`WS_BOOK_BAD_TAKES`) are replaced and the outputs are bit-identical to the clean render (espeak ignores the
//! seed); an always-bad chunk is flagged (exit 0; exit 4 with the gate, without re-synthesis); SIGKILL during
//! QA then resume gives the same outputs; a PostgreSQL farm with QA chooses the same takes; a Polish chunk is
//! checked in Polish.

mod asr_support;
mod pg_support;
mod render_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use render_support::{decoded, files, wait_until};

const STORY: &str = "# The Walk\n\nThe weather was cold, so we stayed inside and read a book.\n\n\
Please open the window before the meeting starts.\n\n\
# The River\n\nWe walked along the river and talked about the long summer.\n";

/// A project in a temp dir (its own WS_BOOK_HOME), rendered with espeak and QA by a test model.
struct QaProject {
    dir: tempfile::TempDir,
}

impl QaProject {
    fn new(story: &str, yaml_extra: &str) -> QaProject {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("story.md"), story).unwrap();
        std::fs::write(
            dir.path().join("project.yaml"),
            format!("title: QA Walk\nauthor: Tests\nlanguage: en\nmanuscripts: [story.md]\noutput:\n  formats: [m4b, mp3]\nrender:\n  seed: 11\n{yaml_extra}"),
        )
        .unwrap();
        QaProject { dir }
    }
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(render_support::bin());
        c.args(args)
            .env("WS_BOOK_HOME", self.path("home"))
            .env("HF_HUB_OFFLINE", "1")
            .env("HF_HOME", self.path("hf"))
            .env_remove("WS_BOOK_FAIL_CHUNKS")
            .env_remove(ws_book::qa::BAD_TAKES_ENV)
            .env_remove(ws_book::qa::BAD_TAKES_ALL_ENV);
        c
    }
    fn render_cmd(&self, model: &str, extra: &[&str]) -> Command {
        let yaml = self.path("project.yaml").display().to_string();
        let dir = asr_support::ct2_dir(model).display().to_string();
        let mut args = vec![
            "render",
            &yaml,
            "--engine",
            "espeak",
            "--progress",
            "quiet",
            "--json",
            "--workers",
            "1",
            "--qa-model",
        ];
        args.push(&dir);
        args.extend_from_slice(extra);
        self.cmd(&args)
    }
    fn render(&self, model: &str, extra: &[&str], env: &[(&str, &str)]) -> (Output, serde_json::Value) {
        let mut c = self.render_cmd(model, extra);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        (out, v)
    }
    fn qa_json(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.path("out/qa.json")).unwrap()).unwrap()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Every output file's decoded audio, by file name.
fn outputs(dir: &Path) -> Vec<(String, Vec<u32>)> {
    let mut v: Vec<(String, Vec<u32>)> = ["m4b", "mp3"]
        .iter()
        .flat_map(|e| files(dir, e))
        .map(|p| (p.file_name().unwrap().to_string_lossy().to_string(), decoded(&p)))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// The clean QA render of [`STORY`] with tiny.en, shared by the tests that compare with it.
fn clean() -> &'static (QaProject, serde_json::Value) {
    static CLEAN: OnceLock<(QaProject, serde_json::Value)> = OnceLock::new();
    CLEAN.get_or_init(|| {
        let p = QaProject::new(STORY, "");
        let (out, v) = p.render("tiny.en", &[], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        (p, v)
    })
}

#[test]
fn a_clean_draft_render_passes_qa_and_reports_every_chunk() {
    let (p, v) = clean();
    let qa = &v["qa"];
    assert_eq!(qa["checked"].as_u64(), v["chunks"]["total"].as_u64(), "{qa}");
    assert_eq!(qa["flagged"], 0, "{qa:#}");
    assert_eq!(qa["retaken"], 0, "{qa:#}");
    let report = p.qa_json();
    assert_eq!(report["asr"]["model"], "whisper-tiny.en");
    assert_eq!(report["asr"]["max_wer"], 0.6, "the draft engine's default threshold");
    let chunks = report["chunks"].as_array().unwrap();
    let window = chunks
        .iter()
        .find(|c| c["text"].as_str().unwrap().contains("window"))
        .unwrap();
    assert!(window["wer"].as_f64().unwrap() <= 0.2, "{window:#}");
    assert!(window["transcript"].as_str().unwrap().to_lowercase().contains("window"));
    for c in chunks {
        assert_eq!(c["chosen"], 0);
        assert_eq!(c["takes"].as_array().unwrap().len(), 1);
        assert_eq!(c["takes"][0]["stop"], "end");
    }
}

#[test]
fn bad_first_takes_are_replaced_and_the_outputs_equal_the_clean_render() {
    let (clean_p, _) = clean();
    let p = QaProject::new(STORY, "");
    let (out, v) = p.render("tiny.en", &[], &[(ws_book::qa::BAD_TAKES_ENV, "window")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(v["qa"]["retaken"], 1, "{:#}", v["qa"]);
    assert_eq!(v["qa"]["flagged"], 0);
    let report = p.qa_json();
    let c = report["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["text"].as_str().unwrap().contains("window"))
        .unwrap()
        .clone();
    assert_eq!(c["chosen"], 1, "{c:#}");
    assert!(
        c["takes"][0]["wer"].as_f64().unwrap() >= 0.6,
        "take 0 said something else: {c:#}"
    );
    assert!(!c["takes"][0]["passed"].as_bool().unwrap());
    assert!(c["takes"][1]["passed"].as_bool().unwrap());
    assert_eq!(
        outputs(&p.path("out")),
        outputs(&clean_p.path("out")),
        "outputs differ from the clean render"
    );
}

#[test]
fn an_always_bad_chunk_is_flagged_exit_0_and_the_gate_exits_4_without_resynthesis() {
    let p = QaProject::new(STORY, "");
    let env = [(ws_book::qa::BAD_TAKES_ALL_ENV, "river")];
    let (out, v) = p.render("tiny.en", &[], &env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "flagged chunks do not fail the render: {}",
        stderr(&out)
    );
    assert_eq!(v["qa"]["flagged"], 1, "{:#}", v["qa"]);
    assert_eq!(
        v["complete"], true,
        "the book completes with the flagged chunk's best take"
    );
    let report = p.qa_json();
    let c = report["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["flagged"] == true)
        .unwrap()
        .clone();
    assert!(c["text"].as_str().unwrap().contains("river"));
    // espeak-ng ignores the seed: the second take is the same audio, so retaking stops there
    assert_eq!(c["takes"].as_array().unwrap().len(), 2, "{c:#}");
    // status lists it
    let yaml = p.path("project.yaml").display().to_string();
    let st = p.cmd(&["status", &yaml, "--json"]).output().unwrap();
    let sv: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(sv["qa"]["flagged"].as_array().unwrap().len(), 1, "{sv:#}");
    // the gate changes only the exit code: no chunk is synthesised again
    let (out, v) = p.render("tiny.en", &["--qa-gate"], &env);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(
        v["chunks"]["synthesized"], 0,
        "the gate is not part of the content keys"
    );
    assert_eq!(v["qa"]["gate"], true);
}

#[test]
fn sigkill_during_qa_then_resume_gives_the_same_outputs() {
    let (clean_p, _) = clean();
    let p = QaProject::new(STORY, "");
    let env = [
        (ws_book::qa::BAD_TAKES_ENV, "window"),
        (ws_book::engine::CHUNK_DELAY_ENV, "300"),
    ];
    let mut c = p.render_cmd("tiny.en", &[]);
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // kill it once QA has stored the takes of a first chunk (between takes or chunks of the rest)
    let db = p.path(".ws-book/state.db");
    wait_until("QA recorded a chunk's takes", || {
        db.is_file()
            && Command::new("sqlite3")
                .arg(&db)
                .arg("SELECT COUNT(*) FROM takes")
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<u32>().unwrap_or(0) >= 1)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let (out, v) = p.render("tiny.en", &[], &env[..1]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(v["qa"]["retaken"], 1, "{:#}", v["qa"]);
    assert_eq!(
        outputs(&p.path("out")),
        outputs(&clean_p.path("out")),
        "resumed outputs differ"
    );
}

#[test]
fn a_polish_chunk_is_checked_in_polish_by_the_multilingual_model() {
    let p = QaProject::new(
        "# One\n\n<span lang=\"pl\">Moja siostra mieszka w dużym mieście.</span>\n\nThe weather was cold, so we stayed inside and read a book.\n",
        "languages: [pl]\n",
    );
    let (out, _) = p.render("base", &[], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = p.qa_json();
    let chunks = report["chunks"].as_array().unwrap();
    let pl = chunks
        .iter()
        .find(|c| c["text"].as_str().unwrap().contains("siostra"))
        .unwrap();
    let en = chunks
        .iter()
        .find(|c| c["text"].as_str().unwrap().contains("weather"))
        .unwrap();
    assert!(
        pl["transcript"].as_str().unwrap().to_lowercase().contains("mieszka"),
        "heard in Polish: {pl:#}"
    );
    assert!(en["wer"].as_f64().unwrap() <= 0.3, "{en:#}");
    // an English-only model cannot check Polish: refused before any work
    let (out, _) = p.render("tiny.en", &[], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("English-only"), "{}", stderr(&out));
}

/// (chapter, index, chosen take, its transcript) of every checked chunk.
fn choices(report: &serde_json::Value) -> Vec<(u64, u64, u64, String)> {
    report["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["chapter"].as_u64().unwrap(),
                c["index"].as_u64().unwrap(),
                c["chosen"].as_u64().unwrap(),
                c["transcript"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_postgres_farm_with_qa_chooses_the_same_takes() {
    let (clean_p, _) = clean();
    let server = pg_support::PgServer::start();
    let url = server.fresh_db();
    let p = QaProject::new(STORY, "");
    let env = [
        (ws_book::qa::BAD_TAKES_ENV, "window"),
        (ws_book::engine::CHUNK_DELAY_ENV, "200"),
    ];
    let mut render = p.render_cmd("tiny.en", &["--db", &url]);
    render.envs(env);
    let render = render
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let dir = asr_support::ct2_dir("tiny.en").display().to_string();
    let rt = pg_support::runtime();
    wait_until("the render queues its chunks", || {
        pg_support::states(&rt, &url).is_some()
    });
    let workers: Vec<_> = (0..2)
        .map(|_| {
            p.cmd(&[
                "worker",
                "--db",
                &url,
                "--engine",
                "espeak",
                "--qa-model",
                &dir,
                "--json",
            ])
            .envs(env)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let out = render.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut standalone = 0;
    for w in workers {
        let o = w.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        standalone += r["done"].as_u64().unwrap();
    }
    let farm = choices(&p.qa_json());
    let mut want = choices(&clean_p.qa_json());
    for c in &mut want {
        if farm.iter().any(|f| (f.0, f.1) == (c.0, c.1) && f.2 == 1) {
            c.2 = 1; // the bad first take of the `window` chunk, replaced by take 1
        }
    }
    assert_eq!(farm, want, "standalone workers did {standalone} chunks");
    assert_eq!(farm.iter().filter(|c| c.2 == 1).count(), 1);
    assert_eq!(outputs(&p.path("out")), outputs(&clean_p.path("out")));
}
