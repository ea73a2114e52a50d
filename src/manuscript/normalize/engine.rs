//! The engine: a left-to-right scan that, at each word start, asks the class matchers (in a fixed order)
//! whether a verbalisable token starts there, and records the longest such span with its class.
//!
//! Matchers only read the text and the language's [`Rules`]; what is said lives in the tables.

use super::numbers::{self, Case, Form, Gender, L};
use super::rules::{Noun, Rules};
use super::{Class, Span};

/// What a matcher found: the span's end (byte offset), class and spoken words.
pub(super) struct Hit {
    pub end: usize,
    pub class: Class,
    pub spoken: String,
}

impl Hit {
    pub fn new(end: usize, class: Class, spoken: impl Into<String>) -> Option<Hit> {
        Some(Hit {
            end,
            class,
            spoken: spoken.into(),
        })
    }
}

/// The text being normalised and its language's rules.
pub(super) struct Cx<'a> {
    pub t: &'a str,
    pub r: &'static Rules,
}

impl Cx<'_> {
    /// The number speller's language.
    pub fn l(&self) -> L {
        self.r.lang
    }
}

/// The spans of `t` that are read differently from how they are written.
pub(super) fn scan(t: &str, r: &'static Rules) -> Vec<Span> {
    let cx = Cx { t, r };
    let mut out = Vec::new();
    let mut i = 0;
    let bytes = t.as_bytes();
    while i < t.len() {
        // Fast path: spaces and ASCII punctuation that no table reads.
        let b = bytes[i];
        if b == b' ' || (b.is_ascii_punctuation() && !b"$%&#+=@'(-.,".contains(&b)) {
            i += 1;
            continue;
        }
        let Some(c) = ch(t, i) else { break };
        let word_start = prev_ch(t, i).is_none_or(|p| !p.is_alphanumeric());
        if word_start {
            if let Some(h) = super::classes::at(&cx, i, c).filter(|h| h.end > i) {
                let h = join_range(&cx, h);
                out.push(Span {
                    start: i,
                    end: h.end,
                    class: h.class,
                    spoken: h.spoken,
                });
                i = h.end;
                continue;
            }
        }
        if let Some(&(_, w)) = (!c.is_alphanumeric())
            .then(|| r.symbols.iter().find(|(s, _)| *s == c))
            .flatten()
        {
            let lead = if prev_ch(t, i).is_some_and(|p| !p.is_whitespace()) {
                " "
            } else {
                ""
            };
            let end = i + c.len_utf8();
            let trail = if ch(t, end).is_some_and(char::is_alphanumeric) {
                " "
            } else {
                ""
            };
            out.push(Span {
                start: i,
                end,
                class: Class::Symbol,
                spoken: format!("{lead}{w}{trail}"),
            });
            i = end;
            continue;
        }
        i = if c.is_alphanumeric() {
            alnum_end(t, i)
        } else {
            i + c.len_utf8()
        };
    }
    out
}

/// "2pm-5pm", "1960s-80s": two times or decades joined by a dash are a range.
fn join_range(cx: &Cx, h: Hit) -> Hit {
    if !matches!(h.class, Class::Time | Class::Decade) {
        return h;
    }
    let j = spaces_end(cx.t, h.end);
    let Some(d) = ch(cx.t, j).filter(|d| matches!(d, '-' | '–')) else {
        return h;
    };
    let k = spaces_end(cx.t, j + d.len_utf8());
    match ch(cx.t, k).and_then(|c| super::classes::at(cx, k, c)) {
        Some(h2) if h2.class == h.class => Hit {
            end: h2.end,
            class: Class::Range,
            spoken: format!("{} {} {}", h.spoken, cx.r.w.to, h2.spoken),
        },
        _ => h,
    }
}

/// The char at byte `i`.
pub(super) fn ch(t: &str, i: usize) -> Option<char> {
    t.get(i..).and_then(|s| s.chars().next())
}

/// The char before byte `i`.
pub(super) fn prev_ch(t: &str, i: usize) -> Option<char> {
    t.get(..i).and_then(|s| s.chars().next_back())
}

