//! `ws-book debug s2a`, `debug vocos` and `say` on the tiny fixtures: output shapes, the device line, the
//! 32-bit float WAV header, and a clear error for CUDA without a CUDA build.

use std::path::PathBuf;
use std::process::Command;

fn fx(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/whisperspeech")
        .join(name)
        .display()
        .to_string()
}

fn ws(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ws-book")).args(args).output().unwrap()
}

fn ok(o: &std::process::Output) -> String {
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn debug_s2a_then_vocos_write_a_float_wav() {
    let dir = tempfile::tempdir().unwrap();
    let stoks = dir.path().join("stoks.json");
    std::fs::write(&stoks, "[1, 5, 9, 13, 2, 40, 7, 8, 3, 3]").unwrap();
    let model = fx("s2a_tiny_a.model");
    let stoks_arg = stoks.display().to_string();
    let out = ok(&ws(&[
        "debug",
        "s2a",
        "--model",
        &model,
        "--stoks",
        &stoks_arg,
        "--temperature",
        "0",
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let atoks = v["atoks"].as_array().unwrap();
    assert_eq!(atoks.len(), 4);
    assert!(atoks.iter().all(|r| r.as_array().unwrap().len() == 3 * 10 - 4));
    let text = ok(&ws(&[
        "debug",
        "s2a",
        "--model",
        &model,
        "--stoks",
        "[1,5,9,13]",
        "--voice",
        "default",
    ]));
    assert!(text.starts_with("device cpu, dtype f32"), "{text}");

    let atoks_path = dir.path().join("atoks.json");
    std::fs::write(&atoks_path, &out).unwrap();
    let wav = dir.path().join("out.wav");
    let text = ok(&ws(&[
        "debug",
        "vocos",
        "--model",
        &fx("vocos_tiny/pytorch_model.bin"),
        "--atoks",
        &atoks_path.display().to_string(),
        "-o",
        &wav.display().to_string(),
    ]));
    assert!(text.starts_with("device cpu, dtype f32"), "{text}");
    let b = std::fs::read(&wav).unwrap();
    assert_eq!(&b[..4], b"RIFF");
    assert_eq!(u16::from_le_bytes([b[20], b[21]]), 3, "IEEE float format");
    assert_eq!(u32::from_le_bytes([b[24], b[25], b[26], b[27]]), 24_000);
    assert_eq!(u16::from_le_bytes([b[34], b[35]]), 32);
    assert_eq!(b.len() - 44, 4 * 320 * 26);
}

#[test]
fn say_runs_the_whole_engine_and_cuda_without_the_feature_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("say.wav").display().to_string();
    let (t2s, s2a, vocos) = (
        fx("t2s_tiny_a.model"),
        fx("s2a_tiny_a.model"),
        fx("vocos_tiny/pytorch_model.bin"),
    );
    let args = [
        "say",
        "Hi.",
        "--t2s",
        &t2s,
        "--s2a",
        &s2a,
        "--vocos",
        &vocos,
        "--temperature",
        "0",
        "-o",
        &wav,
    ];
    let text = ok(&ws(&args));
    assert!(text.starts_with("device cpu, dtype f32"), "{text}");
    assert!(std::fs::metadata(&wav).unwrap().len() > 44);
    if !cfg!(feature = "cuda") {
        let mut a = args.to_vec();
        a.extend(["--device", "cuda"]);
        let o = ws(&a);
        assert!(!o.status.success());
        assert!(String::from_utf8_lossy(&o.stderr).contains("no CUDA support"));
    }
}

#[test]
fn debug_t2s_states_its_device_and_refuses_cuda_without_the_feature() {
    let model = fx("t2s_tiny_a.model");
    let o = ws(&[
        "debug",
        "t2s",
        "--model",
        &model,
        "--text",
        "Hi.",
        "--temperature",
        "0",
        "--max-tokens",
        "3",
    ]);
    let out = ok(&o);
    assert!(
        out.lines().next().unwrap_or("").starts_with("device cpu, dtype f32"),
        "{out}"
    );
    if !cfg!(feature = "cuda") {
        let o = ws(&["debug", "t2s", "--model", &model, "--text", "Hi.", "--device", "cuda"]);
        assert!(!o.status.success());
        assert!(String::from_utf8_lossy(&o.stderr).contains("no CUDA support"));
    }
}

#[test]
fn quantize_flag_is_stated_in_the_first_output_line_of_debug_s2a_and_say() {
    let model = fx("s2a_tiny_a.model");
    let first = |out: &str| out.lines().next().unwrap_or("").to_string();
    let s2a = |extra: &[&str]| {
        let mut a = vec![
            "debug",
            "s2a",
            "--model",
            &model,
            "--stoks",
            "[1,5,9,13]",
            "--temperature",
            "0",
        ];
        a.extend_from_slice(extra);
        ok(&ws(&a))
    };
    assert_eq!(first(&s2a(&[])), "device cpu, dtype f32");
    let q = s2a(&["--quantize"]);
    assert_eq!(first(&q), "device cpu, dtype f32 + q8_0");
    // still 4 quantizers × (3·4 − 4) frames
    assert_eq!(q.lines().filter(|l| l.split(' ').count() == 8).count(), 4, "{q}");
    let json = s2a(&["--quantize", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["quantized"], true);

    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("q.wav").display().to_string();
    let (t2s, vocos) = (fx("t2s_tiny_a.model"), fx("vocos_tiny/pytorch_model.bin"));
    let out = ok(&ws(&[
        "say",
        "Hi.",
        "--t2s",
        &t2s,
        "--s2a",
        &model,
        "--vocos",
        &vocos,
        "--temperature",
        "0",
        "--quantize",
        "-o",
        &wav,
    ]));
    assert_eq!(first(&out), "device cpu, dtype f32 + q8_0");
    assert!(std::fs::metadata(&wav).unwrap().len() > 44);
}
