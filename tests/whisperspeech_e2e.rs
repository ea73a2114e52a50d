//! The `whisperspeech` engine end to end with tiny random-weight fixtures (T2S + S2A + Vocos): batching
//! invariance at temperature 0, `ws-book render` of a two-chapter project to an M4B with chapters, bit-identical
//! re-renders with the same seed, and clear errors for missing models.

mod render_support;

use std::path::{Path, PathBuf};

use candle_core::Device;
use render_support::{bin, ffprobe, files};
use ws_book::engine::whisperspeech::{ModelOptions, ModelPaths, WhisperSpeechEngine};
use ws_book::engine::{Engine, GenParams, Run, SynthRequest, VoiceSpec};

fn fx(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/whisperspeech")
        .join(name)
}

fn paths() -> ModelPaths {
    ModelPaths {
        t2s: fx("t2s_tiny_a.model"),
        s2a: fx("s2a_tiny_a.model"),
        vocos: fx("vocos_tiny/pytorch_model.bin"),
        vocos_config: None,
    }
}

fn req(text: &str, seed: u64, temperature: f64) -> SynthRequest {
    SynthRequest {
        key: format!("k{seed}"),
        runs: vec![Run {
            text: text.into(),
            lang: "en".into(),
        }],
        voice: VoiceSpec {
            name: "default".into(),
            embedding: None,
        },
        speaker: "narrator".into(),
        seed,
        params: GenParams {
            cps: 15.0,
            temperature,
            top_k: None,
        },
    }
}

#[test]
fn same_chunk_alone_and_in_a_batch_of_four_gives_the_same_tokens() {
    let mut e = WhisperSpeechEngine::load(&paths(), &Device::Cpu).unwrap();
    e.max_stoks = Some(12);
    assert_eq!(e.sample_rate(), 24_000);
    assert!(e.fingerprint().starts_with("whisperspeech "));
    let (a1, t1) = e.synthesize_with_tokens(&[req("Hello world.", 5, 0.0)]).unwrap();
    let batch = [
        req("Another sentence here.", 1, 0.0),
        req("Hello world.", 5, 0.0),
        req("Dzień dobry.", 2, 0.0),
        req("A quick brown fox.", 3, 0.0),
    ];
    let (a4, t4) = e.synthesize_with_tokens(&batch).unwrap();
    assert_eq!(t4[1], t1[0], "tokens depend on batch mates");
    assert_eq!(t1[0].len(), 4);
    let frames = t1[0][0].len();
    assert!(frames > 0 && t1[0].iter().flatten().all(|&t| t < 1024));
    assert_eq!(a1[0].samples.len(), 320 * frames);
    assert_eq!(a4[1].samples.len(), a1[0].samples.len());
    let peak = a1[0].samples.iter().fold(0f32, |m, x| m.max(x.abs()));
    let d = a1[0]
        .samples
        .iter()
        .zip(&a4[1].samples)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(d <= 1e-4 * peak.max(1e-6), "audio differs by {d}");
    // sampled generation is reproducible per seed
    let (s1, _) = e.synthesize_with_tokens(&[req("Hello world.", 9, 0.7)]).unwrap();
    let (s2, _) = e.synthesize_with_tokens(&[req("Hello world.", 9, 0.7)]).unwrap();
    assert_eq!(s1, s2);
}

#[test]
fn quantized_engine_states_its_precision_and_has_its_own_fingerprint() {
    let f = WhisperSpeechEngine::load(&paths(), &Device::Cpu).unwrap();
    let opts = ModelOptions {
        quantize: true,
        ..ModelOptions::default()
    };
    let mut q = WhisperSpeechEngine::load_with(&paths(), &Device::Cpu, opts).unwrap();
    assert_eq!(f.describe(), "device cpu, dtype f32");
    assert_eq!(q.describe(), "device cpu, dtype f32 + q8_0");
    assert!(!f.fingerprint().contains("precision"), "{}", f.fingerprint());
    assert!(q.fingerprint().ends_with(" precision:f32+q8_0"), "{}", q.fingerprint());
    q.max_stoks = Some(12);
    let (a, t) = q.synthesize_with_tokens(&[req("Hello world.", 5, 0.0)]).unwrap();
    assert_eq!(a[0].samples.len(), 320 * t[0][0].len());
    assert!(a[0].samples.iter().all(|x| x.is_finite()));
}