/// End of the ASCII digit run at `i`.
pub(super) fn digits_end(t: &str, i: usize) -> usize {
    i + t.as_bytes()[i.min(t.len())..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count()
}

/// Whether byte `i` starts an ASCII digit.
pub(super) fn is_digit_at(t: &str, i: usize) -> bool {
    t.as_bytes().get(i).is_some_and(u8::is_ascii_digit)
}

/// End of the spaces (ordinary, no-break, narrow no-break) at `i`.
pub(super) fn spaces_end(t: &str, mut i: usize) -> usize {
    while let Some(c) = ch(t, i) {
        if c == ' ' || c == '\u{a0}' || c == '\u{202f}' || c == '\t' {
            i += c.len_utf8();
        } else {
            break;
        }
    }
    i
}

/// End of the alphanumeric run at `i` (at least one character past `i`).
pub(super) fn alnum_end(t: &str, i: usize) -> usize {
    run_end(t, i, char::is_alphanumeric).max(i + ch(t, i).map_or(1, char::len_utf8))
}

/// End of the letter run at `i` (`i` itself when none).
pub(super) fn letters_end(t: &str, i: usize) -> usize {
    run_end(t, i, char::is_alphabetic)
}

/// End of the run of characters from `i` that satisfy `keep`.
fn run_end(t: &str, i: usize, keep: fn(char) -> bool) -> usize {
    let mut j = i;
    while let Some(c) = ch(t, j).filter(|&c| keep(c)) {
        j += c.len_utf8();
    }
    j
}

/// Nothing alphanumeric follows byte `i`.
pub(super) fn boundary(t: &str, i: usize) -> bool {
    ch(t, i).is_none_or(|c| !c.is_alphanumeric())
}

/// The word before byte `i` (skipping spaces and an abbreviation's dot: "ok." → "ok"), lowercased;
/// empty when none.
pub(super) fn prev_word(t: &str, i: usize) -> String {
    let head = t[..i].trim_end_matches([' ', '\u{a0}']);
    trailing_word(head.strip_suffix('.').unwrap_or(head)).to_lowercase()
}

/// The word before byte `i` as written (skipping spaces); empty when none.
pub(super) fn prev_word_raw(t: &str, i: usize) -> &str {
    trailing_word(t[..i].trim_end_matches([' ', '\u{a0}']))
}

/// The letters at the end of `head`.
fn trailing_word(head: &str) -> &str {
    let start = head
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphabetic())
        .last()
        .map_or(head.len(), |(k, _)| k);
    &head[start..]
}

/// The word after byte `i` (skipping spaces): its start, end and text.
pub(super) fn next_word(t: &str, i: usize) -> (usize, usize, &str) {
    let s = spaces_end(t, i);
    let e = letters_end(t, s);
    (s, e, &t[s..e])
}

/// A number as written: its digits, fractional digits and where it ends.
#[derive(Debug, Clone)]
pub(super) struct Num {
    /// Integer digits, group separators removed.
    pub int: String,
    /// Fractional digits, when written.
    pub frac: Option<String>,
    /// Byte end.
    pub end: usize,
    /// Thousands separators were used.
    pub grouped: bool,
}

impl Num {
    /// The integer value, when it fits.
    pub fn value(&self) -> Option<u64> {
        if self.int.len() > 18 {
            return None;
        }
        self.int.parse().ok()
    }
    /// A whole number (no fractional part) with its value.
    pub fn whole(&self) -> Option<u64> {
        if self.frac.is_some() {
            None
        } else {
            self.value()
        }
    }
}

