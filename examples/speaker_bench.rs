//! Speaker-embedding benchmark, candle side: the real-width spkrec-ecapa-voxceleb architecture (random shaped
//! weights from `examples/speaker_bench_reference.py`) on a 30 s clip at 16 kHz and at 48 kHz, end to end
//! (decode + resample + fbank + ECAPA), best of 3 after a warm-up, plus the parity of the embedding with the
//! reference's. Prints the ratio against the reference timings written by the Python script.
//!
//! Usage: `/work/ws-ref/bin/python examples/speaker_bench_reference.py /tmp/speaker_bench` then
//! `RAYON_NUM_THREADS=2 cargo run --release --example speaker_bench -- /tmp/speaker_bench`.

use std::path::PathBuf;
use std::time::Instant;

use candle_core::Device;
use ws_book::engine::whisperspeech::checkpoint::{load_pickle, LoadOptions};
use ws_book::speaker::{audio_in, cosine, AudioWindow, SpeakerEncoder};

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "/tmp/speaker_bench".into()));
    let enc = SpeakerEncoder::load(&dir.join("ecapa_full.ckpt"), None, &Device::Cpu)?;
    let reference = load_pickle(&dir.join("ref.pt"), &Device::Cpu, LoadOptions::default())?;
    let timings: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("timings.json"))?)?;
    for name in ["16k", "48k"] {
        let path = dir.join(format!("clip30s_{name}.wav"));
        let mut best = f64::MAX;
        let mut split = (0.0, 0.0);
        let mut emb = Vec::new();
        for i in 0..4 {
            let t0 = Instant::now();
            let audio = audio_in::load_reference(&path, &AudioWindow::default())?;
            let t1 = Instant::now();
            emb = enc.embed(&audio)?;
            let (decode, total) = ((t1 - t0).as_secs_f64(), t0.elapsed().as_secs_f64());
            if i > 0 && total < best {
                best = total;
                split = (decode, total - decode);
            }
        }
        let theirs = reference.tensor(&format!("emb_{name}"))?.to_vec1::<f32>()?;
        let scale = theirs.iter().fold(0f32, |m, x| m.max(x.abs()));
        let rel = emb.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max) / scale;
        let py = timings["pytorch_s"][name].as_f64().unwrap_or(f64::NAN);
        println!(
            "{name}: candle {best:.3} s (decode {:.3} s, resample+fbank+ECAPA {:.3} s), PyTorch {py:.3} s, \
             PyTorch/candle {:.2}x; cosine {:.7}, max|Δ|/max|ref| {rel:.2e}",
            split.0,
            split.1,
            py / best,
            cosine(&emb, &theirs)
        );
    }
    Ok(())
}
