//! Polish: cardinals in nominative and genitive with gender for 1 and 2, ordinals in all cases.
use super::{Case, Form, Gender};

pub(super) const ONES: [&str; 20] = [
    "zero",
    "jeden",
    "dwa",
    "trzy",
    "cztery",
    "pięć",
    "sześć",
    "siedem",
    "osiem",
    "dziewięć",
    "dziesięć",
    "jedenaście",
    "dwanaście",
    "trzynaście",
    "czternaście",
    "piętnaście",
    "szesnaście",
    "siedemnaście",
    "osiemnaście",
    "dziewiętnaście",
];
const ONES_GEN: [&str; 20] = [
    "zera",
    "jednego",
    "dwóch",
    "trzech",
    "czterech",
    "pięciu",
    "sześciu",
    "siedmiu",
    "ośmiu",
    "dziewięciu",
    "dziesięciu",
    "jedenastu",
    "dwunastu",
    "trzynastu",
    "czternastu",
    "piętnastu",
    "szesnastu",
    "siedemnastu",
    "osiemnastu",
    "dziewiętnastu",
];
const TENS: [&str; 10] = [
    "",
    "",
    "dwadzieścia",
    "trzydzieści",
    "czterdzieści",
    "pięćdziesiąt",
    "sześćdziesiąt",
    "siedemdziesiąt",
    "osiemdziesiąt",
    "dziewięćdziesiąt",
];
const TENS_GEN: [&str; 10] = [
    "",
    "",
    "dwudziestu",
    "trzydziestu",
    "czterdziestu",
    "pięćdziesięciu",
    "sześćdziesięciu",
    "siedemdziesięciu",
    "osiemdziesięciu",
    "dziewięćdziesięciu",
];
const HUNDREDS: [&str; 10] = [
    "",
    "sto",
    "dwieście",
    "trzysta",
    "czterysta",
    "pięćset",
    "sześćset",
    "siedemset",
    "osiemset",
    "dziewięćset",
];
const HUNDREDS_GEN: [&str; 10] = [
    "",
    "stu",
    "dwustu",
    "trzystu",
    "czterystu",
    "pięciuset",
    "sześciuset",
    "siedmiuset",
    "ośmiuset",
    "dziewięciuset",
];
/// Scale nouns: (one, few, many).
const SCALES: [(&str, &str, &str); 5] = [
    ("", "", ""),
    ("tysiąc", "tysiące", "tysięcy"),
    ("milion", "miliony", "milionów"),
    ("miliard", "miliardy", "miliardów"),
    ("bilion", "biliony", "bilionów"),
];

/// Which plural form a count takes: 0 = one, 1 = few (2–4, 22–24…), 2 = many.
pub fn plural_class(n: u64) -> usize {
    if n == 1 {
        0
    } else if (2..=4).contains(&(n % 10)) && !(12..=14).contains(&(n % 100)) {
        1
    } else {
        2
    }
}

fn gen(f: Form) -> bool {
    matches!(f.case, Case::Gen | Case::Loc | Case::GenPl)
}

fn group(t: u64, f: Form, last: bool, out: &mut Vec<String>) {
    let g = gen(f);
    let (h, r) = (t / 100, t % 100);
    if h > 0 {
        out.push(if g { HUNDREDS_GEN } else { HUNDREDS }[h as usize].into());
    }
    let (tens, ones) = if r < 20 { (0, r) } else { (r / 10, r % 10) };
    if tens > 0 {
        out.push(if g { TENS_GEN } else { TENS }[tens as usize].into());
    }
    if ones > 0 {
        let w = match (ones, f.gender, g, last) {
            (1, Gender::F, false, true) => "jedna",
            (1, Gender::N, false, true) => "jedno",
            (1, Gender::F, true, true) => "jednej",
            (2, Gender::F, false, true) => "dwie",
            (1, _, true, _) => "jednego",
            (_, _, true, _) => ONES_GEN[ones as usize],
            _ => ONES[ones as usize],
        };
        out.push(w.into());
    }
}

/// Cardinal: 1990 → "tysiąc dziewięćset dziewięćdziesiąt"; genitive "tysiąca dziewięciuset…".
pub fn cardinal(n: u64, f: Form) -> String {
    if n == 0 {
        return if gen(f) { "zera" } else { "zero" }.into();
    }
    let ts = super::triplets(n);
    if ts.len() > SCALES.len() {
        return super::en::cardinal(n); // beyond bilions: never in prose
    }
    let mut out = Vec::new();
    for (i, &t) in ts.iter().enumerate().rev() {
        if t == 0 {
            continue;
        }
        if i == 0 {
            group(t, f, true, &mut out);
            continue;
        }
        let (one, few, many) = SCALES[i];
        if t == 1 {
            out.push(if gen(f) { format!("{one}a") } else { one.to_string() });
            continue;
        }
        group(t, Form::new(Gender::M, f.case), false, &mut out);
        let noun = if gen(f) {
            many
        } else {
            [one, few, many][plural_class(t).max(1)]
        };
        out.push(noun.into());
    }
    out.join(" ")
}

