//! S2A parity with the reference Python implementation (fixtures from
//! `tests/fixtures/make_s2a_vocos_fixtures.py`): teacher-forced logits, greedy generation with the delay pattern
//! and acoustic prompt, un-delay lengths, the conditioned variant, safetensors loading, batching and sampling.

mod parity_support;

use candle_core::{DType, Device, Tensor};
use parity_support::{fx, max_abs_diff};
use serde_json::Value;
use ws_book::engine::whisperspeech::s2a::{output_frames, S2a, S2aRequest};

fn load(file: &str) -> S2a {
    S2a::load(&fx(file), &Device::Cpu, DType::F32).unwrap()
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap() as u32)
        .collect()
}

struct Ref {
    stoks: Vec<Vec<u32>>,
    atoks: Vec<Vec<Vec<u32>>>,
    speakers: Vec<Vec<f32>>,
    logits: Tensor,
    cases: Value,
}

fn reference(name: &str) -> Ref {
    let st = candle_core::safetensors::load(fx(&format!("{name}.ref.safetensors")), &Device::Cpu).unwrap();
    let ids = |t: &Tensor| -> Vec<u32> { t.to_vec1::<i64>().unwrap().into_iter().map(|x| x as u32).collect() };
    let atoks = st["atoks"]
        .to_vec3::<i64>()
        .unwrap()
        .into_iter()
        .map(|g| {
            g.into_iter()
                .map(|r| r.into_iter().map(|x| x as u32).collect())
                .collect()
        })
        .collect();
    let json: Value = serde_json::from_str(&std::fs::read_to_string(fx(&format!("{name}.ref.json"))).unwrap()).unwrap();
    Ref {
        stoks: vec![ids(&st["stoks0"]), ids(&st["stoks1"])],
        atoks,
        speakers: st["speakers"].to_vec2::<f32>().unwrap(),
        logits: st["logits"].clone(),
        cases: json["generate"].clone(),
    }
}

fn check_logits(model: &S2a, name: &str) {
    let r = reference(name);
    let got = model.logits(&r.stoks, &r.speakers, &r.atoks).unwrap();
    let d = max_abs_diff(&got, &r.logits);
    eprintln!("{name}: teacher-forced logits max |Δ| = {d:e}");
    assert!(d <= 1e-4, "{name}: logits differ by {d}");
}

fn greedy(model: &S2a, r: &Ref, case: &Value) -> S2aRequest {
    let prompt = case["prompt"].as_array().map(|p| p.iter().map(u32s).collect());
    let req = S2aRequest {
        stoks: u32s(&case["stoks"]),
        speaker: r.speakers[case["speaker"].as_u64().unwrap() as usize].clone(),
        temperature: 0.0,
        top_k: None,
        seed: 0,
        prompt,
    };
    assert_eq!(req.speaker.len(), model.speaker_width());
    req
}

fn check_generate(model: &S2a, name: &str) {
    let r = reference(name);
    let cases = r.cases.as_array().unwrap();
    let reqs: Vec<S2aRequest> = cases.iter().map(|c| greedy(model, &r, c)).collect();
    // one by one, then all in one batch
    let batched = model.generate(&reqs).unwrap();
    for (i, (case, req)) in cases.iter().zip(&reqs).enumerate() {
        let want: Vec<Vec<u32>> = case["atoks"].as_array().unwrap().iter().map(u32s).collect();
        let got = model.generate(std::slice::from_ref(req)).unwrap().remove(0);
        assert_eq!(got.len(), 4);
        assert_eq!(
            got[0].len(),
            3 * req.stoks.len() - 4,
            "{name} case {i}: un-delayed length"
        );
        assert_eq!(got[0].len(), output_frames(req.stoks.len()));
        assert!(got[0].len() >= 47);
        assert_eq!(got, want, "{name} case {i}: greedy tokens differ from the reference");
        assert_eq!(batched[i], want, "{name} case {i}: batched greedy tokens differ");
    }
}

