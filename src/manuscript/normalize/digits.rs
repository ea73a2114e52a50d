//! Plain numbers (cardinals, decimals, years with their case), ordinals with suffixes, negative numbers,
//! telephone numbers, IP addresses, versions and serials (digit groups read digit by digit).

use super::engine::{
    alnum_end, boundary, ch, digits_end, governed_case, is_digit_at, next_word, parse_num, prev_word, say_digits,
    say_int, say_num, spaces_end, Cx, Hit,
};
use super::numbers::{self, Case, Form, Gender, L};
use super::Class;

/// A minus sign before a number: "-2" → "minus two".
pub(super) fn negative(cx: &Cx, i: usize, sign_len: usize) -> Option<Hit> {
    let h = super::classes::number(cx, i + sign_len)?;
    if !matches!(
        h.class,
        Class::Cardinal | Class::Decimal | Class::Measure | Class::Fraction | Class::Money
    ) {
        return None;
    }
    let spoken = format!("{} {}", cx.r.w.minus, h.spoken);
    Hit::new(h.end, h.class, spoken)
}

/// Digit groups joined by `-`, `.`, or spaces: telephone numbers, IP addresses, versions, ISBNs.
pub(super) fn grouped_digits(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    let mut groups: Vec<(usize, usize)> = vec![(i, digits_end(t, i))];
    let mut seps: Vec<char> = Vec::new();
    loop {
        let e = groups.last()?.1;
        match ch(t, e) {
            Some(c @ ('-' | '.')) if is_digit_at(t, e + 1) => {
                seps.push(c);
                groups.push((e + 1, digits_end(t, e + 1)));
            }
            _ => break,
        }
    }
    let end = groups.last()?.1;
    if groups.len() < 2 || ch(t, end).is_some_and(char::is_alphanumeric) {
        return None;
    }
    let l = cx.l();
    let lens: Vec<usize> = groups.iter().map(|(s, e)| e - s).collect();
    let all_dots = seps.iter().all(|&c| c == '.');
    let say_group = |&(s, e): &(usize, usize)| say_digits(l, &t[s..e]);
    if all_dots {
        // A number with '.' thousands groups is not ours.
        if cx.r.group.contains(&'.') && lens[1..].iter().all(|&n| n == 3) && lens[0] <= 3 {
            return None;
        }
        if groups.len() == 4 && lens.iter().all(|&n| n <= 3) {
            let parts: Vec<String> = groups.iter().map(say_group).collect();
            return Hit::new(end, Class::Electronic, parts.join(&format!(" {} ", cx.r.w.dot)));
        }
        if groups.len() == 3 && lens == [3, 3, 4] {
            return Hit::new(
                end,
                Class::Telephone,
                phone_join(cx, groups.iter().map(say_group).collect()),
            );
        }
        if groups.len() >= 3 {
            // A version: 2.0.1 → "two point zero point one".
            let sep = if cx.r.decimal == '.' { cx.r.w.point } else { cx.r.w.dot };
            let parts: Vec<String> = groups
                .iter()
                .map(|&(s, e)| say_int(l, &t[s..e], Form::default()))
                .collect();
            return Hit::new(end, Class::Serial, parts.join(&format!(" {sep} ")));
        }
        return None;
    }
    if groups.len() == 2 {
        // Two groups: a telephone number only when it looks like one (555-0123, 1234-5678).
        let (a, b) = (lens[0], lens[1]);
        let b_zero = t[groups[1].0..].starts_with('0') && b > 1;
        if !(a >= 3 && b >= 4 || b_zero) {
            return None;
        }
        let years = |g: &(usize, usize)| {
            t[g.0..g.1]
                .parse::<u64>()
                .ok()
                .filter(|v| g.1 - g.0 == 4 && (1000..=2100).contains(v))
        };
        if let (Some(x), Some(y)) = (years(&groups[0]), years(&groups[1])) {
            if y > x {
                return None;
            }
        }
    }
    Hit::new(
        end,
        Class::Telephone,
        phone_join(cx, groups.iter().map(say_group).collect()),
    )
}

/// Groups of a telephone number: English separates them with commas (a pause), others with spaces.
fn phone_join(cx: &Cx, parts: Vec<String>) -> String {
    parts.join(if cx.l() == L::En { ", " } else { " " })
}

