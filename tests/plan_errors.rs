//! Bad input: every case is a clear error naming the file and the problem, a non-zero exit, no panic.

use std::path::{Path, PathBuf};
use std::process::Command;

fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

/// Runs `ws-book plan FILE`; returns (exit code, stderr).
fn plan(file: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ws-book"))
        .arg("plan")
        .arg(file)
        .output()
        .expect("run ws-book");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

fn expect_error(file: &Path, needles: &[&str]) -> String {
    let (code, err) = plan(file);
    assert_ne!(code, 0, "expected failure, stderr: {err}");
    let name = file.file_name().expect("name").to_string_lossy().into_owned();
    assert!(err.contains(&name), "error does not name {name}: {err}");
    for n in needles {
        assert!(err.contains(n), "error lacks {n:?}: {err}");
    }
    err
}

#[test]
fn unknown_key_names_line_column_and_suggests() {
    let d = tempfile::tempdir().expect("tempdir");
    write(d.path(), "b.md", "# A\n\nText.\n");
    let y = write(
        d.path(),
        "project.yaml",
        "title: T\nmanuscripts: [b.md]\ncharacter:\n  alice: {}\n",
    );
    let err = expect_error(
        &y,
        &[
            "project.yaml:3:",
            "unknown field `character`",
            "did you mean `characters`?",
        ],
    );
    assert_eq!(plan(&y).0, 2, "{err}");
    let y2 = write(
        d.path(),
        "nested.yaml",
        "manuscripts: [b.md]\nchunking:\n  max_byte: 300\n",
    );
    expect_error(&y2, &["nested.yaml:3:", "`max_byte`", "did you mean `max_bytes`?"]);
}

#[test]
fn wrong_type_missing_file_unknown_language() {
    let d = tempfile::tempdir().expect("tempdir");
    write(d.path(), "b.md", "# A\n\nText.\n");
    let y = write(
        d.path(),
        "types.yaml",
        "manuscripts: [b.md]\nrender:\n  workers: many\n",
    );
    expect_error(&y, &["types.yaml:3:"]);
    let y = write(d.path(), "missing.yaml", "manuscripts:\n  - nope.md\n");
    expect_error(&y, &["missing.yaml:2:", "manuscript `nope.md` does not exist"]);
    let y = write(d.path(), "lang.yaml", "language: english-ish\nmanuscripts: [b.md]\n");
    expect_error(&y, &["lang.yaml:1:", "unknown language `english-ish`"]);
    let y = write(
        d.path(),
        "lang2.yaml",
        "language: en\nlanguages: [pll]\nmanuscripts: [b.md]\n",
    );
    expect_error(&y, &["lang2.yaml:2:", "unknown language `pll`", "did you mean `pl`?"]);
    let y = write(d.path(), "fmt.yaml", "manuscripts: [b.md]\noutput:\n  formats: [m4a]\n");
    expect_error(&y, &["fmt.yaml:3:", "unknown format `m4a`", "did you mean `m4b`?"]);
    let y = write(
        d.path(),
        "alias.yaml",
        "manuscripts: [b.md]\ncharacters:\n  a: { aliases: [Bo] }\n  b: { aliases: [bo] }\n",
    );
    expect_error(&y, &["alias.yaml:", "used by both"]);
}

#[test]
fn span_language_outside_the_99_falls_back_with_one_warning() {
    let d = tempfile::tempdir().expect("tempdir");
    let span = write(
        d.path(),
        "span.md",
        "# A\n\nHello <span lang=\"klingon\">nuqneH</span>. Again <span lang=\"klingon\">Qapla'</span>.\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ws-book"))
        .args(["plan", "--json"])
        .arg(&span)
        .output()
        .expect("run ws-book");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(|w| w.as_str())
        .filter(|w| w.contains("klingon"))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning per code: {warnings:?}");
    assert!(
        warnings[0].contains("span.md")
            && warnings[0].contains("surrounding language `en`")
            && warnings[0].contains("nuqneH"),
        "{}",
        warnings[0]
    );
    let runs = &v["chapters"][0]["chunks"][1]["runs"];
    assert!(
        runs.as_array().expect("runs").iter().all(|r| r["lang"] == "en"),
        "{runs}"
    );
}

