//! Speaker-embedding parity against speechbrain 0.5.16 (fixtures from
//! `tests/fixtures/speaker/make_speaker_fixtures.py`): decoding + resampling, fbank features and the
//! ECAPA-TDNN embedding of reduced-width models with shaped random weights, on clips at 16 kHz mono,
//! 44.1 kHz stereo (FLAC, channel 0) and 48 kHz (32-bit float WAV).

use std::path::PathBuf;

use candle_core::Device;
use ws_book::engine::whisperspeech::checkpoint::{load_pickle, LoadOptions};
use ws_book::speaker::{audio_in, cosine, AudioWindow, SpeakerEncoder};

fn fx(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/speaker")
        .join(name)
}

const CLIPS: [(&str, &str); 3] = [
    ("clip16k_mono", "clip16k_mono.wav"),
    ("clip44k_stereo", "clip44k_stereo.flac"),
    ("clip48k_mono", "clip48k_mono.wav"),
];

fn reference(clip: &str, key: &str) -> Vec<f32> {
    let ck = load_pickle(&fx(&format!("ref_{clip}.pt")), &Device::Cpu, LoadOptions::default()).expect("fixture");
    ck.tensor(key)
        .expect(key)
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn encoders() -> Vec<(&'static str, SpeakerEncoder)> {
    vec![
        (
            "emb_small",
            SpeakerEncoder::load(&fx("ecapa_small.ckpt"), Some(&fx("ecapa_small.json")), &Device::Cpu).unwrap(),
        ),
        (
            "emb_nogc",
            SpeakerEncoder::load(
                &fx("ecapa_nogc.safetensors"),
                Some(&fx("ecapa_nogc.json")),
                &Device::Cpu,
            )
            .unwrap(),
        ),
    ]
}

#[test]
fn resampled_audio_matches_speechbrain() {
    for (clip, file) in CLIPS {
        let audio = audio_in::load_reference(&fx(file), &AudioWindow::default()).unwrap();
        let ours = ws_book::speaker::resample::resample(&audio.samples, audio.sample_rate, 16_000);
        let theirs = reference(clip, "resampled");
        let d = max_abs_diff(&ours, &theirs);
        println!("{clip}: {} Hz, resampled max|Δ| = {d:e}", audio.sample_rate);
        assert!(d <= 1e-5, "{clip}: resampled audio differs by {d}");
    }
}

#[test]
fn fbank_matches_speechbrain_within_1e3_db() {
    let fb = ws_book::speaker::fbank::Fbank::new();
    for (clip, _) in CLIPS {
        // from the reference's own resampled input, so this checks the features alone
        let wav = reference(clip, "resampled");
        let ours = fb.compute(&wav);
        let theirs = reference(clip, "fbank");
        let d = max_abs_diff(&ours, &theirs);
        println!("{clip}: fbank max|Δ| = {d:e} dB");
        assert!(d <= 1e-3, "{clip}: fbank differs by {d} dB");
    }
}

#[test]
fn embeddings_match_speechbrain_from_the_files() {
    for (key, enc) in encoders() {
        let mut ours_all = Vec::new();
        for (clip, file) in CLIPS {
            let ours = enc.embed_file(&fx(file), &AudioWindow::default()).unwrap();
            let theirs = reference(clip, key);
            let cos = cosine(&ours, &theirs);
            let scale = theirs.iter().fold(0f32, |m, x| m.max(x.abs()));
            let rel = max_abs_diff(&ours, &theirs) / scale;
            println!("{key} {clip}: cosine {cos:.7}, max|Δ|/max|ref| = {rel:e}");
            assert!(cos >= 0.9999, "{key} {clip}: cosine {cos}");
            assert!(rel <= 1e-4, "{key} {clip}: relative max|Δ| {rel}");
            ours_all.push(ours);
        }
        // the shaped weights make embeddings input-dependent, so the match above is not trivial
        for i in 0..ours_all.len() {
            for j in i + 1..ours_all.len() {
                let c = cosine(&ours_all[i], &ours_all[j]);
                assert!(
                    c < 0.9,
                    "{key}: clips {i} and {j} embed alike (cosine {c}); the fixture is degenerate"
                );
            }
        }
    }
}

#[test]
fn channel_one_of_the_stereo_clip_is_a_different_signal() {
    let w0 = AudioWindow::default();
    let w1 = AudioWindow { channel: 1, ..w0 };
    let a = audio_in::load_reference(&fx("clip44k_stereo.flac"), &w0).unwrap();
    let b = audio_in::load_reference(&fx("clip44k_stereo.flac"), &w1).unwrap();
    assert_eq!(a.samples.len(), b.samples.len());
    assert!(max_abs_diff(&a.samples, &b.samples) > 0.05);
    let err = audio_in::load_reference(&fx("clip44k_stereo.flac"), &AudioWindow { channel: 2, ..w0 }).unwrap_err();
    assert!(err.to_string().contains("channel 2"), "{err}");
}
