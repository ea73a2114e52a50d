//! The model manager against a local stand-in for the hub: fetch, resume after a cut connection, checksum
//! mismatch, 404/401 explained, offline mode without connections, and fetch → convert → engine load.

mod hub_support;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use hub_support::{fx, model_hub, sha256_hex, FakeHub, COMMIT};
use ws_book::models::hub::NoProgress;
use ws_book::models::{Fetch, Hub, HubConfig, HubError, Library, ModelsError, Resolver};

fn cfg(hub: &FakeHub, cache: &std::path::Path) -> HubConfig {
    HubConfig {
        endpoint: hub.url.clone(),
        token: None,
        cache: cache.to_path_buf(),
        offline: false,
        attempts: 3,
    }
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 256) as u8).collect()
}

#[test]
fn fetches_lfs_and_git_files_into_the_hub_cache_layout() {
    let hub = FakeHub::start();
    let big = payload(300_000);
    hub.add("org/models", "t2s.model", big.clone(), true);
    hub.add("org/models", "config.yaml", b"a: 1\n".to_vec(), false);
    let dir = tempfile::tempdir().unwrap();
    let h = Hub::new(cfg(&hub, dir.path()));
    let p = h.fetch("org/models", "t2s.model", "main", &mut NoProgress).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), big);
    assert_eq!(
        p,
        dir.path()
            .join(format!("models--org--models/snapshots/{COMMIT}/t2s.model"))
    );
    assert!(dir
        .path()
        .join(format!("models--org--models/blobs/{}", sha256_hex(&big)))
        .is_file());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("models--org--models/refs/main")).unwrap(),
        COMMIT
    );
    let c = h.fetch("org/models", "config.yaml", "main", &mut NoProgress).unwrap();
    assert_eq!(std::fs::read(&c).unwrap(), b"a: 1\n");
    // a second fetch asks for the version (HEAD) but downloads nothing
    let gets_before = hub.requests().iter().filter(|r| r.starts_with("GET")).count();
    h.fetch("org/models", "t2s.model", "main", &mut NoProgress).unwrap();
    let gets_after = hub.requests().iter().filter(|r| r.starts_with("GET")).count();
    assert_eq!(gets_before, gets_after);
    assert_eq!(h.cached("org/models", "t2s.model", "main"), Some(p));
}

#[test]
fn a_cut_connection_resumes_with_a_range_request() {
    let hub = FakeHub::start();
    let big = payload(500_000);
    hub.add("org/models", "s2a.model", big.clone(), true);
    hub.state.lock().unwrap().cut_after = Some((123_456, 1));
    let dir = tempfile::tempdir().unwrap();
    let p = Hub::new(cfg(&hub, dir.path()))
        .fetch("org/models", "s2a.model", "main", &mut NoProgress)
        .unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), big);
    let reqs = hub.requests();
    assert!(
        reqs.iter()
            .any(|r| r.starts_with("GET /cdn/") && r.ends_with("bytes=123456-")),
        "no resumed request in {reqs:?}"
    );
}

#[test]
fn a_partial_download_is_kept_and_resumed_by_the_next_run() {
    let hub = FakeHub::start();
    let big = payload(400_000);
    hub.add("org/models", "s2a.model", big.clone(), true);
    hub.state.lock().unwrap().cut_after = Some((100_000, 1));
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(&hub, dir.path());
    c.attempts = 1;
    let err = Hub::new(c.clone())
        .fetch("org/models", "s2a.model", "main", &mut NoProgress)
        .unwrap_err();
    assert!(matches!(err, HubError::Network { .. }), "{err}");
    assert!(err.to_string().contains("resumes"), "{err}");
    let part = dir
        .path()
        .join(format!("models--org--models/blobs/{}.incomplete", sha256_hex(&big)));
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 100_000);
    let before = hub.requests().len();
    let p = Hub::new(c)
        .fetch("org/models", "s2a.model", "main", &mut NoProgress)
        .unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), big);
    // the second run downloads only the rest: one ranged GET, no full one
    let gets: Vec<String> = hub.requests()[before..]
        .iter()
        .filter(|r| r.starts_with("GET /cdn/"))
        .cloned()
        .collect();
    assert_eq!(gets.len(), 1, "{gets:?}");
    assert!(gets[0].ends_with("bytes=100000-"), "{gets:?}");
    assert!(!part.exists());
}

