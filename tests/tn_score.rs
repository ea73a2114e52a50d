//! The verbaliser against written → spoken test suites: NVIDIA NeMo-text-processing's per-class test
//! cases for en, de, es, fr, it (Apache-2.0, copied under `benches/tn/`, see `benches/tn/NOTICE.md`) and
//! our own Polish suite (`benches/tn/pl/`). Prints the exact-match rate per language and class and fails
//! when a language drops below its target.
//!
//! Comparison after a light canonicalisation that does not change what is read: lowercase, hyphens and
//! dashes as spaces, the punctuation `. , ; : ! ? " ' ( ) « » „ “ ” ’` removed, whitespace collapsed;
//! for German and Italian, whose compound numerals are one word ("dreiundzwanzig", "centocinquantacinque")
//! while NeMo writes them spaced ("drei und zwanzig"), spaces are removed too, and Italian final-vowel
//! accents are dropped (NeMo writes "ventitre" for "ventitré").
//!
//! `TN_FAILS=de cargo test --test tn_score -- --nocapture` lists the failing cases of one language.

use std::collections::BTreeMap;
use std::path::Path;

use ws_book::manuscript::normalize::normalize;

/// Classes outside the scope (postal addresses, maths, markup): reported, not counted.
const NOT_SCORED: &[&str] = &["address", "math", "special_text"];

/// Minimum exact-match rate per language over the scored classes.
const TARGETS: &[(&str, f64)] = &[
    ("en", 0.90),
    ("pl", 0.90),
    ("de", 0.75),
    ("fr", 0.75),
    ("es", 0.75),
    ("it", 0.75),
];

fn canon(s: &str, lang: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.to_lowercase().chars() {
        match c {
            '-' | '–' | '—' => out.push(' '),
            '.' | ',' | ';' | ':' | '!' | '?' | '"' | '\'' | '(' | ')' | '«' | '»' | '„' | '“' | '”' | '’' => {
            }
            'é' | 'è' if lang == "it" => out.push('e'),
            'ò' | 'ó' if lang == "it" => out.push('o'),
            'à' if lang == "it" => out.push('a'),
            'ù' if lang == "it" => out.push('u'),
            'ì' if lang == "it" => out.push('i'),
            c => out.push(c),
        }
    }
    let joined = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if lang == "de" || lang == "it" {
        joined.replace(' ', "")
    } else {
        joined
    }
}

struct Case {
    written: String,
    spoken: Vec<String>,
}

fn load(lang: &str) -> BTreeMap<String, Vec<Case>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/tn").join(lang);
    let mut out = BTreeMap::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("suite dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for p in files {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let Some(class) = name.strip_prefix("test_cases_").and_then(|n| n.strip_suffix(".txt")) else {
            continue;
        };
        let text = std::fs::read_to_string(&p).unwrap();
        let mut cases = Vec::new();
        for line in text.lines() {
            let parts: Vec<&str> = line.split('~').collect();
            if parts.len() < 2 || line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            // NeMo's German files are written spoken~written (its tests call `test_norm(expected, input)`).
            let (written, spoken) = if lang == "de" {
                (parts[1].to_string(), vec![parts[0].to_string()])
            } else {
                (parts[0].to_string(), parts[1..].iter().map(|s| s.to_string()).collect())
            };
            if written.trim().is_empty() {
                continue;
            }
            cases.push(Case { written, spoken });
        }
        out.insert(class.to_string(), cases);
    }
    out
}

#[test]
fn exact_match_rates_meet_targets() {
    let show = std::env::var("TN_FAILS").unwrap_or_default();
    let mut report = String::from("| language | class | cases | exact | rate |\n|---|---|---:|---:|---:|\n");
    let mut below = Vec::new();
    for &(lang, target) in TARGETS {
        let (mut n, mut ok) = (0usize, 0usize);
        for (class, cases) in load(lang) {
            let mut c_ok = 0;
            for c in &cases {
                let got = canon(&normalize(&c.written, lang), lang);
                if c.spoken.iter().any(|s| canon(s, lang) == got) {
                    c_ok += 1;
                } else if show == lang || show == format!("{lang}:{class}") {
                    println!(
                        "FAIL {lang}/{class}: {:?}\n   got  {:?}\n   want {:?}",
                        c.written,
                        normalize(&c.written, lang),
                        c.spoken[0]
                    );
                }
            }
            let scored = !NOT_SCORED.contains(&class.as_str());
            if scored {
                n += cases.len();
                ok += c_ok;
            }
            let note = if scored { "" } else { " (not scored)" };
            report.push_str(&format!(
                "| {lang} | {class}{note} | {} | {c_ok} | {:.0} % |\n",
                cases.len(),
                100.0 * c_ok as f64 / cases.len().max(1) as f64
            ));
        }
        let rate = ok as f64 / n.max(1) as f64;
        report.push_str(&format!(
            "| **{lang}** | **all scored** | {n} | {ok} | **{:.1} %** |\n",
            100.0 * rate
        ));
        if rate < target {
            below.push(format!("{lang}: {:.1} % < {:.0} %", 100.0 * rate, 100.0 * target));
        }
    }
    println!("{report}");
    assert!(below.is_empty(), "exact-match rates below target: {below:?}\n{report}");
}
