//! Whisper models through the model manager: `models fetch` of `openai/whisper-…` (Hugging Face layout) and
//! `Systran/faster-whisper-…` (CTranslate2 layout) from a local stand-in for the hub, `models import` of a
//! CTranslate2 folder, `list`/`verify`/`rm`, and `debug transcribe` naming the model by library name, size
//! or folder. The weights are the real faster-whisper `tiny.en` (see `asr_support`).

mod asr_support;
mod hub_support;

use std::path::Path;
use std::process::{Command, Output};

fn ws(home: &Path, endpoint: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ws-book"))
        .args(args)
        .env("WS_BOOK_HOME", home.join("wsb"))
        .env("HF_HOME", home.join("hf"))
        .env("HF_ENDPOINT", endpoint)
        .env_remove("HF_HUB_OFFLINE")
        .env_remove("HF_TOKEN")
        .env_remove("HF_HUB_CACHE")
        .current_dir(home)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn transcript(home: &Path, endpoint: &str, model: &str) -> serde_json::Value {
    let wav = asr_support::fixture("en_2.wav").display().to_string();
    let o = ws(
        home,
        endpoint,
        &["debug", "transcribe", "--json", "--model", model, &wav],
    );
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn whisper_repositories_are_fetched_in_both_layouts_and_transcribe() {
    let ct2 = asr_support::ct2_dir("tiny.en");
    // the Hugging Face layout is what the library keeps: convert once, then serve those files as openai/…
    let lib = tempfile::tempdir().unwrap();
    let e = ws_book::models::Library::new(lib.path())
        .convert_asr(&ct2, "t", "t", false)
        .unwrap();
    let hub = hub_support::FakeHub::start();
    for f in ["model.safetensors", "config.json", "tokenizer.json"] {
        hub.add(
            "openai/whisper-tiny.en",
            f,
            std::fs::read(e.dir.join(f)).unwrap(),
            f.ends_with("safetensors"),
        );
    }
    for f in ["model.bin", "config.json", "tokenizer.json"] {
        hub.add(
            "Systran/faster-whisper-tiny.en",
            f,
            std::fs::read(ct2.join(f)).unwrap(),
            f == "model.bin",
        );
    }
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let o = ws(
        h,
        &hub.url,
        &[
            "models",
            "fetch",
            "openai/whisper-tiny.en",
            "Systran/faster-whisper-tiny.en",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = ws(h, &hub.url, &["models", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<(&str, &str)> = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap(), m["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        vec![("faster-whisper-tiny.en", "asr"), ("whisper-tiny.en", "asr")],
        "{v:#}"
    );
    let o = ws(h, &hub.url, &["models", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    // both conversions are the same weights: the same transcript, by library name and by size name
    let a = transcript(h, &hub.url, "whisper-tiny.en");
    let b = transcript(h, &hub.url, "faster-whisper-tiny.en");
    let c = transcript(h, &hub.url, "tiny.en");
    assert_eq!(a["text"], "Please open the window before the meeting starts.", "{a:#}");
    assert_eq!(a["tokens"], b["tokens"]);
    assert_eq!(a["tokens"], c["tokens"]);
    // a damaged library file is caught by verify
    let w = h.join("wsb/models/whisper-tiny.en/tokenizer.json");
    std::fs::remove_file(&w).unwrap();
    let o = ws(h, &hub.url, &["models", "verify"]);
    assert!(
        !o.status.success() && text(&o).contains("tokenizer.json"),
        "{}",
        text(&o)
    );
    let o = ws(h, &hub.url, &["models", "rm", "whisper-tiny.en"]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn a_faster_whisper_folder_is_imported_offline_and_bad_folders_are_named() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let ct2 = asr_support::ct2_dir("tiny.en").display().to_string();
    let o = ws(h, "http://127.0.0.1:9", &["models", "import", &ct2]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("whisper-tiny.en: imported (asr"), "{}", text(&o));
    // the folder itself also works wherever a model is named (converted once, by digest)
    let a = transcript(h, "http://127.0.0.1:9", &ct2);
    assert_eq!(
        a["model"], "whisper-tiny.en",
        "the folder resolves to the imported model: {a:#}"
    );
    // a folder that is not a Whisper model
    let bad = h.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("config.json"), "{}").unwrap();
    let wav = asr_support::fixture("en_2.wav").display().to_string();
    let o = ws(
        h,
        "http://127.0.0.1:9",
        &["debug", "transcribe", "--model", "bad", &wav],
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("tokenizer.json"),
        "names what is missing: {}",
        text(&o)
    );
    // a truncated model.bin is refused with the file named, and nothing is left in the library
    std::fs::write(
        bad.join("tokenizer.json"),
        std::fs::read(asr_support::ct2_dir("tiny.en").join("tokenizer.json")).unwrap(),
    )
    .unwrap();
    let full = std::fs::read(asr_support::ct2_dir("tiny.en").join("model.bin")).unwrap();
    std::fs::write(bad.join("model.bin"), &full[..1000]).unwrap();
    let o = ws(
        h,
        "http://127.0.0.1:9",
        &["debug", "transcribe", "--model", "bad", &wav],
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("model.bin") && text(&o).contains("truncated"),
        "{}",
        text(&o)
    );
    let o = ws(h, "http://127.0.0.1:9", &["models", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["models"].as_array().unwrap().len(), 1, "{v:#}");
}

#[test]
fn a_preset_brings_its_whisper_qa_model_unless_no_qa() {
    // the tiny preset's TTS models from the fixtures, and tiny.en's weights standing in for openai/whisper-tiny
    let ct2 = asr_support::ct2_dir("tiny.en");
    let lib = tempfile::tempdir().unwrap();
    let e = ws_book::models::Library::new(lib.path())
        .convert_asr(&ct2, "t", "t", false)
        .unwrap();
    let hub = hub_support::model_hub();
    for f in ["model.safetensors", "config.json", "tokenizer.json"] {
        hub.add(
            "openai/whisper-tiny",
            f,
            std::fs::read(e.dir.join(f)).unwrap(),
            f.ends_with("safetensors"),
        );
    }
    // --no-qa: the Whisper repository is never asked for (the speaker encoder is not served: exit 1, named)
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let o = ws(h, &hub.url, &["models", "fetch", "tiny", "--no-qa"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("speechbrain/spkrec-ecapa-voxceleb"), "{}", text(&o));
    assert!(
        !hub.requests().iter().any(|r| r.contains("whisper-tiny")),
        "{:?}",
        hub.requests()
    );
    // the preset: the Whisper model is fetched, converted and listed as part of the preset
    let o = ws(h, &hub.url, &["models", "fetch", "tiny"]);
    assert!(
        text(&o).contains("whisper-tiny: fetched and converted (asr"),
        "{}",
        text(&o)
    );
    let o = ws(h, &hub.url, &["models", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let w = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "whisper-tiny")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(w["kind"], "asr");
    assert_eq!(w["presets"], serde_json::json!(["tiny"]));
    // and it is the library's Whisper model the QA uses
    let t = transcript(h, &hub.url, "whisper-tiny");
    assert_eq!(t["text"], "Please open the window before the meeting starts.", "{t:#}");
}
