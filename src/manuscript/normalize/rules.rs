//! The shape of one language's normalisation rules: tables the engine reads, no code per example.

use super::numbers::{Case, Gender, L};

/// A noun after a number, in the forms a count selects.
#[derive(Debug, Clone, Copy)]
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

/// Builds a noun with singular and plural forms.
pub const fn n2(one: &'static str, plural: &'static str, gender: Gender) -> Noun {
    Noun {
        one,
        few: plural,
        many: plural,
        frac: plural,
        gender,
    }
}

/// Builds a Polish noun: one, few (2–4), many (5+), after a fraction.
pub const fn n4(one: &'static str, few: &'static str, many: &'static str, frac: &'static str, gender: Gender) -> Noun {
    Noun {
        one,
        few,
        many,
        frac,
        gender,
    }
}

/// A unit written after a number.
#[derive(Debug, Clone, Copy)]
pub struct Unit {
    /// As written ("km", "°C", "km/h"); matched case-sensitively unless `ci`.
    pub sym: &'static str,
    /// How it is read.
    pub noun: Noun,
    /// Match regardless of case.
    pub ci: bool,
}

/// A currency: symbols and codes written before or after the amount, major and minor units.
#[derive(Debug, Clone, Copy)]
pub struct Currency {
    /// Symbols and codes ("$", "USD", "zł", "PLN").
    pub syms: &'static [&'static str],
    /// The major unit.
    pub major: Noun,
    /// The minor unit (cents, grosze).
    pub minor: Noun,
    /// Read the minor amount without its noun ("three pounds fifty").
    pub minor_bare: bool,
}

/// Where an abbreviation applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy)]
pub struct Abbr {
    /// As written, with its dots ("e.g.", "m.in.", "z. B.").
    pub written: &'static str,
    /// How it is read; Polish entries may give `nom|gen|loc` forms separated by `|`.
    pub spoken: &'static str,
    /// Context it needs.
    pub when: When,
}

/// The first bytes of the abbreviations (for [`Rules::abbrev_first`]), computed at compile time.
pub const fn first_bytes(abbrevs: &[Abbr]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut k = 0;
    while k < abbrevs.len() {
        let b = abbrevs[k].written.as_bytes()[0];
        t[b as usize] = true;
        t[b.to_ascii_uppercase() as usize] = true;
        if b >= 0x80 {
            // A non-ASCII first letter: its capital's lead byte may differ; accept every lead byte.
            let mut x = 0xC0;
            while x < 256 {
                t[x] = true;
                x += 1;
            }
        }
        k += 1;
    }
    t
}

/// Shorthand for an abbreviation read anywhere.
/// A unit whose noun is masculine (or has no gender in the language), matched case-sensitively.
pub const fn u(sym: &'static str, one: &'static str, plural: &'static str) -> Unit {
    Unit {
        sym,
        noun: n2(one, plural, Gender::M),
        ci: false,
    }
}

/// A unit whose noun is feminine.
pub const fn uf(sym: &'static str, one: &'static str, plural: &'static str) -> Unit {
    Unit {
        sym,
        noun: n2(one, plural, Gender::F),
        ci: false,
    }
}

/// A unit matched case-insensitively.
pub const fn uci(sym: &'static str, one: &'static str, plural: &'static str) -> Unit {
    Unit {
        sym,
        noun: n2(one, plural, Gender::M),
        ci: true,
    }
}

/// A currency read with its minor unit's noun ("zwölf Euro fünfzig Cent").
pub const fn cur(syms: &'static [&'static str], major: Noun, minor: Noun) -> Currency {
    Currency {
        syms,
        major,
        minor,
        minor_bare: false,
    }
}

/// A currency whose minor amount is read bare ("three pounds fifty").
pub const fn cur_bare(syms: &'static [&'static str], major: Noun, minor: Noun) -> Currency {
    Currency {
        syms,
        major,
        minor,
        minor_bare: true,
    }
}

pub const fn ab(written: &'static str, spoken: &'static str) -> Abbr {
    Abbr {
        written,
        spoken,
        when: When::Any,
    }
}

