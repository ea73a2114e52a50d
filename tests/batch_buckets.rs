//! Length-bucketed batches never change a chunk's audio: at the published widths (random weights, `tiny`
//! T2S and S2A, the real-size Vocos) each request gives the same tokens and the same samples, bit for bit,
//! alone and in the length-bucketed batches a worker forms — greedy and sampled; and a render with the
//! default `batch_size: auto` gives the same audio as batch 1, with one worker or three.

mod render_support;

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use render_support::{bin, files};
use ws_book::engine::whisperspeech::layers::row_independent_matmul;
use ws_book::engine::whisperspeech::random::{self, Size};
use ws_book::engine::whisperspeech::WhisperSpeechEngine;
use ws_book::engine::{GenParams, Run, SynthRequest, VoiceSpec};
use ws_book::worker::{expected_seconds, length_buckets};

fn req(text: &str, seed: u64, temperature: f64) -> SynthRequest {
    SynthRequest {
        key: format!("k{seed}"),
        runs: vec![Run {
            text: text.into(),
            lang: "en".into(),
        }],
        voice: VoiceSpec {
            name: "default".into(),
            embedding: None,
        },
        speaker: "narrator".into(),
        seed,
        params: GenParams {
            cps: 15.0,
            temperature,
            top_k: None,
        },
    }
}

#[test]
fn a_single_row_matmul_has_the_bits_of_the_same_row_in_a_batch() {
    // the published widths: 384 (tiny), 512 (base), 768 (small), their 4× MLPs, the 513-way unembedding
    for (k, n) in [(384, 1152), (512, 2048), (768, 768), (2048, 512), (512, 513)] {
        let w = Tensor::randn(0f32, 1.0, (n, k), &Device::Cpu).unwrap();
        let x = Tensor::randn(0f32, 1.0, (9, k), &Device::Cpu).unwrap();
        let rows = |m: usize| {
            row_independent_matmul(&x.narrow(0, 0, m).unwrap(), &w)
                .unwrap()
                .to_vec2::<f32>()
                .unwrap()
        };
        let alone = rows(1);
        for m in [2, 3, 8, 9] {
            assert!(
                rows(m)[0] == alone[0],
                "k {k} n {n}: row 0 alone differs from row 0 of {m}"
            );
        }
    }
}

#[test]
fn t2s_decoder_logits_of_a_row_are_the_same_bits_alone_and_in_a_batch() {
    use ws_book::engine::whisperspeech::{T2s, T2sOptions};
    let ck = random::t2s(Size::Tiny, &Device::Cpu).unwrap();
    let m = T2s::from_checkpoint(&ck, &Device::Cpu, T2sOptions::default()).unwrap();
    let row = |t: &str| (vec![(t.to_string(), 0usize)], 15.0f32);
    let sot = vec![m.eos()];
    // one decoder step (one token per row), the shape of every generation step
    let alone = m.logits(&[row("Hello world.")], std::slice::from_ref(&sot)).unwrap();
    let batch = m
        .logits(
            &[row("Other text."), row("Hello world."), row("A third one")],
            &[sot.clone(), sot.clone(), sot],
        )
        .unwrap();
    let a = alone.to_vec3::<f32>().unwrap();
    let b = batch.to_vec3::<f32>().unwrap();
    assert!(a[0] == b[1], "a row's logits depend on its batch mates");
}

#[test]
fn bucketed_batches_give_every_chunk_its_solo_tokens_and_audio_at_the_published_width() {
    let dir = tempfile::tempdir().unwrap();
    random::write_models(dir.path(), &[Size::Tiny]).unwrap();
    let paths = random::model_paths(dir.path(), Size::Tiny, Size::Tiny);
    let mut e = WhisperSpeechEngine::load(&paths, &Device::Cpu).unwrap();
    e.max_stoks = Some(10);
    let texts = [
        "A long sentence that goes on for a while, with a clause or two.",
        "Short.",
        "A middle-sized sentence here.",
        "Tiny.",
        "Another fairly long sentence, about as long as the first one is.",
        "Mid length words again.",
    ];
    for temperature in [0.0, 0.7] {
        let reqs: Vec<SynthRequest> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| req(t, 11 + i as u64, temperature))
            .collect();
        let solo: Vec<_> = reqs
            .iter()
            .map(|r| e.synthesize_with_tokens(std::slice::from_ref(r)).unwrap())
            .collect();
        let buckets = length_buckets(reqs.clone(), 4, expected_seconds);
        assert_eq!(buckets.iter().map(Vec::len).collect::<Vec<_>>(), [4, 2]);
        for bucket in buckets {
            let (audio, tokens) = e.synthesize_with_tokens(&bucket).unwrap();
            for ((r, a), t) in bucket.iter().zip(&audio).zip(&tokens) {
                let i = reqs.iter().position(|x| x.key == r.key).unwrap();
                assert_eq!(
                    t,
                    &solo[i].1[0],
                    "T={temperature}: tokens of `{}` depend on its batch",
                    r.text()
                );
                assert!(
                    a.samples == solo[i].0[0].samples,
                    "T={temperature}: audio of `{}` differs from its solo render",
                    r.text()
                );
                assert!(!a.samples.is_empty());
            }
        }
    }
}

