//! `ws-book debug normalize` (lines on stdin → spoken lines or JSON spans) and `plan`'s warnings about
//! tokens left with digits or symbols after normalisation.

use std::io::Write;
use std::process::{Command, Stdio};

fn debug_normalize(args: &[&str], input: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ws-book"))
        .args(["debug", "normalize"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ws-book");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn one_spoken_line_per_input_line() {
    let out = debug_normalize(&["--lang", "en"], "£3.50\nHenry VIII\n\nplain words\n");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text, "three pounds fifty\nHenry the Eighth\n\nplain words\n");
    let out = debug_normalize(&["--lang", "Polish"], "W 1990 r. kupiłam 2 bilety za 12,50 zł.\n");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "W tysiąc dziewięćset dziewięćdziesiątym roku kupiłam dwa bilety za dwanaście złotych pięćdziesiąt groszy.\n"
    );
}

#[test]
fn json_gives_spans_with_their_class() {
    let out = debug_normalize(&["--lang", "de", "--json"], "am 3. Oktober um 14:30 Uhr\n");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["spoken"], "am dritten Oktober um vierzehn Uhr dreißig");
    let spans = v["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[0]["class"], "date");
    assert_eq!(spans[0]["start"], 3);
    assert_eq!(spans[0]["spoken"], "dritten Oktober");
    assert_eq!(spans[1]["class"], "time");
}

#[test]
fn unknown_language_is_a_clear_error() {
    let out = debug_normalize(&["--lang", "xx"], "1\n");
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("unknown language `xx`"), "{err}");
}

#[test]
fn plan_warns_about_tokens_left_with_symbols() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("b.md"),
        "# One\n\nSee § 12 and § 14 for the 3 cats.\n\n# Two\n\nThe ™ sign.\n",
    )
    .unwrap();
    std::fs::write(d.join("p.yaml"), "manuscripts: [b.md]\n").unwrap();
    let (_, plan) = ws_book::plan::load_and_plan(&d.join("p.yaml")).expect("plans");
    let w: Vec<&String> = plan.warnings.iter().filter(|w| w.contains("read as written")).collect();
    assert_eq!(w.len(), 2, "{:?}", plan.warnings);
    assert!(
        w[0].contains("b.md") && w[0].contains("chapter 1") && w[0].contains("`§`") && w[0].contains("2 times"),
        "{}",
        w[0]
    );
    assert!(w[1].contains("chapter 2") && w[1].contains("`™`"), "{}", w[1]);
    let text: String = plan.chapters[0]
        .chunks
        .iter()
        .flat_map(|c| &c.runs)
        .map(|r| r.text.as_str())
        .collect();
    assert!(text.contains("three cats") && text.contains("twelve"), "{text}");
}
