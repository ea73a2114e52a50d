//! The restricted checkpoint reader: formats, dtypes, strided storages, hostile and damaged files.

mod parity_support;

use candle_core::{DType, Device};
use parity_support::{fx, max_abs, max_abs_diff};
use ws_book::engine::whisperspeech::checkpoint::{self, CheckpointError, LoadOptions};

#[test]
fn reads_config_tunables_and_state_dict() {
    let ck = checkpoint::load(&fx("t2s_tiny_a.model"), &Device::Cpu, LoadOptions::default()).unwrap();
    let cfg = ck.get("config").unwrap();
    assert_eq!(cfg["depth"], 2);
    assert_eq!(cfg["ttoks_width"], 12);
    assert_eq!(cfg["stoks_codes"], 33);
    assert_eq!(ck.get("tunables").unwrap()["padding_token_offset"], 0);
    assert!((ck.get("tunables").unwrap()["output_mult"].as_f64().unwrap() - 0.35).abs() < 1e-12);
    let t = ck.tensor("embeddings.embedding.emb_to_hidden.weight").unwrap();
    assert_eq!(t.dims(), &[32, 8]);
    assert_eq!(t.dtype(), DType::F32);
    assert_eq!(ck.tensor("encoder.positional_embedding").unwrap().dims(), &[64, 32]);
    // sinusoid buffer row 1: sin(1·inv[0]) = sin(1)
    let row1 = ck
        .tensor("encoder.positional_embedding")
        .unwrap()
        .get(1)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert!((row1[0] - 1f32.sin()).abs() < 1e-6 && (row1[16] - 1f32.cos()).abs() < 1e-6);
    assert!(ck.tensor("no.such.tensor").is_err());
    // the old-format file has no padding_token_offset
    let old = checkpoint::load(&fx("t2s_tiny_b_old.model"), &Device::Cpu, LoadOptions::default()).unwrap();
    assert!(old.get("tunables").unwrap().get("padding_token_offset").is_none());
}

#[test]
fn safetensors_and_json_match_the_pickle() {
    let a = checkpoint::load(&fx("t2s_tiny_a.model"), &Device::Cpu, LoadOptions::default()).unwrap();
    let b = checkpoint::load(&fx("t2s_tiny_a.safetensors"), &Device::Cpu, LoadOptions::default()).unwrap();
    assert_eq!(a.tensors.len(), b.tensors.len());
    for (k, t) in &a.tensors {
        assert_eq!(max_abs_diff(t, b.tensor(k).unwrap()), 0.0, "{k}");
    }
    assert_eq!(a.get("config"), b.get("config"));
    assert_eq!(b.get("format").unwrap(), "whisperspeech-t2s");
}

#[test]
fn half_precision_files_load_as_f32() {
    let f32_ = checkpoint::load(&fx("t2s_tiny_b_old.model"), &Device::Cpu, LoadOptions::default()).unwrap();
    for (file, tol) in [
        ("t2s_tiny_b_old_fp16.model", 1e-3f32),
        ("t2s_tiny_b_old_bf16.model", 8e-3),
    ] {
        let h = checkpoint::load(&fx(file), &Device::Cpu, LoadOptions::default()).unwrap();
        assert_eq!(h.tensors.len(), f32_.tensors.len());
        for (k, t) in &f32_.tensors {
            let u = h.tensor(k).unwrap();
            assert_eq!(u.dtype(), DType::F32);
            // relative rounding of a half-precision format
            let scale = max_abs(t).max(1.0);
            let d = max_abs_diff(t, u);
            assert!(d <= tol * scale, "{file} {k}: {d}");
        }
    }
}

#[test]
fn plain_state_dict_with_views_and_shared_storage() {
    let ck = checkpoint::load(&fx("plain_state_dict.bin"), &Device::Cpu, LoadOptions::default()).unwrap();
    let base: Vec<f32> = (0..12).map(|x| x as f32).collect();
    let shared = ck.tensor("shared_a").unwrap();
    assert_eq!(shared.dims(), &[3, 4]);
    assert_eq!(shared.flatten_all().unwrap().to_vec1::<f32>().unwrap(), base);
    // base.t(): size (4,3) stride (1,4)
    let strided = ck.tensor("strided").unwrap();
    assert_eq!(strided.dims(), &[4, 3]);
    assert_eq!(strided.to_vec2::<f32>().unwrap()[1], vec![1.0, 5.0, 9.0]);
    assert_eq!(
        ck.tensor("offset_view").unwrap().to_vec1::<f32>().unwrap(),
        vec![5.0, 6.0, 7.0, 8.0]
    );
    assert!(ck.tensor("decoder.layers.0.attn.query.weight").is_ok());
}

