//! `ws-book voices …` and `ws-book debug speaker` end to end: every command on a private `$WS_BOOK_HOME`,
//! bad inputs (a text file renamed .wav, a 0.2 s clip, a silent file, bad names, duplicates), and the
//! export → import round trip into a fresh home giving the identical embedding.

mod render_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use render_support::bin;

fn fx(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/speaker")
        .join(name)
}

/// `ws-book` with its home in `home` and the small fixture encoder as the speaker model.
fn ws(home: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env("WS_BOOK_HOME", home)
        .env("WS_BOOK_SPEAKER_MODEL", fx("ecapa_small.ckpt"))
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stderr: {}\nstdout: {}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fails(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "expected failure; stdout: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// 16-bit mono PCM WAV.
fn write_wav(path: &Path, rate: u32, samples: &[f32]) {
    let mut b = Vec::new();
    let data = (samples.len() * 2) as u32;
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * 2).to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data.to_le_bytes());
    for x in samples {
        b.extend_from_slice(&((x.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes());
    }
    std::fs::write(path, b).unwrap();
}

fn show_json(home: &Path, name: &str) -> serde_json::Value {
    serde_json::from_str(&ok(&ws(home, &["voices", "show", name, "--json"]))).unwrap()
}

fn embedding(v: &serde_json::Value) -> Vec<f32> {
    v["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn add_list_show_rm_and_duplicates() {
    let d = tempfile::tempdir().unwrap();
    let home = d.path().join("home");
    let out = ok(&ws(
        &home,
        &[
            "voices",
            "add",
            "alice",
            &s(&fx("clip16k_mono.wav")),
            &s(&fx("clip48k_mono.wav")),
            "--lang",
            "en",
            "--description",
            "two clips",
        ],
    ));
    assert!(
        out.contains("added voice `alice` (2 reference file(s), 192-d embedding)"),
        "{out}"
    );
    assert!(home.join("voices.db").is_file());

    // the stored embedding is the mean of the two L2-normalised raw embeddings from `debug speaker`
    let raw = |f: &str| {
        let o = ok(&ws(&home, &["debug", "speaker", &s(&fx(f)), "--json"]));
        let v: serde_json::Value = serde_json::from_str(&o).unwrap();
        assert_eq!(v["dims"], 192);
        embedding(&v)
    };
    let (a, b) = (raw("clip16k_mono.wav"), raw("clip48k_mono.wav"));
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let expect: Vec<f32> = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x / norm(&a) + y / norm(&b)) / 2.0)
        .collect();
    let shown = show_json(&home, "alice");
    assert_eq!(shown["lang"], "en");
    assert_eq!(shown["description"], "two clips");
    assert_eq!(shown["sources"].as_array().unwrap().len(), 2);
    assert_eq!(shown["sources"][0]["file"], "clip16k_mono.wav");
    let got = embedding(&shown);
    let d_max = got.iter().zip(&expect).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    assert!(
        d_max < 1e-5,
        "stored embedding is not the mean of normalised embeddings: {d_max}"
    );

    let list: serde_json::Value = serde_json::from_str(&ok(&ws(&home, &["voices", "list", "--json"]))).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "alice"]);
    assert_eq!(list[0]["builtin"], true);
    let table = ok(&ws(&home, &["voices", "list"]));
    assert!(table.contains("alice") && table.contains("default"), "{table}");

    // existing name needs --force; --force replaces
    let err = fails(&ws(&home, &["voices", "add", "alice", &s(&fx("clip44k_stereo.flac"))]));
    assert!(err.contains("exists already") && err.contains("--force"), "{err}");
    ok(&ws(
        &home,
        &["voices", "add", "alice", &s(&fx("clip44k_stereo.flac")), "--force"],
    ));
    assert_eq!(show_json(&home, "alice")["sources"].as_array().unwrap().len(), 1);

    // names are validated; `default` is reserved
    for bad in ["bad name", "../x", "_x", "a.wav"] {
        let err = fails(&ws(&home, &["voices", "add", bad, &s(&fx("clip16k_mono.wav"))]));
        assert!(err.contains("invalid voice name"), "{bad}: {err}");
    }
    let err = fails(&ws(&home, &["voices", "add", "default", &s(&fx("clip16k_mono.wav"))]));
    assert!(err.contains("built-in"), "{err}");

    // the built-in voice is the reference default speaker
    let def = show_json(&home, "default");
    assert_eq!(def["builtin"], true);
    assert_eq!(
        embedding(&def),
        ws_book::engine::whisperspeech::engine::default_speaker()
    );

    ok(&ws(&home, &["voices", "rm", "alice"]));
    let err = fails(&ws(&home, &["voices", "show", "alice"]));
    assert!(err.contains("unknown voice `alice`"), "{err}");
    let err = fails(&ws(&home, &["voices", "rm", "alice"]));
    assert!(err.contains("unknown voice `alice`"), "{err}");
    let err = fails(&ws(&home, &["voices", "rm", "default"]));
    assert!(err.contains("built-in"), "{err}");
}

