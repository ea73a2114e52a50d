//! `scripts/gpu-check.sh` on the CPU path (`--device cpu --quick`, the debug binary): it writes
//! gpu-check.json with the promised fields and gpu-check.md, exits 0 when parity holds and 1 when a fixture
//! disagrees, refuses a bad device (2) and says why CUDA is unavailable in a CPU build.

mod render_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use render_support::bin;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check(out: &Path, extra: &[&str]) -> Output {
    Command::new(root().join("scripts/gpu-check.sh"))
        .current_dir(root())
        .args(["--device", "cpu", "--quick", "--bin", bin(), "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_cpu_device_check_writes_its_report_and_fails_on_a_parity_mismatch() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("report");
    let o = check(&out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("gpu-check.json")).unwrap()).unwrap();
    assert_eq!(v["device"], "cpu", "{v}");
    assert_eq!(v["parity"]["ok"], true, "{v}");
    assert!(v["parity"]["checks"].as_array().unwrap().len() >= 4, "{v}");
    assert_eq!(v["parity"]["batch_independent"], true, "{v}");
    let e = &v["engine"];
    assert!(e["batch1_rtf"].as_f64().unwrap() > 0.0, "{v}");
    assert!(e["auto_rtf"].as_f64().unwrap() > 0.0, "{v}");
    assert_eq!(e["auto_batch"], 8, "the CPU's auto batch: {v}");
    for s in ["t2s", "s2a", "vocos"] {
        assert!(v["stages"][s]["batch1"].as_f64().unwrap() > 0.0, "{s}: {v}");
    }
    let md = std::fs::read_to_string(out.join("gpu-check.md")).unwrap();
    assert!(md.contains("Parity: **ok**") && md.contains("| 8 (auto) |"), "{md}");

    // a fixture whose reference tokens are off by one: parity fails, exit 1, the report still written
    let fx = d.path().join("fixtures");
    std::fs::create_dir_all(fx.join("vocos_tiny")).unwrap();
    let src = root().join("tests/fixtures/whisperspeech");
    for f in std::fs::read_dir(&src).unwrap() {
        let p = f.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, fx.join(p.file_name().unwrap())).unwrap();
        }
    }
    for f in ["pytorch_model.bin", "config.yaml", "reference.safetensors"] {
        std::fs::copy(src.join("vocos_tiny").join(f), fx.join("vocos_tiny").join(f)).unwrap();
    }
    let refp = fx.join("t2s_tiny_a.ref.json");
    let mut r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&refp).unwrap()).unwrap();
    let t = &mut r["cases"][0]["tokens"][0];
    *t = serde_json::json!((t.as_u64().unwrap() + 1) % 32);
    std::fs::write(&refp, r.to_string()).unwrap();
    let bad = d.path().join("bad");
    let models = out.join("models");
    let fxs = fx.display().to_string();
    let ms = models.display().to_string();
    let o = check(
        &bad,
        &[
            "--",
            "--fixtures",
            &fxs,
            "--models",
            &ms,
            "--tokens",
            "4",
            "--chunks",
            "1",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let md = std::fs::read_to_string(bad.join("gpu-check.md")).unwrap();
    assert!(
        md.contains("Parity: **FAILED**") && md.contains("5/6 cases identical to the reference"),
        "{md}"
    );
}

#[test]
fn bad_devices_are_refused_with_the_reason() {
    let d = tempfile::tempdir().unwrap();
    let o = Command::new(root().join("scripts/gpu-check.sh"))
        .current_dir(root())
        .args(["--device", "tpu", "--bin", bin()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("--device must be cuda, cuda:N or cpu"),
        "{}",
        text(&o)
    );
    let o = Command::new(bin())
        .current_dir(root())
        .args(["debug", "device-check", "--device", "cuda", "--quick", "--out"])
        .arg(d.path())
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    if !cfg!(feature = "cuda") {
        assert!(
            text(&o).contains("build has no CUDA support") && text(&o).contains("--device cpu"),
            "{}",
            text(&o)
        );
    }
}
