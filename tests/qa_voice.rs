//! QA voice drift with real models: the speaker-encoder fixture (`tests/fixtures/speaker`) embeds every take,
//! Whisper `tiny.en` (see `asr_support`) transcribes it. A scripted synthesiser says the chunk with one
//! espeak-ng voice for take 0 and another for later takes, so the two takes differ only in who speaks: the
//! similarity QA records must be the encoder's own cosine, no threshold must keep take 0, and a threshold
//! between the two must re-take and keep take 1 — the chunk is not flagged, and the fingerprint names the
//! threshold (without one, it is the plain QA fingerprint, so existing keys hold).

mod asr_support;
mod render_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::Device;
use ws_book::asr::{AsrFiles, Transcriber};
use ws_book::engine::{Audio, Engine, EngineError, GenParams, Run, SynthRequest, VoiceSpec};
use ws_book::models::Library;
use ws_book::qa::{take_seed, QaEngine, QaSettings, VoiceCheck};
use ws_book::speaker::{audio_in, cosine, SpeakerEncoder};

const TEXT: &str = "Please open the window before the meeting starts.";

fn speaker_fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/speaker")
        .join(name)
}

/// espeak-ng `voice` saying `text`, decoded.
fn espeak(dir: &Path, voice: &str, text: &str) -> Audio {
    let wav = dir.join(format!("{voice}-{}.wav", text.len()));
    let st = Command::new("espeak-ng")
        .args(["-v", voice, "-w"])
        .arg(&wav)
        .arg(text)
        .status()
        .unwrap();
    assert!(st.success(), "espeak-ng -v {voice} failed");
    let (sample_rate, samples) = audio_in::decode_channel(&wav, 0).unwrap();
    Audio {
        sample_rate,
        samples,
        capped: false,
    }
}

/// Says take 0 (the chunk's own seed) with `first`, every later take with `later`.
struct TwoVoices {
    seed: u64,
    first: Audio,
    later: Audio,
}

impl Engine for TwoVoices {
    fn name(&self) -> &str {
        "two-voices"
    }
    fn fingerprint(&self) -> String {
        "two-voices".into()
    }
    fn sample_rate(&self) -> u32 {
        self.first.sample_rate
    }
    fn synthesize(&mut self, batch: &[SynthRequest]) -> Result<Vec<Audio>, EngineError> {
        Ok(batch
            .iter()
            .map(|r| {
                if r.seed == self.seed {
                    self.first.clone()
                } else {
                    self.later.clone()
                }
            })
            .collect())
    }
}

fn request(seed: u64, embedding: Vec<f32>) -> SynthRequest {
    SynthRequest {
        key: "k".into(),
        runs: vec![Run {
            text: TEXT.into(),
            lang: "en".into(),
        }],
        voice: VoiceSpec {
            name: "clone".into(),
            embedding: Some(embedding),
        },
        speaker: "narrator".into(),
        seed,
        params: GenParams {
            cps: 14.0,
            temperature: 0.0,
            top_k: None,
        },
    }
}

fn qa(engine: TwoVoices, lib: &Path, min_similarity: Option<f64>, voice: bool) -> QaEngine {
    let e = Library::new(lib)
        .convert_asr(&asr_support::ct2_dir("tiny.en"), "whisper-tiny.en", "tiny.en", false)
        .unwrap();
    let asr = Transcriber::load(&AsrFiles::in_dir(&e.dir), &Device::Cpu).unwrap();
    let settings = QaSettings {
        max_wer: 0.6,
        takes: 3,
        min_similarity,
    };
    let q = QaEngine::new(Box::new(engine), asr, "whisper-tiny.en", &e.digest, settings);
    if voice {
        let vc = VoiceCheck::load(
            &speaker_fixture("ecapa_small.ckpt"),
            Some(&speaker_fixture("ecapa_small.json")),
            &Device::Cpu,
        )
        .unwrap();
        q.with_voice_check(vc)
    } else {
        q
    }
}

