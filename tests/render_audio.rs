//! The draft engine and the audio stages on their own: espeak-ng determinism and voices, resampling,
//! the limiter, stitching layout.

use ws_book::audio::loudness::{gain_to_db, Master, Meter};
use ws_book::audio::resample::{resample_clip, StreamResampler};
use ws_book::audio::stitch::{layout, ChunkSlot, Piece};
use ws_book::engine::espeak::{variant_for, EspeakEngine};
use ws_book::engine::{Engine, GenParams, Run, SynthRequest, VoiceSpec};
use ws_book::project::PauseOptions;

fn req(text: &[(&str, &str)], speaker: &str) -> SynthRequest {
    SynthRequest {
        key: "k".into(),
        runs: text
            .iter()
            .map(|(t, l)| Run {
                text: t.to_string(),
                lang: l.to_string(),
            })
            .collect(),
        voice: VoiceSpec {
            name: "default".into(),
            embedding: None,
        },
        speaker: speaker.into(),
        seed: 1,
        params: GenParams {
            cps: 15.0,
            temperature: 0.7,
            top_k: None,
        },
    }
}

#[test]
fn espeak_is_deterministic_at_24khz_and_speakers_sound_different() {
    let mut e = EspeakEngine::new().expect("espeak-ng is installed (apt-get install espeak-ng)");
    assert_eq!(e.sample_rate(), 24_000);
    assert!(e.fingerprint().starts_with("espeak|eSpeak NG"), "{}", e.fingerprint());
    let a = e
        .synthesize(&[req(&[("Good evening, said Mira.", "en")], "mira")])
        .unwrap();
    let b = e
        .synthesize(&[req(&[("Good evening, said Mira.", "en")], "mira")])
        .unwrap();
    assert_eq!(a, b, "same input, same samples");
    assert!(a[0].samples.len() > 24_000 / 2, "about a second of speech");
    assert!(a[0].samples.iter().any(|s| s.abs() > 0.05));
    let c = e
        .synthesize(&[req(&[("Good evening, said Mira.", "en")], "tomasz")])
        .unwrap();
    assert_ne!(variant_for("default", "mira"), variant_for("default", "tomasz"));
    assert_ne!(a[0].samples, c[0].samples, "another speaker, another variant");
    // Code-switching: each run in its language, concatenated.
    let en = e.synthesize(&[req(&[("Thank you.", "en")], "narrator")]).unwrap();
    let pl = e.synthesize(&[req(&[("Dziękuję bardzo.", "pl")], "narrator")]).unwrap();
    let both = e
        .synthesize(&[req(&[("Thank you.", "en"), ("Dziękuję bardzo.", "pl")], "narrator")])
        .unwrap();
    assert_eq!(both[0].samples.len(), en[0].samples.len() + pl[0].samples.len());
    assert_eq!(e.voice_for_lang("pl"), "pl");
    assert_eq!(e.voice_for_lang("zh"), "cmn");
}

#[test]
fn streaming_resampler_matches_length_and_content_of_the_clip_resampler() {
    let x: Vec<f32> = (0..24_000 * 3 + 17)
        .map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 440.0 / 24_000.0).sin() * 0.5)
        .collect();
    let clip = resample_clip(&x, 24_000, 44_100).unwrap();
    let want = (x.len() as f64 * 44_100.0 / 24_000.0).ceil() as usize;
    assert_eq!(clip.len(), want);
    let mut out = Vec::new();
    let mut r = StreamResampler::new(24_000, 44_100).unwrap();
    for block in x.chunks(777) {
        r.push(block, &mut |s| out.extend_from_slice(s)).unwrap();
    }
    r.finish(&mut |s| out.extend_from_slice(s)).unwrap();
    assert_eq!(out.len(), want);
    // Same signal: a 440 Hz sine at the same amplitude (compare the middle, away from the edges).
    let mid = want / 2;
    let err: f32 = (mid..mid + 2000).map(|i| (out[i] - clip[i]).abs()).fold(0.0, f32::max);
    assert!(err < 0.01, "max difference {err}");
}

#[test]
fn limiter_holds_the_ceiling_and_keeps_the_length() {
    let x: Vec<f32> = (0..48_000)
        .map(|i| {
            if i % 12000 < 200 {
                0.99
            } else {
                0.1 * ((i as f32) * 0.05).sin()
            }
        })
        .collect();
    let mut m = Master::new(6.0, -3.0, 24_000);
    let mut y = Vec::new();
    m.push(&x, &mut |s| y.extend_from_slice(s));
    m.finish(&mut |s| y.extend_from_slice(s));
    assert_eq!(y.len(), x.len());
    let peak = y.iter().fold(0f32, |a, s| a.max(s.abs()));
    assert!(
        gain_to_db(peak as f64) <= -3.0 + 1e-3,
        "peak {}",
        gain_to_db(peak as f64)
    );
    // Quiet parts got the +6 dB gain.
    let i = 9500;
    assert!((y[i] / x[i] - 2.0).abs() < 0.05, "gain at {i}: {}", y[i] / x[i]);
    let mut meter = Meter::new(24_000).unwrap();
    meter.add(&y).unwrap();
    assert!(meter.finish().unwrap().lufs > -40.0);
}

#[test]
fn chapters_are_laid_out_with_room_tone_and_pauses() {
    let p = PauseOptions {
        sentence_ms: 100,
        paragraph_ms: 500,
        chapter_head_ms: 750,
        chapter_tail_ms: 2000,
        room_tone: None,
    };
    let slots = vec![
        ChunkSlot {
            key: "a".into(),
            paragraph_end: false,
        },
        ChunkSlot {
            key: "b".into(),
            paragraph_end: true,
        },
        ChunkSlot {
            key: "c".into(),
            paragraph_end: true,
        },
    ];
    let l = layout(&slots, &p, 24_000);
    assert_eq!(
        l,
        vec![
            Piece::Silence(18_000),
            Piece::Chunk {
                index: 0,
                key: "a".into()
            },
            Piece::Silence(2_400),
            Piece::Chunk {
                index: 1,
                key: "b".into()
            },
            Piece::Silence(12_000),
            Piece::Chunk {
                index: 2,
                key: "c".into()
            },
            Piece::Silence(48_000),
        ]
    );
}
