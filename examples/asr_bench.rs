//! ASR speed, A/B in one run on the same weights, features and prompts: ws-book's Whisper (`asr::whisper`:
//! KV-cached decoder, cross-attention K/V once per batch) against candle-transformers' `whisper::model` (the
//! model ws-book used before: the decoder re-runs the whole prefix at every step), per phase. The transcript
//! tokens of both are compared (they must be equal).
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo run --release --example asr_bench -- MODEL_DIR [--repeat N] [--no-old] [--batch] WAV...
//! ```
//!
//! MODEL_DIR: a CTranslate2 (faster-whisper) folder, converted into a temporary library first, or a folder in
//! the Hugging Face layout. Per clip (best of `--repeat` runs after a warm-up): audio seconds, ws-book's wall
//! seconds and RTF (mel, encoder, decoder), the old model's encoder and decoder seconds. `--batch`: also all
//! clips in one call. The language comes from the file name (`en_1.wav` → en, `human_*` → en).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use candle_core::{DType, Device, IndexOp, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::whisper::{model::Whisper as OldWhisper, Config};
use ws_book::asr::{decode::Suppress, load_audio, mel, AsrFiles, Transcriber};
use ws_book::models::Library;

fn lang_of(path: &Path) -> String {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("en");
    match stem.split(['_', '-', '.']).next() {
        Some(l) if l.len() == 2 => l.to_string(),
        _ => "en".into(),
    }
}

/// The decode loop ws-book used with candle-transformers' model (full prefix every step).
fn old_greedy(m: &mut OldModel, audio: &Tensor, prompt: &[u32], sup: &Suppress, eot: u32) -> anyhow::Result<Vec<u32>> {
    let vocab = m.model.config.vocab_size;
    let embed = m.decoder_embed.clone();
    let mask = |ids: &[u32]| -> anyhow::Result<Tensor> {
        let mut v = vec![0f32; vocab];
        for &i in ids {
            v[i as usize] = f32::NEG_INFINITY;
        }
        Ok(Tensor::from_vec(v, (1, vocab), &Device::Cpu)?)
    };
    let always = mask(&sup.always)?;
    let first = mask(&[sup.always.clone(), sup.begin.clone()].concat())?;
    let mut seq = prompt.to_vec();
    let cap = ws_book::asr::decode::MAX_NEW_TOKENS.min(m.model.config.max_target_positions - prompt.len());
    for step in 0..cap {
        let toks = Tensor::from_vec(seq.clone(), (1, seq.len()), &Device::Cpu)?;
        let hidden = m.model.decoder.forward(&toks, audio, step == 0)?;
        let last = hidden.i((.., seq.len() - 1..seq.len(), ..))?;
        let logits = last.squeeze(1)?.matmul(&embed.t()?)?;
        let logits = logits.broadcast_add(if step == 0 { &first } else { &always })?;
        let row: Vec<f32> = logits.squeeze(0)?.to_vec1()?;
        let mut best = 0usize;
        for (i, &x) in row.iter().enumerate() {
            if x > row[best] {
                best = i;
            }
        }
        if best as u32 == eot {
            break;
        }
        seq.push(best as u32);
    }
    Ok(seq[prompt.len()..].to_vec())
}

/// candle-transformers' model and its token embedding.
struct OldModel {
    model: OldWhisper,
    decoder_embed: Tensor,
}

fn load_old(files: &AsrFiles) -> anyhow::Result<OldModel> {
    let cfg: Config = serde_json::from_str(&std::fs::read_to_string(&files.config)?)?;
    // SAFETY: a temporary library nobody else writes
    let vb =
        unsafe { VarBuilder::from_mmaped_safetensors(std::slice::from_ref(&files.weights), DType::F32, &Device::Cpu)? };
    let decoder_embed = vb.get((cfg.vocab_size, cfg.d_model), "model.decoder.embed_tokens.weight")?;
    Ok(OldModel {
        model: OldWhisper::load(&vb, cfg)?,
        decoder_embed,
    })
}

/// CPU seconds of this process so far (user + system, all threads; `/proc/self/stat`, 100 ticks/s).
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    // after the command: the state (not a number, dropped), then ppid … utime (line field 14), stime (15)
    f.get(10).copied().unwrap_or(0.0) / 100.0 + f.get(11).copied().unwrap_or(0.0) / 100.0
}

/// Best wall seconds of `n` runs, the CPU seconds of that run, and its result.
fn best_of<T>(n: usize, mut f: impl FnMut() -> anyhow::Result<T>) -> anyhow::Result<(f64, T)> {
    let mut best: Option<(f64, T)> = None;
    for _ in 0..n.max(1) {
        let t = Instant::now();
        let c = cpu_s();
        let r = f()?;
        let s = t.elapsed().as_secs_f64();
        if best.as_ref().is_none_or(|(b, _)| s < *b) {
            LAST_CPU.with(|l| l.set(cpu_s() - c));
            best = Some((s, r));
        }
    }
    best.context("no run")
}

