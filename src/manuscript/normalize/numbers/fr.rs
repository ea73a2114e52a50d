//! French.
use super::{Form, Gender};

pub(super) const ONES: [&str; 20] = [
    "zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze", "douze", "treize",
    "quatorze", "quinze", "seize", "dix-sept", "dix-huit", "dix-neuf",
];
const TENS: [&str; 7] = ["", "", "vingt", "trente", "quarante", "cinquante", "soixante"];

fn below_100(r: u64, last: bool) -> String {
    match r {
        0..=19 => ONES[r as usize].into(),
        20..=69 => {
            let (t, o) = (TENS[(r / 10) as usize], r % 10);
            match o {
                0 => t.into(),
                1 => format!("{t} et un"),
                _ => format!("{t}-{}", ONES[o as usize]),
            }
        }
        70..=79 => match r - 60 {
            11 => "soixante et onze".into(),
            x => format!("soixante-{}", ONES[x as usize]),
        },
        _ => match r - 80 {
            0 if last => "quatre-vingts".into(),
            0 => "quatre-vingt".into(),
            x => format!("quatre-vingt-{}", ONES[x as usize]),
        },
    }
}

fn below_1000(t: u64, last: bool) -> String {
    let (h, r) = (t / 100, t % 100);
    let mut s = String::new();
    if h > 0 {
        if h > 1 {
            s.push_str(ONES[h as usize]);
            s.push(' ');
        }
        s.push_str(if h > 1 && r == 0 && last { "cents" } else { "cent" });
    }
    if r > 0 {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(&below_100(r, last));
    }
    s
}

/// Cardinal: 181 → "cent quatre-vingt-un"; feminine "une".
pub fn cardinal(n: u64, f: Form) -> String {
    if n == 0 {
        return "zéro".into();
    }
    let ts = super::triplets(n);
    let scales = [
        ("", ""),
        ("mille", "mille"),
        ("million", "millions"),
        ("milliard", "milliards"),
    ];
    if ts.len() > scales.len() {
        return n.to_string();
    }
    let mut parts = Vec::new();
    for (i, &t) in ts.iter().enumerate().rev() {
        if t == 0 {
            continue;
        }
        match i {
            0 => parts.push(below_1000(t, true)),
            1 if t == 1 => parts.push("mille".into()),
            1 => parts.push(format!("{} mille", below_1000(t, false))),
            _ => {
                let (sg, pl) = scales[i];
                parts.push(format!("{} {}", below_1000(t, true), if t == 1 { sg } else { pl }));
            }
        }
    }
    let mut s = parts.join(" ");
    if f.gender == Gender::F && (s.ends_with(" un") || s == "un") {
        s.push('e');
    }
    s
}

/// Ordinal: 1 → "premier"/"première", 21 → "vingt et unième", 80 → "quatre-vingtième".
pub fn ordinal(n: u64, f: Form) -> String {
    if n == 1 {
        return if f.gender == Gender::F { "première" } else { "premier" }.into();
    }
    let c = cardinal(n, Form::default());
    let c = c
        .strip_suffix('s')
        .filter(|s| s.ends_with("vingt") || s.ends_with("cent") || s.ends_with("illion") || s.ends_with("illiard"))
        .map(str::to_string)
        .unwrap_or(c);
    let stem = if let Some(s) = c.strip_suffix("cinq") {
        format!("{s}cinqu")
    } else if let Some(s) = c.strip_suffix("neuf") {
        format!("{s}neuv")
    } else if let Some(s) = c.strip_suffix('e') {
        s.to_string()
    } else {
        c
    };
    format!("{stem}ième")
}