/// Shorthand for an abbreviation with a context.
pub const fn abw(written: &'static str, spoken: &'static str, when: When) -> Abbr {
    Abbr { written, spoken, when }
}

/// Words the engine puts between the spelled parts.
#[derive(Debug, Clone, Copy)]
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
#[derive(Debug, Clone, Copy)]
pub enum Spell {
    /// None: words are read as words (English, Polish, French).
    Never,
    /// Words of up to three letters or without a vowel, except these (German).
    Short(&'static [&'static str]),
    /// Every word except these (the Spanish and Italian convention).
    All(&'static [&'static str]),
}

/// One language's rules.
#[derive(Debug)]
pub struct Rules {
    /// WhisperSpeech language code.
    pub code: &'static str,
    /// The number speller.
    pub lang: L,
    /// Decimal separator as written.
    pub decimal: char,
    /// Thousands separators accepted inside numbers.
    pub group: &'static [char],
    /// Month names as spoken in dates (Polish: genitive).
    pub months: [&'static str; 12],
    /// Month names and abbreviations as written (lowercase, dots stripped), with their number 1–12.
    pub month_words: &'static [(&'static str, u8)],
    /// Day-month order in numeric dates without a year of four digits first (`true`: 12/05 is 12 May).
    pub day_first: bool,
    /// Units after a number, longest first where they share a start.
    pub units: &'static [Unit],
    /// Currencies.
    pub currencies: &'static [Currency],
    /// Abbreviations.
    pub abbrevs: &'static [Abbr],
    /// Abbreviated endings of compound words ("Bahnhofstr." → "Bahnhofstraße"): (written ending, spoken).
    pub suffix_abbrevs: &'static [(&'static str, &'static str)],
    /// Bytes an abbreviation can start with (its first byte, and the capital of a lowercase ASCII one):
    /// `first_bytes(ABBREVS)`, so that most words skip the table.
    pub abbrev_first: [bool; 256],
    /// Words that follow a number and multiply it ("million", "mln"): left as written, read after it.
    pub scales: &'static [(&'static str, Noun)],
    /// Words after which a Roman numeral is a cardinal ("Chapter IV", "World War II").
    pub heading_words: &'static [&'static str],
    /// Words for "century" (a Roman numeral before or after them is an ordinal, or cardinal per `century_cardinal`).
    pub century_words: &'static [&'static str],
    /// Roman centuries read as cardinals (Spanish "siglo diecinueve").
    pub century_cardinal: bool,
    /// Regnal numbers read as cardinals above this value (French: above 1; Spanish: above 10).
    pub regnal_cardinal_above: u64,
    /// Ordinal suffixes after digits ("st", "er", "ème", ".º"), with the gender they mark.
    pub ordinal_suffixes: &'static [(&'static str, Gender)],
    /// Words that announce an ordinal after a number with a dot ("3. Oktober", "21. wiek"): nouns
    /// such as "Jahrhundert", "Kapitel".
    pub ordinal_nouns: &'static [&'static str],
    /// Preceding words that put an ordinal in a case (`am` → dative, `w` → locative).
    pub case_words: &'static [(&'static str, Case)],
    /// Words after which `H.MM` is a time ("godz. 14.00", "um 14.30").
    pub time_words: &'static [&'static str],
    /// Masculine-personal plural nouns that take the genitive-form numeral ("2 braci" → "dwóch braci").
    pub personal: &'static [&'static str],
    /// Feminine nouns (plural forms) for numeral agreement ("2 kobiety" → "dwie").
    pub feminine: &'static [&'static str],
    /// Spoken words for the engine.
    pub w: Words,
    /// Which words of electronic addresses are spelled letter by letter.
    pub spell: Spell,
    /// Symbols read as words where no other class took them ("$" alone, "C++", "#tag" inside a word).
    pub symbols: &'static [(char, &'static str)],
    /// Word pairs written with a slash that are left as written ("and/or").
    pub slash_pairs: &'static [&'static str],
    /// How "a.m." and "p.m." are read.
    pub am_pm: [&'static str; 2],
    /// Time words: "o'clock"/"Uhr"/"heures"; empty when the language says none.
    pub oclock: &'static str,
}
