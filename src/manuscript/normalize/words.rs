//! Word-like tokens: abbreviations, Roman numerals (regnal names, headings, centuries), URLs, e-mail
//! addresses, @handles and hashtags, and `&`.

use super::engine::{
    capitalise, ch, governed_case, is_digit_at, letters_end, prev_ch, prev_word, prev_word_raw, say_digits, spaces_end,
    Cx, Hit,
};
use super::numbers::{self, Case, Form, Gender, L};
use super::rules::{Spell, When};
use super::Class;

/// An abbreviation from the language's table, in its context; Polish forms chosen by the governing case.
pub(super) fn abbreviation(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    if !cx.r.abbrev_first[t.as_bytes()[i] as usize] {
        return None;
    }
    let rest = &t[i..];
    let mut best: Option<(&super::rules::Abbr, usize)> = None;
    let mut capital = false;
    let first = rest.chars().next()?;
    // A capitalised word may be a lowercase entry at a sentence start ("Np." for "np.").
    let lower_first = first.is_uppercase().then(|| first.to_lowercase().next()).flatten();
    let (b0, lb0) = (rest.as_bytes()[0], rest.as_bytes()[0].to_ascii_lowercase());
    for a in &cx.r.abbrevs {
        let w0 = a.written.as_bytes()[0];
        if w0 != b0 && w0 != lb0 && w0 < 0x80 {
            continue;
        }
        let exact = rest.starts_with(a.written);
        let cap = !exact
            && lower_first.is_some_and(|lf| {
                a.written.starts_with(lf) && rest[first.len_utf8()..].starts_with(&a.written[lf.len_utf8()..])
            });
        if !exact && !cap {
            continue;
        }
        let end = i + a.written.len();
        if ch(t, end).is_some_and(char::is_alphanumeric)
            || best.is_some_and(|(b, _)| b.written.len() >= a.written.len())
        {
            continue;
        }
        // Without a dot, the word must not be followed by one either ("nr" but not "nr." unless listed).
        let k = spaces_end(t, end);
        let ok = match a.when {
            When::Any => true,
            When::BeforeNumber => {
                is_digit_at(t, k) && k > end || (k == end && is_digit_at(t, k) && a.written.ends_with('.'))
            }
            When::BeforeName => k > end && ch(t, k).is_some_and(char::is_uppercase),
            When::AfterNumber => {
                prev_ch(t, i) == Some(' ') && {
                    let head = t[..i].trim_end();
                    head.ends_with(|c: char| c.is_ascii_digit()) || head.ends_with(|c: char| "IVXLCDM".contains(c))
                }
            }
            When::AfterName => {
                let p = prev_word_raw(t, i);
                p.starts_with(|c: char| c.is_uppercase()) && p.chars().count() > 1
            }
        };
        if ok {
            best = Some((a, end));
            capital = cap;
        }
    }
    let (a, end) = best?;
    let forms: Vec<&str> = a.spoken.split('|').collect();
    let spoken = if forms.len() > 1 {
        let k = match governed_case(cx, i) {
            Some(Case::Gen) => 1,
            Some(Case::Loc) => 2,
            _ => 0,
        };
        forms[k.min(forms.len() - 1)]
    } else {
        forms[0]
    };
    // At the very end of the text the abbreviation's dot is also the full stop: keep one.
    let rest = t[end..].trim_start_matches([' ', '"', '”', '»', '’']);
    let sentence_next = matches!(a.when, When::AfterName | When::AfterNumber) && rest.starts_with(char::is_uppercase);
    let at_end = a.written.ends_with('.') && (rest.is_empty() || sentence_next);
    let spoken = if capital {
        capitalise(spoken)
    } else {
        spoken.to_string()
    };
    let spoken = if at_end { format!("{spoken}.") } else { spoken };
    Hit::new(end, Class::Abbreviation, spoken)
}

