//! T2S generation throughput at the published sizes with random weights (not a test).
//!
//! ```text
//! cargo run --release --example t2s_bench -- [base|small] [tokens] [batch…]
//! ```
//! Builds the `TSARTransformer` architecture at the stored-config shapes of spec §4.1 (ttoks_len 550,
//! stoks_len 750, ttoks_codes 256, stoks_codes 513, stoks_width 64) with random weights
//! (`whisperspeech::random::t2s`; EOS embedding zeroed so greedy decoding runs the full length), and times `generate` (encoder + prefill + decode) at
//! greedy T=0 for each batch size, in f32 and with the q8_0 decoder. Thread count: `RAYON_NUM_THREADS`.
//! The PyTorch side is `examples/t2s_bench_reference.py`.

use std::time::Instant;

use candle_core::{DType, Device};
use ws_book::engine::whisperspeech::random;
use ws_book::engine::whisperspeech::{T2s, T2sOptions, T2sRequest};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let size = args.first().map(String::as_str).unwrap_or("base");
    let ntok: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(64);
    let batches: Vec<usize> = if args.len() > 2 {
        args[2..].iter().map(|s| s.parse()).collect::<Result<_, _>>()?
    } else {
        vec![1, 8]
    };
    let dev = Device::Cpu;
    let ck = random::t2s(random::Size::parse(size).map_err(anyhow::Error::msg)?, &dev)?;
    let text = "The quick brown fox jumps over the lazy dog, and then it runs away into the forest.";
    for quantize in [false, true] {
        let m = T2s::from_checkpoint(
            &ck,
            &dev,
            T2sOptions {
                dtype: DType::F32,
                quantize,
            },
        )?;
        for &bs in &batches {
            let reqs: Vec<T2sRequest> = (0..bs)
                .map(|i| T2sRequest {
                    temperature: 0.0,
                    max_tokens: Some(ntok),
                    ..T2sRequest::new(text, 0, i as u64)
                })
                .collect();
            m.generate(&reqs[..1])?; // warm-up
            let t = Instant::now();
            let out = m.generate(&reqs)?;
            let s = t.elapsed().as_secs_f64();
            let n: usize = out.iter().map(|o| o.tokens.len()).sum();
            println!(
                "candle {size} {} batch {bs}: {n} tokens in {s:.3} s = {:.1} tokens/s",
                if quantize { "q8_0" } else { "f32" },
                n as f64 / s
            );
        }
    }
    Ok(())
}