#[test]
fn voice_drift_is_measured_and_a_threshold_re_takes_the_drifted_take() {
    let d = tempfile::tempdir().unwrap();
    let enc = SpeakerEncoder::load(
        &speaker_fixture("ecapa_small.ckpt"),
        Some(&speaker_fixture("ecapa_small.json")),
        &Device::Cpu,
    )
    .unwrap();
    // the voice: en-us saying something else; the takes: the chunk said by en-us and by en+f3
    let reference = espeak(
        d.path(),
        "en-us",
        "The quick brown fox jumps over the lazy dog near the bank.",
    );
    let voice = enc
        .embed(&ws_book::speaker::ReferenceAudio {
            sample_rate: reference.sample_rate,
            samples: reference.samples.clone(),
        })
        .unwrap();
    let sim = |a: &Audio| {
        let e = enc
            .embed(&ws_book::speaker::ReferenceAudio {
                sample_rate: a.sample_rate,
                samples: a.samples.clone(),
            })
            .unwrap();
        cosine(&e, &voice)
    };
    let (a, b) = (espeak(d.path(), "en-us", TEXT), espeak(d.path(), "en+f3", TEXT));
    let (sa, sb) = (sim(&a), sim(&b));
    eprintln!("voice similarity to the en-us reference: en-us take {sa:.4}, en+f3 take {sb:.4}");
    assert!(
        (sa - sb).abs() > 1e-4,
        "the two voices embed alike ({sa} vs {sb}): the test cannot tell them apart"
    );
    // take 0 gets the less similar voice
    let ((first, s_first), (later, s_later)) = if sa < sb {
        ((a, sa), (b, sb))
    } else {
        ((b, sb), (a, sa))
    };
    let seed = 7;
    let engine = |first: &Audio, later: &Audio| TwoVoices {
        seed,
        first: first.clone(),
        later: later.clone(),
    };

    // measured, no threshold: take 0 passes and is kept, its similarity is the encoder's cosine
    let lib = tempfile::tempdir().unwrap();
    let mut plain = qa(engine(&first, &later), lib.path(), None, true);
    let audio = plain.synthesize(&[request(seed, voice.clone())]).unwrap();
    let checks = plain.take_checks().unwrap();
    let c = &checks[0];
    assert_eq!((c.chosen, c.takes.len(), c.flagged), (0, 1, false), "{c:#?}");
    let got = c.takes[0].similarity.expect("similarity measured");
    assert!((got - s_first).abs() < 1e-9, "QA similarity {got} vs encoder {s_first}");
    assert_eq!(audio[0].samples, first.samples);

    // a threshold between the two: take 0 fails on voice alone, take 1 (the other voice) is kept
    let min = (s_first + s_later) / 2.0;
    let mut strict = qa(engine(&first, &later), lib.path(), Some(min), true);
    let audio = strict.synthesize(&[request(seed, voice.clone())]).unwrap();
    let c = &strict.take_checks().unwrap()[0];
    assert_eq!((c.chosen, c.takes.len(), c.flagged), (1, 2, false), "{c:#?}");
    assert!(
        !c.takes[0].passed && c.takes[0].wer <= 0.6,
        "take 0 must fail only on its voice: {c:#?}"
    );
    assert!(c.takes[1].passed && c.takes[1].similarity.unwrap() >= min, "{c:#?}");
    assert_eq!(c.takes[1].seed, take_seed(seed, 1));
    assert_eq!(audio[0].samples, later.samples);

    // the threshold is in the fingerprint; without one the voice check leaves it as plain QA's
    let unchecked = qa(engine(&first, &later), lib.path(), None, false);
    assert_eq!(plain.fingerprint(), unchecked.fingerprint());
    assert_ne!(strict.fingerprint(), plain.fingerprint());
    assert!(
        strict.fingerprint().contains(&format!("min_sim={min}")),
        "{}",
        strict.fingerprint()
    );

    // a voice without an embedding (the engine's default speaker) is not measured, so never fails on it
    let mut strict = qa(engine(&first, &later), lib.path(), Some(1.0), true);
    let mut req = request(seed, Vec::new());
    req.voice.embedding = None;
    strict.synthesize(&[req]).unwrap();
    let c = &strict.take_checks().unwrap()[0];
    assert_eq!((c.chosen, c.flagged, c.takes[0].similarity), (0, false, None), "{c:#?}");
}

