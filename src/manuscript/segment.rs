//! Sentence segmentation: Unicode UAX #29 sentence boundaries (`unicode-segmentation`) corrected by
//! per-language abbreviation tables, initials, and lower-case continuations.
//!
//! UAX #29 already keeps decimals (`3.14`), lower-case continuations after a period (`e.g. the`),
//! closing quotes and brackets with their sentence, and breaks after CJK full stops. What it gets wrong
//! on prose is fixed here: a break after an abbreviation (`Mr. Smith`) or an initial (`J. R. Tolkien`)
//! is undone, and so is a break before a lower-case word or a digit (`"Stop!" she cried.`, `No. 5`).
//! Segmentation only groups contiguous slices, so no text can be lost.
//!
//! Owns sentence boundaries. Must never import the plan, store, worker, engine, render, publish or
//! voice/audio modules.

use std::ops::Range;

use unicode_segmentation::UnicodeSegmentation;

/// Abbreviations (lower case, without the final period) that do not end a sentence, per language.
/// Entries in `ALL` apply to every language.
fn abbreviations(lang: &str) -> &'static [&'static str] {
    match lang {
        "en" => &[
            "mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "no", "vs", "e.g", "i.e", "cf", "approx", "capt", "col",
            "gen", "lt", "sgt", "rev", "hon", "mt", "ft", "fig", "vol", "ch", "pp", "p", "op", "ave", "blvd", "dept",
            "est", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
            "nov", "dec", "a.m", "p.m", "u.s", "u.k", "messrs", "mme", "mlle",
        ],
        "de" => &[
            "dr", "prof", "hr", "fr", "nr", "str", "z.b", "d.h", "u.a", "usw", "bzw", "ca", "vgl", "s", "evtl", "ggf",
            "inkl", "jh", "mio", "mrd", "bzgl",
        ],
        "fr" => &[
            "m", "mm", "mme", "mlle", "dr", "st", "ste", "p.ex", "cf", "etc", "av", "bd", "n°", "no", "vol", "chap",
        ],
        "es" => &[
            "sr", "sra", "srta", "dr", "dra", "ud", "uds", "etc", "p.ej", "núm", "pág", "av", "dña", "d",
        ],
        "pl" => &[
            "dr", "prof", "mgr", "inż", "np", "tzn", "tj", "itd", "itp", "ul", "al", "nr", "str", "godz", "ok", "wg",
            "im", "ks", "pt", "tel", "zob", "por", "r", "w", "m.in",
        ],
        "it" => &[
            "sig", "sigg", "dott", "prof", "ing", "avv", "es", "ecc", "pag", "n", "sig.ra", "dott.ssa",
        ],
        "nl" => &[
            "dhr", "mevr", "dr", "prof", "bijv", "bv", "d.w.z", "o.a", "nr", "blz", "ca", "enz",
        ],
        "pt" => &["sr", "sra", "dr", "dra", "prof", "ex", "p.ex", "nº", "pág", "av"],
        "ru" => &["г", "гг", "т.е", "т.д", "т.п", "др", "пр", "см", "стр", "ул", "им"],
        _ => &[],
    }
}

/// Abbreviations that hold in any language.
const ALL: &[&str] = &["e.g", "i.e", "vs", "cf", "dr", "prof", "st"];

/// Splits `text` into sentence byte ranges for language `lang` (a WhisperSpeech code).
/// Ranges are trimmed of surrounding whitespace, non-empty, in order, and cover all non-space text.
pub fn sentences(text: &str, lang: &str) -> Vec<Range<usize>> {
    let mut pieces: Vec<Range<usize>> = Vec::new();
    for (start, s) in text.split_sentence_bound_indices() {
        let range = start..start + s.len();
        match pieces.last_mut() {
            Some(prev) if should_merge(&text[prev.clone()], &text[range.clone()], lang) => prev.end = range.end,
            _ => pieces.push(range),
        }
    }
    pieces.into_iter().filter_map(|r| trim_range(text, r)).collect()
}

/// Shrinks a range to exclude leading/trailing whitespace; `None` if nothing is left.
pub fn trim_range(text: &str, r: Range<usize>) -> Option<Range<usize>> {
    let s = &text[r.clone()];
    let lead = s.len() - s.trim_start().len();
    let trail = s.len() - s.trim_end().len();
    if lead + trail >= s.len() {
        return None;
    }
    Some(r.start + lead..r.end - trail)
}

