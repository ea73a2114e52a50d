//! The parity part of the device check: the committed reference fixtures (`tests/fixtures/whisperspeech/`)
//! run on the device. f32: greedy tokens identical to the reference and to the CPU, Vocos audio within 1e-4 of
//! the reference peak. f16 / bf16 (GPU only): teacher-forced logits within the stated tolerance of the
//! reference ([`HALF_TOLERANCE`]). Plus whether a row's logits keep their bits alone and in a batch there.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use serde::Serialize;
use serde_json::Value as Json;

use crate::engine::whisperspeech::random::{self, Size};
use crate::engine::whisperspeech::vocos::Vocos;
use crate::engine::whisperspeech::{ModelOptions, S2a, S2aRequest, T2s, T2sRequest};

/// Teacher-forced logits tolerance, max |Δ| / max |logit|: f16 2 %, bf16 6 % (bf16 keeps 8 mantissa bits).
pub const HALF_TOLERANCE: [(DType, f32); 2] = [(DType::F16, 0.02), (DType::BF16, 0.06)];

/// Vocos waveform tolerance, max |Δ| / peak (as `tests/vocos_parity.rs`).
pub const VOCOS_TOLERANCE: f32 = 1e-4;

/// One parity check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was compared.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// The measured figure (cases identical, relative error…), as a sentence.
    pub detail: String,
}

/// The parity section of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Parity {
    /// Every check passed.
    pub ok: bool,
    /// The checks in order.
    pub checks: Vec<Check>,
    /// Whether a row's T2S decoder logits have the same bits alone and in a batch of 3 on this device.
    pub batch_independent: bool,
}

type Res<T> = Result<T, String>;

fn e(what: &str) -> impl Fn(&dyn std::fmt::Display) -> String + '_ {
    move |err| format!("{what}: {err}")
}

fn read_json(p: &Path) -> Res<Json> {
    let text = std::fs::read_to_string(p).map_err(|err| format!("{}: {err}", p.display()))?;
    serde_json::from_str(&text).map_err(|err| format!("{}: {err}", p.display()))
}

fn u32s(v: &Json) -> Vec<u32> {
    v.as_array()
        .map(|a| a.iter().filter_map(Json::as_u64).map(|t| t as u32).collect())
        .unwrap_or_default()
}

fn ids(t: &Tensor) -> Res<Vec<u32>> {
    Ok(t.to_vec1::<i64>()
        .map_err(|x| x.to_string())?
        .into_iter()
        .map(|x| x as u32)
        .collect())
}

fn rel(a: &Tensor, b: &Tensor) -> Res<f32> {
    let m = |t: Tensor| -> Res<f32> {
        t.abs()
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.max(0))
            .and_then(|t| t.to_scalar::<f32>())
            .map_err(|x| x.to_string())
    };
    let a = a.to_device(&Device::Cpu).and_then(|t| t.to_dtype(DType::F32));
    let a = a.map_err(|x| x.to_string())?;
    let d = m((&a - b).map_err(|x| x.to_string())?)?;
    Ok(d / m(b.clone())?.max(1e-12))
}

/// The T2S reference cases of `name` as greedy requests, with their reference tokens.
fn t2s_cases(fixtures: &Path, name: &str) -> Res<Vec<(T2sRequest, Vec<u32>)>> {
    let r = read_json(&fixtures.join(format!("{name}.ref.json")))?;
    let cases = r["cases"].as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for c in cases {
        let runs = c["runs"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|run| {
                let code = run[1].as_str().unwrap_or("en");
                let id = crate::lang::id(code).ok_or_else(|| format!("{name}: unknown language {code}"))?;
                Ok((run[0].as_str().unwrap_or_default().to_string(), id))
            })
            .collect::<Res<Vec<_>>>()?;
        let req = T2sRequest {
            runs,
            cps: c["cps"].as_f64().unwrap_or(15.0) as f32,
            temperature: 0.0,
            top_k: None,
            seed: 0,
            max_tokens: None,
            prompt: c["prompt"].as_array().map(|_| u32s(&c["prompt"])),
        };
        out.push((req, u32s(&c["tokens"])));
    }
    Ok(out)
}

