//! Which matcher runs where: the order decides ambiguities (a time before a decimal, a date before a
//! fraction, a telephone number before a range).

use super::engine::{ch, is_digit_at, letters_end, Cx, Hit};
use super::{dates, digits, quantities, words};

/// The verbalisable token starting at byte `i` (a word start), if any.
pub(super) fn at(cx: &Cx, i: usize, c: char) -> Option<Hit> {
    if c.is_ascii_digit() {
        return number(cx, i);
    }
    if c.is_alphabetic() {
        return letters(cx, i, c);
    }
    if c == cx.r.decimal
        && is_digit_at(cx.t, i + 1)
        && !super::engine::prev_ch(cx.t, i).is_some_and(|p| p.is_ascii_digit())
    {
        return number(cx, i);
    }
    match c {
        '-' | '−' if is_digit_at(cx.t, i + c.len_utf8()) => digits::negative(cx, i, c.len_utf8()),
        '+' if is_digit_at(cx.t, i + 1) => digits::telephone(cx, i),
        '(' if is_digit_at(cx.t, i + 1) => digits::telephone(cx, i),
        '\'' | '’' if is_digit_at(cx.t, i + c.len_utf8()) => dates::decade(cx, i),
        '@' | '#' if ch(cx.t, i + 1).is_some_and(char::is_alphanumeric) => words::handle(cx, i),
        '&' => words::ampersand(cx, i),
        '½' | '¼' | '¾' | '⅓' | '⅔' | '⅕' | '⅖' | '⅛' => quantities::vulgar(cx, i, c),
        _ => quantities::money_before(cx, i).or_else(|| words::abbreviation(cx, i)),
    }
}

/// Matchers for a token that starts with a letter. Each is tried only when a cheap look at the token
/// says it could apply (this runs at every word of a book).
fn letters(cx: &Cx, i: usize, c: char) -> Option<Hit> {
    let t = cx.t;
    let le = letters_end(t, i);
    let tok_end = i + t[i..].find(char::is_whitespace).unwrap_or(t.len() - i);
    let tok = &t[i..tok_end];
    // After the word: a digit within a few bytes (codes, months, serials)?
    let digit_near = t.as_bytes()[le..(le + 3).min(t.len())].iter().any(u8::is_ascii_digit);
    let next = ch(t, le);
    let inner = tok.trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '"', '\'', '”', '»', '’']);
    let rest = &t[le..tok_end];
    if c.is_lowercase()
        && le - i > 4
        && !digit_near
        && !rest.contains(['.', '@', ':', '/', '$'])
        && !rest.bytes().any(|b| b.is_ascii_digit())
    {
        // A plain lowercase word longer than any dotless abbreviation: nothing here reads it differently.
        return None;
    }
    if let Some(h) = words::abbreviation(cx, i) {
        return Some(h);
    }
    if next == Some('.') && !cx.r.suffix_abbrevs.is_empty() {
        if let Some(h) = words::suffix_abbreviation(cx, i) {
            return Some(h);
        }
    }
    if inner.contains(['.', '@', ':']) {
        if let Some(h) = words::electronic(cx, i) {
            return Some(h);
        }
    }
    if digit_near || tok.contains('$') {
        if let Some(h) = quantities::money_code_before(cx, i) {
            return Some(h);
        }
    }
    if digit_near {
        if let Some(h) = dates::month_first(cx, i) {
            return Some(h);
        }
    }
    if "IVXLCDMivxlcdm".contains(c) {
        if let Some(h) = words::roman(cx, i) {
            return Some(h);
        }
    }
    if next == Some('/') {
        if let Some(h) = words::slash_words(cx, i) {
            return Some(h);
        }
    }
    if next.is_some_and(|n| n.is_ascii_digit()) {
        return digits::serial(cx, i);
    }
    None
}

/// Matchers for a token that starts with a digit, most specific first.
pub(super) fn number(cx: &Cx, i: usize) -> Option<Hit> {
    digits::after_phone_word(cx, i)
        .or_else(|| dates::day_list(cx, i))
        .or_else(|| dates::time(cx, i))
        .or_else(|| dates::numeric_date(cx, i))
        .or_else(|| digits::grouped_digits(cx, i))
        .or_else(|| dates::day_first(cx, i))
        .or_else(|| dates::decade(cx, i))
        .or_else(|| quantities::range(cx, i))
        .or_else(|| quantities::fraction(cx, i))
        .or_else(|| digits::ordinal(cx, i))
        .or_else(|| quantities::money_after(cx, i))
        .or_else(|| quantities::measure(cx, i))
        .or_else(|| digits::plain(cx, i))
}
