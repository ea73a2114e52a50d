//! Whisper parity with faster-whisper on the same weights: the log-mel front end against the reference
//! extractor's dump, and greedy transcripts (token ids) against `transcribe(beam_size=1, temperature=0,
//! without_timestamps=True, condition_on_previous_text=False, language=…)` on espeak-ng speech in en, pl, fr,
//! de and a human recording. References: `tests/fixtures/make_asr_references.py` (run once, outside CI).

mod asr_support;

use asr_support::{ct2_dir, fixture, read_wav};
use candle_core::Device;
use ws_book::asr::{mel::LogMel, AsrFiles, Transcriber};
use ws_book::models::Library;

fn references() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("references.json")).unwrap()).unwrap()
}

fn load(name: &str, lib: &tempfile::TempDir) -> Transcriber {
    let e = Library::new(lib.path())
        .convert_asr(&ct2_dir(name), &format!("whisper-{name}"), name, false)
        .unwrap();
    Transcriber::load(&AsrFiles::in_dir(&e.dir), &Device::Cpu).unwrap()
}

#[test]
fn log_mel_matches_faster_whisper() {
    let lm = LogMel::new(80);
    for clip in ["en_1", "human_jfk"] {
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(fixture(&format!("mel_{clip}.json"))).unwrap()).unwrap();
        let frames = meta["n_frames"].as_u64().unwrap() as usize;
        let want: Vec<f32> = std::fs::read(fixture(&format!("mel_{clip}.f32")))
            .unwrap()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        let (got, got_frames) = lm.compute(&read_wav(&format!("{clip}.wav")));
        // the reference keeps the content frames (all but the last extractor frame)
        assert_eq!(got_frames, frames + 1, "{clip}");
        let mut max = 0f32;
        for m in 0..80 {
            for t in 0..frames {
                max = max.max((got[m * got_frames + t] - want[m * frames + t]).abs());
            }
        }
        eprintln!("{clip}: log-mel max |Δ| = {max:e} over 80 × {frames}");
        assert!(max <= 1e-4, "{clip}: log-mel differs from faster-whisper by {max}");
    }
}

fn check_model(name: &str, clips: &[(&str, &str)]) {
    let lib = tempfile::tempdir().unwrap();
    let mut t = load(name, &lib);
    let refs = references();
    let audio: Vec<Vec<f32>> = clips.iter().map(|(c, _)| read_wav(&format!("{c}.wav"))).collect();
    let input: Vec<(&[f32], Option<&str>)> = audio
        .iter()
        .zip(clips)
        .map(|(a, (_, l))| (a.as_slice(), Some(*l)))
        .collect();
    let got = t.transcribe(&input).unwrap();
    let mut mismatches = Vec::new();
    for ((clip, _), g) in clips.iter().zip(&got) {
        let r = &refs[name][format!("{clip}.wav")];
        let want: Vec<u32> = serde_json::from_value(r["tokens"].clone()).unwrap();
        eprintln!("{name} {clip}: {:?}", g.text);
        if g.tokens != want {
            mismatches.push(format!(
                "{clip}: got {:?} ({:?}), want {:?} ({:?})",
                g.tokens, g.text, want, r["text_stripped"]
            ));
        }
        assert_eq!(g.text, r["text_stripped"].as_str().unwrap(), "{name} {clip}");
    }
    assert!(mismatches.is_empty(), "{name}: {}", mismatches.join("\n"));
}

#[test]
fn tiny_en_transcripts_match_faster_whisper() {
    check_model("tiny.en", &[("en_1", "en"), ("en_2", "en"), ("human_jfk", "en")]);
}

#[test]
fn base_transcripts_match_faster_whisper_in_four_languages() {
    check_model(
        "base",
        &[
            ("en_1", "en"),
            ("en_2", "en"),
            ("pl_1", "pl"),
            ("pl_2", "pl"),
            ("fr_1", "fr"),
            ("fr_2", "fr"),
            ("de_1", "de"),
            ("de_2", "de"),
            ("human_jfk", "en"),
        ],
    );
}