/// T2S f32: greedy tokens on the device = reference = CPU, one batch with every case.
fn t2s_f32(fixtures: &Path, name: &str, dev: &Device) -> Res<Check> {
    let path = fixtures.join(format!("{name}.model"));
    let cases = t2s_cases(fixtures, name)?;
    let reqs: Vec<T2sRequest> = cases.iter().map(|(r, _)| r.clone()).collect();
    let run = |d: &Device| -> Res<Vec<Vec<u32>>> {
        let m = T2s::load(&path, d, DType::F32).map_err(|x| e(name)(&x))?;
        let out = m.generate(&reqs).map_err(|x| e(name)(&x))?;
        Ok(out.into_iter().map(|o| o.tokens).collect())
    };
    let got = run(dev)?;
    let cpu = if dev.is_cpu() { got.clone() } else { run(&Device::Cpu)? };
    let same_ref = cases.iter().zip(&got).filter(|((_, want), g)| want == *g).count();
    let same_cpu = cpu.iter().zip(&got).filter(|(c, g)| c == g).count();
    Ok(Check {
        name: format!("t2s {name} f32 greedy"),
        ok: same_ref == cases.len() && same_cpu == cases.len(),
        detail: format!(
            "{same_ref}/{n} cases identical to the reference, {same_cpu}/{n} to the CPU",
            n = cases.len()
        ),
    })
}

