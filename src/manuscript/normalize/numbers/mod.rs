//! Number spelling for the languages with rules: cardinals, ordinals and years, with the grammatical
//! gender and case Polish and German need, and the gender/apocope forms of the Romance languages.
//!
//! Written by hand (see the module doc of [`super`] for why): every speller works on `u64` with plain
//! integer arithmetic, so spelling a number costs a few hundred nanoseconds.

/// A language with number rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
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

/// The word for one digit (the first ten of each speller's `ONES`).
pub fn digit(l: L, d: u32) -> &'static str {
    let d = (d % 10) as usize;
    match l {
        L::En => en::ONES[d],
        L::Pl => pl::ONES[d],
        L::De => de::ONES[d],
        L::Fr => fr::ONES[d],
        L::Es => es::ONES[d],
        L::It => it::ONES[d],
    }
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

pub mod de;
pub mod en;
pub mod es;
pub mod fr;
pub mod it;
pub mod pl;

#[cfg(test)]
mod tests;