/// Words announcing a telephone number: the digits after them are read as one, even when spaced.
const PHONE_WORDS: &[&str] = &[
    "tel",
    "telefon",
    "telefonu",
    "phone",
    "fax",
    "téléphone",
    "teléfono",
    "telefono",
    "tél",
    "telefono",
];

/// "tel. 123 456 789": space-separated digit groups after a telephone word.
pub(super) fn after_phone_word(cx: &Cx, i: usize) -> Option<Hit> {
    if !PHONE_WORDS.contains(&prev_word(cx.t, i).as_str()) {
        return None;
    }
    telephone(cx, i)
}

/// "+1 (123) 123-5678", "+48 123 456 789", "(555)555-5555".
pub(super) fn telephone(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    let l = cx.l();
    let mut parts = Vec::new();
    let mut j = i;
    if ch(t, j) == Some('+') {
        let e = digits_end(t, j + 1);
        if e - (j + 1) > 3 {
            return None;
        }
        let cc = &t[j + 1..e];
        let ccw = if l == L::En || cc.len() > 2 {
            say_digits(l, cc)
        } else {
            say_int(l, cc, Form::default())
        };
        parts.push(format!("{} {ccw}", cx.r.w.plus));
        j = e;
    }
    let mut digits_total = 0;
    loop {
        let k = if matches!(ch(t, j), Some('-' | ' ' | '.')) && j > i {
            j + 1
        } else {
            j
        };
        let k = spaces_end(t, k);
        let (s, close) = if ch(t, k) == Some('(') {
            (k + 1, true)
        } else {
            (k, false)
        };
        let e = digits_end(t, s);
        if e == s || (close && ch(t, e) != Some(')')) {
            break;
        }
        if !close && k > j + 1 && e - s < 2 {
            break;
        }
        parts.push(say_digits(l, &t[s..e]));
        digits_total += e - s;
        j = if close { e + 1 } else { e };
        if !(matches!(ch(t, j), Some('-' | ' ' | '.' | '(')) || close && is_digit_at(t, j)) {
            break;
        }
        if ch(t, j) == Some(' ') && !(is_digit_at(t, j + 1) || ch(t, j + 1) == Some('(')) {
            break;
        }
    }
    if digits_total < 6 || ch(t, j).is_some_and(char::is_alphanumeric) {
        return None;
    }
    Hit::new(j, Class::Telephone, phone_join(cx, parts))
}

/// Ordinal numbers with a suffix ("21st", "1er", "3e", "2.º", "1ª") or, in German and Polish, a dot where
/// the context makes it an ordinal ("der 2. Weltkrieg", "am 3.", "dem 1000.").
pub(super) fn ordinal(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    let l = cx.l();
    let mut e = digits_end(t, i);
    // Group separators inside an ordinal: 1,000th / 1 000.º / 1.000.º.
    let n = parse_num(cx, i).filter(|n| n.frac.is_none())?;
    if n.grouped {
        e = n.end;
    }
    let v = n.value()?;
    let rest = &t[e..];
    for &(suf, g) in &cx.r.ordinal_suffixes {
        let matches = if l == L::En {
            rest.get(..suf.len()).is_some_and(|p| p.eq_ignore_ascii_case(suf))
        } else {
            rest.starts_with(suf)
        };
        if !matches || !boundary(t, e + suf.len()) {
            continue;
        }
        if suf == "°" && ch(t, spaces_end(t, e + suf.len())).is_some_and(|c| "CFKcfk".contains(c)) {
            // "-8° c": a temperature, not an ordinal.
            return None;
        }
        if l == L::En && !english_suffix_fits(v, &suf.to_lowercase()) {
            return None;
        }
        let case = if l == L::De {
            governed_case(cx, i).unwrap_or(Case::Nom)
        } else {
            Case::Nom
        };
        let case = if l == L::De && suf == "tem" { Case::Dat } else { case };
        let (_, _, nw) = next_word(t, e + suf.len());
        let before_noun = l == L::Es
            && spaces_end(t, e + suf.len()) > e + suf.len()
            && nw.chars().count() > 2
            && nw.starts_with(char::is_lowercase);
        let apocope = suf.contains('ᵉ') || suf == "er" && l == L::Es || before_noun && g == Gender::M;
        let mut f = Form::new(g, case);
        if apocope {
            f = f.attr();
        }
        if l == L::Fr && v == 1 && (suf == "e" || suf == "ᵉ") {
            return None;
        }
        let mut word = numbers::ordinal(l, v, f);
        if l == L::De && suf.len() > 1 {
            // "121tem": the ending as written.
            let stem = numbers::ordinal(l, v, Form::new(Gender::M, Case::Nom));
            word = format!("{}{}", stem.strip_suffix("er").unwrap_or(&stem), &suf[1..]);
        }
        return Hit::new(e + suf.len(), Class::Ordinal, word);
    }
    if !matches!(l, L::De | L::Pl) || ch(t, e) != Some('.') || is_digit_at(t, e + 1) {
        return None;
    }
    let case = governed_case(cx, i);
    let (ws, we, next) = next_word(t, e + 1);
    let next_l = next.to_lowercase();
    let noun = cx.r.ordinal_nouns.contains(&next_l.as_str());
    let alone = t[..i].trim().is_empty() && t[e + 1..].trim().is_empty();
    let before_word = ws > e + 1 && we > ws;
    if !(noun || alone || (case.is_some() && before_word)) {
        return None;
    }
    let g = match l {
        L::Pl if next_l.ends_with('a') || cx.r.feminine.contains(&next_l.as_str()) => Gender::F,
        L::Pl if next_l.ends_with('e') || next_l.ends_with('o') => Gender::N,
        _ => Gender::M,
    };
    // Polish "na 8. piętro" (where to: accusative) against "na 2. piętrze" (where: locative).
    let case = match case {
        Some(Case::Loc) if l == L::Pl && prev_word(t, i) == "na" && !next_l.ends_with(['u', 'y', 'i', 'e']) => {
            Some(Case::Acc)
        }
        c => c,
    };
    let case = case.unwrap_or(if l == L::Pl && next_l == "wieku" {
        Case::Gen
    } else {
        Case::Nom
    });
    Hit::new(e + 1, Class::Ordinal, numbers::ordinal(l, v, Form::new(g, case)))
}