/// S2A f32: greedy acoustic tokens on the device = reference = CPU.
fn s2a_f32(fixtures: &Path, name: &str, dev: &Device) -> Res<Check> {
    let st = candle_core::safetensors::load(fixtures.join(format!("{name}.ref.safetensors")), &Device::Cpu)
        .map_err(|x| e(name)(&x))?;
    let speakers = st
        .get("speakers")
        .ok_or("no speakers")?
        .to_vec2::<f32>()
        .map_err(|x| x.to_string())?;
    let r = read_json(&fixtures.join(format!("{name}.ref.json")))?;
    let cases = r["generate"].as_array().cloned().unwrap_or_default();
    let reqs: Vec<S2aRequest> = cases
        .iter()
        .map(|c| S2aRequest {
            stoks: u32s(&c["stoks"]),
            speaker: speakers[c["speaker"].as_u64().unwrap_or(0) as usize].clone(),
            temperature: 0.0,
            top_k: None,
            seed: 0,
            prompt: c["prompt"].as_array().map(|p| p.iter().map(u32s).collect()),
        })
        .collect();
    let path = fixtures.join(format!("{name}.model"));
    let run = |d: &Device| -> Res<Vec<Vec<Vec<u32>>>> {
        let m = S2a::load(&path, d, DType::F32).map_err(|x| e(name)(&x))?;
        m.generate(&reqs).map_err(|x| e(name)(&x))
    };
    let got = run(dev)?;
    let cpu = if dev.is_cpu() { got.clone() } else { run(&Device::Cpu)? };
    let want: Vec<Vec<Vec<u32>>> = cases
        .iter()
        .map(|c| {
            c["atoks"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(u32s)
                .collect()
        })
        .collect();
    let same_ref = want.iter().zip(&got).filter(|(w, g)| w == g).count();
    let same_cpu = cpu.iter().zip(&got).filter(|(c, g)| c == g).count();
    Ok(Check {
        name: format!("s2a {name} f32 greedy"),
        ok: same_ref == cases.len() && same_cpu == cases.len(),
        detail: format!(
            "{same_ref}/{n} cases identical to the reference, {same_cpu}/{n} to the CPU",
            n = cases.len()
        ),
    })
}

/// Vocos: the reference codes decoded on the device, max |Δ| / peak against the reference audio.
fn vocos_f32(fixtures: &Path, dev: &Device) -> Res<Check> {
    let dir = fixtures.join("vocos_tiny");
    let v = Vocos::load(&dir.join("pytorch_model.bin"), None, dev).map_err(|x| e("vocos")(&x))?;
    let st =
        candle_core::safetensors::load(dir.join("reference.safetensors"), &Device::Cpu).map_err(|x| e("vocos")(&x))?;
    let codes: Vec<Vec<Vec<u32>>> = st
        .get("codes")
        .ok_or("no codes")?
        .to_vec3::<i64>()
        .map_err(|x| x.to_string())?
        .into_iter()
        .map(|g| {
            g.into_iter()
                .map(|r| r.into_iter().map(|x| x as u32).collect())
                .collect()
        })
        .collect();
    let want = st.get("audio").ok_or("no audio")?.clone();
    let got = v.decode(&codes).map_err(|x| e("vocos")(&x))?;
    let n = got.first().map_or(0, Vec::len);
    let flat: Vec<f32> = got.concat();
    let got = Tensor::from_vec(flat, (codes.len(), n), &Device::Cpu).map_err(|x| x.to_string())?;
    let err = rel(&got, &want)?;
    Ok(Check {
        name: "vocos f32".into(),
        ok: err <= VOCOS_TOLERANCE,
        detail: format!("max |Δ| / peak {err:.2e} (tolerance {VOCOS_TOLERANCE:.0e})"),
    })
}

/// Teacher-forced T2S and S2A logits in `dtype` against the reference (`*.ref.safetensors`).
fn half(fixtures: &Path, dev: &Device, dtype: DType, tol: f32) -> Res<Vec<Check>> {
    let label = ModelOptions { dtype, quantize: false }.label();
    let t2s = T2s::load(&fixtures.join("t2s_tiny_a.model"), dev, dtype).map_err(|x| x.to_string())?;
    let st = candle_core::safetensors::load(fixtures.join("t2s_tiny_a.ref.safetensors"), &Device::Cpu)
        .map_err(|x| x.to_string())?;
    let stoks: Vec<Vec<u32>> = st
        .get("stoks")
        .ok_or("no stoks")?
        .to_vec2::<i64>()
        .map_err(|x| x.to_string())?
        .into_iter()
        .map(|r| r.into_iter().map(|t| t as u32).collect())
        .collect();
    let en = crate::lang::id("en").unwrap_or(0);
    let pl = crate::lang::id("pl").unwrap_or(0);
    let rows = vec![
        (vec![("Hello world.".to_string(), en)], 15.0f32),
        (
            vec![("Hello there,".to_string(), en), ("dzień dobry!".to_string(), pl)],
            7.3,
        ),
    ];
    let got = t2s.logits(&rows, &stoks).map_err(|x| x.to_string())?;
    let t_err = rel(&got, st.get("logits").ok_or("no logits")?)?;
    let s2a = S2a::load(&fixtures.join("s2a_tiny_a.model"), dev, dtype).map_err(|x| x.to_string())?;
    let sr = candle_core::safetensors::load(fixtures.join("s2a_tiny_a.ref.safetensors"), &Device::Cpu)
        .map_err(|x| x.to_string())?;
    let get = |k: &str| sr.get(k).ok_or_else(|| format!("s2a reference: no {k}"));
    let atoks: Vec<Vec<Vec<u32>>> = get("atoks")?
        .to_vec3::<i64>()
        .map_err(|x| x.to_string())?
        .into_iter()
        .map(|g| {
            g.into_iter()
                .map(|r| r.into_iter().map(|x| x as u32).collect())
                .collect()
        })
        .collect();
    let speakers = get("speakers")?.to_vec2::<f32>().map_err(|x| x.to_string())?;
    let s_stoks = vec![ids(get("stoks0")?)?, ids(get("stoks1")?)?];
    let got = s2a.logits(&s_stoks, &speakers, &atoks).map_err(|x| x.to_string())?;
    let s_err = rel(&got, get("logits")?)?;
    Ok([("t2s", t_err), ("s2a", s_err)]
        .into_iter()
        .map(|(m, err)| Check {
            name: format!("{m} {label} teacher-forced logits"),
            ok: err <= tol,
            detail: format!("max |Δ| / max |logit| {err:.2e} (tolerance {tol:.0e})"),
        })
        .collect())
}

/// Whether a row's T2S decoder-step logits (random weights at the published `tiny` width) have the same bits
/// alone and as row 1 of 3 on `dev`.
fn batch_independent(dev: &Device) -> Res<bool> {
    let ck = random::t2s(Size::Tiny, dev).map_err(|x| x.to_string())?;
    let m = T2s::from_checkpoint(&ck, dev, ModelOptions::default()).map_err(|x| x.to_string())?;
    let row = |t: &str| (vec![(t.to_string(), 0usize)], 15.0f32);
    let sot = vec![m.eos()];
    let alone = m.logits(&[row("Hello world.")], std::slice::from_ref(&sot));
    let batch = m.logits(
        &[row("Other text."), row("Hello world."), row("Third row")],
        &[sot.clone(), sot.clone(), sot],
    );
    let v = |t: Result<Tensor, crate::engine::whisperspeech::T2sError>| -> Res<Vec<Vec<Vec<f32>>>> {
        t.map_err(|x| x.to_string())?
            .to_vec3::<f32>()
            .map_err(|x| x.to_string())
    };
    Ok(v(alone)?[0] == v(batch)?[1])
}

/// Runs every parity check on `dev` (half precision only off the CPU).
pub fn run(fixtures: &Path, dev: &Device) -> Res<Parity> {
    let mut checks = vec![
        t2s_f32(fixtures, "t2s_tiny_a", dev)?,
        t2s_f32(fixtures, "t2s_tiny_c", dev)?,
        s2a_f32(fixtures, "s2a_tiny_a", dev)?,
        vocos_f32(fixtures, dev)?,
    ];
    if !dev.is_cpu() {
        for (dtype, tol) in HALF_TOLERANCE {
            checks.extend(half(fixtures, dev, dtype, tol)?);
        }
    }
    Ok(Parity {
        ok: checks.iter().all(|c| c.ok),
        checks,
        batch_independent: batch_independent(dev)?,
    })
}