thread_local! {
    /// CPU seconds of the best run of the last [`best_of`].
    static LAST_CPU: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

fn last_cpu() -> f64 {
    LAST_CPU.with(|l| l.get())
}

fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |args: &mut Vec<String>, f: &str| -> bool {
        let had = args.iter().any(|a| a == f);
        args.retain(|a| a != f);
        had
    };
    let no_old = flag(&mut args, "--no-old");
    let batch = flag(&mut args, "--batch");
    let mut repeat = 3usize;
    if let Some(i) = args.iter().position(|a| a == "--repeat") {
        repeat = args.get(i + 1).context("--repeat N")?.parse()?;
        args.drain(i..i + 2);
    }
    let (model_dir, wavs) = args
        .split_first()
        .context("usage: asr_bench MODEL_DIR [--repeat N] [--no-old] [--batch] WAV...")?;
    let model_dir = PathBuf::from(model_dir);
    let lib = tempfile::tempdir()?;
    let dir = if model_dir.join("model.safetensors").is_file() {
        model_dir.clone()
    } else {
        let name = model_dir
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("m")
            .replace('.', "-");
        Library::new(lib.path())
            .convert_asr(&model_dir, &format!("whisper-{name}"), &name, false)?
            .dir
    };
    let files = AsrFiles::in_dir(&dir);
    let mut t = Transcriber::load(&files, &Device::Cpu)?;
    let mut old = if no_old { None } else { Some(load_old(&files)?) };
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into());
    println!("model {} · threads {threads} · best of {repeat}", model_dir.display());
    println!("clip | audio s | ws-book s (mel / enc / dec) | RTF | CPU s | old enc s | old dec s | old total s | old CPU s (enc+dec) | old/new wall | same tokens");
    let clips: Vec<(String, Vec<f32>, String)> = wavs
        .iter()
        .map(|w| {
            let p = PathBuf::from(w);
            Ok((
                p.file_stem().and_then(|s| s.to_str()).unwrap_or(w).to_string(),
                load_audio(&p)?,
                lang_of(&p),
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    for (name, pcm, lang) in &clips {
        let audio_s = pcm.len() as f64 / 16000.0;
        t.transcribe(&[(pcm, Some(lang))])?;
        let (new_s, (got, ph)) = best_of(repeat, || {
            let r = t.transcribe(&[(pcm, Some(lang))])?;
            Ok((r, t.phases()))
        })?;
        let mut line = format!(
            "{name} | {audio_s:.2} | {new_s:.3} ({:.3} / {:.3} / {:.3}) | {:.3} | {:.2}",
            ph.mel_s,
            ph.encode_s,
            ph.decode_s,
            new_s / audio_s,
            last_cpu()
        );
        if let Some(o) = old.as_mut() {
            let lm = mel::LogMel::new(o.model.config.num_mel_bins);
            let (m, frames) = lm.compute(pcm);
            let w = mel::window(&m, lm.n_mels(), frames, 0, frames.saturating_sub(1).max(1));
            let feats = Tensor::from_vec(w, (1, lm.n_mels(), mel::WINDOW_FRAMES), &Device::Cpu)?;
            let prompt = t.prompt(lang);
            let (sup, eot) = t.suppression();
            let (enc_s, audio) = best_of(repeat, || Ok(o.model.encoder.forward(&feats, true)?))?;
            let enc_cpu = last_cpu();
            let (dec_s, toks) = best_of(repeat, || old_greedy(o, &audio, &prompt, sup, eot))?;
            let dec_cpu = last_cpu();
            let new_total = new_s;
            let old_total = enc_s + dec_s + ph.mel_s;
            line += &format!(
                " | {enc_s:.3} | {dec_s:.3} | {old_total:.3} | {:.2} | {:.2}× | {}",
                enc_cpu + dec_cpu,
                old_total / new_total,
                toks == got[0].tokens
            );
        }
        println!("{line}");
    }
    if batch && clips.len() > 1 {
        let input: Vec<(&[f32], Option<&str>)> =
            clips.iter().map(|(_, p, l)| (p.as_slice(), Some(l.as_str()))).collect();
        let audio_s: f64 = clips.iter().map(|(_, p, _)| p.len() as f64 / 16000.0).sum();
        t.transcribe(&input)?;
        let (s, ph) = best_of(repeat, || {
            t.transcribe(&input)?;
            Ok(t.phases())
        })?;
        println!(
            "all {} clips in one batch | {audio_s:.2} | {s:.3} ({:.3} / {:.3} / {:.3}) | {:.3}",
            clips.len(),
            ph.mel_s,
            ph.encode_s,
            ph.decode_s,
            s / audio_s
        );
    }
    Ok(())
}
