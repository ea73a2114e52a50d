//! Italian: compound numerals written as one word below a million.
use super::{Form, Gender};

pub(super) const ONES: [&str; 20] = [
    "zero",
    "uno",
    "due",
    "tre",
    "quattro",
    "cinque",
    "sei",
    "sette",
    "otto",
    "nove",
    "dieci",
    "undici",
    "dodici",
    "tredici",
    "quattordici",
    "quindici",
    "sedici",
    "diciassette",
    "diciotto",
    "diciannove",
];
const TENS: [&str; 10] = [
    "",
    "",
    "venti",
    "trenta",
    "quaranta",
    "cinquanta",
    "sessanta",
    "settanta",
    "ottanta",
    "novanta",
];

fn below_100(r: u64) -> String {
    if r < 20 {
        return ONES[r as usize].into();
    }
    let (t, o) = (TENS[(r / 10) as usize], r % 10);
    match o {
        0 => t.into(),
        1 | 8 => format!("{}{}", &t[..t.len() - 1], ONES[o as usize]),
        3 => format!("{t}tré"),
        _ => format!("{t}{}", ONES[o as usize]),
    }
}

fn below_1000(t: u64) -> String {
    let (h, r) = (t / 100, t % 100);
    let mut s = String::new();
    if h > 0 {
        if h > 1 {
            s.push_str(ONES[h as usize]);
        }
        s.push_str("cento");
    }
    if r > 0 {
        let w = below_100(r);
        if h > 0 && w.starts_with('o') {
            s.pop(); // "centottanta", "centotto"
        }
        if h > 0 && r == 3 {
            s.push_str("tré");
        } else {
            s.push_str(&w);
        }
    }
    s
}

/// Cardinal: 155 → "centocinquantacinque", 1_034_500 → "un milione trentaquattromilacinquecento".
pub fn cardinal(n: u64, f: Form) -> String {
    if n == 0 {
        return "zero".into();
    }
    let ts = super::triplets(n);
    let scales = [
        ("", ""),
        ("mille", "mila"),
        ("milione", "milioni"),
        ("miliardo", "miliardi"),
    ];
    if ts.len() > scales.len() {
        return n.to_string();
    }
    let mut parts = Vec::new();
    let mut small = String::new();
    for (i, &t) in ts.iter().enumerate().rev() {
        if t == 0 {
            continue;
        }
        match i {
            0 => small.push_str(&below_1000(t)),
            1 if t == 1 => small.push_str("mille"),
            1 => {
                small.push_str(&below_1000(t));
                small.push_str("mila");
            }
            _ => {
                let (sg, pl) = scales[i];
                parts.push(if t == 1 {
                    format!("un {sg}")
                } else {
                    format!("{} {pl}", below_1000(t))
                });
            }
        }
    }
    if !small.is_empty() {
        parts.push(small);
    }
    let mut s = parts.join(" ");
    if f.attributive && s.ends_with("uno") {
        s.truncate(s.len() - 1);
        if f.gender == Gender::F {
            s.push('a');
        }
    }
    s
}

/// Ordinal: 3 → "terzo", 23 → "ventitreesimo"; feminine in `-a`.
pub fn ordinal(n: u64, f: Form) -> String {
    const SMALL: [&str; 11] = [
        "zeresimo", "primo", "secondo", "terzo", "quarto", "quinto", "sesto", "settimo", "ottavo", "nono", "decimo",
    ];
    let s = if n <= 10 {
        SMALL[n as usize].to_string()
    } else {
        let c = cardinal(n, Form::default()).replace("tré", "tre");
        if c.ends_with("tre") || c.ends_with("sei") {
            format!("{c}esimo")
        } else if let Some(x) = c.strip_suffix("mila") {
            format!("{x}millesimo")
        } else {
            format!("{}esimo", &c[..c.len() - c.chars().last().map_or(0, char::len_utf8)])
        }
    };
    match s.strip_suffix('o') {
        Some(x) if f.gender == Gender::F => format!("{x}a"),
        _ => s,
    }
}