fn fx(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/whisperspeech")
        .join(name)
}

/// A one-chapter project of 12 paragraphs (12 chunks) of different lengths on the tiny fixtures.
fn project(dir: &Path) -> PathBuf {
    let paras: Vec<String> = (0..12)
        .map(|i| "Word. ".repeat(1 + (i * 5) % 7) + &format!("Part {}.", (b'a' + i as u8) as char))
        .collect();
    std::fs::write(dir.join("book.md"), format!("# One\n\n{}\n", paras.join("\n\n"))).unwrap();
    let yaml = dir.join("project.yaml");
    std::fs::write(
        &yaml,
        format!(
            "title: Batches\nauthor: Test\nlanguage: en\nmanuscripts:\n  - book.md\nengine:\n  name: whisperspeech\n  \
             models:\n    t2s: {}\n    s2a: {}\n    vocos: {}\noutput:\n  formats: [opus]\nrender:\n  seed: 5\n  \
             device: cpu\n",
            fx("t2s_tiny_a.model").display(),
            fx("s2a_tiny_a.model").display(),
            fx("vocos_tiny/pytorch_model.bin").display()
        ),
    )
    .unwrap();
    yaml
}

/// Renders a fresh copy of the project with `extra` flags; returns the decoded PCM of its one output.
fn render_pcm(extra: &[&str]) -> Vec<u8> {
    let d = tempfile::tempdir().unwrap();
    let yaml = project(d.path());
    let out = std::process::Command::new(bin())
        .args(["render", &yaml.display().to_string(), "--progress", "quiet"])
        .args(extra)
        .env("WS_BOOK_HOME", d.path().join("home"))
        .env_remove("WS_BOOK_FAIL_CHUNKS")
        .env_remove("WS_BOOK_CHUNK_DELAY_MS")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let opus = files(&d.path().join("out"), "opus");
    assert_eq!(opus.len(), 1);
    let o = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&opus[0])
        .args(["-f", "f32le", "-"])
        .output()
        .unwrap();
    assert!(o.status.success() && !o.stdout.is_empty());
    o.stdout
}

#[test]
fn the_default_auto_batch_renders_the_audio_of_batch_one_with_any_number_of_workers() {
    let batch1 = render_pcm(&["--batch-size", "1"]);
    let auto = render_pcm(&[]);
    assert!(auto == batch1, "the default (auto) batch changed the audio of batch 1");
    let three = render_pcm(&["--workers", "3"]);
    assert!(
        three == batch1,
        "three workers with the default batch changed the audio"
    );
    let odd = render_pcm(&["--workers", "2", "--batch-size", "5"]);
    assert!(odd == batch1, "two workers with batch 5 changed the audio");
}

#[test]
fn a_failing_chunk_in_a_bucketed_batch_fails_alone() {
    let d = tempfile::tempdir().unwrap();
    let yaml = project(d.path());
    // one chunk fails (the testing hook fails a whole batch holding it): the worker returns the batch and the
    // rest of its window, then goes on one chunk at a time, so only that chunk ends up failed
    let out = std::process::Command::new(bin())
        .args(["render", &yaml.display().to_string(), "--progress", "quiet", "--json"])
        .env("WS_BOOK_HOME", d.path().join("home"))
        .env("WS_BOOK_FAIL_CHUNKS", "Part c.")
        .env_remove("WS_BOOK_CHUNK_DELAY_MS")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed = v["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{v:#}");
    assert!(
        failed[0]["error"].as_str().unwrap().contains("injected failure"),
        "{v:#}"
    );
    assert_eq!(v["chunks"]["synthesized"], 12, "{v:#}");
}
