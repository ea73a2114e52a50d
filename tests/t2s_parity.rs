//! T2S parity with the reference Python implementation (fixtures from
//! `tests/fixtures/make_whisperspeech_fixtures.py`), batching, sampling and request validation.

mod parity_support;

use candle_core::{DType, Device, Tensor};
use parity_support::{fx, max_abs, max_abs_diff};
use serde_json::Value;
use ws_book::engine::whisperspeech::t2s::{cps_bin, encode_text};
use ws_book::engine::whisperspeech::{Stop, T2s, T2sOptions, T2sRequest};

fn lang(code: &str) -> usize {
    ws_book::lang::id(code).unwrap()
}

fn reference(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fx(&format!("{name}.ref.json"))).unwrap()).unwrap()
}

fn runs_of(case: &Value) -> Vec<(String, usize)> {
    case["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), lang(r[1].as_str().unwrap())))
        .collect()
}

fn greedy_request(case: &Value) -> T2sRequest {
    T2sRequest {
        runs: runs_of(case),
        cps: case["cps"].as_f64().unwrap() as f32,
        temperature: 0.0,
        top_k: None,
        seed: 0,
        max_tokens: None,
        prompt: case["prompt"]
            .as_array()
            .map(|p| p.iter().map(|t| t.as_u64().unwrap() as u32).collect()),
    }
}

fn ref_tokens(case: &Value) -> Vec<u32> {
    case["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap() as u32)
        .collect()
}

/// Teacher-forced logits against the reference (2 rows: plain English, and a code-switched row).
fn check_logits(model: &T2s, name: &str) -> f32 {
    let st = candle_core::safetensors::load(fx(&format!("{name}.ref.safetensors")), &Device::Cpu).unwrap();
    let stoks: Vec<Vec<u32>> = st["stoks"]
        .to_vec2::<i64>()
        .unwrap()
        .into_iter()
        .map(|r| r.into_iter().map(|t| t as u32).collect())
        .collect();
    let want = &st["logits"];
    let rows = vec![
        (vec![("Hello world.".to_string(), lang("en"))], 15.0f32),
        (
            vec![
                ("Hello there,".to_string(), lang("en")),
                ("dzień dobry!".to_string(), lang("pl")),
            ],
            7.3,
        ),
    ];
    let got = model.logits(&rows, &stoks).unwrap();
    assert_eq!(got.dims(), want.dims());
    let d = max_abs_diff(&got, want);
    let mag = max_abs(want);
    eprintln!("{name}: logits max|Δ| = {d:e} (max |logit| {mag})");
    assert!(mag > 0.5, "degenerate fixture");
    d
}

fn check_greedy(model: &T2s, name: &str) {
    let r = reference(name);
    let mut long = 0;
    for case in r["cases"].as_array().unwrap() {
        let out = model.generate(&[greedy_request(case)]).unwrap().remove(0);
        let want = ref_tokens(case);
        assert_eq!(out.tokens, want, "{name} {:?}", case["runs"]);
        let stop = if case["stop"] == "eos" { Stop::Eos } else { Stop::Cap };
        assert_eq!(out.stop, stop, "{name} {:?}", case["runs"]);
        long = long.max(want.len());
    }
    assert!(long >= 64, "no case ran 64 steps");
}

#[test]
fn tiny_a_model_file_matches_reference() {
    let m = T2s::load(&fx("t2s_tiny_a.model"), &Device::Cpu, DType::F32).unwrap();
    assert_eq!(m.eos(), 33);
    assert!(check_logits(&m, "t2s_tiny_a") <= 1e-4);
    check_greedy(&m, "t2s_tiny_a");
}

#[test]
fn tiny_a_safetensors_matches_reference() {
    let m = T2s::load(&fx("t2s_tiny_a.safetensors"), &Device::Cpu, DType::F32).unwrap();
    assert!(check_logits(&m, "t2s_tiny_a") <= 1e-4);
    check_greedy(&m, "t2s_tiny_a");
}

#[test]
fn tiny_b_old_format_matches_reference() {
    let m = T2s::load(&fx("t2s_tiny_b_old.model"), &Device::Cpu, DType::F32).unwrap();
    // no padding_token_offset in the file → −1 → SOT/EOS is the last main code
    assert_eq!(m.tunables.padding_token_offset, -1);
    assert_eq!(m.eos(), 16);
    assert_eq!(m.vocab(), 18);
    assert!(check_logits(&m, "t2s_tiny_b_old") <= 1e-4);
    check_greedy(&m, "t2s_tiny_b_old");
    let r = reference("t2s_tiny_b_old");
    assert!(
        r["cases"].as_array().unwrap().iter().any(|c| c["stop"] == "eos"),
        "fixture lacks an EOS case"
    );
}

/// Another configuration: 4 heads, 1 encoder + 5 decoder layers, MLP ×4, a bidirectional encoder, 80 text and
/// 96 semantic positions, 40 semantic codes.
#[test]
fn tiny_c_other_configuration_matches_reference() {
    let m = T2s::load(&fx("t2s_tiny_c.model"), &Device::Cpu, DType::F32).unwrap();
    assert!(!m.tunables.causal_encoder);
    assert_eq!((m.config.n_head, m.config.ffn_mult, m.config.stoks_len), (4, 4, 96));
    assert!(check_logits(&m, "t2s_tiny_c") <= 1e-4);
    check_greedy(&m, "t2s_tiny_c");
}

#[test]
fn code_switch_language_ids_per_position() {
    let runs = vec![(" Hi ".to_string(), 0), ("żó".to_string(), 10), ("x".to_string(), 2)];
    let (t, l) = encode_text(&runs, 12).unwrap();
    // [0] + "Hi" + utf8("żó") (4 bytes) + "x", runs stripped separately, then padding
    assert_eq!(t, vec![0, 72, 105, 0xc5, 0xbc, 0xc3, 0xb3, 120, 0, 0, 0, 0]);
    assert_eq!(l, vec![0, 0, 0, 10, 10, 10, 10, 2, 0, 0, 0, 0]);
    // too long is an error, not a silent truncation
    assert!(encode_text(&[("x".repeat(12), 0)], 12).is_err());
    assert!(encode_text(&[("x".repeat(11), 0)], 12).is_ok());
    assert!(encode_text(&[("x".into(), 99)], 12).is_err());
}

#[test]
fn cps_bins_follow_the_reference() {
    assert_eq!(cps_bin(15.0, 32), 24);
    assert_eq!(cps_bin(19.9, 32), 31);
    assert_eq!(cps_bin(25.0, 32), 31);
    assert_eq!(cps_bin(10.0, 32), 16);
    assert_eq!(cps_bin(0.0, 32), 0);
    assert_eq!(cps_bin(-3.0, 32), 0);
    assert_eq!(cps_bin(13.0, 16), 10);
}

#[test]
fn batch_of_four_equals_single_runs() {
    let m = T2s::load(&fx("t2s_tiny_a.model"), &Device::Cpu, DType::F32).unwrap();
    let r = reference("t2s_tiny_a");
    let cases: Vec<&Value> = r["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["prompt"].is_null())
        .collect();
    let mut reqs: Vec<T2sRequest> = cases.iter().take(4).map(|c| greedy_request(c)).collect();
    reqs[1].max_tokens = Some(10); // rows finishing at different steps
    let batch = m.generate(&reqs).unwrap();
    for (req, got) in reqs.iter().zip(&batch) {
        let single = m.generate(std::slice::from_ref(req)).unwrap().remove(0);
        assert_eq!(&single, got);
    }
    assert_eq!(batch[1].tokens.len(), 10);
    assert_eq!(batch[1].stop, Stop::Cap);
    assert_eq!(batch[0].tokens, ref_tokens(cases[0]));
    // mixed prompt lengths and an EOS row (model B) in one call
    let mb = T2s::load(&fx("t2s_tiny_b_old.model"), &Device::Cpu, DType::F32).unwrap();
    let rb = reference("t2s_tiny_b_old");
    let reqs: Vec<T2sRequest> = rb["cases"].as_array().unwrap().iter().map(greedy_request).collect();
    let out = mb.generate(&reqs).unwrap();
    for (c, o) in rb["cases"].as_array().unwrap().iter().zip(out) {
        assert_eq!(o.tokens, ref_tokens(c));
    }
}

#[test]
fn seeded_sampling_is_deterministic_and_batch_independent() {
    let m = T2s::load(&fx("t2s_tiny_a.model"), &Device::Cpu, DType::F32).unwrap();
    let mk = |seed, text: &str| T2sRequest {
        temperature: 1.0,
        top_k: Some(8),
        max_tokens: Some(40),
        ..T2sRequest::new(text, 0, seed)
    };
    let a = m.generate(&[mk(1, "Hello world.")]).unwrap();
    let b = m.generate(&[mk(1, "Hello world.")]).unwrap();
    assert_eq!(a, b);
    let c = m.generate(&[mk(2, "Hello world.")]).unwrap();
    assert_ne!(a[0].tokens, c[0].tokens);
    let batch = m
        .generate(&[mk(5, "Other text"), mk(1, "Hello world."), mk(2, "Hello world.")])
        .unwrap();
    assert_eq!(batch[1], a[0]);
    assert_eq!(batch[2], c[0]);
    assert!(a[0].tokens.iter().all(|&t| (t as usize) < m.vocab()));
}

#[test]
fn max_tokens_prompt_and_request_errors() {
    let m = T2s::load(&fx("t2s_tiny_a.model"), &Device::Cpu, DType::F32).unwrap();
    let greedy = |r: T2sRequest| T2sRequest { temperature: 0.0, ..r };
    let out = m
        .generate(&[T2sRequest {
            max_tokens: Some(5),
            ..greedy(T2sRequest::new("Hello world.", 0, 0))
        }])
        .unwrap();
    let full = ref_tokens(&reference("t2s_tiny_a")["cases"][0]);
    assert_eq!(out[0].tokens, full[..5]);
    assert_eq!(out[0].stop, Stop::Cap);
    let long = T2sRequest::new("y".repeat(64), 0, 0);
    let err = m
        .generate(&[greedy(T2sRequest::new("ok", 0, 0)), long])
        .unwrap_err()
        .to_string();
    assert!(err.contains("request 1") && err.contains("64 bytes"), "{err}");
    let bad_prompt = T2sRequest {
        prompt: Some(vec![999]),
        ..T2sRequest::new("x", 0, 0)
    };
    assert!(m.generate(&[bad_prompt]).is_err());
}

#[test]
fn quantized_decoder_runs_and_mostly_agrees() {
    let q = T2s::load_with(
        &fx("t2s_tiny_a.model"),
        &Device::Cpu,
        T2sOptions {
            dtype: DType::F32,
            quantize: true,
        },
    )
    .unwrap();
    assert!(q.is_quantized());
    let f = T2s::load(&fx("t2s_tiny_a.model"), &Device::Cpu, DType::F32).unwrap();
    let r = reference("t2s_tiny_a");
    let case = &r["cases"][2]; // the large-margin case
    let got = q.generate(&[greedy_request(case)]).unwrap().remove(0);
    let want = f.generate(&[greedy_request(case)]).unwrap().remove(0);
    assert_eq!(want.tokens, ref_tokens(case));
    let agree = got.tokens.iter().zip(&want.tokens).take_while(|(a, b)| a == b).count();
    eprintln!(
        "q8_0 greedy agrees with f32 for the first {agree} of {} tokens",
        want.tokens.len()
    );
    assert!(agree >= 16);
    let _ = Tensor::zeros(1, DType::F32, &Device::Cpu);
}

#[test]
fn library_conversion_gives_the_same_model() {
    // `.model` → library safetensors (model manager conversion) → identical logits and greedy tokens
    let home = tempfile::tempdir().unwrap();
    let lib = ws_book::models::Library::new(home.path());
    for name in ["t2s_tiny_a", "t2s_tiny_b_old"] {
        let e = lib
            .convert(&fx(&format!("{name}.model")), None, name, "test", false)
            .unwrap();
        assert_eq!(e.kind, ws_book::models::ModelKind::T2s);
        let m = T2s::load(&e.weights(), &Device::Cpu, DType::F32).unwrap();
        assert!(check_logits(&m, name) <= 1e-4);
        check_greedy(&m, name);
    }
}