#[test]
fn a_checksum_mismatch_is_rejected_and_nothing_is_kept() {
    let hub = FakeHub::start();
    hub.add("org/models", "bad.model", payload(10_000), true);
    hub.add("org/models", "bad.yaml", b"x: 2\n".to_vec(), false);
    {
        let mut g = hub.state.lock().unwrap();
        g.files.get_mut("org/models/bad.model").unwrap().wrong_etag = Some("ab".repeat(32));
        g.files.get_mut("org/models/bad.yaml").unwrap().wrong_etag = Some("cd".repeat(20));
    }
    let dir = tempfile::tempdir().unwrap();
    let h = Hub::new(cfg(&hub, dir.path()));
    for f in ["bad.model", "bad.yaml"] {
        let err = h.fetch("org/models", f, "main", &mut NoProgress).unwrap_err();
        assert!(matches!(err, HubError::Checksum { .. }), "{err}");
        assert!(err.to_string().contains("checksum mismatch"));
    }
    let blobs: Vec<_> = std::fs::read_dir(dir.path().join("models--org--models/blobs"))
        .unwrap()
        .collect();
    assert!(blobs.is_empty(), "kept {blobs:?}");
    assert!(h.cached("org/models", "bad.model", "main").is_none());
}

#[test]
fn not_found_and_unauthorized_are_explained() {
    let hub = FakeHub::start();
    hub.add("org/models", "a.model", payload(10), true);
    hub.add("private/models", "p.model", payload(1000), true);
    hub.state.lock().unwrap().token = Some("hf_secret".into());
    let dir = tempfile::tempdir().unwrap();
    let h = Hub::new(cfg(&hub, dir.path()));
    let e = h
        .fetch("org/models", "missing.model", "main", &mut NoProgress)
        .unwrap_err();
    assert!(e.to_string().contains("HTTP 404: EntryNotFound"), "{e}");
    let e = h
        .fetch("nobody/nothing", "a.model", "main", &mut NoProgress)
        .unwrap_err();
    assert!(e.to_string().contains("RepoNotFound"), "{e}");
    let e = h
        .fetch("private/models", "p.model", "main", &mut NoProgress)
        .unwrap_err();
    assert!(matches!(e, HubError::Unauthorized { .. }));
    assert!(e.to_string().contains("HF_TOKEN"), "{e}");
    // a gated repository answers 403 even with a token: the message says to accept its terms
    hub.add("gated/models", "g.model", payload(100), true);
    let e = h.fetch("gated/models", "g.model", "main", &mut NoProgress).unwrap_err();
    assert!(matches!(e, HubError::Forbidden { .. }), "{e:?}");
    assert!(
        e.to_string().contains("HTTP 403") && e.to_string().contains("gated"),
        "{e}"
    );
    let mut c = cfg(&hub, dir.path());
    c.token = Some("hf_secret".into());
    let p = Hub::new(c)
        .fetch("private/models", "p.model", "main", &mut NoProgress)
        .unwrap();
    assert_eq!(std::fs::read(p).unwrap(), payload(1000));
}

#[test]
fn offline_mode_makes_no_connection() {
    let hub = FakeHub::start();
    hub.add("org/models", "t2s.model", payload(5000), true);
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(&hub, dir.path());
    c.offline = true;
    let e = Hub::new(c.clone())
        .fetch("org/models", "t2s.model", "main", &mut NoProgress)
        .unwrap_err();
    assert!(matches!(e, HubError::Offline { .. }));
    assert!(
        e.to_string().contains("ws-book models fetch org/models:t2s.model"),
        "{e}"
    );
    assert_eq!(hub.connections.load(Ordering::SeqCst), 0);
    // once cached (online), offline mode serves the cache without connecting
    Hub::new(cfg(&hub, dir.path()))
        .fetch("org/models", "t2s.model", "main", &mut NoProgress)
        .unwrap();
    let before = hub.connections.load(Ordering::SeqCst);
    let p = Hub::new(c)
        .fetch("org/models", "t2s.model", "main", &mut NoProgress)
        .unwrap();
    assert_eq!(std::fs::read(p).unwrap(), payload(5000));
    assert_eq!(hub.connections.load(Ordering::SeqCst), before);
}

