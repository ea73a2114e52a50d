//! `--device` / `render.device` through the real CLI: CUDA asked of a build without it says what is missing
//! (the CUDA build) and how to run on the CPU, from `say`, `worker` and `render`, before any work is done and
//! never as a crash or a silent CPU run; `auto` is the CPU in a CPU build; unknown names list the choices.
//! (In a CUDA build these cases differ — `auto` opens the GPU and fails without a driver; see
//! `engine::whisperspeech::device` — so the CPU-build checks are skipped there.)

mod render_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use render_support::{bin, files};

fn fx(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/whisperspeech")
        .join(name)
        .display()
        .to_string()
}

fn models() -> Vec<String> {
    [
        "--t2s",
        "t2s_tiny_a.model",
        "--s2a",
        "s2a_tiny_a.model",
        "--vocos",
        "vocos_tiny/pytorch_model.bin",
    ]
    .iter()
    .enumerate()
    .map(|(i, a)| if i % 2 == 0 { a.to_string() } else { fx(a) })
    .collect()
}

fn ws(home: &Path, args: &[String]) -> Output {
    Command::new(bin())
        .args(args)
        .env("WS_BOOK_HOME", home)
        .env("HF_HUB_OFFLINE", "1")
        .env_remove("WS_BOOK_FAIL_CHUNKS")
        .output()
        .unwrap()
}

fn strs(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// The one-line refusal of a CPU build: names the device, the missing CUDA build and the way to the CPU.
fn assert_refused_for_no_cuda_build(o: &Output, spec: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let want = format!("device `{spec}`: this ws-book build has no CUDA support; install the CUDA build");
    assert!(err.contains(&want), "{err}");
    assert!(
        err.contains("--features cuda") && err.contains("or use --device cpu"),
        "{err}"
    );
}

#[test]
fn say_with_a_cuda_device_in_a_cpu_build_says_the_build_lacks_cuda_and_writes_nothing() {
    if cfg!(feature = "cuda") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let wav = d.path().join("say.wav");
    for spec in ["cuda", "cuda:1"] {
        let mut args = strs(&["say", "Hi.", "--temperature", "0", "-o", &wav.display().to_string()]);
        args.extend(models());
        args.extend(strs(&["--device", spec]));
        assert_refused_for_no_cuda_build(&ws(d.path(), &args), spec);
        assert!(!wav.exists(), "no silent CPU run: {spec} wrote {}", wav.display());
    }
    // `auto` is the CPU in a CPU build, and says so on its first line
    let mut args = strs(&["say", "Hi.", "--temperature", "0", "-o", &wav.display().to_string()]);
    args.extend(models());
    args.extend(strs(&["--device", "auto"]));
    let o = ws(d.path(), &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("device cpu,"));
    assert!(wav.exists());
}

#[test]
fn a_worker_asked_for_cuda_in_a_cpu_build_refuses_before_it_opens_the_queue() {
    if cfg!(feature = "cuda") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("queue.db");
    let mut args = strs(&["worker", "--db", &db.display().to_string(), "--engine", "whisperspeech"]);
    args.extend(models());
    args.extend(strs(&["--offline", "--device", "cuda:0"]));
    assert_refused_for_no_cuda_build(&ws(d.path(), &args), "cuda:0");
    assert!(!db.exists(), "the worker touched the queue before its device opened");
}

#[test]
fn a_render_with_render_device_cuda_in_a_cpu_build_fails_before_any_audio() {
    if cfg!(feature = "cuda") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("book.md"), "# One\n\nHello there.\n").unwrap();
    let yaml = d.path().join("project.yaml");
    std::fs::write(
        &yaml,
        format!(
            "title: Tiny\nauthor: Test\nlanguage: en\nmanuscripts:\n  - book.md\nengine:\n  name: whisperspeech\n  \
             models:\n    t2s: {}\n    s2a: {}\n    vocos: {}\noutput:\n  formats: [m4b]\nrender:\n  device: cuda\n",
            fx("t2s_tiny_a.model"),
            fx("s2a_tiny_a.model"),
            fx("vocos_tiny/pytorch_model.bin")
        ),
    )
    .unwrap();
    let o = ws(
        &d.path().join("home"),
        &strs(&["render", &yaml.display().to_string(), "--progress", "quiet"]),
    );
    assert_refused_for_no_cuda_build(&o, "cuda");
    let out = d.path().join("out");
    assert!(
        !out.exists() || files(&out, "m4b").is_empty(),
        "a CPU render happened anyway"
    );
}

#[test]
fn an_unknown_device_name_lists_the_choices() {
    let d = tempfile::tempdir().unwrap();
    let wav = d.path().join("say.wav");
    let mut args = strs(&["say", "Hi.", "-o", &wav.display().to_string()]);
    args.extend(models());
    args.extend(strs(&["--device", "gpu"]));
    let o = ws(d.path(), &args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("unknown device `gpu`; use auto, cpu, cuda or cuda:N"),
        "{err}"
    );
    assert!(!wav.exists());
}