#[test]
fn plain_model_logits_match_reference() {
    check_logits(&load("s2a_tiny_a.model"), "s2a_tiny_a");
}

#[test]
fn plain_model_greedy_generation_matches_reference() {
    let m = load("s2a_tiny_a.model");
    assert!(!m.is_conditioned());
    check_generate(&m, "s2a_tiny_a");
}

#[test]
fn safetensors_copy_matches_reference() {
    let m = load("s2a_tiny_a.safetensors");
    check_logits(&m, "s2a_tiny_a");
    check_generate(&m, "s2a_tiny_a");
}

#[test]
fn projected_widths_match_reference() {
    let m = load("s2a_tiny_b_proj.model");
    assert_ne!(m.config.atoks_width, m.config.width());
    assert_ne!(m.config.stoks_width, m.config.width());
    check_logits(&m, "s2a_tiny_b_proj");
    check_generate(&m, "s2a_tiny_b_proj");
}

#[test]
fn conditioned_variant_is_detected_and_matches_reference() {
    let m = load("s2a_tiny_cond.model");
    assert!(m.is_conditioned());
    check_logits(&m, "s2a_tiny_cond");
    check_generate(&m, "s2a_tiny_cond");
}

#[test]
fn sampling_is_seeded_per_request_and_never_emits_specials() {
    let m = load("s2a_tiny_a.model");
    let r = reference("s2a_tiny_a");
    let req = |seed| S2aRequest {
        temperature: 1.5,
        ..S2aRequest::new(r.stoks[1].clone(), r.speakers[0].clone(), seed)
    };
    let alone = m.generate(&[req(7)]).unwrap().remove(0);
    let batch = m.generate(&[req(1), req(7), req(2), req(3)]).unwrap();
    assert_eq!(batch[1], alone, "a request's tokens must not depend on its batch mates");
    assert_ne!(batch[0], batch[1]);
    assert_eq!(m.generate(&[req(7)]).unwrap().remove(0), alone);
    for out in &batch {
        assert!(out.iter().flatten().all(|&t| t < 1024), "special id emitted");
        assert_eq!(out[3].len(), 3 * r.stoks[1].len() - 4);
    }
}

#[test]
fn bad_requests_are_rejected() {
    let m = load("s2a_tiny_a.model");
    let spk = vec![0.5f32; 192];
    let too_long = S2aRequest::new(vec![1; m.config.stoks_len], spk.clone(), 0);
    assert!(m.generate(&[too_long]).unwrap_err().to_string().contains("at most"));
    let bad_tok = S2aRequest::new(vec![m.config.stoks_codes as u32], spk.clone(), 0);
    assert!(m.generate(&[bad_tok]).is_err());
    let bad_spk = S2aRequest::new(vec![1, 2, 3], vec![1.0; 10], 0);
    assert!(m.generate(&[bad_spk]).unwrap_err().to_string().contains("speaker"));
    let bad_prompt = S2aRequest {
        prompt: Some(vec![vec![1024; 3]; 4]),
        ..S2aRequest::new(vec![1, 2, 3, 4], spk, 0)
    };
    assert!(m.generate(&[bad_prompt]).is_err());
}

#[test]
fn library_conversion_gives_the_same_model() {
    // `.model` → library safetensors (model manager conversion) → identical logits and greedy tokens
    let home = tempfile::tempdir().unwrap();
    let lib = ws_book::models::Library::new(home.path());
    for name in ["s2a_tiny_a", "s2a_tiny_cond"] {
        let e = lib
            .convert(&fx(&format!("{name}.model")), None, name, "test", false)
            .unwrap();
        assert_eq!(e.kind, ws_book::models::ModelKind::S2a);
        let m = S2a::load(&e.weights(), &Device::Cpu, DType::F32).unwrap();
        check_logits(&m, name);
        check_generate(&m, name);
    }
}