#[test]
fn half_precision_is_refused_on_the_cpu_and_has_its_own_fingerprint() {
    use candle_core::DType;
    use ws_book::engine::whisperspeech::engine::precision_suffix;
    for (dtype, name) in [(DType::F16, "f16"), (DType::BF16, "bf16")] {
        let opts = ModelOptions { dtype, quantize: false };
        let err = WhisperSpeechEngine::load_with(&paths(), &Device::Cpu, opts)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("dtype {name} is a GPU precision")) && err.contains("--dtype f32"),
            "{err}"
        );
        assert_eq!(precision_suffix(opts), format!(" precision:{name}"));
    }
    assert_eq!(precision_suffix(ModelOptions::default()), "");
    // the CLI: render --dtype and render.dtype, worker --dtype
    let d = tempfile::tempdir().unwrap();
    let yaml = project(d.path());
    let out = std::process::Command::new(bin())
        .args([
            "render",
            &yaml.display().to_string(),
            "--progress",
            "quiet",
            "--dtype",
            "bf16",
        ])
        .env("WS_BOOK_HOME", d.path().join("home"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("dtype bf16 is a GPU precision"), "{err}");
    let text = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(&yaml, text.replace("  device: cpu\n", "  device: cpu\n  dtype: f8\n")).unwrap();
    let out = std::process::Command::new(bin())
        .args(["render", &yaml.display().to_string(), "--progress", "quiet"])
        .env("WS_BOOK_HOME", d.path().join("home"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("render.dtype") && err.contains("f8") && err.contains("f32, f16 or bf16"),
        "{err}"
    );
    let out = std::process::Command::new(bin())
        .args([
            "worker",
            "--db",
            &d.path().join("w.db").display().to_string(),
            "--device",
            "cpu",
        ])
        .args(["--engine", "whisperspeech", "--dtype", "f16"])
        .args(["--t2s", &fx("t2s_tiny_a.model").display().to_string()])
        .args(["--s2a", &fx("s2a_tiny_a.model").display().to_string()])
        .args(["--vocos", &fx("vocos_tiny/pytorch_model.bin").display().to_string()])
        .env("WS_BOOK_HOME", d.path().join("home"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("dtype f16 is a GPU precision"), "{err}");
}

#[test]
fn missing_model_file_is_named() {
    let mut p = paths();
    p.s2a = fx("no_such_s2a.model");
    let err = WhisperSpeechEngine::load(&p, &Device::Cpu).unwrap_err().to_string();
    assert!(err.contains("no_such_s2a.model") && err.contains("missing"), "{err}");
}

fn project(dir: &Path) -> PathBuf {
    std::fs::write(
        dir.join("book.md"),
        "# One\n\nHello there. The sea is calm.\n\n# Two\n\nA second chapter. It is short.\n",
    )
    .unwrap();
    let yaml = dir.join("project.yaml");
    std::fs::write(
        &yaml,
        format!(
            "title: Tiny\nauthor: Test\nlanguage: en\nmanuscripts:\n  - book.md\nengine:\n  name: whisperspeech\n  \
             models:\n    t2s: {}\n    s2a: {}\n    vocos: {}\noutput:\n  formats: [m4b]\nrender:\n  seed: 3\n  \
             device: cpu\n",
            fx("t2s_tiny_a.model").display(),
            fx("s2a_tiny_a.model").display(),
            fx("vocos_tiny/pytorch_model.bin").display()
        ),
    )
    .unwrap();
    yaml
}

fn render(dir: &Path, yaml: &Path) -> std::process::Output {
    std::process::Command::new(bin())
        .args(["render", &yaml.display().to_string(), "--json", "--progress", "quiet"])
        .env("WS_BOOK_HOME", dir.join("home"))
        .env_remove("WS_BOOK_FAIL_CHUNKS")
        .output()
        .unwrap()
}

#[test]
fn render_two_chapters_to_m4b_and_rerender_bit_identical() {
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let mut m4bs = Vec::new();
    for d in [&d1, &d2] {
        let yaml = project(d.path());
        let out = render(d.path(), &yaml);
        assert_eq!(
            out.status.code(),
            Some(0),
            "stderr: {}\nstdout: {}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        let m4b = files(&d.path().join("out"), "m4b");
        assert_eq!(m4b.len(), 1);
        // WhisperSpeech: not a draft, and no draft marker in the file
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["draft"], false, "{v}");
        let tags = ffprobe(&m4b[0], &["-show_format"]);
        assert!(tags["format"]["tags"].get("comment").is_none(), "{tags}");
        let probe = ffprobe(&m4b[0], &["-show_chapters"]);
        let ch = probe["chapters"].as_array().unwrap();
        assert_eq!(ch.len(), 2);
        assert_eq!(ch[0]["tags"]["title"], "One");
        assert_eq!(ch[1]["tags"]["title"], "Two");
        m4bs.push(m4b[0].clone());
    }
    // same project, seed, batch size and device → the same audio stream
    let pcm = |p: &Path| {
        let o = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(p)
            .args(["-f", "f32le", "-"])
            .output()
            .unwrap();
        assert!(o.status.success());
        o.stdout
    };
    let (a, b) = (pcm(&m4bs[0]), pcm(&m4bs[1]));
    assert!(!a.is_empty());
    assert!(a == b, "re-render with the same seed is not bit-identical");
}

#[test]
fn missing_models_fail_whisperspeech_and_auto_falls_back() {
    let d = tempfile::tempdir().unwrap();
    let yaml = project(d.path());
    let text = std::fs::read_to_string(&yaml)
        .unwrap()
        .replace("s2a_tiny_a.model", "gone.model");
    std::fs::write(&yaml, &text).unwrap();
    let out = render(d.path(), &yaml);
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("gone.model") && err.contains("missing"), "{err}");
    std::fs::write(&yaml, text.replace("name: whisperspeech", "name: auto")).unwrap();
    let out = render(d.path(), &yaml);
    let err = String::from_utf8_lossy(&out.stderr);
    // espeak-ng is a CI dependency: the fallback must really render the draft
    assert_eq!(out.status.code(), Some(0), "{err}");
    // quiet: said once, in the summary (here the --json one), not on stderr as well
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let warning = v["warning"].as_str().unwrap_or_default();
    assert!(warning.contains("DRAFT") && warning.contains("gone.model"), "{v}");
    assert!(!err.contains("DRAFT"), "{err}");
    assert_eq!(files(&d.path().join("out"), "m4b").len(), 1);
}

#[test]
fn a_standalone_worker_with_the_same_models_joins_and_one_with_other_models_refuses() {
    let d = tempfile::tempdir().unwrap();
    let yaml = project(d.path());
    // the render's own worker is slowed and claims one chunk at a time (the default `auto` batch would claim
    // all four at once), so the standalone worker gets work
    let render = std::process::Command::new(bin())
        .args(["render", &yaml.display().to_string(), "--json", "--progress", "quiet"])
        .args(["--batch-size", "1"])
        .env("WS_BOOK_HOME", d.path().join("home"))
        .env("WS_BOOK_CHUNK_DELAY_MS", "1500")
        .env("HF_HUB_OFFLINE", "1")
        .env_remove("WS_BOOK_FAIL_CHUNKS")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let db = d.path().join(".ws-book/state.db");
    let t0 = std::time::Instant::now();
    while !db.exists() {
        assert!(t0.elapsed() < std::time::Duration::from_secs(120), "no database");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let worker = |s2a: &str| {
        std::process::Command::new(bin())
            .args([
                "worker",
                "--db",
                &db.display().to_string(),
                "--engine",
                "whisperspeech",
                "--device",
                "cpu",
            ])
            .args(["--t2s", &fx("t2s_tiny_a.model").display().to_string()])
            .args(["--s2a", &fx(s2a).display().to_string()])
            .args(["--vocos", &fx("vocos_tiny/pytorch_model.bin").display().to_string()])
            .args(["--offline", "--json"])
            .env("WS_BOOK_HOME", d.path().join("home"))
            .env_remove("WS_BOOK_FAIL_CHUNKS")
            .output()
            .unwrap()
    };
    let other = worker("s2a_tiny_cond.model");
    assert!(!other.status.success());
    let err = String::from_utf8_lossy(&other.stderr);
    assert!(err.contains("fingerprint"), "{err}");
    let same = worker("s2a_tiny_a.model");
    assert!(same.status.success(), "{}", String::from_utf8_lossy(&same.stderr));
    let v: serde_json::Value = serde_json::from_slice(&same.stdout).unwrap();
    assert!(
        v["done"].as_u64().unwrap() > 0,
        "the standalone worker synthesised nothing: {v}"
    );
    let out = render.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(files(&d.path().join("out"), "m4b").len(), 1);
}

#[test]
fn project_engine_quantize_renders_in_the_speed_mode_with_its_own_keys() {
    let d = tempfile::tempdir().unwrap();
    let yaml = project(d.path());
    let f32_text = std::fs::read_to_string(&yaml).unwrap();
    let q8_text = f32_text.replace("engine:\n", "engine:\n  quantize: true\n");
    let synthesized = |text: &str| -> (u64, u64) {
        std::fs::write(&yaml, text).unwrap();
        let out = render(d.path(), &yaml);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            v["chunks"]["synthesized"].as_u64().unwrap(),
            v["chunks"]["total"].as_u64().unwrap(),
        )
    };
    let fingerprint = || -> String {
        let st = std::process::Command::new(bin())
            .args(["status", &yaml.display().to_string(), "--json"])
            .env("WS_BOOK_HOME", d.path().join("home"))
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
        v["render"]["fingerprint"].as_str().unwrap().to_string()
    };
    let (first, total) = synthesized(&f32_text);
    assert_eq!(first, total);
    assert!(!fingerprint().contains("q8_0"));
    // the speed mode never reuses f32 chunks: everything is synthesised again, under its own keys …
    assert_eq!(synthesized(&q8_text), (total, total));
    assert!(fingerprint().contains("precision:f32+q8_0"));
    // … and the f32 chunks are still there for an f32 render
    assert_eq!(synthesized(&f32_text), (0, total));
    assert_eq!(files(&d.path().join("out"), "m4b").len(), 1);
}