fn should_merge(prev: &str, next: &str, lang: &str) -> bool {
    let next_t = next.trim_start();
    if next_t.is_empty() {
        return true;
    }
    // A continuation in lower case or a digit: the previous boundary was not a sentence end.
    let first = next_t
        .trim_start_matches(['"', '\'', '“', '”', '‘', '’', '«', '»', '(', '['])
        .chars()
        .next();
    if let Some(c) = first {
        if c.is_lowercase() || c.is_ascii_digit() {
            return true;
        }
    }
    if prev.trim().is_empty() {
        return true;
    }
    // No space between the pieces (`Pat!Pat!`): one written word, so one sentence — except in scripts
    // written without spaces (CJK), where a full stop is always a boundary.
    if !prev.ends_with(char::is_whitespace) && next.starts_with(|c: char| c.is_alphanumeric() && !is_unspaced_script(c))
    {
        return true;
    }
    let p = prev.trim_end();
    let Some(body) = p.strip_suffix('.') else { return false };
    // The last word before the final period.
    let word = body
        .rsplit(|c: char| c.is_whitespace() || c == '(' || c == '"' || c == '“')
        .next()
        .unwrap_or("");
    let w = word.to_lowercase();
    if w.is_empty() {
        return false;
    }
    // An initial: one upper-case letter (`J.`), possibly after other initials (`J.R.`).
    let letters: Vec<char> = word.chars().filter(|c| *c != '.').collect();
    if letters.len() == 1 && letters[0].is_uppercase() && word.chars().all(|c| c == '.' || c.is_uppercase()) {
        return true;
    }
    if word.len() > 1
        && word.contains('.')
        && word
            .split('.')
            .all(|p| p.chars().count() == 1 && p.chars().all(char::is_uppercase))
    {
        return true;
    }
    abbreviations(lang).contains(&w.as_str()) || ALL.contains(&w.as_str())
}

/// Scripts written without spaces between words or sentences.
fn is_unspaced_script(c: char) -> bool {
    matches!(c, '\u{2E80}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7AF}' | '\u{F900}'..='\u{FAFF}' | '\u{FF00}'..='\u{FFEF}' | '\u{20000}'..='\u{2FA1F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str, lang: &str) -> Vec<String> {
        sentences(text, lang).into_iter().map(|r| text[r].to_string()).collect()
    }

    #[test]
    fn english_prose() {
        assert_eq!(
            split(
                "Mr. Smith met Dr. Jones at 3.30 p.m. today. It cost $4.50, e.g. a lot. Really?",
                "en"
            ),
            vec![
                "Mr. Smith met Dr. Jones at 3.30 p.m. today.",
                "It cost $4.50, e.g. a lot.",
                "Really?"
            ]
        );
        assert_eq!(
            split("J. R. R. Tolkien wrote it. Then he slept.", "en"),
            vec!["J. R. R. Tolkien wrote it.", "Then he slept."]
        );
        assert_eq!(
            split("\"Stop!\" she cried. \"Why?\" He left.", "en"),
            vec!["\"Stop!\" she cried.", "\"Why?\"", "He left."]
        );
        assert_eq!(
            split("Wait... What was that? (It was late.) Yes.", "en"),
            vec!["Wait...", "What was that?", "(It was late.)", "Yes."]
        );
        assert_eq!(
            split("See No. 5 on St. James St. today.", "en"),
            vec!["See No. 5 on St. James St. today."]
        );
        assert_eq!(
            split("He said “Go.” She went.", "en"),
            vec!["He said “Go.”", "She went."]
        );
    }

    #[test]
    fn other_languages() {
        assert_eq!(
            split("Spotkałem np. Jana. Potem dr Nowak przyszedł.", "pl"),
            vec!["Spotkałem np. Jana.", "Potem dr Nowak przyszedł."]
        );
        assert_eq!(split("Das ist z.B. gut. Ja.", "de"), vec!["Das ist z.B. gut.", "Ja."]);
        assert_eq!(
            split("我很好。你呢？好的！", "zh"),
            vec!["我很好。", "你呢？", "好的！"]
        );
    }
}
