//! Voices in project.yaml at render time: an unknown voice is an error naming the character and the voice
//! (with either engine), a library voice and a reference-audio path resolve to embeddings, the path is
//! embedded once and cached by file digest, and changing a voice re-renders exactly its chunks.

mod render_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use render_support::{bin, DemoProject};

fn fx(dir: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
        .join(name)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn set_voice(yaml: &Path, character: &str, voice: &str) {
    let text = std::fs::read_to_string(yaml).unwrap();
    let from = format!("  {character}:\n    voice: default");
    assert!(text.contains(&from), "demo project changed");
    std::fs::write(
        yaml,
        text.replace(&from, &format!("  {character}:\n    voice: {voice}")),
    )
    .unwrap();
}

#[test]
fn unknown_voice_fails_the_draft_render_naming_character_and_voice() {
    let p = DemoProject::new();
    set_voice(&p.yaml(), "mira", "ghost");
    let (out, _) = p.render(&[]);
    assert_eq!(out.status.code(), Some(2), "an unknown voice is an input error");
    let err = stderr(&out);
    assert!(
        err.contains("character `mira`") && err.contains("`ghost`") && err.contains("voices add"),
        "{err}"
    );

    let p = DemoProject::new();
    set_voice(&p.yaml(), "tomasz", "refs/tomasz.wav");
    let (out, _) = p.render(&[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("character `tomasz`") && err.contains("refs/tomasz.wav") && err.contains("not found"),
        "{err}"
    );

    // per-language voice of the narrator (the demo has Polish passages)
    let p = DemoProject::new();
    let text = std::fs::read_to_string(p.yaml()).unwrap();
    let text = text.replace(
        "narrator:\n  voice: default",
        "narrator:\n  voice: default\n  voices: {pl: polish-ghost}",
    );
    std::fs::write(p.yaml(), text).unwrap();
    let mut story = std::fs::read_to_string(p.story()).unwrap();
    story.push_str("\n<span lang=\"pl\">Dzień dobry, jak się masz dzisiaj, mój drogi przyjacielu?</span>\n");
    std::fs::write(p.story(), story).unwrap();
    let (out, _) = p.render(&[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("narrator") && err.contains("`polish-ghost`"), "{err}");
}

#[test]
fn library_voice_renders_with_the_draft_engine() {
    let p = DemoProject::new();
    let add = p
        .cmd(&[
            "voices",
            "add",
            "mira-voice",
            &fx("speaker", "clip16k_mono.wav").display().to_string(),
        ])
        .env("WS_BOOK_SPEAKER_MODEL", fx("speaker", "ecapa_small.ckpt"))
        .output()
        .unwrap();
    assert!(add.status.success(), "{}", stderr(&add));
    set_voice(&p.yaml(), "mira", "mira-voice");
    let (out, v) = p.render(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(v["chunks"]["failed"], 0, "{v}");
}

fn ws_project(dir: &Path, voice: &str) -> PathBuf {
    std::fs::write(dir.join("book.md"), "# One\n\nHello there.\n").unwrap();
    let yaml = dir.join("project.yaml");
    std::fs::write(
        &yaml,
        format!(
            "title: Voices\nauthor: Test\nlanguage: en\nmanuscripts:\n  - book.md\nnarrator:\n  voice: {voice}\n\
             engine:\n  name: whisperspeech\n  models:\n    t2s: {}\n    s2a: {}\n    vocos: {}\n\
             output:\n  formats: [mp3]\nrender:\n  seed: 3\n  device: cpu\n",
            fx("whisperspeech", "t2s_tiny_a.model").display(),
            fx("whisperspeech", "s2a_tiny_a.model").display(),
            fx("whisperspeech", "vocos_tiny/pytorch_model.bin").display()
        ),
    )
    .unwrap();
    yaml
}

fn render(dir: &Path, yaml: &Path, model: &Path) -> (Output, serde_json::Value) {
    let out = Command::new(bin())
        .args(["render", &yaml.display().to_string(), "--json", "--progress", "quiet"])
        .env("WS_BOOK_HOME", dir.join("home"))
        .env("WS_BOOK_SPEAKER_MODEL", model)
        .env_remove("WS_BOOK_FAIL_CHUNKS")
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, v)
}

#[test]
fn reference_audio_voice_is_embedded_cached_and_part_of_the_chunk_key() {
    let d = tempfile::tempdir().unwrap();
    std::fs::copy(fx("speaker", "clip16k_mono.wav"), d.path().join("a.wav")).unwrap();
    std::fs::copy(fx("speaker", "clip48k_mono.wav"), d.path().join("b.wav")).unwrap();
    let model = fx("speaker", "ecapa_small.ckpt");

    let yaml = ws_project(d.path(), "a.wav");
    let (out, v) = render(d.path(), &yaml, &model);
    assert!(out.status.success(), "{}", stderr(&out));
    let total = v["sync"]["total"].as_u64().unwrap();
    assert!(total > 0);
    assert_eq!(v["sync"]["queued"], total, "{v}");
    // the embedding of a.wav is cached in the voice library under the file's and the model's digests
    let cached = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let lib = ws_book::voices::VoiceLibrary::open(&d.path().join("home/voices.db"))
            .await
            .unwrap();
        let fd = ws_book::voices::file_digest(&d.path().join("a.wav")).unwrap();
        let md = ws_book::voices::file_digest(&model).unwrap();
        lib.cached_embedding(&fd, &md).await.unwrap()
    });
    let json = fx("speaker", "ecapa_small.json");
    let enc = ws_book::speaker::SpeakerEncoder::load(&model, Some(&json), &candle_core::Device::Cpu).unwrap();
    let direct = enc.embed_file(&d.path().join("a.wav"), &Default::default()).unwrap();
    assert_eq!(
        cached.as_deref(),
        Some(direct.as_slice()),
        "cache holds the file's embedding"
    );

    // another reference file → different embedding → every chunk of that voice is rendered again
    ws_project(d.path(), "b.wav");
    let (out, v) = render(d.path(), &yaml, &model);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(v["sync"]["queued"], total, "{v}");
    assert_eq!(v["sync"]["reused"], 0, "{v}");

    // back to the first file: its chunks' audio is reused (same embedding from the cache, same keys)
    ws_project(d.path(), "a.wav");
    let (out, v) = render(d.path(), &yaml, &model);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(v["sync"]["reused"], total, "{v}");

    // an unusable reference file fails the render naming the narrator and the file
    std::fs::write(d.path().join("bad.wav"), "not audio").unwrap();
    ws_project(d.path(), "bad.wav");
    let (out, _) = render(d.path(), &yaml, &model);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("narrator") && err.contains("bad.wav") && err.contains("not a readable audio file"),
        "{err}"
    );
}
