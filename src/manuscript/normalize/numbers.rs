//! Number spelling for the languages with rules: cardinals, ordinals and years, with the grammatical
//! gender and case Polish and German need, and the gender/apocope forms of the Romance languages.
//!
//! Written by hand (see the module doc of [`super`] for why): every speller works on `u64` with plain
//! integer arithmetic, so spelling a number costs a few hundred nanoseconds.

/// A language with number rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L {
    /// English.
    En,
    /// Polish.
    Pl,
    /// German.
    De,
    /// French.
    Fr,
    /// Spanish.
    Es,
    /// Italian.
    It,
}

/// Grammatical gender of the counted or ordered noun.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gender {
    /// Masculine (the default).
    #[default]
    M,
    /// Feminine.
    F,
    /// Neuter.
    N,
}

/// Grammatical case (Polish uses all; German uses `Nom`, `Weak`, `Dat`/`Acc` for ordinals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Case {
    /// Nominative (German: strong ending, no article: "dritter").
    #[default]
    Nom,
    /// German weak nominative after a definite article ("der dritte").
    Weak,
    /// Genitive.
    Gen,
    /// Dative.
    Dat,
    /// Accusative.
    Acc,
    /// Instrumental.
    Ins,
    /// Locative.
    Loc,
    /// Nominative plural (Polish fractions: "trzy czwarte").
    NomPl,
    /// Genitive plural (Polish fractions: "pięć ósmych").
    GenPl,
}

/// How a number is to be inflected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Form {
    /// Gender of the noun.
    pub gender: Gender,
    /// Case.
    pub case: Case,
    /// The number stands before a noun (German "ein" not "eins", Spanish "un" not "uno").
    pub attributive: bool,
}

impl Form {
    /// A form with this gender and case, not attributive.
    pub const fn new(gender: Gender, case: Case) -> Form {
        Form {
            gender,
            case,
            attributive: false,
        }
    }
    /// The same form, before a noun.
    pub const fn attr(self) -> Form {
        Form {
            attributive: true,
            ..self
        }
    }
}

/// Cardinal number words.
pub fn cardinal(l: L, n: u64, f: Form) -> String {
    match l {
        L::En => en::cardinal(n),
        L::Pl => pl::cardinal(n, f),
        L::De => de::cardinal(n, f),
        L::Fr => fr::cardinal(n, f),
        L::Es => es::cardinal(n, f),
        L::It => it::cardinal(n, f),
    }
}

/// Ordinal number words ("fourth", "czwartego", "vierten", "quatrième", "cuarto", "quarto").
pub fn ordinal(l: L, n: u64, f: Form) -> String {
    match l {
        L::En => en::ordinal(n),
        L::Pl => pl::ordinal(n, f),
        L::De => de::ordinal(n, f),
        L::Fr => fr::ordinal(n, f),
        L::Es => es::ordinal(n, f),
        L::It => it::ordinal(n, f),
    }
}

/// A year as a narrator reads it (English "nineteen eighty-four", German "neunzehnhundertvierundachtzig";
/// Polish years are ordinals, in the form given).
pub fn year(l: L, n: u64, f: Form) -> String {
    match l {
        L::En => en::year(n),
        L::Pl => pl::ordinal(n, f),
        L::De if (1100..2000).contains(&n) => {
            let (hi, lo) = (n / 100, n % 100);
            let mut s = de::cardinal(hi, Form::default());
            s.push_str("hundert");
            if lo > 0 {
                s.push_str(&de::cardinal(lo, Form::default()));
            }
            s
        }
        _ => cardinal(l, n, f),
    }
}

/// The word for one digit.
pub fn digit(l: L, d: u32) -> &'static str {
    let t: &[&str; 10] = match l {
        L::En => &[
            "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
        ],
        L::Pl => &[
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
        ],
        L::De => &[
            "null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun",
        ],
        L::Fr => &[
            "zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf",
        ],
        L::Es => &[
            "cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve",
        ],
        L::It => &[
            "zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove",
        ],
    };
    t[(d % 10) as usize]
}

/// Splits `n` into groups of three digits, lowest first.
fn triplets(mut n: u64) -> Vec<u64> {
    let mut v = Vec::new();
    while n > 0 {
        v.push(n % 1000);
        n /= 1000;
    }
    v
}

