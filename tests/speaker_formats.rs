//! Reference audio in every common format decodes to the same signal: the 16 kHz fixture clip re-encoded with
//! the ffmpeg CLI as WAV (8-bit, 24-bit, 32-bit, 64-bit float), FLAC, MP3, Ogg/Vorbis, Ogg/Opus and M4A/AAC.
//! Lossless files must equal the original within the format's quantisation; lossy ones must keep the length
//! and line up with the original waveform (correlation > 0.95).

use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::Device;
use ws_book::speaker::{audio_in, cosine, AudioWindow, SpeakerEncoder};

fn fx(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/speaker")
        .join(name)
}

fn encode(src: &Path, dst: &Path, args: &[&str]) {
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(src)
        .args(args)
        .arg(dst)
        .status()
        .expect("ffmpeg CLI");
    assert!(st.success(), "ffmpeg failed for {}", dst.display());
}

#[test]
fn every_common_format_decodes_to_the_reference_signal() {
    let d = tempfile::tempdir().unwrap();
    let src = fx("clip16k_mono.wav");
    let orig = audio_in::load_reference(&src, &AudioWindow::default()).unwrap();
    let enc = SpeakerEncoder::load(&fx("ecapa_small.ckpt"), Some(&fx("ecapa_small.json")), &Device::Cpu).unwrap();
    let e0 = enc.embed(&orig).unwrap();
    // another recording (other text, other sample rate): the yardstick for "the same voice" below
    let other = audio_in::load_reference(&fx("clip48k_mono.wav"), &AudioWindow::default()).unwrap();
    let c_other = cosine(&enc.embed(&other).unwrap(), &e0);
    // (file, ffmpeg args, max |Δ| for lossless or None for lossy)
    let cases: [(&str, &[&str], Option<f32>); 9] = [
        ("u8.wav", &["-c:a", "pcm_u8"], Some(1.0 / 128.0 + 1e-6)),
        ("s24.wav", &["-c:a", "pcm_s24le"], Some(1e-7)),
        ("s32.wav", &["-c:a", "pcm_s32le"], Some(1e-7)),
        ("f64.wav", &["-c:a", "pcm_f64le"], Some(1e-7)),
        ("x.flac", &["-c:a", "flac"], Some(0.0)),
        ("x.mp3", &["-c:a", "libmp3lame", "-b:a", "128k"], None),
        ("x.ogg", &["-c:a", "libvorbis", "-q:a", "6"], None),
        ("x.opus", &["-c:a", "libopus", "-b:a", "64k"], None),
        ("x.m4a", &["-c:a", "aac", "-b:a", "128k"], None),
    ];
    for (name, args, tol) in cases {
        let p = d.path().join(name);
        encode(&src, &p, args);
        let a = audio_in::load_reference(&p, &AudioWindow::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        match tol {
            Some(t) => {
                assert_eq!(a.sample_rate, 16_000, "{name}");
                assert_eq!(a.samples.len(), orig.samples.len(), "{name}");
                let dmax = a
                    .samples
                    .iter()
                    .zip(&orig.samples)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0f32, f32::max);
                assert!(dmax <= t, "{name}: max|Δ| {dmax} > {t}");
            }
            None => {
                let secs = a.samples.len() as f64 / f64::from(a.sample_rate);
                assert!((secs - 1.1).abs() < 0.1, "{name}: {secs} s");
                // the decoders remove the encoder delay, so the waveform lines up with the original
                // (Opus decodes at 48 kHz: compare at 16 kHz)
                let at16 = ws_book::speaker::resample::resample(&a.samples, a.sample_rate, 16_000);
                let n = at16.len().min(orig.samples.len());
                let corr = cosine(&at16[..n], &orig.samples[..n]);
                let c = cosine(&enc.embed(&a).unwrap(), &e0);
                println!(
                    "{name}: {} Hz, {secs:.3} s, waveform correlation {corr:.4}, embedding cosine {c:.4}",
                    a.sample_rate
                );
                assert!(corr > 0.95, "{name}: waveform correlation {corr}");
                // a lossy copy of the clip embeds closer to the clip than another recording does
                // (random-weight test encoder: absolute cosines are lower than with the real model)
                println!("  other recording: embedding cosine {c_other:.4}");
                assert!(
                    c > 0.8 && c > c_other,
                    "{name}: embedding cosine {c}, other recording {c_other}"
                );
            }
        }
    }
}

#[test]
fn window_and_silence_trimming() {
    let src = fx("clip16k_mono.wav");
    let full = audio_in::load_reference(&src, &AudioWindow::default()).unwrap();
    let w = AudioWindow {
        start: 0.05,
        duration: 1.02,
        ..AudioWindow::default()
    };
    let part = audio_in::load_reference(&src, &w).unwrap();
    assert_eq!(part.samples.len(), 16_320);
    assert_eq!(part.samples[..], full.samples[800..800 + 16_320]);
    // padding with 1 s of silence on both sides and trimming gives back (about) the speech
    let mut padded = vec![0f32; 16_000];
    padded.extend_from_slice(&full.samples);
    padded.extend(std::iter::repeat_n(0f32, 16_000));
    let trimmed = audio_in::trim_silence(&padded, 16_000);
    assert!(trimmed.len() <= full.samples.len() + 320, "{}", trimmed.len());
    assert!(trimmed.len() + 16_000 < padded.len());
    // nothing of the speech is cut: the loud part of the clip survives whole, in place
    let loud = |x: &[f32]| x.iter().position(|v| v.abs() > 0.05).unwrap();
    let first = 16_000 + loud(&full.samples);
    let last = 16_000 + full.samples.len() - 1 - full.samples.iter().rev().position(|v| v.abs() > 0.05).unwrap();
    let off = (0..=padded.len() - trimmed.len())
        .find(|&o| padded[o..o + trimmed.len()] == trimmed[..])
        .expect("the trimmed signal is one slice of the input");
    assert!(
        off <= first && off + trimmed.len() > last,
        "trimmed [{off}, {}) cuts speech [{first}, {last}]",
        off + trimmed.len()
    );
}