/// A compound word with an abbreviated ending: German "Bahnhofstr." → "Bahnhofstraße".
pub(super) fn suffix_abbreviation(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    let e = letters_end(t, i);
    if ch(t, e) != Some('.') {
        return None;
    }
    let word = &t[i..e + 1];
    for &(end, spoken) in &cx.r.suffix_abbrevs {
        if let Some(head) = word.strip_suffix(end).filter(|h| h.chars().count() >= 3) {
            let stop = if t[e + 1..].trim().is_empty() { "." } else { "" };
            return Hit::new(e + 1, Class::Abbreviation, format!("{head}{spoken}{stop}"));
        }
    }
    None
}

/// The value of a Roman numeral written canonically (`IIII` and `IC` are refused).
pub(super) fn roman_value(s: &str) -> Option<u64> {
    let val = |c: char| match c.to_ascii_uppercase() {
        'I' => Some(1),
        'V' => Some(5),
        'X' => Some(10),
        'L' => Some(50),
        'C' => Some(100),
        'D' => Some(500),
        'M' => Some(1000),
        _ => None,
    };
    let vs: Vec<i64> = s.chars().map(val).collect::<Option<_>>()?;
    let mut n = 0i64;
    for (k, &v) in vs.iter().enumerate() {
        if vs.get(k + 1).is_some_and(|&next| next > v) {
            n -= v;
        } else {
            n += v;
        }
    }
    let n = u64::try_from(n).ok()?;
    crate::manuscript::roman::to_roman(n)
        .is_some_and(|r| r.eq_ignore_ascii_case(s))
        .then_some(n)
}

/// A century in Roman numerals: an ordinal in the case the context asks ("w XIX wieku" → locative,
/// "XX w." → genitive), or a cardinal where the language says so ("siglo diecinueve").
fn century(cx: &Cx, i: usize, v: u64, next_l: &str, next_full: &str) -> String {
    let l = cx.l();
    if cx.r.century_cardinal {
        return numbers::cardinal(l, v, Form::default());
    }
    let case = match (governed_case(cx, i), next_full) {
        (Some(c @ (Case::Loc | Case::Gen | Case::Ins)), _) => c,
        (_, "wieku" | "w." | "stulecia") => Case::Gen,
        _ => Case::Nom,
    };
    let g = if l == L::Pl && next_l.starts_with("stuleci") {
        Gender::N
    } else {
        Gender::M
    };
    numbers::ordinal(l, v, Form::new(g, case))
}

