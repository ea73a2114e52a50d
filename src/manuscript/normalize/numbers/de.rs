//! German: compound numerals written as one word below a million.
use super::{Case, Form, Gender};

pub(super) const ONES: [&str; 20] = [
    "null",
    "eins",
    "zwei",
    "drei",
    "vier",
    "fünf",
    "sechs",
    "sieben",
    "acht",
    "neun",
    "zehn",
    "elf",
    "zwölf",
    "dreizehn",
    "vierzehn",
    "fünfzehn",
    "sechzehn",
    "siebzehn",
    "achtzehn",
    "neunzehn",
];
const TENS: [&str; 10] = [
    "", "", "zwanzig", "dreißig", "vierzig", "fünfzig", "sechzig", "siebzig", "achtzig", "neunzig",
];
const SCALES: [(&str, &str); 6] = [
    ("", ""),
    ("tausend", "tausend"),
    ("Million", "Millionen"),
    ("Milliarde", "Milliarden"),
    ("Billion", "Billionen"),
    ("Billiarde", "Billiarden"),
];

/// 0–999 as one word; `final_one` decides "eins" (at the end) or "ein" (before a noun or scale).
fn below_1000(t: u64, final_one: &str) -> String {
    let (h, r) = (t / 100, t % 100);
    let mut s = String::new();
    if h > 0 {
        s.push_str(if h == 1 { "ein" } else { ONES[h as usize] });
        s.push_str("hundert");
    }
    match r {
        0 => {}
        1 => s.push_str(final_one),
        2..=19 => s.push_str(ONES[r as usize]),
        _ => {
            let o = r % 10;
            if o > 0 {
                s.push_str(if o == 1 { "ein" } else { ONES[o as usize] });
                s.push_str("und");
            }
            s.push_str(TENS[(r / 10) as usize]);
        }
    }
    s
}

/// Cardinal: 123 → "einhundertdreiundzwanzig", 2_000_003 → "zwei Millionen drei".
pub fn cardinal(n: u64, f: Form) -> String {
    if n == 0 {
        return "null".into();
    }
    let ts = super::triplets(n);
    if ts.len() > SCALES.len() {
        return n.to_string();
    }
    let mut parts: Vec<String> = Vec::new();
    let mut small = String::new(); // the part below a million, one word
    for (i, &t) in ts.iter().enumerate().rev() {
        if t == 0 {
            continue;
        }
        match i {
            0 => {
                let one = match (f.attributive, f.gender) {
                    (false, _) => "eins",
                    (true, Gender::F) => "eine",
                    (true, _) => "ein",
                };
                small.push_str(&below_1000(t, one));
            }
            1 => {
                small.push_str(&below_1000(t, "ein"));
                small.push_str("tausend");
            }
            _ => {
                let (sg, pl) = SCALES[i];
                let count = if t == 1 {
                    "eine".to_string()
                } else {
                    below_1000(t, "ein")
                };
                parts.push(format!("{count} {}", if t == 1 { sg } else { pl }));
            }
        }
    }
    if !small.is_empty() {
        parts.push(small);
    }
    parts.join(" ")
}

/// Ordinal with its ending: "dritter" (strong), "dritte" (after der/die/das), "dritten" (am, dem, den).
pub fn ordinal(n: u64, f: Form) -> String {
    let stem = match n {
        0 => "nullt".to_string(),
        1 => "erst".to_string(),
        3 => "dritt".into(),
        7 => "siebt".into(),
        8 => "acht".into(),
        _ => {
            let c = cardinal(n, Form::default());
            let c = c.strip_suffix("eins").map(|s| format!("{s}erst")).unwrap_or(c);
            let c = c.strip_suffix("drei").map(|s| format!("{s}dritt")).unwrap_or(c);
            let c = c.strip_suffix("sieben").map(|s| format!("{s}siebt")).unwrap_or(c);
            let c = c.strip_suffix("acht").map(|s| format!("{s}acht")).unwrap_or(c);
            if c.ends_with("erst") || c.ends_with("dritt") || c.ends_with("siebt") || c.ends_with("acht") {
                c
            } else if n % 100 < 20 && !n.is_multiple_of(100) {
                format!("{c}t")
            } else {
                let c = c
                    .strip_suffix("en")
                    .filter(|_| n >= 1_000_000)
                    .map(str::to_string)
                    .unwrap_or(c);
                format!("{c}st")
            }
        }
    };
    let end = match (f.case, f.gender) {
        (Case::Weak, _) => "e",
        (Case::Nom, Gender::M) => "er",
        (Case::Nom, Gender::F) => "e",
        (Case::Nom, Gender::N) => "es",
        _ => "en",
    };
    format!("{stem}{end}")
}
