//! `ws-book models …` and model resolution in `say` / `render`, run as the real binary against a local
//! stand-in for the hub (HF_ENDPOINT) with temporary HF_HOME and WS_BOOK_HOME.

mod hub_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hub_support::model_hub;

const TINY: [&str; 3] = [
    "collabora/whisperspeech:t2s-tiny-en+pl.model",
    "collabora/whisperspeech:s2a-q4-tiny-en+pl.model",
    "charactr/vocos-encodec-24khz",
];

fn ws(home: &Path, endpoint: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ws-book"))
        .args(args)
        .env("WS_BOOK_HOME", home.join("wsb"))
        .env("HF_HOME", home.join("hf"))
        .env("HF_ENDPOINT", endpoint)
        .env_remove("HF_HUB_OFFLINE")
        .env_remove("HF_TOKEN")
        .env_remove("HF_HUB_CACHE")
        .env_remove("WS_BOOK_FAIL_CHUNKS")
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

/// `models fetch` of the three tiny-preset references into `home`'s library.
fn fetch_tiny(home: &Path, endpoint: &str) {
    let mut args = vec!["models", "fetch"];
    args.extend(TINY);
    let o = ws(home, endpoint, &args);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn fetch_list_verify_rm() {
    let hub = model_hub();
    let d = tempfile::tempdir().unwrap();
    let o = ws(d.path(), &hub.url, &["models", "list"]);
    assert!(o.status.success() && text(&o).contains("(empty)"), "{}", text(&o));

    let mut args = vec!["models", "fetch"];
    args.extend(TINY);
    let o = ws(d.path(), &hub.url, &args);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("t2s-tiny-en+pl: fetched and converted (t2s"),
        "{}",
        text(&o)
    );
    // present now: a second fetch converts nothing
    let o = ws(d.path(), &hub.url, &args);
    assert!(text(&o).contains("t2s-tiny-en+pl: present"), "{}", text(&o));

    let o = ws(d.path(), &hub.url, &["models", "list", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let models = v["models"].as_array().unwrap();
    assert_eq!(models.len(), 3);
    let t2s = models.iter().find(|m| m["name"] == "t2s-tiny-en+pl").unwrap();
    assert_eq!(t2s["kind"], "t2s");
    assert_eq!(t2s["presets"], serde_json::json!(["tiny"]));
    assert_eq!(t2s["digest"].as_str().unwrap().len(), 64);
    assert!(t2s["size"].as_u64().unwrap() > 200_000);

    let o = ws(d.path(), &hub.url, &["models", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    // corrupt one converted file: verify names it and fails
    let w = d.path().join("wsb/models/s2a-q4-tiny-en+pl/model.safetensors");
    let mut bytes = std::fs::read(&w).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0x55;
    std::fs::write(&w, bytes).unwrap();
    let o = ws(d.path(), &hub.url, &["models", "verify"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("s2a-q4-tiny-en+pl: CORRUPT"), "{}", text(&o));
    assert!(text(&o).contains("t2s-tiny-en+pl: ok"), "{}", text(&o));

    let o = ws(d.path(), &hub.url, &["models", "rm", "s2a-q4-tiny-en+pl"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!w.exists());
    let o = ws(d.path(), &hub.url, &["models", "rm", "nothing-here"]);
    assert!(
        !o.status.success() && text(&o).contains("no model `nothing-here`"),
        "{}",
        text(&o)
    );

    // errors from the hub reach the user explained
    let o = ws(
        d.path(),
        &hub.url,
        &["models", "fetch", "collabora/whisperspeech:t2s-huge.model"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("HTTP 404: EntryNotFound"), "{}", text(&o));
    let o = ws(d.path(), &hub.url, &["models", "fetch", "no-such-thing"]);
    assert!(
        !o.status.success() && text(&o).contains("not a model reference"),
        "{}",
        text(&o)
    );
}

#[test]
fn offline_machine_imports_a_hub_cache_and_speaks() {
    let hub = model_hub();
    let online = tempfile::tempdir().unwrap();
    fetch_tiny(online.path(), &hub.url);
    let connections = hub.connections.load(std::sync::atomic::Ordering::SeqCst);

    // the "offline" machine: nothing in its library, no hub reachable
    let off = tempfile::tempdir().unwrap();
    let dead = "http://127.0.0.1:9";
    let say = |d: &Path| {
        Command::new(env!("CARGO_BIN_EXE_ws-book"))
            .args([
                "say",
                "Hello there.",
                "--preset",
                "tiny",
                "--device",
                "cpu",
                "--temperature",
                "0",
                "-o",
            ])
            .arg(d.join("hello.wav"))
            .env("WS_BOOK_HOME", d.join("wsb"))
            .env("HF_HOME", d.join("hf"))
            .env("HF_ENDPOINT", dead)
            .env("HF_HUB_OFFLINE", "1")
            .current_dir(d)
            .output()
            .unwrap()
    };
    let o = say(off.path());
    assert!(!o.status.success());
    for r in TINY {
        assert!(text(&o).contains(r), "{}", text(&o));
    }
    assert!(text(&o).contains("ws-book models import"), "{}", text(&o));

    // carry the hub cache over and import it
    let o = ws(
        off.path(),
        dead,
        &["models", "import", &online.path().join("hf/hub").display().to_string()],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("t2s-tiny-en+pl: imported (t2s"), "{}", text(&o));
    assert!(
        text(&o).contains("vocos-encodec-24khz: imported (vocos"),
        "{}",
        text(&o)
    );
    let o = say(off.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(off.path().join("hello.wav").is_file());
    assert_eq!(hub.connections.load(std::sync::atomic::Ordering::SeqCst), connections);

    // a ws-book library folder copied from another machine imports as is (digests checked)
    let third = tempfile::tempdir().unwrap();
    let o = ws(
        third.path(),
        dead,
        &[
            "models",
            "import",
            &online.path().join("wsb/models/t2s-tiny-en+pl").display().to_string(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let a = std::fs::read(online.path().join("wsb/models/t2s-tiny-en+pl/model.safetensors")).unwrap();
    let b = std::fs::read(third.path().join("wsb/models/t2s-tiny-en+pl/model.safetensors")).unwrap();
    assert_eq!(a, b);
    // not a model
    std::fs::write(third.path().join("notes.model"), "just text").unwrap();
    let o = ws(third.path(), dead, &["models", "import", "notes.model"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("notes.model"), "{}", text(&o));
}

fn project(dir: &Path, engine: &str) -> PathBuf {
    std::fs::write(dir.join("book.md"), "# One\n\nHello there.\n").unwrap();
    let yaml = dir.join("project.yaml");
    std::fs::write(
        &yaml,
        format!(
            "title: T\nauthor: A\nmanuscripts: [book.md]\nengine:\n  name: {engine}\n  models:\n    preset: tiny\n\
             output:\n  formats: [mp3]\nrender:\n  device: cpu\n"
        ),
    )
    .unwrap();
    yaml
}

#[test]
fn render_offline_without_models_fails_or_falls_back() {
    let d = tempfile::tempdir().unwrap();
    let yaml = project(d.path(), "whisperspeech");
    let o = ws(
        d.path(),
        "http://127.0.0.1:9",
        &[
            "render",
            &yaml.display().to_string(),
            "--offline",
            "--progress",
            "quiet",
        ],
    );
    assert!(!o.status.success(), "{}", text(&o));
    for r in TINY {
        assert!(text(&o).contains(r), "{}", text(&o));
    }
    assert!(text(&o).contains("offline"), "{}", text(&o));

    let yaml = project(d.path(), "auto");
    let o = ws(
        d.path(),
        "http://127.0.0.1:9",
        &[
            "render",
            &yaml.display().to_string(),
            "--offline",
            "--progress",
            "plain",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("DRAFT render"), "{}", text(&o));
    assert!(text(&o).contains("ws-book models fetch"), "{}", text(&o));
}

#[test]
fn an_imported_speaker_encoder_is_used_by_voice_commands() {
    let d = tempfile::tempdir().unwrap();
    let dead = "http://127.0.0.1:9";
    let sp = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/speaker");
    let clip = sp.join("clip16k_mono.wav").display().to_string();
    let ckpt = sp.join("ecapa_small.ckpt").display().to_string();
    // without a speaker model: the error says how to get one
    let o = ws(d.path(), dead, &["debug", "speaker", &clip, "--json"]);
    assert!(!o.status.success() && text(&o).contains("models fetch"), "{}", text(&o));
    // direct load of the reduced-size test model (its ECAPA config is the .json beside it)
    let o = ws(d.path(), dead, &["debug", "speaker", "--model", &ckpt, &clip, "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let direct: serde_json::Value =
        serde_json::from_slice(&o.stdout[o.stdout.iter().position(|&b| b == b'{').unwrap()..]).unwrap();
    // imported into the library under the speaker encoder's name: converted to safetensors, config kept
    let o = ws(
        d.path(),
        dead,
        &["models", "import", &ckpt, "--name", "spkrec-ecapa-voxceleb"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("spkrec-ecapa-voxceleb: imported (speaker"),
        "{}",
        text(&o)
    );
    let o = ws(d.path(), dead, &["debug", "speaker", &clip, "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let via_lib: serde_json::Value =
        serde_json::from_slice(&o.stdout[o.stdout.iter().position(|&b| b == b'{').unwrap()..]).unwrap();
    assert_eq!(direct["embedding"], via_lib["embedding"]);
    assert!(direct["embedding"].as_array().unwrap().len() > 8);
}

#[test]
fn single_file_import_names_and_force_and_the_token_file_and_gated_repos() {
    let hub = model_hub();
    let d = tempfile::tempdir().unwrap();
    let dead = "http://127.0.0.1:9";
    let t2s = hub_support::fx("t2s_tiny_a.model").display().to_string();
    let s2a = hub_support::fx("s2a_tiny_a.model").display().to_string();
    let o = ws(d.path(), dead, &["models", "import", &t2s, "--name", "narrator-t2s"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("narrator-t2s: imported (t2s"), "{}", text(&o));
    // the same file again is not a conflict; a different model under that name needs --force
    let o = ws(d.path(), dead, &["models", "import", &t2s, "--name", "narrator-t2s"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = ws(d.path(), dead, &["models", "import", &s2a, "--name", "narrator-t2s"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("already in the library as `narrator-t2s`") && text(&o).contains("--force"),
        "{}",
        text(&o)
    );
    let kind = |d: &Path| {
        let o = ws(d, dead, &["models", "list", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let m = v["models"].as_array().unwrap();
        assert_eq!(m.len(), 1, "{v}");
        m[0]["kind"].as_str().unwrap().to_string()
    };
    assert_eq!(kind(d.path()), "t2s");
    let o = ws(
        d.path(),
        dead,
        &["models", "import", &s2a, "--name", "narrator-t2s", "--force"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(kind(d.path()), "s2a");
    // --name with several files is refused
    let o = ws(d.path(), dead, &["models", "import", &t2s, &s2a, "--name", "x"]);
    assert!(
        !o.status.success() && text(&o).contains("--name needs exactly one"),
        "{}",
        text(&o)
    );

    // a private repository: 401 names HF_TOKEN; the token is read from $HF_HOME/token when HF_TOKEN is unset
    hub.add(
        "private/voices",
        "t2s-private.model",
        std::fs::read(hub_support::fx("t2s_tiny_a.model")).unwrap(),
        true,
    );
    hub.state.lock().unwrap().token = Some("hf_from_file".into());
    let p = tempfile::tempdir().unwrap();
    let o = ws(
        p.path(),
        &hub.url,
        &["models", "fetch", "private/voices:t2s-private.model"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("HTTP 401") && text(&o).contains("HF_TOKEN"),
        "{}",
        text(&o)
    );
    std::fs::create_dir_all(p.path().join("hf")).unwrap();
    std::fs::write(p.path().join("hf/token"), "hf_from_file\n").unwrap();
    let o = ws(
        p.path(),
        &hub.url,
        &["models", "fetch", "private/voices:t2s-private.model"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("t2s-private: fetched and converted (t2s"),
        "{}",
        text(&o)
    );
    // a gated repository: 403 says so
    let o = ws(p.path(), &hub.url, &["models", "fetch", "gated/models:t2s.model"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("HTTP 403") && text(&o).contains("gated"),
        "{}",
        text(&o)
    );
}

#[test]
fn voices_preview_speaks_through_whisperspeech_when_the_models_are_present() {
    let hub = model_hub();
    let d = tempfile::tempdir().unwrap();
    fetch_tiny(d.path(), &hub.url);
    let sp = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/speaker");
    let ckpt = sp.join("ecapa_small.ckpt").display().to_string();
    let o = ws(
        d.path(),
        &hub.url,
        &["models", "import", &ckpt, "--name", "spkrec-ecapa-voxceleb"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let clip = sp.join("clip16k_mono.wav").display().to_string();
    let o = ws(d.path(), &hub.url, &["voices", "add", "carol", &clip]);
    assert!(o.status.success(), "{}", text(&o));
    let preview = |voice: &str, out: &str| {
        let o = ws(
            d.path(),
            &hub.url,
            &[
                "voices",
                "preview",
                voice,
                "Hello there.",
                "--preset",
                "tiny",
                "--device",
                "cpu",
                "--seed",
                "3",
                "-o",
                out,
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
        let first = String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        assert!(
            first == "device cpu, dtype f32" && text(&o).contains("(whisperspeech engine)"),
            "first line: {first}\n{}",
            text(&o)
        );
        assert!(!text(&o).contains("draft"), "{}", text(&o));
        let bytes = std::fs::read(d.path().join(out)).unwrap();
        // RIFF/WAVE, fmt chunk: format 3 (IEEE float), 1 channel, 24 kHz, 32 bits
        assert_eq!(&bytes[0..4], b"RIFF");
        assert_eq!(u16::from_le_bytes([bytes[20], bytes[21]]), 3, "IEEE float");
        assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 24_000);
        let (rate, samples) = ws_book::audio::qc::decode_all(&d.path().join(out)).unwrap();
        assert_eq!(rate, 24_000);
        samples
    };
    let carol = preview("carol", "carol.wav");
    assert!(carol.len() > 2400, "{} samples", carol.len());
    // the voice conditions S2A: the same text and seed in the default voice is other audio
    let default = preview("default", "default.wav");
    assert_ne!(carol, default);
    // and the same voice again is the same audio (seeded)
    assert_eq!(preview("carol", "carol2.wav"), carol);
}

#[test]
fn render_online_fetches_the_missing_models_once_and_speaks_with_them() {
    let hub = model_hub();
    let d = tempfile::tempdir().unwrap();
    let yaml = project(d.path(), "whisperspeech").display().to_string();
    let o = ws(d.path(), &hub.url, &["render", &yaml, "--progress", "plain", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    for f in ["t2s-tiny-en+pl.model", "s2a-q4-tiny-en+pl.model", "pytorch_model.bin"] {
        assert!(err.contains(f), "no fetch line for {f}: {err}");
    }
    assert!(!err.contains("DRAFT"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["complete"], true, "{v}");
    assert!(d.path().join("out").read_dir().unwrap().any(|e| e
        .unwrap()
        .path()
        .extension()
        .is_some_and(|x| x == "mp3")));
    let o = ws(d.path(), &hub.url, &["models", "list", "--json"]);
    let l: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(l["models"].as_array().unwrap().len(), 3, "{l}");
    // the models are in the library now: a re-render neither downloads nor synthesises
    let before = hub.connections.load(std::sync::atomic::Ordering::SeqCst);
    let o = ws(d.path(), &hub.url, &["render", &yaml, "--progress", "plain", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["chunks"]["synthesized"], 0, "{v}");
    assert_eq!(hub.connections.load(std::sync::atomic::Ordering::SeqCst), before);
}