#[test]
fn languages_map_keys_are_tags_and_values_known_codes() {
    let d = tempfile::tempdir().expect("tempdir");
    write(d.path(), "b.md", "# A\n\nText.\n");
    let y = write(
        d.path(),
        "map.yaml",
        "language: en\nmanuscripts: [b.md]\nlanguages_map:\n  grc: el\n  sco: enn\n",
    );
    expect_error(
        &y,
        &[
            "map.yaml:5:8",
            "`languages_map.sco`: unknown language `enn`",
            "did you mean `en`?",
        ],
    );
    let y = write(
        d.path(),
        "key.yaml",
        "manuscripts: [b.md]\nlanguages_map: { \"not a tag\": el }\n",
    );
    expect_error(&y, &["key.yaml:2:", "`not a tag` is not a language tag"]);
    // project.yaml's own languages stay strict, even with a map.
    let y = write(
        d.path(),
        "strict.yaml",
        "language: grc\nmanuscripts: [b.md]\nlanguages_map: { grc: el }\n",
    );
    expect_error(&y, &["strict.yaml:1:", "unknown language `grc`"]);
}

#[test]
fn yaml_bomb_and_huge_file_are_refused_quickly() {
    let d = tempfile::tempdir().expect("tempdir");
    let mut bomb = String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
        .iter()
        .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
    {
        bomb.push_str(&format!(
            "{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
    }
    let y = write(d.path(), "bomb.yaml", &bomb);
    let t = std::time::Instant::now();
    expect_error(&y, &["bomb.yaml", "budget"]);
    assert!(t.elapsed().as_secs() < 20, "the bomb took {:?}", t.elapsed());
    let big = d.path().join("big.yaml");
    let f = std::fs::File::create(&big).expect("create");
    f.set_len(100 << 20).expect("100 MB");
    expect_error(&big, &["must be under"]);
}

#[test]
fn bad_manuscripts() {
    let d = tempfile::tempdir().expect("tempdir");
    let bin = write(d.path(), "latin1.md", b"# Caf\xe9\n\nText.\n");
    expect_error(&bin, &["not UTF-8"]);
    // A span language outside the 99 is no longer an error: see `span_language_outside_the_99_falls_back`.
    let odd = write(d.path(), "book.docx", "x");
    expect_error(&odd, &["unsupported manuscript type `.docx`"]);
    let fm = write(d.path(), "fm.md", "---\ntitle: [unclosed\n---\n# A\n\nText.\n");
    expect_error(&fm, &["front matter"]);
    let (code, err) = plan(&d.path().join("absent.md"));
    assert_ne!(code, 0);
    assert!(err.contains("absent.md"), "{err}");
}

#[test]
fn empty_chapter_is_a_warning() {
    let d = tempfile::tempdir().expect("tempdir");
    let b = write(d.path(), "b.md", "# Empty\n\n# Full\n\nText here.\n");
    let out = Command::new(env!("CARGO_BIN_EXE_ws-book"))
        .arg("plan")
        .arg(&b)
        .output()
        .expect("run");
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("warning: the chapter has no text besides its title"), "{s}");
}

#[test]
fn init_copies_the_template_which_plans() {
    let d = tempfile::tempdir().expect("tempdir");
    let dir = d.path().join("proj");
    let st = Command::new(env!("CARGO_BIN_EXE_ws-book"))
        .arg("init")
        .arg(&dir)
        .status()
        .expect("run");
    assert!(st.success());
    let (code, err) = plan(&dir.join("project.yaml"));
    assert_eq!(code, 0, "{err}");
    let again = Command::new(env!("CARGO_BIN_EXE_ws-book"))
        .arg("init")
        .arg(&dir)
        .output()
        .expect("run");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
}