/// English: the speller `num2words` agrees with (tested against it), without its arbitrary-precision cost.
pub mod en {
    const ONES: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 10] = [
        "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    const SCALES: [&str; 7] = [
        "",
        "thousand",
        "million",
        "billion",
        "trillion",
        "quadrillion",
        "quintillion",
    ];

    fn below_100(r: u64) -> String {
        match r {
            0..=19 => ONES[r as usize].to_string(),
            _ if r.is_multiple_of(10) => TENS[(r / 10) as usize].to_string(),
            _ => format!("{}-{}", TENS[(r / 10) as usize], ONES[(r % 10) as usize]),
        }
    }

    /// Cardinal in the British style NeMo's suite uses: "and" inside the last group of three
    /// ("one hundred and twenty-three", "eighteen thousand and eighty-one"), none elsewhere
    /// ("one hundred twenty-three thousand", "one hundred twenty-three million twelve").
    pub fn cardinal(n: u64) -> String {
        if n == 0 {
            return "zero".into();
        }
        let triplets = super::triplets(n);
        if triplets.len() > SCALES.len() {
            return n
                .to_string()
                .chars()
                .map(|c| ONES[c as usize - '0' as usize])
                .collect::<Vec<_>>()
                .join(" ");
        }
        let mut words: Vec<String> = Vec::new();
        for (i, &t) in triplets.iter().enumerate().rev() {
            let (h, r) = (t / 100, t % 100);
            if h > 0 {
                words.push(ONES[h as usize].into());
                words.push("hundred".into());
            }
            if r > 0 {
                let thousands_before = triplets.get(1).is_some_and(|&k| k > 0);
                if i == 0 && (h > 0 || thousands_before) {
                    words.push("and".into());
                }
                words.push(below_100(r));
            }
            if i != 0 && t != 0 {
                words.push(SCALES[i].into());
            }
        }
        words.join(" ")
    }

    /// Ordinal: 21 → "twenty-first".
    pub fn ordinal(n: u64) -> String {
        let c = cardinal(n).replace(" and ", " ");
        let (head, last) = match c.rfind([' ', '-']) {
            Some(i) => (&c[..=i], &c[i + 1..]),
            None => ("", c.as_str()),
        };
        let last = match last {
            "one" => "first".to_string(),
            "two" => "second".into(),
            "three" => "third".into(),
            "five" => "fifth".into(),
            "eight" => "eighth".into(),
            "nine" => "ninth".into(),
            "twelve" => "twelfth".into(),
            l if l.ends_with('y') => format!("{}ieth", &l[..l.len() - 1]),
            l => format!("{l}th"),
        };
        format!("{head}{last}")
    }

    /// Year: 1984 → "nineteen eighty-four", 2005 → "two thousand five", 1900 → "nineteen hundred".
    pub fn year(n: u64) -> String {
        let (hi, lo) = (n / 100, n % 100);
        if (2000..2010).contains(&n) {
            return if lo == 0 {
                "two thousand".into()
            } else {
                format!("two thousand {}", ONES[lo as usize])
            };
        }
        if hi == 0 || (hi % 10 == 0 && lo < 10) || hi >= 100 {
            return cardinal(n);
        }
        let hi_w = cardinal(hi);
        match lo {
            0 => format!("{hi_w} hundred"),
            1..=9 => format!("{hi_w} oh {}", ONES[lo as usize]),
            _ => format!("{hi_w} {}", cardinal(lo)),
        }
    }

    /// A cardinal without the British "and", as used before scale words and in ordinals, fractions and
    /// serials ("four hundred sixty billion").
    pub fn cardinal_plain(n: u64) -> String {
        cardinal(n).replace(" and ", " ")
    }

    /// The plural of a spelled number, for decades: "nineties", "tens", "thousands".
    pub fn plural(words: &str) -> String {
        match words.strip_suffix('y') {
            Some(s) => format!("{s}ies"),
            None if words.ends_with('x') => format!("{words}es"),
            None => format!("{words}s"),
        }
    }
}

/// Polish: cardinals in nominative and genitive with gender for 1 and 2, ordinals in all cases.
pub mod pl {
    use super::{Case, Form, Gender};

    const ONES: [&str; 20] = [
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
}

/// German: compound numerals written as one word below a million.
pub mod de {
    use super::{Case, Form, Gender};

    const ONES: [&str; 20] = [
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
}

/// French.
pub mod fr {
    use super::{Form, Gender};

    const ONES: [&str; 20] = [
        "zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze", "douze",
        "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit", "dix-neuf",
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
}

/// Spanish.
pub mod es {
    use super::{Form, Gender};