fn english_suffix_fits(v: u64, suf: &str) -> bool {
    let want = match (v % 10, v % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    want == suf
}

/// Letters and digits mixed: "4K", "B2A23C", "t2000" — digits read as numbers, letters kept.
pub(super) fn serial(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    let end = alnum_end(t, i);
    let tok = &t[i..end];
    if !tok.chars().any(|c| c.is_ascii_digit()) || !tok.chars().any(char::is_alphabetic) {
        return None;
    }
    // A long lowercase word glued to digits ("number0", "page2") is an identifier or a typo, not a code:
    // left as written (plan warns about it).
    let long_lower = tok
        .split(|c: char| c.is_ascii_digit())
        .any(|w| w.chars().count() > 4 && w.chars().all(char::is_lowercase));
    if long_lower {
        return None;
    }
    let l = cx.l();
    let mut parts: Vec<String> = Vec::new();
    let mut j = i;
    while j < end {
        if is_digit_at(t, j) {
            let e = digits_end(t, j);
            let w = say_int(l, &t[j..e], Form::default());
            parts.push(if l == L::En { w.replace(" and ", " ") } else { w });
            j = e;
        } else {
            let mut e = j;
            while e < end && !is_digit_at(t, e) {
                e += ch(t, e).map_or(1, char::len_utf8);
            }
            parts.push(t[j..e].to_string());
            j = e;
        }
    }
    Hit::new(end, Class::Serial, parts.join(" "))
}

/// A plain number: a year where the language reads one, else a cardinal or decimal, agreeing with the
/// noun after it (Polish "dwie godziny", genitive after "od"/"do"; German "ein"/"eine").
pub(super) fn plain(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    let l = cx.l();
    let n = parse_num(cx, i)?;
    let after = ch(t, n.end);
    if after.is_some_and(char::is_alphabetic) {
        if n.frac.is_some() {
            let e = super::engine::letters_end(t, n.end);
            let spoken = format!("{} {}", say_num(cx, &n, Form::default()), &t[n.end..e]);
            return Hit::new(e, Class::Serial, spoken);
        }
        return serial(cx, i);
    }
    let class = if n.frac.is_some() {
        Class::Decimal
    } else {
        Class::Cardinal
    };
    let (_, _, next) = next_word(t, n.end);
    let next_l = next.to_lowercase();
    let prev = prev_word(t, i);
    if let Some(v) = n
        .whole()
        .filter(|_| !n.grouped && n.int.len() == 4 && !n.int.starts_with('0'))
    {
        if let Some(s) = year(cx, i, v, &prev, &next_l) {
            return Hit::new(n.end, Class::Date, s);
        }
    }
    let scale = super::quantities::scale_at(cx, n.end).filter(|&(_, se)| t[n.end..se].trim().chars().count() >= 2);
    if let Some((sc, se)) = scale {
        // "1,2 mln" → "jeden przecinek dwa miliona", "3 million" → "three million".
        let num = say_num(cx, &n, Form::new(sc.gender, Case::Nom).attr());
        let num = if l == L::En { num.replace(" and ", " ") } else { num };
        return Hit::new(se, class, format!("{num} {}", super::engine::noun_form(l, &sc, &n)));
    }
    let f = match l {
        L::Pl => {
            let g = cx.r.gender_of(next);
            let case = match governed_case(cx, i) {
                Some(Case::Gen) => Case::Gen,
                // "2 braci" → "dwóch braci": masculine-personal nouns take the genitive-form numeral.
                _ if cx.r.personal.contains(&next) && n.value().is_some_and(|v| v > 1) => Case::Gen,
                _ => Case::Nom,
            };
            Form::new(g, case)
        }
        L::De if next.starts_with(|c: char| c.is_uppercase()) => {
            let g = if cx.r.feminine.contains(&next) {
                Gender::F
            } else {
                Gender::M
            };
            Form::new(g, Case::Nom).attr()
        }
        L::Es | L::It | L::Fr
            if !next.is_empty()
                && spaces_end(t, n.end) > n.end
                && !matches!(next_l.as_str(), "de" | "y" | "e" | "et" | "o" | "a") =>
        {
            Form::new(romance_gender(l, &next_l), Case::Nom).attr()
        }
        _ => Form::default(),
    };
    Hit::new(n.end, class, say_num(cx, &n, f))
}

/// Spanish and Italian nouns in `-a`/`-as`/`-e` (Italian plural) are mostly feminine ("una hermana",
/// "doscientas personas"); the common masculine exceptions are listed.
fn romance_gender(l: L, noun: &str) -> Gender {
    const MASC_A: &[&str] = &[
        "día",
        "días",
        "problema",
        "problemas",
        "mapa",
        "mapas",
        "sistema",
        "sistemas",
        "programa",
        "programas",
        "tema",
        "temas",
        "idioma",
        "idiomas",
        "clima",
        "planeta",
        "planetas",
        "poema",
        "poemi",
        "poemas",
        "drama",
        "papa",
        "problemi",
        "sistemi",
        "programmi",
        "temi",
    ];
    let fem = match l {
        L::Es => noun.ends_with('a') || noun.ends_with("as"),
        L::It => noun.ends_with('a'),
        _ => false,
    };
    if fem && !MASC_A.contains(&noun) {
        Gender::F
    } else {
        Gender::M
    }
}

/// A bare four-digit number read as a year where the language and context say so.
fn year(cx: &Cx, i: usize, v: u64, prev: &str, next: &str) -> Option<String> {
    let l = cx.l();
    match l {
        L::En if (1100..2100).contains(&v) => Some(numbers::year(l, v, Form::default())),
        L::De
            if (1100..2000).contains(&v)
                && (matches!(
                    prev,
                    "jahr" | "jahre" | "jahres" | "im" | "seit" | "um" | "ab" | "bis" | "von" | "anno" | "in"
                ) || !prev.is_empty()
                    && !next.is_empty()
                    && !cx.t[i..]
                        .split_whitespace()
                        .nth(1)
                        .is_some_and(|w| w.starts_with(char::is_uppercase))) =>
        {
            Some(numbers::year(l, v, Form::default()))
        }
        L::Pl if (1000..=2100).contains(&v) => {
            let roku = matches!(next, "roku" | "r" | "rok" | "rokiem");
            let case = match (governed_case(cx, i), next) {
                (_, "rok") => Case::Nom,
                (_, "rokiem") => Case::Ins,
                (Some(Case::Loc), _) => Case::Loc,
                (Some(Case::Ins), _) => Case::Ins,
                (Some(Case::Gen), _) => Case::Gen,
                (None, _) if roku => Case::Gen,
                _ => return None,
            };
            // Without "roku" only a preposition before a year at the end of a phrase makes it one.
            if !roku && !next.is_empty() {
                return None;
            }
            Some(numbers::ordinal(l, v, Form::new(Gender::M, case)))
        }
        _ => None,
    }
}