#[test]
fn malicious_pickle_is_rejected_naming_the_global() {
    let err = checkpoint::load(&fx("malicious.model"), &Device::Cpu, LoadOptions::default()).unwrap_err();
    assert!(matches!(err, CheckpointError::ForbiddenGlobal { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("posix.system"), "{msg}");
    assert!(msg.contains("malicious.model"), "{msg}");
}

#[test]
fn truncated_and_non_checkpoint_files_are_clear_errors() {
    let err = checkpoint::load(&fx("truncated.model"), &Device::Cpu, LoadOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("truncated.model") && msg.contains("truncated or damaged"),
        "{msg}"
    );
    let err = checkpoint::load(&fx("t2s_tiny_a.ref.json"), &Device::Cpu, LoadOptions::default()).unwrap_err();
    assert!(matches!(err, CheckpointError::Zip { .. }), "{err:?}");
    let err = checkpoint::load(&fx("does-not-exist.model"), &Device::Cpu, LoadOptions::default()).unwrap_err();
    assert!(matches!(err, CheckpointError::Io { .. }), "{err:?}");
}

/// Rewrites the data.pkl of a real checkpoint and returns the error (or success) of loading it.
fn load_with_pickle(pkl: &[u8]) -> Result<checkpoint::Checkpoint, CheckpointError> {
    load_with_pickle_from("t2s_tiny_a.model", pkl)
}

fn read_pickle(file: &str) -> Vec<u8> {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(std::fs::File::open(fx(file)).unwrap()).unwrap();
    let name = z
        .file_names()
        .map(|n| n.unwrap().to_string())
        .find(|n| n.ends_with("data.pkl"))
        .unwrap();
    let mut pkl = Vec::new();
    z.by_name(&name).unwrap().read_to_end(&mut pkl).unwrap();
    pkl
}

fn load_with_pickle_from(file: &str, pkl: &[u8]) -> Result<checkpoint::Checkpoint, CheckpointError> {
    use std::io::{Read, Write};
    let src = std::fs::File::open(fx(file)).unwrap();
    let mut zin = zip::ZipArchive::new(src).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.model");
    let mut zout = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).unwrap();
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        zout.start_file(name.as_str(), opts).unwrap();
        zout.write_all(if name.ends_with("data.pkl") { pkl } else { &buf })
            .unwrap();
    }
    zout.finish().unwrap();
    checkpoint::load(&path, &Device::Cpu, LoadOptions::default())
}

#[test]
fn hostile_pickles_never_panic() {
    let pkl = read_pickle("t2s_tiny_a.model");
    // every prefix of the real pickle fails cleanly
    for cut in (0..pkl.len()).step_by(97) {
        assert!(load_with_pickle(&pkl[..cut]).is_err());
    }
    // byte flips: errors or (rarely) a different but valid object, never a panic
    for i in (2..pkl.len()).step_by(211) {
        let mut p = pkl.clone();
        p[i] ^= 0x5a;
        let _ = load_with_pickle(&p);
    }
    // a view whose offset reaches past its storage: offset_view is (storage of 12, offset 5, size (4,))
    let plain = read_pickle("plain_state_dict.bin");
    assert!(load_with_pickle_from("plain_state_dict.bin", &plain).is_ok());
    let needle = b"K\x05K\x04\x85";
    let at = plain.windows(needle.len()).position(|w| w == needle).unwrap();
    let mut bad = plain.clone();
    bad[at + 1] = 10;
    let err = load_with_pickle_from("plain_state_dict.bin", &bad)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("offset_view") && err.contains("beyond the storage"),
        "{err}"
    );
    // builtins.eval via STACK_GLOBAL
    let evil = b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x011\x85R.";
    let err = load_with_pickle(evil).unwrap_err().to_string();
    assert!(err.contains("builtins.eval"), "{err}");
    // deep nesting and huge lengths
    let mut deep = b"\x80\x02".to_vec();
    deep.extend(std::iter::repeat_n(b'(', 100_000));
    deep.push(b'.');
    assert!(load_with_pickle(&deep).is_err());
    assert!(load_with_pickle(b"\x80\x02X\xff\xff\xff\xff").is_err());
    // a million nested tuples (and lists): an error, not a stack overflow when dropped
    let mut nested = b"\x80\x02N".to_vec();
    nested.extend(std::iter::repeat_n(0x85u8, 1_000_000));
    nested.push(b'.');
    assert!(load_with_pickle(&nested).is_err());
    let mut nested = b"\x80\x02N".to_vec();
    for _ in 0..300_000 {
        nested.extend_from_slice(b"]q\x00"); // EMPTY_LIST, BINPUT 0
    }
    // APPEND: each list goes into the one below it
    nested.extend(std::iter::repeat_n(b'a', 300_000));
    nested.push(b'.');
    let _ = load_with_pickle(&nested);
    assert!(load_with_pickle(b"\x80\x02\x8d\xff\xff\xff\xff\xff\xff\xff\xff").is_err());
}