    const ONES: [&str; 30] = [
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
}

/// Italian: compound numerals written as one word below a million.
pub mod it {
    use super::{Form, Gender};

    const ONES: [&str; 20] = [
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
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: Form = Form::new(Gender::M, Case::Nom);

    #[test]
    fn polish() {
        assert_eq!(cardinal(L::Pl, 1990, M), "tysiąc dziewięćset dziewięćdziesiąt");
        assert_eq!(cardinal(L::Pl, 22_000, M), "dwadzieścia dwa tysiące");
        assert_eq!(cardinal(L::Pl, 5_000_000, M), "pięć milionów");
        assert_eq!(cardinal(L::Pl, 2, Form::new(Gender::F, Case::Nom)), "dwie");
        assert_eq!(
            cardinal(L::Pl, 125, Form::new(Gender::M, Case::Gen)),
            "stu dwudziestu pięciu"
        );
        let g = Form::new(Gender::M, Case::Gen);
        assert_eq!(ordinal(L::Pl, 21, g), "dwudziestego pierwszego");
        assert_eq!(ordinal(L::Pl, 1990, g), "tysiąc dziewięćset dziewięćdziesiątego");
        assert_eq!(ordinal(L::Pl, 2000, g), "dwutysięcznego");
        assert_eq!(ordinal(L::Pl, 3, Form::new(Gender::F, Case::Loc)), "trzeciej");
        assert_eq!(ordinal(L::Pl, 2, Form::new(Gender::M, Case::Loc)), "drugim");
        assert_eq!(
            ordinal(L::Pl, 1990, Form::new(Gender::M, Case::Loc)),
            "tysiąc dziewięćset dziewięćdziesiątym"
        );
        assert_eq!(ordinal(L::Pl, 8, Form::new(Gender::M, Case::Nom)), "ósmy");
        assert_eq!(ordinal(L::Pl, 4, Form::new(Gender::F, Case::NomPl)), "czwarte");
    }

    #[test]
    fn german() {
        assert_eq!(cardinal(L::De, 123, M), "einhundertdreiundzwanzig");
        assert_eq!(cardinal(L::De, 2_000_003, M), "zwei Millionen drei");
        assert_eq!(cardinal(L::De, 1_000_000, M), "eine Million");
        assert_eq!(cardinal(L::De, 101, M), "einhunderteins");
        assert_eq!(cardinal(L::De, 21, M), "einundzwanzig");
        assert_eq!(ordinal(L::De, 3, Form::new(Gender::M, Case::Dat)), "dritten");
        assert_eq!(ordinal(L::De, 24, M), "vierundzwanzigster");
        assert_eq!(ordinal(L::De, 101, M), "einhunderterster");
        assert_eq!(ordinal(L::De, 1000, M), "eintausendster");
        assert_eq!(year(L::De, 1990, M), "neunzehnhundertneunzig");
        assert_eq!(year(L::De, 2003, M), "zweitausenddrei");
    }

    #[test]
    fn french_spanish_italian() {
        assert_eq!(cardinal(L::Fr, 71, M), "soixante et onze");
        assert_eq!(cardinal(L::Fr, 80, M), "quatre-vingts");
        assert_eq!(
            cardinal(L::Fr, 6_492_000, M),
            "six millions quatre cent quatre-vingt-douze mille"
        );
        assert_eq!(ordinal(L::Fr, 21, M), "vingt et unième");
        assert_eq!(ordinal(L::Fr, 1_000_000_000, M), "un milliardième");
        assert_eq!(ordinal(L::Fr, 90, M), "quatre-vingt-dixième");
        assert_eq!(cardinal(L::Es, 1_000_000_000, M), "mil millones");
        assert_eq!(
            cardinal(L::Es, 1_034_068, M),
            "un millón treinta y cuatro mil sesenta y ocho"
        );
        assert_eq!(cardinal(L::Es, 100, M), "cien");
        assert_eq!(ordinal(L::Es, 134, M), "centésimo trigésimo cuarto");
        assert_eq!(ordinal(L::Es, 28, M), "vigesimoctavo");
        assert_eq!(ordinal(L::Es, 2000, M), "dosmilésimo");
        assert_eq!(cardinal(L::It, 3544, M), "tremilacinquecentoquarantaquattro");
        assert_eq!(cardinal(L::It, 38, M), "trentotto");
        assert_eq!(ordinal(L::It, 23, M), "ventitreesimo");
        assert_eq!(ordinal(L::It, 11, Form::new(Gender::F, Case::Nom)), "undicesima");
    }
}