#[test]
fn bad_reference_audio_is_refused_with_the_file_named() {
    let d = tempfile::tempdir().unwrap();
    let home = d.path().join("home");
    let text = d.path().join("notes.wav");
    std::fs::write(&text, "this is a text file, not audio\n".repeat(50)).unwrap();
    let short = d.path().join("short.wav");
    let tone = |n: usize| (0..n).map(|i| 0.3 * (i as f32 * 0.07).sin()).collect::<Vec<f32>>();
    write_wav(&short, 16_000, &tone(3_200)); // 0.2 s
    let silent = d.path().join("silent.wav");
    write_wav(&silent, 16_000, &vec![0.0; 32_000]);
    let clipped = d.path().join("clipped.wav");
    write_wav(
        &clipped,
        16_000,
        &(0..32_000)
            .map(|i| if i % 40 < 20 { 1.0 } else { -1.0 })
            .collect::<Vec<_>>(),
    );
    let empty = d.path().join("empty.wav");
    write_wav(&empty, 16_000, &[]);
    for (file, expect) in [
        (&text, "not a readable audio file"),
        (&short, "only 0.20 s of audio"),
        (&silent, "silent"),
        (&clipped, "clipped"),
        (&empty, "no audio"),
        (&d.path().join("missing.wav"), "no such file"),
        (&d.path().to_path_buf(), "is a folder, not an audio file"),
    ] {
        let err = fails(&ws(&home, &["voices", "add", "x", &s(file)]));
        assert!(
            err.contains(&s(file)) && err.contains(expect),
            "{}: {err}",
            file.display()
        );
        let err = fails(&ws(&home, &["debug", "speaker", &s(file)]));
        assert!(err.contains(expect), "{}: {err}", file.display());
    }
    // nothing was added
    let list: serde_json::Value = serde_json::from_str(&ok(&ws(&home, &["voices", "list", "--json"]))).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    // a window past the end, a channel that does not exist
    let err = fails(&ws(
        &home,
        &["debug", "speaker", &s(&fx("clip16k_mono.wav")), "--start", "5"],
    ));
    assert!(err.contains("past the end"), "{err}");
    let err = fails(&ws(
        &home,
        &["debug", "speaker", &s(&fx("clip16k_mono.wav")), "--channel", "1"],
    ));
    assert!(err.contains("channel 1") && err.contains("1 channel"), "{err}");
}

