//! The shape of one language's normalisation rules: tables the engine reads, no code per example.
//!
//! The tables themselves are data: one YAML file per language in `lang/` (compiled in), read once on first
//! use. Strings are borrowed from the embedded text (`&'static str`), so a table is never copied; a string
//! there must therefore be written verbatim (plain or double-quoted, without escapes) — the test
//! `every_table_loads` checks all six.

use serde::Deserialize;

use super::numbers::{Case, Gender, L};

/// A noun after a number, in the forms a count selects.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(from = "NounForms")]
pub struct Noun {
    /// After 1 ("kilometre", "złoty", "Kilometer").
    pub one: &'static str,
    /// After 2–4, 22–24… (Polish); elsewhere the plural.
    pub few: &'static str,
    /// After other whole numbers (Polish genitive plural); elsewhere the plural.
    pub many: &'static str,
    /// After a decimal or fraction ("1,5 kilometra" in Polish; the plural elsewhere).
    pub frac: &'static str,
    /// Grammatical gender (for the numeral's agreement).
    pub gender: Gender,
}

/// A unit written after a number.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(from = "UnitForms")]
pub struct Unit {
    /// As written ("km", "°C", "km/h"); matched case-sensitively unless `ci`.
    pub sym: &'static str,
    /// How it is read.
    pub noun: Noun,
    /// Match regardless of case.
    pub ci: bool,
}

/// A currency: symbols and codes written before or after the amount, major and minor units.
#[derive(Debug, Clone, Deserialize)]
#[serde(bound(deserialize = "'de: 'static"))]
#[serde(deny_unknown_fields)]
pub struct Currency {
    /// Symbols and codes ("$", "USD", "zł", "PLN").
    pub syms: Vec<&'static str>,
    /// The major unit.
    pub major: Noun,
    /// The minor unit (cents, grosze).
    pub minor: Noun,
    /// Read the minor amount without its noun ("three pounds fifty").
    #[serde(default)]
    pub minor_bare: bool,
}

/// Where an abbreviation applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum When {
    /// Anywhere.
    Any,
    /// Only before a number ("No. 5", "S. 12").
    BeforeNumber,
    /// Only after a number ("1990 r.", "XIX w.").
    AfterNumber,
    /// Only before a capitalised word ("St. Paul", "M. Dupont").
    BeforeName,
    /// Only after a capitalised word ("Elm St.").
    AfterName,
}

/// An abbreviation and what it stands for.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(from = "AbbrForms")]
pub struct Abbr {
    /// As written, with its dots ("e.g.", "m.in.", "z. B.").
    pub written: &'static str,
    /// How it is read; Polish entries may give `nom|gen|loc` forms separated by `|`.
    pub spoken: &'static str,
    /// Context it needs.
    pub when: When,
}

/// The first bytes of the abbreviations (for [`Rules::abbrev_first`]).
fn first_bytes(abbrevs: &[Abbr]) -> [bool; 256] {
    let mut t = [false; 256];
    for a in abbrevs {
        let Some(&b) = a.written.as_bytes().first() else {
            continue;
        };
        t[b as usize] = true;
        t[b.to_ascii_uppercase() as usize] = true;
        if b >= 0x80 {
            // A non-ASCII first letter: its capital's lead byte may differ; accept every lead byte.
            t[0xC0..].fill(true);
        }
    }
    t
}

/// Words the engine puts between the spelled parts.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Words {
    /// Decimal separator word ("point", "przecinek").
    pub point: &'static str,
    /// Negative sign ("minus").
    pub minus: &'static str,
    /// Plus sign ("plus").
    pub plus: &'static str,
    /// Between the ends of a range ("to", "do", "bis").
    pub to: &'static str,
    /// Before the first end of a range, if the language says one ("od").
    pub from: &'static str,
    /// Percent.
    pub percent: Noun,
    /// Degree (angles, temperatures).
    pub degree: Noun,
    /// Minutes and seconds of arc (coordinates).
    pub arcmin: Noun,
    /// Seconds of arc.
    pub arcsec: Noun,
    /// Hours, minutes and seconds of a duration (`1:01:01`).
    pub hour: Noun,
    /// Minute.
    pub minute: Noun,
    /// Second.
    pub second: Noun,
    /// The joining "and" in "three and a half", "one minute and one second".
    pub and: &'static str,
    /// "per" in compound units.
    pub per: &'static str,
    /// Electronic: "dot", "at", "slash", "colon", "dash", "underscore".
    pub dot: &'static str,
    /// `@`.
    pub at: &'static str,
    /// `/`.
    pub slash: &'static str,
    /// `:`.
    pub colon: &'static str,
    /// `-` in addresses and serials.
    pub dash: &'static str,
    /// `_`.
    pub underscore: &'static str,
    /// `&` between words.
    pub amp: &'static str,
    /// `#`.
    pub hash: &'static str,
    /// The article before a regnal ordinal ("the", "der"), empty when none.
    pub regnal_the: &'static str,
    /// Compass points N, S, E, W after coordinates.
    pub compass: [&'static str; 4],
}

