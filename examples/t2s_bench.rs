//! T2S generation throughput at the published sizes with random weights (not a test).
//!
//! ```text
//! cargo run --release --example t2s_bench -- [base|small] [tokens] [batch…]
//! ```
//! Builds the `TSARTransformer` architecture at the stored-config shapes of spec §4.1 (ttoks_len 550,
//! stoks_len 750, ttoks_codes 256, stoks_codes 513, stoks_width 64) with random weights (EOS embedding
//! zeroed so greedy decoding runs the full length), and times `generate` (encoder + prefill + decode) at
//! greedy T=0 for each batch size, in f32 and with the q8_0 decoder. Thread count: `RAYON_NUM_THREADS`.
//! The PyTorch side is `examples/t2s_bench_reference.py`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use serde_json::json;
use ws_book::engine::whisperspeech::checkpoint::Checkpoint;
use ws_book::engine::whisperspeech::t2s::N_LANGUAGES;
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
    let (depth, n_head) = match size {
        "tiny" => (4, 6),
        "base" => (6, 8),
        "small" => (12, 12),
        s => anyhow::bail!("unknown size {s}"),
    };
    let dev = Device::Cpu;
    let ck = random_checkpoint(depth, n_head, &dev)?;
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

/// A random-weight checkpoint with the exact state_dict names and shapes of spec §4.4.
fn random_checkpoint(depth: usize, n_head: usize, dev: &Device) -> anyhow::Result<Checkpoint> {
    let hw = 64;
    let w = n_head * hw;
    let (tl, sl, tc, sc, sw, ffn) = (550, 750, 256, 513, 64, 4);
    let enc = (2.0 * depth as f64 * 0.25) as usize;
    let dec = 2 * depth - enc;
    let mut t = BTreeMap::new();
    let mut add = |name: String, shape: &[usize], std: f64| -> anyhow::Result<()> {
        let x = if std == 0.0 {
            Tensor::zeros(shape, DType::F32, dev)?
        } else {
            Tensor::randn(0f32, std as f32, shape, dev)?
        };
        t.insert(name, x);
        Ok(())
    };
    let sin = |l: usize| -> anyhow::Result<Tensor> {
        let half = w / 2;
        let inc = (10000f64).ln() / (half as f64 - 1.0);
        let mut v = Vec::with_capacity(l * w);
        for p in 0..l {
            for j in 0..half {
                v.push((p as f64 * (-inc * j as f64).exp()).sin() as f32);
            }
            for j in 0..half {
                v.push((p as f64 * (-inc * j as f64).exp()).cos() as f32);
            }
        }
        Ok(Tensor::from_vec(v, (l, w), dev)?)
    };
    add("lang_embeddings.weight".into(), &[N_LANGUAGES, w], 1.0)?;
    add("cps_embeddings.weight".into(), &[32, w], 1.0)?;
    add("encoder.embedding.main.weight".into(), &[tc, w], 1.0)?;
    add("embeddings.embedding.main.weight".into(), &[sc, sw], 1.0)?;
    add(
        "embeddings.embedding.emb_to_hidden.weight".into(),
        &[w, sw],
        1.0 / (sw as f64).sqrt(),
    )?;
    add("embeddings.embedding.emb_to_hidden.bias".into(), &[w], 0.1)?;
    add(
        "embeddings.embedding.hidden_to_emb.weight".into(),
        &[sw, w],
        1.0 / (w as f64).sqrt(),
    )?;
    add("embeddings.embedding.hidden_to_emb.bias".into(), &[sw], 0.1)?;
    add("embeddings.embedding.special.weight".into(), &[1, w], 0.0)?;
    for (p, n, cross) in [("encoder", enc, false), ("decoder", dec, true)] {
        add(format!("{p}.ln_post.weight"), &[w], 0.1)?;
        add(format!("{p}.ln_post.bias"), &[w], 0.1)?;
        for i in 0..n {
            let l = format!("{p}.layers.{i}");
            let mut attns = vec!["attn"];
            if cross {
                attns.push("cross_attn");
            }
            for a in attns {
                for m in ["query", "key", "value", "out"] {
                    add(format!("{l}.{a}.{m}.weight"), &[w, w], 1.0 / (w as f64).sqrt())?;
                    if m != "key" {
                        add(format!("{l}.{a}.{m}.bias"), &[w], 0.1)?;
                    }
                }
                add(format!("{l}.{a}_ln.weight"), &[w], 0.1)?;
                add(format!("{l}.{a}_ln.bias"), &[w], 0.1)?;
            }
            add(format!("{l}.mlp.0.weight"), &[w * ffn, w], 1.0 / (w as f64).sqrt())?;
            add(format!("{l}.mlp.0.bias"), &[w * ffn], 0.1)?;
            add(
                format!("{l}.mlp.2.weight"),
                &[w, w * ffn],
                1.0 / ((w * ffn) as f64).sqrt(),
            )?;
            add(format!("{l}.mlp.2.bias"), &[w], 0.1)?;
            add(format!("{l}.mlp_ln.weight"), &[w], 0.1)?;
            add(format!("{l}.mlp_ln.bias"), &[w], 0.1)?;
        }
    }
    t.insert("encoder.positional_embedding".into(), sin(tl)?);
    t.insert("embeddings.positional_embedding".into(), sin(sl)?);
    let meta = json!({
        "config": {"depth": depth, "n_head": n_head, "head_width": hw, "ffn_mult": ffn, "ttoks_len": tl,
                   "ttoks_codes": tc, "ttoks_width": null, "stoks_len": sl, "stoks_codes": sc, "stoks_width": sw},
        "tunables": {"padding_token_offset": 0},
    });
    Ok(Checkpoint {
        path: PathBuf::from(format!("<random {depth}/{n_head}>")),
        meta,
        tensors: t,
    })
}