/// Declension class of an ordinal stem: hard (`-y`), velar (`drug-i`) or soft (`trzec-i`).
#[derive(Clone, Copy)]
enum Decl {
    Hard,
    Velar,
    Soft,
}

const ORD_ONES: [&str; 20] = [
    "zerow",
    "pierwsz",
    "drug",
    "trzec",
    "czwart",
    "piąt",
    "szóst",
    "siódm",
    "ósm",
    "dziewiąt",
    "dziesiąt",
    "jedenast",
    "dwunast",
    "trzynast",
    "czternast",
    "piętnast",
    "szesnast",
    "siedemnast",
    "osiemnast",
    "dziewiętnast",
];
const ORD_TENS: [&str; 10] = [
    "",
    "",
    "dwudziest",
    "trzydziest",
    "czterdziest",
    "pięćdziesiąt",
    "sześćdziesiąt",
    "siedemdziesiąt",
    "osiemdziesiąt",
    "dziewięćdziesiąt",
];
const ORD_HUNDREDS: [&str; 10] = [
    "",
    "setn",
    "dwusetn",
    "trzechsetn",
    "czterechsetn",
    "pięćsetn",
    "sześćsetn",
    "siedemsetn",
    "osiemsetn",
    "dziewięćsetn",
];
const THOUSAND_PREFIX: [&str; 10] = [
    "",
    "",
    "dwu",
    "trzy",
    "cztero",
    "pięcio",
    "sześcio",
    "siedmio",
    "ośmio",
    "dziewięcio",
];

fn ending(d: Decl, f: Form) -> &'static str {
    use Case::*;
    use Gender::*;
    let hard = match (f.case, f.gender) {
        (NomPl, _) => "e",
        (GenPl, _) => "ych",
        (Nom | Acc, M) => "y",
        (Gen, M | N) => "ego",
        (Dat, M | N) => "emu",
        (Ins | Loc, M | N) => "ym",
        (Nom | Acc, N) => "e",
        (Nom | Weak, F) => "a",
        (Acc | Ins, F) => "ą",
        (Gen | Dat | Loc, F) => "ej",
        (Weak, _) => "y",
    };
    match d {
        Decl::Hard => hard,
        Decl::Velar | Decl::Soft => match hard {
            "y" => "i",
            "ego" => "iego",
            "emu" => "iemu",
            "ym" => "im",
            "e" => "ie",
            "ych" => "ich",
            "ej" => "iej",
            "a" if matches!(d, Decl::Soft) => "ia",
            "ą" if matches!(d, Decl::Soft) => "ią",
            other => other,
        },
    }
}

fn word(stem: &str, d: Decl, f: Form) -> String {
    format!("{stem}{}", ending(d, f))
}

/// Ordinal: 21 → "dwudziesty pierwszy"; 1990 in the genitive → "tysiąc dziewięćset dziewięćdziesiątego".
pub fn ordinal(n: u64, f: Form) -> String {
    let r = n % 100;
    let mut parts: Vec<String> = Vec::new();
    if r != 0 || n == 0 {
        if n >= 100 {
            parts.push(cardinal(n - r, Form::default()));
        }
        let (tens, ones) = if r < 20 { (0, r) } else { (r / 10, r % 10) };
        if tens > 0 {
            parts.push(word(ORD_TENS[tens as usize], Decl::Hard, f));
        }
        if ones > 0 || r == 0 {
            let d = match ones {
                2 => Decl::Velar,
                3 => Decl::Soft,
                _ => Decl::Hard,
            };
            parts.push(word(ORD_ONES[ones as usize], d, f));
        }
    } else if !n.is_multiple_of(1000) {
        let h = (n % 1000) / 100;
        if n >= 1000 {
            parts.push(cardinal(n - n % 1000, Form::default()));
        }
        parts.push(word(ORD_HUNDREDS[h as usize], Decl::Hard, f));
    } else {
        let k = n / 1000;
        if n >= 1_000_000 || k >= 10 {
            parts.push(cardinal(k, Form::default()));
            parts.push(word("tysięczn", Decl::Hard, f));
        } else {
            parts.push(word(&format!("{}tysięczn", THOUSAND_PREFIX[k as usize]), Decl::Hard, f));
        }
    }
    parts.join(" ")
}