#[test]
fn engine_models_are_fetched_converted_and_loadable() {
    let hub = model_hub();
    let dir = tempfile::tempdir().unwrap();
    let res = Resolver::new(
        Library::new(dir.path().join("models")),
        Hub::new(cfg(&hub, &dir.path().join("hub"))),
    );
    let settings: BTreeMap<String, String> = [("preset".to_string(), "tiny".to_string())].into();
    // not present and not allowed to fetch: one error naming every missing model
    let e = res.engine_models(&settings, dir.path(), Fetch::Never).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ModelsError::Missing(..)));
    for r in [
        "collabora/whisperspeech:t2s-tiny-en+pl.model",
        "collabora/whisperspeech:s2a-q4-tiny-en+pl.model",
        "charactr/vocos-encodec-24khz",
    ] {
        assert!(msg.contains(r), "{msg}");
    }
    assert!(msg.contains("ws-book models import"), "{msg}");
    assert_eq!(hub.connections.load(Ordering::SeqCst), 0);

    let paths = res.engine_models(&settings, dir.path(), Fetch::Allow).unwrap();
    assert!(
        paths.t2s.ends_with("models/t2s-tiny-en+pl/model.safetensors"),
        "{paths:?}"
    );
    assert!(paths
        .vocos_config
        .as_ref()
        .unwrap()
        .ends_with("vocos-encodec-24khz/config.yaml"));
    let engine = ws_book::engine::whisperspeech::WhisperSpeechEngine::load(&paths, &candle_core::Device::Cpu).unwrap();
    drop(engine);
    let lib = Library::new(dir.path().join("models"));
    let names: Vec<String> = lib.entries().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["s2a-q4-tiny-en+pl", "t2s-tiny-en+pl", "vocos-encodec-24khz"]);
    let t2s = lib.get("t2s-tiny-en+pl").unwrap();
    assert_eq!(t2s.source, "collabora/whisperspeech:t2s-tiny-en+pl.model");
    assert_eq!(
        t2s.sources[0].sha256,
        sha256_hex(&std::fs::read(fx("t2s_tiny_a.model")).unwrap())
    );
    ws_book::models::library::verify_entry(&t2s).unwrap();

    // later resolutions use the library only: no connection
    let before = hub.connections.load(Ordering::SeqCst);
    let again = res.engine_models(&settings, dir.path(), Fetch::Allow).unwrap();
    assert_eq!(again, paths);
    assert_eq!(hub.connections.load(Ordering::SeqCst), before);
}

#[test]
fn conversion_round_trip_keeps_tensors_and_config() {
    let dir = tempfile::tempdir().unwrap();
    let lib = Library::new(dir.path());
    let dev = candle_core::Device::Cpu;
    let opts = ws_book::engine::whisperspeech::checkpoint::LoadOptions::default();
    for f in [
        "t2s_tiny_a.model",
        "t2s_tiny_b_old_fp16.model",
        "s2a_tiny_cond.model",
        "vocos_tiny/pytorch_model.bin",
    ] {
        let name = f.replace(['/', '.'], "_");
        let e = lib.convert(&fx(f), None, &name, f, false).unwrap();
        let a = ws_book::engine::whisperspeech::checkpoint::load(&fx(f), &dev, opts).unwrap();
        let b = ws_book::engine::whisperspeech::checkpoint::load(&e.weights(), &dev, opts).unwrap();
        assert_eq!(a.meta, b.meta, "{f}: config differs");
        assert_eq!(a.tensors.len(), b.tensors.len());
        for (k, t) in &a.tensors {
            let u = &b.tensors[k];
            assert_eq!(t.dims(), u.dims(), "{f} {k}");
            assert_eq!(t.dtype(), u.dtype(), "{f} {k}");
            let d = t
                .to_dtype(candle_core::DType::F64)
                .unwrap()
                .sub(&u.to_dtype(candle_core::DType::F64).unwrap())
                .unwrap()
                .abs()
                .unwrap()
                .flatten_all()
                .unwrap()
                .max(0)
                .unwrap()
                .to_scalar::<f64>()
                .unwrap();
            assert_eq!(d, 0.0, "{f} {k}");
        }
        // converting the same file again keeps the entry; a different file under the name is refused
        assert_eq!(lib.convert(&fx(f), None, &name, f, false).unwrap().digest, e.digest);
    }
    let e = lib
        .convert(&fx("s2a_tiny_a.model"), None, "t2s_tiny_a_model", "x", false)
        .unwrap_err();
    assert!(e.to_string().contains("already in the library"), "{e}");
    // the malicious pickle is refused and leaves nothing behind
    assert!(lib.convert(&fx("malicious.model"), None, "evil", "x", false).is_err());
    assert!(lib.get("evil").is_none());
    assert!(!dir.path().join("evil").exists());
}