/// Parses the number at `i` with the language's group and decimal separators.
pub(super) fn parse_num(cx: &Cx, i: usize) -> Option<Num> {
    let t = cx.t;
    let mut j = digits_end(t, i);
    if j == i {
        // ".5" / ",5": a fraction without an integer part.
        if ch(t, i) == Some(cx.r.decimal) && is_digit_at(t, i + 1) {
            let e = digits_end(t, i + 1);
            return Some(Num {
                int: String::new(),
                frac: Some(t[i + 1..e].to_string()),
                end: e,
                grouped: false,
            });
        }
        return None;
    }
    let mut int = t[i..j].to_string();
    let mut grouped = false;
    if j - i <= 3 {
        'groups: loop {
            for &sep in &cx.r.group {
                if ch(t, j) == Some(sep) {
                    let k = j + sep.len_utf8();
                    if digits_end(t, k) == k + 3 {
                        int.push_str(&t[k..k + 3]);
                        j = k + 3;
                        grouped = true;
                        continue 'groups;
                    }
                }
            }
            break;
        }
    }
    let mut frac = None;
    if ch(t, j) == Some(cx.r.decimal) && is_digit_at(t, j + 1) {
        let e = digits_end(t, j + 1);
        frac = Some(t[j + 1..e].to_string());
        j = e;
    }
    Some(Num {
        int,
        frac,
        end: j,
        grouped,
    })
}

/// Digit by digit: "0 0 4" → "zero zero four".
pub(super) fn say_digits(l: L, s: &str) -> String {
    s.chars()
        .filter_map(|c| c.to_digit(10))
        .map(|d| numbers::digit(l, d))
        .collect::<Vec<_>>()
        .join(" ")
}

/// An integer as written: digits when it has a leading zero or is too long, else the cardinal.
pub(super) fn say_int(l: L, int: &str, f: Form) -> String {
    if int.is_empty() {
        return String::new();
    }
    if (int.len() > 1 && int.starts_with('0')) || int.len() > 18 {
        return say_digits(l, int);
    }
    int.parse()
        .map_or_else(|_| say_digits(l, int), |n| numbers::cardinal(l, n, f))
}

/// The fractional digits after the decimal word, in the language's style.
pub(super) fn say_frac(l: L, frac: &str) -> String {
    match l {
        L::En | L::De => say_digits(l, frac),
        L::Pl if frac.len() > 3 => say_digits(l, frac),
        _ => {
            let chunks: Vec<&str> = if frac.len() <= 3 {
                vec![frac]
            } else {
                frac.as_bytes()
                    .chunks(2)
                    .map(|c| std::str::from_utf8(c).unwrap_or(""))
                    .collect()
            };
            let mut words = Vec::new();
            for c in chunks {
                let zeros = c.len() - c.trim_start_matches('0').len();
                if zeros > 0 {
                    words.push(say_digits(l, &c[..zeros]));
                }
                let rest = &c[zeros..];
                if !rest.is_empty() {
                    words.push(say_int(l, rest, Form::default()));
                }
            }
            words.join(" ")
        }
    }
}

/// A number (cardinal or decimal) in form `f`.
pub(super) fn say_num(cx: &Cx, n: &Num, f: Form) -> String {
    let l = cx.l();
    match &n.frac {
        None => say_int(l, &n.int, f),
        Some(fr) => {
            let int = if n.int.is_empty() {
                String::new()
            } else {
                say_int(l, &n.int, Form::default())
            };
            let int = if l == L::Es && n.int == "1" {
                "uno".to_string()
            } else {
                int
            };
            let head = if int.is_empty() {
                String::new()
            } else {
                format!("{int} ")
            };
            format!("{head}{} {}", cx.r.w.point, say_frac(l, fr))
        }
    }
}

/// The form of a noun after a number.
pub(super) fn noun_form(l: L, noun: &Noun, n: &Num) -> &'static str {
    if n.frac.is_some() {
        return noun.frac;
    }
    match n.value() {
        Some(1) => noun.one,
        Some(v) if l == L::Pl => [noun.one, noun.few, noun.many][numbers::pl::plural_class(v).max(1)],
        _ => noun.few,
    }
}

/// The form of a number before a noun of this gender (attributive, nominative).
pub(super) fn attr(g: Gender) -> Form {
    Form::new(g, Case::Nom).attr()
}

/// The case the word before byte `i` governs, from the language's table.
pub(super) fn governed_case(cx: &Cx, i: usize) -> Option<Case> {
    let w = prev_word(cx.t, i);
    if w.is_empty() {
        return None;
    }
    cx.r.case_words.iter().find(|(p, _)| *p == w).map(|&(_, c)| c)
}

/// Uppercases the first letter.
pub(super) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
