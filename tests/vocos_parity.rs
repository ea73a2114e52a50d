//! Vocos parity with the reference `vocos.Vocos` (reduced-width random-weight fixture from
//! `tests/fixtures/make_s2a_vocos_fixtures.py`), config loading and input validation.

use std::path::PathBuf;

use candle_core::Device;
use ws_book::engine::whisperspeech::vocos::{Vocos, VocosConfig};

fn fx(name: &str) -> PathBuf {
    fixture("vocos_tiny", name)
}

fn fixture(dir: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/whisperspeech")
        .join(dir)
        .join(name)
}

fn reference() -> (Vec<Vec<Vec<u32>>>, Vec<Vec<f32>>) {
    reference_of("vocos_tiny", "")
}

/// Codes `[b][Q][L]` and reference audio `[b][hop·L]` (tensors `codes{suffix}`, `audio{suffix}`).
fn reference_of(dir: &str, suffix: &str) -> (Vec<Vec<Vec<u32>>>, Vec<Vec<f32>>) {
    let st = candle_core::safetensors::load(fixture(dir, "reference.safetensors"), &Device::Cpu).unwrap();
    let codes = st[&format!("codes{suffix}")]
        .to_vec3::<i64>()
        .unwrap()
        .into_iter()
        .map(|g| {
            g.into_iter()
                .map(|r| r.into_iter().map(|x| x as u32).collect())
                .collect()
        })
        .collect();
    (codes, st[&format!("audio{suffix}")].to_vec2::<f32>().unwrap())
}

fn rel_err(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len());
    let peak = want.iter().fold(0f32, |m, x| m.max(x.abs()));
    assert!(peak > 0.0);
    got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max) / peak
}

#[test]
fn waveform_matches_reference_batched_and_alone() {
    let v = Vocos::load(&fx("pytorch_model.bin"), None, &Device::Cpu).unwrap();
    assert_eq!(v.config.dim, 64);
    let (codes, want) = reference();
    let got = v.decode(&codes).unwrap();
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.len(), 320 * codes[i][0].len());
        let e = rel_err(g, w);
        eprintln!("row {i}: waveform max |Δ| / peak = {e:e}");
        assert!(e <= 1e-4, "row {i}: relative error {e}");
    }
    let alone = v.decode(&codes[1..]).unwrap();
    assert!(rel_err(&alone[0], &want[1]) <= 1e-4);
}

/// Another shape: width 32, MLP 96, 2 blocks, 4-wide features, n_fft 512 / hop 128, at Q = 8 and Q = 16.
#[test]
fn another_configuration_matches_reference_at_8_and_16_quantizers() {
    let v = Vocos::load(&fixture("vocos_other", "pytorch_model.bin"), None, &Device::Cpu).unwrap();
    assert_eq!((v.config.dim, v.config.n_fft, v.config.hop_length), (32, 512, 128));
    for (suffix, q) in [("", 8), ("_q16", 16)] {
        let (codes, want) = reference_of("vocos_other", suffix);
        assert_eq!(codes[0].len(), q);
        let got = v.decode(&codes).unwrap();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g.len(), 128 * codes[i][0].len());
            let e = rel_err(g, w);
            eprintln!("Q={q} row {i}: waveform max |Δ| / peak = {e:e}");
            assert!(e <= 1e-4, "Q={q} row {i}: relative error {e}");
        }
    }
}

#[test]
fn config_is_read_as_yaml_or_json() {
    let yaml = VocosConfig::from_file(&fx("config.yaml")).unwrap();
    assert_eq!(
        (yaml.input_channels, yaml.intermediate_dim, yaml.num_layers),
        (8, 192, 3)
    );
    assert_eq!((yaml.n_fft, yaml.hop_length), (1280, 320));
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("config.json");
    std::fs::write(
        &json,
        r#"{"backbone":{"init_args":{"input_channels":8,"dim":64,"intermediate_dim":192,"num_layers":3}},
            "head":{"init_args":{"dim":64,"n_fft":1280,"hop_length":320,"padding":"same"}}}"#,
    )
    .unwrap();
    assert_eq!(VocosConfig::from_file(&json).unwrap(), yaml);
    // a config that disagrees with the weights is an error naming the tensor
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"backbone":{"init_args":{"input_channels":8,"dim":64,"num_layers":3}}}"#,
    )
    .unwrap();
    let err = Vocos::load(&fx("pytorch_model.bin"), Some(&bad), &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("pwconv1"), "{err}");
    let center = dir.path().join("center.yaml");
    std::fs::write(&center, "head:\n  init_args:\n    padding: center\n").unwrap();
    assert!(VocosConfig::from_file(&center).is_err());
}

#[test]
fn invalid_codes_are_rejected() {
    let v = Vocos::load(&fx("pytorch_model.bin"), None, &Device::Cpu).unwrap();
    assert!(v
        .decode(&[vec![vec![1024; 5]; 4]])
        .unwrap_err()
        .to_string()
        .contains("1024"));
    assert!(v
        .decode(&[vec![vec![1; 5]; 3]])
        .unwrap_err()
        .to_string()
        .contains("quantizers"));
    assert!(v
        .decode(&[vec![vec![1; 5], vec![1; 4], vec![1; 5], vec![1; 5]]])
        .is_err());
}
