//! Spanish.
use super::{Form, Gender};

pub(super) const ONES: [&str; 30] = [
    "cero",
    "uno",
    "dos",
    "tres",
    "cuatro",
    "cinco",
    "seis",
    "siete",
    "ocho",
    "nueve",
    "diez",
    "once",
    "doce",
    "trece",
    "catorce",
    "quince",
    "dieciséis",
    "diecisiete",
    "dieciocho",
    "diecinueve",
    "veinte",
    "veintiuno",
    "veintidós",
    "veintitrés",
    "veinticuatro",
    "veinticinco",
    "veintiséis",
    "veintisiete",
    "veintiocho",
    "veintinueve",
];
const TENS: [&str; 10] = [
    "",
    "",
    "",
    "treinta",
    "cuarenta",
    "cincuenta",
    "sesenta",
    "setenta",
    "ochenta",
    "noventa",
];
const HUNDREDS: [&str; 10] = [
    "",
    "ciento",
    "doscientos",
    "trescientos",
    "cuatrocientos",
    "quinientos",
    "seiscientos",
    "setecientos",
    "ochocientos",
    "novecientos",
];

/// `one`: how a final 1 reads ("uno", "un", "una").
fn below_1000(t: u64, one: &str, fem: bool) -> String {
    let (h, r) = (t / 100, t % 100);
    let mut s = String::new();
    if h > 0 {
        let w = if t == 100 { "cien" } else { HUNDREDS[h as usize] };
        s.push_str(&if fem && h > 1 {
            format!("{}as", w.strip_suffix("os").unwrap_or(w))
        } else {
            w.to_string()
        });
    }
    if r > 0 {
        if !s.is_empty() {
            s.push(' ');
        }
        let w = match r {
            1 => one.to_string(),
            21 => match one {
                "un" => "veintiún".into(),
                "una" => "veintiuna".into(),
                _ => "veintiuno".into(),
            },
            0..=29 => ONES[r as usize].to_string(),
            _ if r % 10 == 0 => TENS[(r / 10) as usize].to_string(),
            _ => format!(
                "{} y {}",
                TENS[(r / 10) as usize],
                if r % 10 == 1 { one } else { ONES[(r % 10) as usize] }
            ),
        };
        s.push_str(&w);
    }
    s
}

/// Cardinal: 100 → "cien", 1_000_000_000 → "mil millones"; attributive/feminine "un"/"una".
pub fn cardinal(n: u64, f: Form) -> String {
    if n == 0 {
        return "cero".into();
    }
    let fem = f.gender == Gender::F;
    let one = match (fem, f.attributive) {
        (true, _) => "una",
        (false, true) => "un",
        _ => "uno",
    };
    // Millions groups of six digits: millón, billón (10^12), trillón (10^18).
    let mut parts = Vec::new();
    let units = [
        (1_000_000_000_000_000_000u64, "trillón", "trillones"),
        (1_000_000_000_000, "billón", "billones"),
        (1_000_000, "millón", "millones"),
    ];
    let mut m = n;
    for (v, sg, pl) in units {
        let q = m / v;
        if q > 0 {
            parts.push(if q == 1 {
                format!("un {sg}")
            } else {
                format!("{} {pl}", below_million(q, "un", false))
            });
            m %= v;
        }
    }
    if m > 0 {
        parts.push(below_million(m, one, fem));
    }
    parts.join(" ")
}

fn below_million(n: u64, one: &str, fem: bool) -> String {
    let (k, r) = (n / 1000, n % 1000);
    let mut s = String::new();
    if k > 0 {
        if k > 1 {
            s.push_str(&below_1000(k, if fem { "una" } else { "un" }, fem));
            s.push(' ');
        }
        s.push_str("mil");
    }
    if r > 0 {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(&below_1000(r, one, fem));
    }
    s
}

const ORD_ONES: [&str; 10] = [
    "", "primero", "segundo", "tercero", "cuarto", "quinto", "sexto", "séptimo", "octavo", "noveno",
];
const ORD_TENS: [&str; 10] = [
    "",
    "décimo",
    "vigésimo",
    "trigésimo",
    "cuadragésimo",
    "quincuagésimo",
    "sexagésimo",
    "septuagésimo",
    "octogésimo",
    "nonagésimo",
];
const ORD_HUNDREDS: [&str; 10] = [
    "",
    "centésimo",
    "ducentésimo",
    "tricentésimo",
    "cuadringentésimo",
    "quingentésimo",
    "sexcentésimo",
    "septingentésimo",
    "octingentésimo",
    "noningentésimo",
];

fn ord_below_100(r: u64) -> String {
    match r {
        11 => "undécimo".into(),
        12 => "duodécimo".into(),
        13..=19 => format!("decimo{}", ORD_ONES[(r - 10) as usize]).replace("decimooctavo", "decimoctavo"),
        21..=29 => format!("vigesimo{}", ORD_ONES[(r - 20) as usize]).replace("vigesimooctavo", "vigesimoctavo"),
        _ if r < 10 => ORD_ONES[r as usize].into(),
        _ if r.is_multiple_of(10) => ORD_TENS[(r / 10) as usize].into(),
        _ => format!("{} {}", ORD_TENS[(r / 10) as usize], ORD_ONES[(r % 10) as usize]),
    }
}

/// Ordinal: 21 → "vigesimoprimero", 134 → "centésimo trigésimo cuarto"; feminine in `-a`.
pub fn ordinal(n: u64, f: Form) -> String {
    let mut parts = Vec::new();
    let k = n / 1000;
    if k > 0 {
        parts.push(if k == 1 {
            "milésimo".to_string()
        } else {
            format!("{}milésimo", cardinal(k, Form::default().attr()).replace(' ', ""))
        });
    }
    let h = (n % 1000) / 100;
    if h > 0 {
        parts.push(ORD_HUNDREDS[h as usize].into());
    }
    let r = n % 100;
    if r > 0 {
        parts.push(ord_below_100(r));
    }
    let s = parts.join(" ");
    match (f.gender, f.attributive) {
        (Gender::F, _) => s
            .split(' ')
            .map(|w| w.strip_suffix('o').map(|x| format!("{x}a")).unwrap_or(w.into()))
            .collect::<Vec<_>>()
            .join(" "),
        (_, true) if s.ends_with("primero") || s.ends_with("tercero") => s[..s.len() - 1].to_string(),
        _ => s,
    }
}