/// Roman numerals in context: "Chapter IV" (cardinal), "Henry VIII" (regnal ordinal), "XIX wieku" /
/// "siglo XIX" / "XIXe siècle" (century).
pub(super) fn roman(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    let e = letters_end(t, i);
    let tok = &t[i..e];
    if !tok.chars().all(|c| "IVXLCDMivxlcdme".contains(c)) && !tok.ends_with("er") {
        return None;
    }
    let l = cx.l();
    let prev = prev_word(t, i);
    let upper = tok.chars().all(|c| c.is_ascii_uppercase());
    let century_before = cx.r.century_words.contains(&prev.as_str());
    // French "XIXe", "Ier": a suffix on the numeral.
    let (num, suffix) = match l {
        L::Fr => tok
            .strip_suffix("er")
            .or_else(|| tok.strip_suffix('e'))
            .map_or((tok, ""), |s| (s, "e")),
        _ => (tok, ""),
    };
    let num_upper = !num.is_empty() && num.chars().all(|c| c.is_ascii_uppercase());
    if !(num_upper || century_before && num.chars().all(|c| "ivxlcdm".contains(c))) {
        return None;
    }
    let v = roman_value(num)?;
    let mut end = e;
    if l == L::De && ch(t, end) == Some('.') {
        end += 1;
    }
    let (nws, nwe, next) = super::engine::next_word(t, end);
    let next_l = next.to_lowercase();
    let next_full = if ch(t, nwe) == Some('.') {
        format!("{next_l}.")
    } else {
        next_l.clone()
    };
    let century_after = nws > end
        && (cx.r.century_words.contains(&next_l.as_str()) || cx.r.century_words.contains(&next_full.as_str()));
    if !suffix.is_empty() && num.chars().count() == 1 && num != "I" && !century_after {
        // French "Le", "De": words, not "Le" = 50e.
        return None;
    }
    if century_before || century_after {
        return Hit::new(end, Class::Roman, century(cx, i, v, &next_l, &next_full));
    }
    if upper && tok.len() >= 2 && nws == end + 1 && cx.r.ordinal_nouns.contains(&next_l.as_str()) {
        let g = if next_l.ends_with('a') || next_l.ends_with('y') || next_l.ends_with("ie") {
            Gender::F
        } else {
            Gender::M
        };
        return Hit::new(
            end,
            Class::Roman,
            numbers::ordinal(l, v, Form::new(g, governed_case(cx, i).unwrap_or(Case::Nom))),
        );
    }
    if cx.r.heading_words.contains(&prev.as_str()) {
        return Hit::new(end, Class::Roman, numbers::cardinal(l, v, Form::default()));
    }
    // Regnal: after a capitalised name; a single letter only after a heading word (so "I" stays "I").
    let name = prev_word_raw(t, i);
    let regnal = (tok.len() >= 2 || tok == "V" || tok == "I" && l != L::En)
        && v <= 39
        && name.chars().count() >= 2
        && name.starts_with(|c: char| c.is_uppercase())
        && !name.chars().all(|c| c.is_uppercase());
    if !regnal && suffix.is_empty() {
        return None;
    }
    let g = if matches!(l, L::Pl | L::Es | L::It) && name.ends_with('a') {
        Gender::F
    } else {
        Gender::M
    };
    let s = if v > cx.r.regnal_cardinal_above {
        numbers::cardinal(l, v, Form::default())
    } else {
        let case = if l == L::De { Case::Weak } else { Case::Nom };
        numbers::ordinal(l, v, Form::new(g, case))
    };
    let s = match cx.r.w.regnal_the {
        "" => s,
        the => format!("{the} {}", capitalise(&s)),
    };
    // "Ludwig XIV." at the end: the ordinal dot also ends the sentence.
    let s = if end > e && t[end..].trim().is_empty() {
        format!("{s}.")
    } else {
        s
    };
    Hit::new(end, Class::Roman, s)
}

/// Reads one piece of an address: a word, a spelled word, or digits.
fn say_piece(cx: &Cx, w: &str, out: &mut Vec<String>) {
    let l = cx.l();
    let mut j = 0;
    while j < w.len() {
        let c = w[j..].chars().next().unwrap_or(' ');
        if c.is_ascii_digit() {
            let e = j + w[j..].bytes().take_while(u8::is_ascii_digit).count();
            out.push(say_digits(l, &w[j..e]));
            j = e;
        } else {
            let e = j + w[j..]
                .char_indices()
                .find(|(_, c)| c.is_ascii_digit())
                .map_or(w.len() - j, |(k, _)| k);
            let word = &w[j..e];
            let lw = word.to_lowercase();
            let spell = match &cx.r.spell {
                Spell::Never => false,
                Spell::Short(keep) => {
                    !keep.contains(&lw.as_str())
                        && (word.chars().count() <= 3 || !word.chars().any(|c| "aeiouyäöü".contains(c)))
                }
                Spell::All(keep) => !keep.contains(&lw.as_str()),
            };
            if matches!(cx.r.spell, Spell::Never) && matches!(lw.as_str(), "www" | "http" | "https" | "ftp") {
                out.push(word.to_uppercase());
            } else if spell {
                out.push(word.chars().map(String::from).collect::<Vec<_>>().join(" "));
            } else {
                out.push(word.to_string());
            }
            j = e;
        }
    }
}

/// Symbols inside addresses.
fn say_symbol(cx: &Cx, c: char) -> Option<&'static str> {
    let w = &cx.r.w;
    Some(match c {
        '.' => w.dot,
        '@' => w.at,
        '/' => w.slash,
        ':' => w.colon,
        '-' => w.dash,
        '_' => w.underscore,
        '&' => w.amp,
        '#' => w.hash,
        '+' => w.plus,
        _ => return None,
    })
}

const TLDS: &[&str] = &[
    "com", "org", "net", "edu", "gov", "io", "pl", "de", "fr", "es", "it", "uk", "eu", "info", "co", "us", "ru", "ch",
    "at", "be", "nl", "sm", "me", "mx", "tv", "biz",
];

