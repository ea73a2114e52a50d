//! Text normalisation before synthesis: pronunciation replacements ([`apply_lexicon`]), then a
//! verbaliser per language ([`normalize`], [`spans`]) that reads numbers, dates, times, money, measures,
//! ranges, telephone and serial numbers, Roman numerals, abbreviations, URLs and e-mail addresses the way
//! a narrator would: English, Polish, German, French, Spanish and Italian. Other languages keep the text
//! unchanged (WhisperSpeech reads their digits itself, with mixed results).
//!
//! **Design.** [`engine`] scans the text once; at each word start the class matchers ([`classes`]: dates
//! and times in [`dates`], money, measures, ranges and fractions in [`quantities`], plain numbers,
//! ordinals, telephone numbers and serials in [`digits`], abbreviations, Roman numerals and addresses in
//! [`words`]) are tried in a fixed order, the first that recognises a token gives a [`Span`] with its
//! [`Class`] and spoken words. What is said comes from one data table per language
//! (`lang/{en,pl,de,fr,es,it}.yaml`, compiled in: units, currencies, abbreviations, month names, ordinal
//! suffixes, case-governing prepositions, connecting words), in the shape [`rules::Rules`] defines. Adding
//! a unit or an abbreviation is a table row, not code.
//!
//! **Numbers are spelled by hand** ([`numbers`]). The `num2words` crate (already a dependency) only
//! knows English, French and Ukrainian, has no grammatical case or gender (Polish "dwudziestego
//! pierwszego", German "am dritten", Spanish "veintiún", Polish "dwie"), and computes with
//! arbitrary-precision floats (~1 M instructions a number, measured with callgrind; it was 57 % of
//! planning time on a number-rich book). The spellers here are plain `u64` arithmetic over word tables;
//! the English and French ones are checked against `num2words` in the tests.
//!
//! Normalisation only rewrites spans in place (a number becomes its words), so the order of the text
//! and every other word are kept.
//!
//! Owns text normalisation. Must never import the plan, store, worker, engine, render, publish or
//! voice/audio modules.

mod classes;
mod dates;
mod digits;
pub mod engine;
mod quantities;
mod words;

pub mod numbers;
pub mod rules;

use std::sync::LazyLock;

use serde::Serialize;

/// The semiotic class of a span: what kind of thing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// A whole number.
    Cardinal,
    /// An ordinal ("21st", "3.", "1er").
    Ordinal,
    /// A decimal number.
    Decimal,
    /// A fraction ("3/4", "½").
    Fraction,
    /// An amount of money.
    Money,
    /// A date, or a year read as one.
    Date,
    /// A decade ("1990s").
    Decade,
    /// A time of day or a duration in h:mm:ss.
    Time,
    /// A number with a unit, percentage or degrees.
    Measure,
    /// A range of numbers ("12–15").
    Range,
    /// A telephone number.
    Telephone,
    /// A version, serial or other code read by groups.
    Serial,
    /// A Roman numeral.
    Roman,
    /// An abbreviation.
    Abbreviation,
    /// A URL, e-mail address, @handle or IP address.
    Electronic,
    /// A symbol read as a word ("&").
    Symbol,
}

/// A piece of text read differently from how it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Span {
    /// Byte offset where it starts in the input.
    pub start: usize,
    /// Byte offset where it ends.
    pub end: usize,
    /// What kind of token it is.
    pub class: Class,
    /// What is said.
    pub spoken: String,
}

/// The languages that have normalisation rules.
pub const LANGUAGES: [&str; 6] = ["en", "pl", "de", "fr", "es", "it"];

/// The built-in tables, in the order of [`LANGUAGES`], each read on first use.
static TABLES: [LazyLock<rules::Rules>; 6] = [
    LazyLock::new(|| table("en", include_str!("lang/en.yaml"))),
    LazyLock::new(|| table("pl", include_str!("lang/pl.yaml"))),
    LazyLock::new(|| table("de", include_str!("lang/de.yaml"))),
    LazyLock::new(|| table("fr", include_str!("lang/fr.yaml"))),
    LazyLock::new(|| table("es", include_str!("lang/es.yaml"))),
    LazyLock::new(|| table("it", include_str!("lang/it.yaml"))),
];

/// Reads a built-in table. They are compiled in and every one is loaded by the tests
/// (`rules::tests::every_table_loads`), so a failure here is a defect of the build, not of any input.
fn table(code: &str, text: &'static str) -> rules::Rules {
    rules::Rules::from_table(text).unwrap_or_else(|e| panic!("built-in normalisation table lang/{code}.yaml: {e}"))
}

/// The rules for `lang` (a WhisperSpeech code), when it has them.
pub fn rules(lang: &str) -> Option<&'static rules::Rules> {
    let i = LANGUAGES.iter().position(|&l| l == lang)?;
    Some(&*TABLES[i])
}

/// The spans of `text` that `lang`'s verbaliser reads differently, in order, not overlapping. Empty for
/// a language without rules.
pub fn spans(text: &str, lang: &str) -> Vec<Span> {
    match rules(lang) {
        Some(r) => engine::scan(text, r),
        _ => Vec::new(),
    }
}