#[test]
fn export_import_round_trip_into_a_fresh_home_is_identical() {
    let d = tempfile::tempdir().unwrap();
    let (home1, home2) = (d.path().join("h1"), d.path().join("h2"));
    ok(&ws(
        &home1,
        &["voices", "add", "bob", &s(&fx("clip44k_stereo.flac")), "--lang", "pl"],
    ));
    let file = d.path().join("bob.voice.json");
    ok(&ws(&home1, &["voices", "export", "bob", &s(&file)]));
    let out = ok(&ws(&home2, &["voices", "import", &s(&file)]));
    assert!(out.contains("imported voice `bob`"), "{out}");
    let (a, b) = (show_json(&home1, "bob"), show_json(&home2, "bob"));
    assert_eq!(a["embedding_blake3"], b["embedding_blake3"]);
    let (ea, eb) = (embedding(&a), embedding(&b));
    assert!(
        ea.iter().zip(&eb).all(|(x, y)| x.to_bits() == y.to_bits()),
        "embedding changed on the round trip"
    );
    assert_eq!(a["sources"], b["sources"]);
    assert_eq!(b["lang"], "pl");
    // importing again needs --force, or another name
    let err = fails(&ws(&home2, &["voices", "import", &s(&file)]));
    assert!(err.contains("exists already"), "{err}");
    ok(&ws(&home2, &["voices", "import", &s(&file), "--name", "bob2"]));
    // a damaged file is refused (digest mismatch), as is something that is not a voice file
    let text = std::fs::read_to_string(&file).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let first = v["embedding"][0].as_f64().unwrap();
    let mut damaged = v.clone();
    damaged["embedding"][0] = serde_json::json!(first + 0.5);
    let dfile = d.path().join("damaged.json");
    std::fs::write(&dfile, damaged.to_string()).unwrap();
    let err = fails(&ws(&home2, &["voices", "import", &s(&dfile), "--name", "bob3"]));
    assert!(err.contains("digest mismatch") && err.contains("damaged.json"), "{err}");
    let err = fails(&ws(&home2, &["voices", "import", &s(&fx("ecapa_small.json"))]));
    assert!(err.contains("not a ws-book voice file"), "{err}");
}

#[test]
fn preview_without_models_uses_the_draft_engine_with_a_warning() {
    let d = tempfile::tempdir().unwrap();
    let home = d.path().join("home");
    ok(&ws(&home, &["voices", "add", "carol", &s(&fx("clip16k_mono.wav"))]));
    let wav = d.path().join("preview.wav");
    let o = ws(
        &home,
        &["voices", "preview", "carol", "Hello from the preview.", "-o", &s(&wav)],
    );
    let out = ok(&o);
    assert!(out.contains("espeak"), "{out}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("draft"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let probe = render_support::ffprobe(&wav, &["-show_streams"]);
    let dur: f64 = probe["streams"][0]["duration"].as_str().unwrap().parse().unwrap();
    assert!(dur > 0.5, "preview is {dur} s");
    let err = fails(&ws(&home, &["voices", "preview", "nobody", "-o", &s(&wav)]));
    assert!(err.contains("unknown voice `nobody`"), "{err}");
}

#[test]
fn missing_speaker_model_names_the_file_and_the_fix() {
    let d = tempfile::tempdir().unwrap();
    let o = Command::new(bin())
        .args(["voices", "add", "x", &s(&fx("clip16k_mono.wav"))])
        .env("WS_BOOK_HOME", d.path())
        .env_remove("WS_BOOK_SPEAKER_MODEL")
        .output()
        .unwrap();
    let err = fails(&o);
    assert!(
        err.contains("embedding_model.ckpt") && err.contains("spkrec-ecapa-voxceleb") && err.contains("models fetch"),
        "{err}"
    );
    // a bad recording is reported before the missing model (the cheaper, more specific fix comes first)
    let missing = d.path().join("typo.wav");
    let o = Command::new(bin())
        .args(["voices", "add", "x", &s(&missing)])
        .env("WS_BOOK_HOME", d.path())
        .env_remove("WS_BOOK_SPEAKER_MODEL")
        .output()
        .unwrap();
    let err = fails(&o);
    assert!(err.contains("typo.wav") && err.contains("no such file"), "{err}");
}