/// Which words of an e-mail address or URL are spelled letter by letter.
#[derive(Debug, Clone, Deserialize)]
#[serde(bound(deserialize = "'de: 'static"))]
pub enum Spell {
    /// None: words are read as words (English, Polish, French).
    Never,
    /// Words of up to three letters or without a vowel, except these (German).
    Short(Vec<&'static str>),
    /// Every word except these (the Spanish and Italian convention).
    All(Vec<&'static str>),
}

/// One language's rules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// WhisperSpeech language code.
    pub code: &'static str,
    /// The number speller.
    pub lang: L,
    /// Decimal separator as written.
    pub decimal: char,
    /// Thousands separators accepted inside numbers.
    pub group: Vec<char>,
    /// Month names as spoken in dates (Polish: genitive).
    pub months: [&'static str; 12],
    /// Month names and abbreviations as written (lowercase, dots stripped), with their number 1–12.
    pub month_words: Vec<(&'static str, u8)>,
    /// Day-month order in numeric dates without a year of four digits first (`true`: 12/05 is 12 May).
    pub day_first: bool,
    /// Units after a number, longest first where they share a start.
    pub units: Vec<Unit>,
    /// Currencies.
    pub currencies: Vec<Currency>,
    /// Abbreviations.
    pub abbrevs: Vec<Abbr>,
    /// Abbreviated endings of compound words ("Bahnhofstr." → "Bahnhofstraße"): (written ending, spoken).
    pub suffix_abbrevs: Vec<(&'static str, &'static str)>,
    /// Bytes an abbreviation can start with (its first byte, and the capital of a lowercase ASCII one):
    /// computed from `abbrevs` when the table is loaded, so that most words skip the table.
    #[serde(skip, default = "no_bytes")]
    pub abbrev_first: [bool; 256],
    /// Words that follow a number and multiply it ("million", "mln"): left as written, read after it.
    pub scales: Vec<(&'static str, Noun)>,
    /// Words after which a Roman numeral is a cardinal ("Chapter IV", "World War II").
    pub heading_words: Vec<&'static str>,
    /// Words for "century" (a Roman numeral before or after them is an ordinal, or cardinal per `century_cardinal`).
    pub century_words: Vec<&'static str>,
    /// Roman centuries read as cardinals (Spanish "siglo diecinueve").
    pub century_cardinal: bool,
    /// Regnal numbers read as cardinals above this value (French: above 1; Spanish: above 10).
    #[serde(default = "never")]
    pub regnal_cardinal_above: u64,
    /// Ordinal suffixes after digits ("st", "er", "ème", ".º"), with the gender they mark.
    pub ordinal_suffixes: Vec<(&'static str, Gender)>,
    /// Words that announce an ordinal after a number with a dot ("3. Oktober", "21. wiek"): nouns
    /// such as "Jahrhundert", "Kapitel".
    pub ordinal_nouns: Vec<&'static str>,
    /// Preceding words that put an ordinal in a case (`am` → dative, `w` → locative).
    pub case_words: Vec<(&'static str, Case)>,
    /// Words after which `H.MM` is a time ("godz. 14.00", "um 14.30").
    pub time_words: Vec<&'static str>,
    /// Masculine-personal plural nouns that take the genitive-form numeral ("2 braci" → "dwóch braci").
    pub personal: Vec<&'static str>,
    /// Feminine nouns (plural forms) for numeral agreement ("2 kobiety" → "dwie").
    pub feminine: Vec<&'static str>,
    /// Spoken words for the engine (`words:` in the table).
    #[serde(rename = "words")]
    pub w: Words,
    /// Which words of electronic addresses are spelled letter by letter.
    pub spell: Spell,
    /// Symbols read as words where no other class took them ("$" alone, "C++", "#tag" inside a word).
    pub symbols: Vec<(char, &'static str)>,
    /// Word pairs written with a slash that are left as written ("and/or").
    pub slash_pairs: Vec<&'static str>,
    /// How "a.m." and "p.m." are read.
    pub am_pm: [&'static str; 2],
    /// Time words: "o'clock"/"Uhr"/"heures"; empty when the language says none.
    pub oclock: &'static str,
    /// Fraction denominators with words of their own: (denominator, after 1, after other numerators) —
    /// "half"/"halves", "quart"/"quarts"; the others follow the language's rule (ordinals, "-avo").
    #[serde(default)]
    pub fraction_words: Vec<(u64, &'static str, &'static str)>,
}

/// How a noun is written in a table: `[one, plural]` (masculine), `[one, plural, gender]`, or Polish
/// `[one, few, many, after a fraction, gender]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum NounForms {
    Plural(&'static str, &'static str),
    Gendered(&'static str, &'static str, Gender),
    Counted(&'static str, &'static str, &'static str, &'static str, Gender),
}

impl From<NounForms> for Noun {
    fn from(f: NounForms) -> Self {
        let (one, few, many, frac, gender) = match f {
            NounForms::Plural(one, pl) => (one, pl, pl, pl, Gender::M),
            NounForms::Gendered(one, pl, g) => (one, pl, pl, pl, g),
            NounForms::Counted(one, few, many, frac, g) => (one, few, many, frac, g),
        };
        Noun {
            one,
            few,
            many,
            frac,
            gender,
        }
    }
}

/// How a unit is written: `[symbol, one, plural]` (masculine, case-sensitive), `[symbol, noun]`, or
/// `{sym, noun, ci}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum UnitForms {
    Plural(&'static str, &'static str, &'static str),
    Noun(&'static str, Noun),
    Full {
        sym: &'static str,
        noun: Noun,
        #[serde(default)]
        ci: bool,
    },
}

impl From<UnitForms> for Unit {
    fn from(f: UnitForms) -> Self {
        match f {
            UnitForms::Plural(sym, one, pl) => Unit {
                sym,
                noun: NounForms::Plural(one, pl).into(),
                ci: false,
            },
            UnitForms::Noun(sym, noun) => Unit { sym, noun, ci: false },
            UnitForms::Full { sym, noun, ci } => Unit { sym, noun, ci },
        }
    }
}

/// How an abbreviation is written: `[written, spoken]` (anywhere) or `[written, spoken, when]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum AbbrForms {
    Any(&'static str, &'static str),
    When(&'static str, &'static str, When),
}

impl From<AbbrForms> for Abbr {
    fn from(f: AbbrForms) -> Self {
        let (written, spoken, when) = match f {
            AbbrForms::Any(w, s) => (w, s, When::Any),
            AbbrForms::When(w, s, when) => (w, s, when),
        };
        Abbr { written, spoken, when }
    }
}

fn no_bytes() -> [bool; 256] {
    [false; 256]
}

fn never() -> u64 {
    u64::MAX
}

impl Rules {
    /// Reads a language table (the YAML text of `lang/<code>.yaml`).
    pub fn from_table(text: &'static str) -> Result<Rules, String> {
        let mut r: Rules = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        if r.abbrevs.iter().any(|a| a.written.is_empty()) {
            return Err("an abbreviation with no written form".into());
        }
        r.abbrev_first = first_bytes(&r.abbrevs);
        Ok(r)
    }

    /// The gender a plural noun form takes for a numeral (Polish "dwie kobiety", "dwa domy"): feminine
    /// when it is in [`Rules::feminine`], else masculine.
    pub fn gender_of(&self, word: &str) -> Gender {
        let w = word.to_lowercase();
        if self.feminine.contains(&w.as_str()) {
            Gender::F
        } else {
            Gender::M
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{rules, LANGUAGES};
    use super::*;

    #[test]
    fn every_table_loads() {
        for lang in LANGUAGES {
            let r = rules(lang).unwrap();
            assert_eq!(r.code, lang);
            assert!(r.months.iter().all(|m| !m.is_empty()), "{lang}: a month with no name");
            assert!(!r.units.is_empty() && !r.abbrevs.is_empty(), "{lang}: empty tables");
            for a in &r.abbrevs {
                let b = a.written.as_bytes()[0];
                assert!(r.abbrev_first[b as usize], "{lang}: {} not indexed", a.written);
            }
        }
        assert!(rules("xx").is_none());
    }

    #[test]
    fn the_short_forms_expand() {
        let t = r#"{units: [["km", "kilometre", "kilometres"], ["m", ["metr", "metry", "metrów", "metra", "M"]],
                    {sym: "kg", noun: ["kilo", "kilos", "N"], ci: true}]}"#;
        #[derive(Deserialize)]
        #[serde(bound(deserialize = "'de: 'static"))]
        struct U {
            units: Vec<Unit>,
        }
        let u: U = serde_saphyr::from_str(t).unwrap();
        assert_eq!(
            (u.units[0].noun.one, u.units[0].noun.many, u.units[0].ci),
            ("kilometre", "kilometres", false)
        );
        assert_eq!(
            (u.units[1].noun.few, u.units[1].noun.many, u.units[1].noun.frac),
            ("metry", "metrów", "metra")
        );
        assert_eq!((u.units[2].noun.gender, u.units[2].ci), (Gender::N, true));
    }

    #[test]
    fn a_broken_table_is_an_error_not_a_panic() {
        let en = include_str!("lang/en.yaml");
        // an escaped string cannot be borrowed; an unknown key and a missing key are refused
        assert!(Rules::from_table(Box::leak(
            en.replacen("\"mister\"", "\"mis\\u0074er\"", 1).into_boxed_str()
        ))
        .is_err());
        assert!(Rules::from_table(Box::leak(format!("{en}\nextra: 1\n").into_boxed_str())).is_err());
        assert!(Rules::from_table(Box::leak(en.replacen("oclock:", "#oclock:", 1).into_boxed_str())).is_err());
        assert!(Rules::from_table(en).is_ok());
    }
}