/// Spells out numbers, symbols and abbreviations for `lang` (a WhisperSpeech code); the text is returned
/// unchanged for a language without rules.
pub fn normalize(text: &str, lang: &str) -> String {
    let sp = spans(text, lang);
    if sp.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 32);
    let mut at = 0;
    for s in &sp {
        out.push_str(&text[at..s.start]);
        out.push_str(&s.spoken);
        at = s.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Symbols that a voice cannot read: a token still holding one (or a digit) after normalisation deserves
/// a pronunciation.
const UNREAD: &[char] = &[
    '#', '$', '%', '&', '*', '+', '/', '<', '=', '>', '@', '\\', '^', '_', '`', '|', '~', '£', '€', '¥', '°', '§', '©',
    '®', '™', '′', '″', '₩', '₽', '₹', '₡', '₧',
];

/// The tokens of normalised text that still hold digits or symbols, each once, in order of appearance.
pub fn leftovers(normalized: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    if !normalized
        .bytes()
        .any(|b| b.is_ascii_digit() || b >= 0x80 || b"#$%&*+/<=>@\\^_`|~".contains(&b))
    {
        return out;
    }
    for tok in normalized.split_whitespace() {
        let tok = tok.trim_matches(|c: char| {
            matches!(
                c,
                '.' | ','
                    | ';'
                    | ':'
                    | '!'
                    | '?'
                    | '('
                    | ')'
                    | '"'
                    | '\''
                    | '“'
                    | '”'
                    | '„'
                    | '«'
                    | '»'
                    | '‘'
                    | '’'
                    | '['
                    | ']'
            )
        });
        if tok.chars().any(|c| c.is_ascii_digit() || UNREAD.contains(&c)) && !out.contains(&tok) {
            out.push(tok);
        }
    }
    out
}

/// Collects the tokens left with digits or symbols after normalisation, for `plan`'s warnings: one
/// warning per distinct token, naming the first chapter it is in and how often it occurs.
#[derive(Debug, Default)]
pub struct Leftovers {
    /// Token → (first chapter's label, count), in order of first appearance.
    seen: Vec<(String, String, usize)>,
}

impl Leftovers {
    /// Most distinct tokens warned about one by one; the rest are counted in one line.
    const MAX: usize = 30;

    /// Notes the leftovers of one normalised run of `lang` in the chapter `label` (languages without
    /// rules are skipped: their digits are left to the voice on purpose).
    pub fn add(&mut self, label: &str, normalized: &str, lang: &str) {
        if rules(lang).is_none() {
            return;
        }
        for tok in leftovers(normalized) {
            match self.seen.iter_mut().find(|(t, _, _)| t == tok) {
                Some(e) => e.2 += normalized.matches(tok).count(),
                None => self
                    .seen
                    .push((tok.to_string(), label.to_string(), normalized.matches(tok).count())),
            }
        }
    }

    /// The warnings, one per distinct token (at most [`Self::MAX`], then a summary line).
    pub fn warnings(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .seen
            .iter()
            .take(Self::MAX)
            .map(|(tok, label, n)| {
                let times = if *n == 1 { "once".to_string() } else { format!("{n} times") };
                format!("{label}: `{tok}` is read as written ({times}): it still has digits or symbols after normalisation; add a pronunciation for it")
            })
            .collect();
        if self.seen.len() > Self::MAX {
            out.push(format!(
                "{} more tokens are read as written with digits or symbols (`ws-book debug normalize` shows how text is read)",
                self.seen.len() - Self::MAX
            ));
        }
        out
    }
}

/// Replaces every whole-word occurrence of each `(grapheme, alias)` pair, longest grapheme first.
pub fn apply_lexicon(text: &str, entries: &[(String, String)]) -> String {
    if entries.is_empty() {
        return text.to_string();
    }
    let mut sorted: Vec<&(String, String)> = entries.iter().filter(|(g, _)| !g.is_empty()).collect();
    sorted.sort_by_key(|(g, _)| std::cmp::Reverse(g.len()));
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let bytes = text.as_bytes();
    'outer: while i < text.len() {
        let at_word_start = i == 0 || !prev_char(text, i).is_some_and(is_word_char);
        if at_word_start {
            for (g, alias) in &sorted {
                if text[i..].starts_with(g.as_str()) {
                    let end = i + g.len();
                    let at_word_end = end == text.len() || !text[end..].chars().next().is_some_and(is_word_char);
                    if at_word_end {
                        out.push_str(alias);
                        i = end;
                        continue 'outer;
                    }
                }
            }
        }
        let ch_len = utf8_len(bytes[i]);
        out.push_str(&text[i..i + ch_len]);
        i += ch_len;
    }
    out
}

fn utf8_len(b: u8) -> usize {
    match b {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

fn prev_char(text: &str, i: usize) -> Option<char> {
    text[..i].chars().next_back()
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests;
