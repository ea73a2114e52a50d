//! QA's share of a WhisperSpeech render on the CPU (not a test): a batch of utterances synthesised by the
//! whole engine (T2S → S2A → Vocos, random weights at the published preset sizes, f32, greedy) and then
//! transcribed by each Whisper model in one batched call, as the render's QA does; reports render seconds,
//! ASR seconds and `ASR / render` per preset, Whisper model and batch size, in one run.
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo run --release --example qa_share_bench -- \
//!     [--presets tiny,base,small] [--batch 1,8] [--stoks N] [WHISPER_DIR…]
//! ```
//!
//! The models are [`ws_book::engine::whisperspeech::random`]'s (the same builder as `ws-book debug
//! random-models` and the device check): a preset's T2S and S2A at its size, the published Vocos. Their T2S
//! end-of-speech embedding is zero, so every utterance runs to `--stoks` semantic tokens (default 250 = 10 s of
//! audio). Random-weight speech is noise to Whisper, so QA is timed on real speech of about that length
//! (`tests/fixtures/asr/human_jfk.wav`, 11 s, one copy per batch row), which decodes a realistic 23–25 tokens;
//! the render's own audio is transcribed too (row "own audio"). WHISPER_DIR: CTranslate2 or Hugging Face
//! Whisper folders (default: `tiny.en` and `base` of `~/.cache/ws-book/whisper-test`). Every timing follows a
//! warm-up run.

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::Device;
use ws_book::asr::{load_audio, to_16k, AsrFiles, Transcriber};
use ws_book::engine::whisperspeech::random::{self, Size};
use ws_book::engine::whisperspeech::{ModelOptions, WhisperSpeechEngine};
use ws_book::engine::{Engine, GenParams, Run, SynthRequest, VoiceSpec};
use ws_book::models::Library;

const TEXT: &str = "The quick brown fox jumps over the lazy dog, and then it runs away into the forest. ";

fn request(i: usize) -> SynthRequest {
    SynthRequest {
        key: format!("bench-{i}"),
        runs: vec![Run {
            text: TEXT.repeat(3),
            lang: "en".into(),
        }],
        voice: VoiceSpec {
            name: "default".into(),
            embedding: None,
        },
        speaker: "narrator".into(),
        seed: i as u64,
        params: GenParams {
            cps: 15.0,
            temperature: 0.0,
            top_k: None,
        },
    }
}

fn load_whisper(dir: &Path, lib: &Path) -> anyhow::Result<Transcriber> {
    let d = if dir.join("model.safetensors").is_file() {
        dir.to_path_buf()
    } else {
        let name = dir
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("m")
            .replace('.', "-");
        Library::new(lib)
            .convert_asr(dir, &format!("whisper-{name}"), &name, false)?
            .dir
    };
    Ok(Transcriber::load(&AsrFiles::in_dir(&d), &Device::Cpu)?)
}

fn list<T>(s: &str, f: impl Fn(&str) -> anyhow::Result<T>) -> anyhow::Result<Vec<T>> {
    s.split(',').map(|x| f(x.trim())).collect()
}

fn main() -> anyhow::Result<()> {
    let mut presets = vec![Size::Tiny, Size::Base, Size::Small];
    let mut batches = vec![1usize, 8];
    let mut stoks = 250usize;
    let mut whispers: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| anyhow::anyhow!("{a} needs a value"));
        match a.as_str() {
            "--presets" => presets = list(&val()?, |s| Size::parse(s).map_err(anyhow::Error::msg))?,
            "--batch" => batches = list(&val()?, |s| Ok(s.parse()?))?,
            "--stoks" => stoks = val()?.parse()?,
            _ => whispers.push(PathBuf::from(a)),
        }
    }
    if whispers.is_empty() {
        let cache = PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/ws-book/whisper-test");
        whispers = vec![cache.join("tiny.en"), cache.join("base")];
    }
    let tmp = tempfile::tempdir()?;
    random::write_models(tmp.path(), &presets).map_err(anyhow::Error::msg)?;
    let mut asrs: Vec<(String, Transcriber)> = whispers
        .iter()
        .map(|w| {
            let name = w
                .file_name()
                .map_or(w.display().to_string(), |n| n.to_string_lossy().into());
            Ok((name, load_whisper(w, tmp.path())?))
        })
        .collect::<anyhow::Result<_>>()?;
    let jfk = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/asr/human_jfk.wav");
    let real = load_audio(&jfk)?;
    println!(
        "# threads {} · load {} · {stoks} semantic tokens per utterance · QA on human_jfk ({:.1} s)",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into()),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
        real.len() as f64 / 16000.0
    );
    for (_, asr) in &mut asrs {
        asr.transcribe(&[(&real[..16000], Some("en"))])?; // warm-up
    }
    println!(
        "preset | batch | audio s | render s | whisper | QA s (enc / dec, tokens) | QA share | own audio: QA s, share"
    );
    println!("---|---:|---:|---:|---|---:|---:|---:");
    for &p in &presets {
        let paths = random::model_paths(tmp.path(), p, p);
        let mut e = WhisperSpeechEngine::load_with(&paths, &Device::Cpu, ModelOptions::default())?;
        e.max_stoks = Some(4);
        e.synthesize(&[request(0)])?; // warm-up
        e.max_stoks = Some(stoks);
        for &b in &batches {
            let reqs: Vec<SynthRequest> = (0..b).map(request).collect();
            let t = Instant::now();
            let audio = e.synthesize(&reqs)?;
            let render_s = t.elapsed().as_secs_f64();
            let secs: f64 = audio
                .iter()
                .map(|a| a.samples.len() as f64 / f64::from(a.sample_rate))
                .sum();
            let own: Vec<Vec<f32>> = audio.iter().map(|a| to_16k(&a.samples, a.sample_rate)).collect();
            for (name, asr) in &mut asrs {
                let clips: Vec<(&[f32], Option<&str>)> = (0..b).map(|_| (&real[..], Some("en"))).collect();
                let t = Instant::now();
                let got = asr.transcribe(&clips)?;
                let qa_s = t.elapsed().as_secs_f64();
                let ph = asr.phases();
                let clips: Vec<(&[f32], Option<&str>)> = own.iter().map(|a| (&a[..], Some("en"))).collect();
                let t = Instant::now();
                asr.transcribe(&clips)?;
                let own_s = t.elapsed().as_secs_f64();
                println!(
                    "{} | {b} | {secs:.1} | {render_s:.2} | {name} | {qa_s:.2} ({:.2} / {:.2}, {}) | **{:.0} %** | {own_s:.2}, {:.0} %",
                    p.name(),
                    ph.encode_s,
                    ph.decode_s,
                    got.iter().map(|g| g.tokens.len()).sum::<usize>(),
                    100.0 * qa_s / render_s,
                    100.0 * own_s / render_s
                );
            }
        }
    }
    Ok(())
}