#[test]
fn a_similarity_threshold_without_a_speaker_model_is_refused_before_any_work() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("story.md"), format!("# One\n\n{TEXT}\n")).unwrap();
    let yaml = d.path().join("project.yaml");
    std::fs::write(
        &yaml,
        "title: T\nauthor: A\nlanguage: en\nmanuscripts: [story.md]\nqa:\n  min_similarity: 0.5\n",
    )
    .unwrap();
    let out = Command::new(render_support::bin())
        .args([
            "render",
            &yaml.display().to_string(),
            "--engine",
            "espeak",
            "--progress",
            "quiet",
            "--qa-model",
        ])
        .arg(asr_support::ct2_dir("tiny.en"))
        .env("WS_BOOK_HOME", d.path().join("home"))
        .env_remove("WS_BOOK_SPEAKER_MODEL")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("min_similarity needs a speaker model"), "{err}");
    assert!(!d.path().join("out").exists(), "nothing may be rendered");

    // out of range in project.yaml: named with its line
    std::fs::write(
        &yaml,
        "title: T\nauthor: A\nlanguage: en\nmanuscripts: [story.md]\nqa:\n  min_similarity: 2\n",
    )
    .unwrap();
    let out = Command::new(render_support::bin())
        .args(["plan", &yaml.display().to_string()])
        .env("WS_BOOK_HOME", d.path().join("home"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("qa.min_similarity") && err.contains(":6:"), "{err}");
}

fn wfx(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/whisperspeech")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn a_whisperspeech_render_with_a_cloned_voice_reports_every_take_s_similarity() {
    let d = tempfile::tempdir().unwrap();
    std::fs::copy(speaker_fixture("clip16k_mono.wav"), d.path().join("ref.wav")).unwrap();
    std::fs::write(d.path().join("book.md"), format!("# One\n\n{TEXT}\n")).unwrap();
    let yaml = d.path().join("project.yaml");
    std::fs::write(
        &yaml,
        format!(
            "title: Drift\nauthor: Test\nlanguage: en\nmanuscripts: [book.md]\nnarrator:\n  voice: ref.wav\n\
             engine:\n  name: whisperspeech\n  models:\n    t2s: {}\n    s2a: {}\n    vocos: {}\n    speaker: {}\n\
             output:\n  formats: [mp3]\nrender:\n  seed: 3\n  device: cpu\nqa:\n  takes: 1\n  max_wer: 1.0\n",
            wfx("t2s_tiny_a.model"),
            wfx("s2a_tiny_a.model"),
            wfx("vocos_tiny/pytorch_model.bin"),
            speaker_fixture("ecapa_small.ckpt").display()
        ),
    )
    .unwrap();
    let out = Command::new(render_support::bin())
        .args([
            "render",
            &yaml.display().to_string(),
            "--progress",
            "quiet",
            "--json",
            "--qa-model",
        ])
        .arg(asr_support::ct2_dir("tiny.en"))
        .env("WS_BOOK_HOME", d.path().join("home"))
        .env_remove("WS_BOOK_SPEAKER_MODEL")
        .env_remove("WS_BOOK_FAIL_CHUNKS")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("out/qa.json")).unwrap()).unwrap();
    assert!(
        report["asr"]["speaker_model"]
            .as_str()
            .unwrap()
            .ends_with("ecapa_small.ckpt"),
        "{report:#}"
    );
    let chunks = report["chunks"].as_array().unwrap();
    assert!(!chunks.is_empty());
    for c in chunks {
        for t in c["takes"].as_array().unwrap() {
            let s = t["similarity"]
                .as_f64()
                .unwrap_or_else(|| panic!("no similarity: {t:#}"));
            assert!((-1.0..=1.0).contains(&s), "{t:#}");
        }
        assert_eq!(c["similarity"], c["takes"][0]["similarity"]);
    }
}