/// URLs (`https://…`, `www.…`), e-mail addresses and bare domains (`example.com`).
pub(super) fn electronic(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    let tok_end = i + t[i..].find(char::is_whitespace).unwrap_or(t.len() - i);
    let mut end = tok_end;
    while end > i && t[..end].ends_with(['.', ',', ';', ':', '!', '?', ')', '"', '\'', '”', '»']) {
        end -= t[..end].chars().next_back().map_or(1, char::len_utf8);
    }
    let tok = &t[i..end];
    let lower = tok.to_ascii_lowercase();
    let url = ["http://", "https://", "ftp://", "file://"]
        .iter()
        .any(|p| lower.starts_with(p))
        || lower.starts_with("www.");
    let email = tok
        .split_once('@')
        .is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.starts_with('.'));
    let domain = !url && !email && {
        let host = tok.split('/').next().unwrap_or("");
        let labels: Vec<&str> = host.split('.').collect();
        labels.len() >= 2
            && labels
                .iter()
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            && (TLDS.contains(&labels[labels.len() - 1].to_ascii_lowercase().as_str())
                || labels.iter().all(|l| l.chars().all(|c| c.is_ascii_lowercase()))
                    && (2..=6).contains(&labels[labels.len() - 1].len()))
            && labels[0].chars().count() >= 2
    };
    if !(url || email || domain) {
        return None;
    }
    let mut out: Vec<String> = Vec::new();
    let mut piece = String::new();
    for c in tok.chars() {
        if c.is_alphanumeric() {
            piece.push(c);
            continue;
        }
        if !piece.is_empty() {
            say_piece(cx, &piece, &mut out);
            piece.clear();
        }
        match say_symbol(cx, c) {
            Some(w) => out.push(w.to_string()),
            None => out.push(c.to_string()),
        }
    }
    if !piece.is_empty() {
        say_piece(cx, &piece, &mut out);
    }
    Hit::new(end, Class::Electronic, out.join(" "))
}

/// "@jensen" → "at jensen", "#tag" → "hash tag".
pub(super) fn handle(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    let c = ch(t, i)?;
    let mut e = i + 1;
    while let Some(d) = ch(t, e) {
        if d.is_alphanumeric() || d == '_' || (d == '.' && ch(t, e + 1).is_some_and(char::is_alphanumeric)) {
            e += d.len_utf8();
        } else {
            break;
        }
    }
    let mut out = vec![say_symbol(cx, c)?.to_string()];
    for (k, part) in t[i + 1..e].split('.').enumerate() {
        if k > 0 {
            out.push(cx.r.w.dot.to_string());
        }
        say_piece(cx, part, &mut out);
    }
    Hit::new(e, Class::Electronic, out.join(" "))
}

/// Words joined by slashes, "upgrade/update" → "upgrade slash update" (not "and/or" and its kin).
pub(super) fn slash_words(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    let mut j = letters_end(t, i);
    let mut words = vec![&t[i..j]];
    while ch(t, j) == Some('/') {
        let e = letters_end(t, j + 1);
        if e == j + 1 {
            return None;
        }
        words.push(&t[j + 1..e]);
        j = e;
    }
    if words.len() < 2 || !boundary_no_digit(t, j) || words.iter().any(|w| w.chars().count() < 2) {
        return None;
    }
    if cx.r.slash_pairs.iter().any(|p| p.eq_ignore_ascii_case(&t[i..j])) {
        return None;
    }
    Hit::new(j, Class::Electronic, words.join(&format!(" {} ", cx.r.w.slash)))
}

fn boundary_no_digit(t: &str, i: usize) -> bool {
    ch(t, i).is_none_or(|c| !c.is_alphanumeric() && c != '/')
}

/// "&" between words → "and".
pub(super) fn ampersand(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    if ch(t, i + 1).is_some_and(|c| c.is_whitespace()) && prev_ch(t, i).is_some_and(char::is_whitespace) {
        return Hit::new(i + 1, Class::Symbol, cx.r.w.amp);
    }
    None
}
