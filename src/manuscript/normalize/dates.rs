//! Dates (numeric and written, in each language's order and case), decades and times of day.

use super::engine::{
    boundary, ch, digits_end, governed_case, is_digit_at, letters_end, prev_word, spaces_end, Cx, Hit,
};
use super::numbers::{self, Case, Form, Gender, L};
use super::Class;

/// A month word at `i` (with an optional abbreviation dot): its number and end.
fn month_at(cx: &Cx, i: usize, after_number: bool) -> Option<(u8, usize)> {
    let e = letters_end(cx.t, i);
    if e == i {
        return None;
    }
    let w = &cx.t[i..e];
    let lw = w.to_lowercase();
    let &(_, m) = cx.r.month_words.iter().find(|(n, _)| *n == lw)?;
    // English "may"/"march" are also words: only capitalised as months.
    if cx.l() == L::En
        && !after_number
        && (lw == "may" || lw == "march" || lw == "mar")
        && w.starts_with(|c: char| c.is_lowercase())
    {
        return None;
    }
    let full = cx.r.months[m as usize - 1].to_lowercase() == lw || lw.chars().count() > 4;
    let end = if ch(cx.t, e) == Some('.') && !full { e + 1 } else { e };
    Some((m, end))
}

/// A four-digit year at `i` (after optional spaces and, in Spanish, "de"/"del"): (year, end, connector).
fn year_after(cx: &Cx, i: usize) -> Option<(u64, usize, &'static str)> {
    let mut j = if ch(cx.t, i) == Some(',') { i + 1 } else { i };
    j = spaces_end(cx.t, j);
    if j == i && !cx.t[..i].ends_with(',') {
        return None;
    }
    let mut conn = "";
    if cx.l() == L::Es {
        for c in ["del ", "de "] {
            if cx.t[j..].starts_with(c) {
                conn = if c == "del " { "del" } else { "de" };
                j += c.len();
                break;
            }
        }
    }
    let e = digits_end(cx.t, j);
    if e - j != 4 || !boundary(cx.t, e) || ch(cx.t, e).is_some_and(|c| c == ',' && is_digit_at(cx.t, e + 1)) {
        return None;
    }
    let y: u64 = cx.t[j..e].parse().ok()?;
    Some((y, e, conn))
}

/// The day as an ordinal or cardinal, as the language reads it in a date.
fn say_day(cx: &Cx, d: u64, at: usize) -> String {
    let l = cx.l();
    match l {
        L::En => numbers::ordinal(l, d, Form::default()),
        L::Pl => {
            let case = match governed_case(cx, at) {
                Some(Case::Loc) if prev_word(cx.t, at) == "na" => Case::Acc,
                _ => Case::Gen,
            };
            numbers::ordinal(l, d, Form::new(Gender::M, case))
        }
        L::De => {
            let case = governed_case(cx, at).unwrap_or(Case::Nom);
            numbers::ordinal(l, d, Form::new(Gender::M, case))
        }
        L::Fr | L::Es | L::It if d == 1 => numbers::ordinal(l, 1, Form::default()),
        _ => numbers::cardinal(l, d, Form::default()),
    }
}

fn say_year(cx: &Cx, y: u64) -> String {
    numbers::year(cx.l(), y, Form::new(Gender::M, Case::Gen))
}

/// A whole date. `dmy`: written day first (English "the fourth of July").
fn say_date(cx: &Cx, at: usize, d: Option<u64>, m: u8, y: Option<(u64, &str)>, dmy: bool) -> String {
    let month = cx.r.months[m as usize - 1];
    let l = cx.l();
    let mut s = match (d, l) {
        (None, _) => month.to_string(),
        (Some(d), L::En) if dmy => format!("the {} of {month}", say_day(cx, d, at)),
        (Some(d), L::En) => format!("{month} {}", say_day(cx, d, at)),
        (Some(d), L::Es) => format!("{} de {month}", say_day(cx, d, at)),
        (Some(d), _) => format!("{} {month}", say_day(cx, d, at)),
    };
    if let Some((y, conn)) = y {
        let conn = match (l, conn) {
            (L::Es, "") => " de ".to_string(),
            (L::Es, c) => format!(" {c} "),
            _ => " ".to_string(),
        };
        s.push_str(&conn);
        s.push_str(&say_year(cx, y));
    }
    s
}

/// "4 July 1776", "21 września 1990", "3. Oktober", "25th jul", "10 de mayo de 1990", "1er mai".
pub(super) fn day_first(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    let e = digits_end(t, i);
    if e - i > 2 {
        return None;
    }
    let d: u64 = t[i..e].parse().ok()?;
    if !(1..=31).contains(&d) {
        return None;
    }
    let mut j = e;
    for (suf, _) in cx.r.ordinal_suffixes.iter().chain(&[(".", Gender::M)]) {
        if t[j..].to_lowercase().starts_with(suf) && !suf.is_empty() {
            let k = j + suf.len();
            if !ch(t, k).is_some_and(char::is_alphanumeric) || *suf == "." {
                j = k;
                break;
            }
        }
    }
    let mut k = spaces_end(t, j);
    if k == j && j == e {
        return None;
    }
    if cx.l() == L::Es && t[k..].starts_with("de ") {
        k += 3;
    }
    let (m, me) = month_at(cx, k, true)?;
    let year = year_after(cx, me);
    let end = year.map_or(me, |(_, ye, _)| ye);
    let mut spoken = say_date(cx, i, Some(d), m, year.map(|(y, _, c)| (y, c)), true);
    if cx.l() == L::En && prev_word(cx.t, i) == "the" {
        spoken = spoken.trim_start_matches("the ").to_string();
    }
    Hit::new(end, Class::Date, spoken)
}

/// Several days before one month: "les 17/18 juin", "17-18-19 juin 2025", "3–5 maja".
pub(super) fn day_list(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    let mut days = Vec::new();
    let mut dashes = true;
    let mut j = i;
    loop {
        let e = digits_end(t, j);
        if e == j || e - j > 2 {
            return None;
        }
        days.push(t[j..e].parse::<u64>().ok().filter(|d| (1..=31).contains(d))?);
        match ch(t, e) {
            Some(c @ ('-' | '/' | '–')) if is_digit_at(t, e + c.len_utf8()) => {
                dashes &= c != '/';
                j = e + c.len_utf8();
            }
            _ => {
                j = e;
                break;
            }
        }
    }
    if days.len() < 2 {
        return None;
    }
    let k = spaces_end(t, j);
    if k == j {
        return None;
    }
    let (m, me) = month_at(cx, k, true)?;
    let year = year_after(cx, me);
    let end = year.map_or(me, |(_, ye, _)| ye);
    let l = cx.l();
    let said: Vec<String> = days.iter().map(|&d| say_day(cx, d, i)).collect();
    let w = &cx.r.w;
    let joined = match l {
        // "3–5 maja": a range of days ("od trzeciego do piątego maja").
        _ if dashes && days.len() == 2 && l != L::Fr => {
            let from = if w.from.is_empty() {
                String::new()
            } else {
                format!("{} ", w.from)
            };
            format!("{from}{} {} {}", said[0], w.to, said[1])
        }
        L::Fr => said.join(" "),
        _ => said.join(&format!(" {} ", w.and)),
    };
    let mut spoken = match l {
        L::Es => format!("{joined} de {}", cx.r.months[m as usize - 1]),
        L::En => format!("{} {joined}", cx.r.months[m as usize - 1]),
        _ => format!("{joined} {}", cx.r.months[m as usize - 1]),
    };
    if let Some((y, _, _)) = year {
        spoken = format!("{spoken} {}", say_year(cx, y));
    }
    Hit::new(end, Class::Date, spoken)
}

/// "July 4, 1776", "Jan. 15 2020", "abril 30", "junio 11 2000", "Oktober 2003".
pub(super) fn month_first(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    let (m, me) = month_at(cx, i, false)?;
    let k = spaces_end(t, me);
    let k = if k == me && ch(t, me) == Some('-') { me + 1 } else { k };
    if !is_digit_at(t, k) {
        return None;
    }
    let e = digits_end(t, k);
    if e - k == 4 && cx.l() != L::En {
        // "Oktober 2003", "marzo 1990": month and year.
        let y = t[k..e].parse().ok()?;
        if !boundary(t, e) {
            return None;
        }
        return Hit::new(e, Class::Date, say_date(cx, i, None, m, Some((y, "")), false));
    }
    if e - k > 2 || k == me && ch(t, me) != Some('-') {
        return None;
    }
    let d: u64 = t[k..e].parse().ok()?;
    if !(1..=31).contains(&d) {
        return None;
    }
    let mut end = e;
    for suf in ["st", "nd", "rd", "th"] {
        if cx.l() == L::En && t[end..].to_lowercase().starts_with(suf) {
            end += 2;
            break;
        }
    }
    if !boundary(t, end) {
        return None;
    }
    let (y, end) = match year_after(cx, end) {
        Some((y, ye, c)) => (Some((y, c)), ye),
        None if ch(t, end) == Some('-') && digits_end(t, end + 1) == end + 5 => {
            (t[end + 1..end + 5].parse().ok().map(|y| (y, "")), end + 5)
        }
        None => (None, end),
    };
    let dmy = cx.l() != L::En;
    let mut spoken = say_date(cx, i, Some(d), m, y, dmy);
    if cx.l() == L::En {
        if let Some((yy, _)) = y {
            // "July fourth, seventeen seventy-six": keep the comma the author wrote.
            if t[e..].trim_start_matches(|c: char| c.is_alphabetic()).starts_with(',') {
                let year = say_year(cx, yy);
                spoken = format!("{}, {year}", &spoken[..spoken.len() - year.len() - 1]);
            }
        }
    }
    Hit::new(end, Class::Date, spoken)
}

/// Numeric dates: 2024-05-12, 12/05/2020, 15.01.2020, 2.3.2003, 17.06 (day-first languages), 2003-03.
pub(super) fn numeric_date(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    let e1 = digits_end(t, i);
    let sep = ch(t, e1)?;
    if !matches!(sep, '-' | '/' | '.') || !is_digit_at(t, e1 + 1) {
        return None;
    }
    let e2 = digits_end(t, e1 + 1);
    let a = &t[i..e1];
    let b = &t[e1 + 1..e2];
    let third = (ch(t, e2) == Some(sep) && is_digit_at(t, e2 + 1)).then(|| digits_end(t, e2 + 1));
    let c = third.map(|e3| &t[e2 + 1..e3]);
    let end = third.unwrap_or(e2);
    if !boundary(t, end) || (ch(t, end) == Some(sep) && is_digit_at(t, end + 1)) {
        return None;
    }
    if ch(t, end) == Some('.') && is_digit_at(t, end + 1) {
        return None;
    }
    let num = |s: &str| s.parse::<u64>().ok();
    let (d, m, y): (Option<u64>, u64, Option<u64>) = if a.len() == 4 {
        // Year first: 2024-05-12, 2016/07/03, 2003-03.
        let y = num(a)?;
        match c {
            Some(c) if c.len() <= 2 && b.len() <= 2 => {
                let (m, d) = (num(b)?, num(c)?);
                if m > 12 && d <= 12 {
                    (Some(m), d, Some(y))
                } else {
                    (Some(d), m, Some(y))
                }
            }
            None if sep == '-' && b.len() == 2 && cx.l() != L::En => (None, num(b)?, Some(y)),
            _ => return None,
        }
    } else {
        if a.len() > 2 || b.len() > 2 {
            return None;
        }
        let y = match c {
            Some(c) if c.len() == 4 || (c.len() == 2 && sep == '/') => Some(num(c)?),
            Some(_) => return None,
            // Day and month only: a day-first language with a dot (17.06, 2.3).
            None if sep == '.' && cx.r.day_first && cx.l() != L::Es => None,
            None => return None,
        };
        let (x, z) = (num(a)?, num(b)?);
        let day_first = if cx.l() == L::En { x > 12 } else { z <= 12 };
        if day_first {
            (Some(x), z, y)
        } else {
            (Some(z), x, y)
        }
    };
    if !(1..=12).contains(&m) || d.is_some_and(|d| !(1..=31).contains(&d)) {
        return None;
    }
    let dmy = cx.l() == L::En && d.is_some() && a.len() <= 2 && num(a)? > 12;
    let year = y.map(|y| {
        if a.len() != 4 && c.is_some_and(|c| c.len() == 2) {
            (y, "two")
        } else {
            (y, "")
        }
    });
    let mut spoken = say_date(cx, i, d, m as u8, year.map(|(y, _)| (y, "")), dmy);
    if let Some((y, "two")) = year {
        // 11/17/05: the year as written, two digits.
        let yw = say_year(cx, y);
        let two = if y < 10 {
            format!("{} {}", numbers::digit(cx.l(), 0), numbers::digit(cx.l(), y as u32))
        } else {
            numbers::cardinal(cx.l(), y, Form::default())
        };
        spoken = format!("{}{two}", &spoken[..spoken.len() - yw.len()]);
    }
    Hit::new(end, Class::Date, spoken)
}

/// Decades: 1990s, '80s, 80s (English), 90er (German), "lata 90." / "latach 90-tych" (Polish).
pub(super) fn decade(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    let apos = ch(t, i).filter(|c| *c == '\'' || *c == '’').map_or(0, char::len_utf8);
    let s = i + apos;
    let e = digits_end(t, s);
    let n: u64 = t[s..e].parse().ok()?;
    let len = e - s;
    if !n.is_multiple_of(10) || !(len == 2 || len == 4) {
        return None;
    }
    let l = cx.l();
    match l {
        L::En => {
            let k = if ch(t, e) == Some(' ') { e + 1 } else { e };
            if ch(t, k) != Some('s') || !boundary(t, k + 1) || (k != e && len != 4) {
                return None;
            }
            let words = if len == 4 {
                numbers::year(l, n, Form::default())
            } else {
                numbers::cardinal(l, n, Form::default())
            };
            Hit::new(k + 1, Class::Decade, numbers::en::plural(&words))
        }
        L::De if t[e..].starts_with("er") => {
            let end = letters_end(t, e);
            let rest = &t[e + 2..end];
            let w = if len == 4 {
                numbers::year(l, n, Form::default())
            } else {
                numbers::cardinal(l, n, Form::default())
            };
            Hit::new(end, Class::Decade, format!("{w}er{rest}"))
        }
        L::Pl if apos == 0 => {
            let pw = prev_word(t, i);
            let case = match pw.as_str() {
                "lata" | "latami" => Case::NomPl,
                "latach" | "lat" | "latom" => Case::GenPl,
                _ => return None,
            };
            let mut end = e;
            if ch(t, e) == Some('.') {
                end = e + 1;
            } else if ch(t, e) == Some('-') {
                end = letters_end(t, e + 1);
            }
            let v = if len == 4 { n % 100 } else { n };
            let v = if v == 0 { n } else { v };
            Hit::new(end, Class::Decade, numbers::ordinal(l, v, Form::new(Gender::M, case)))
        }
        _ => None,
    }
}

/// Where the word before byte `i` starts (skipping spaces and its dot).
fn prev_word_start(t: &str, i: usize) -> usize {
    let head = t[..i].trim_end_matches([' ', '\u{a0}']);
    let head = head.strip_suffix('.').unwrap_or(head);
    head.char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphabetic())
        .last()
        .map_or(head.len(), |(k, _)| k)
}

/// The a.m./p.m. marker at `i` (after optional spaces): 0 = a.m., 1 = p.m., and its end.
fn am_pm(t: &str, i: usize) -> Option<(usize, usize)> {
    let k = spaces_end(t, i);
    let rest = &t[k..];
    for (w, which) in [
        ("a.m.", 0),
        ("p.m.", 1),
        ("a.m", 0),
        ("p.m", 1),
        ("am", 0),
        ("pm", 1),
        ("AM", 0),
        ("PM", 1),
        ("A.M.", 0),
        ("P.M.", 1),
    ] {
        if rest.starts_with(w) {
            let end = k + w.len();
            if w.ends_with('.') || boundary(t, end) {
                return Some((which, end));
            }
        }
    }
    None
}

/// Times: 10:30, 9:05 p.m., 5pm, 08:00 Uhr, 14:10:30, 2.30 Uhr, 12.15 (Spanish), 10h30 (French).
pub(super) fn time(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    let l = cx.l();
    let e = digits_end(t, i);
    if e - i > 2 {
        return None;
    }
    let h: u64 = t[i..e].parse().ok()?;
    let sep = ch(t, e);
    let has_minutes = matches!(sep, Some(':' | '.' | 'h')) && digits_end(t, e + 1) == e + 3;
    let (m, s, mut end) = if has_minutes {
        let m: u64 = t[e + 1..e + 3].parse().ok()?;
        let mut end = e + 3;
        let mut s = None;
        if sep == Some(':') && ch(t, end) == Some(':') && digits_end(t, end + 1) == end + 3 {
            s = Some(t[end + 1..end + 3].parse::<u64>().ok()?);
            end += 3;
        }
        (m, s, end)
    } else {
        (0, None, e)
    };
    if h > 24 || m > 59 || s.is_some_and(|s| s > 59) || is_digit_at(t, end) {
        return None;
    }
    let ampm = am_pm(t, end);
    let uhr = {
        let k = spaces_end(t, end);
        (l == L::De && t[k..].starts_with("Uhr") && boundary(t, k + 3)).then_some(k + 3)
    };
    // Which separators make a time on their own.
    let ok = match sep {
        Some(':') => has_minutes && ch(t, end) != Some(':'),
        Some('.') => {
            has_minutes
                && (ampm.is_some()
                    || uhr.is_some()
                    || (l == L::Es && boundary(t, end) && ch(t, end) != Some('.'))
                    || cx.r.time_words.contains(&prev_word(t, i).as_str()) && ch(t, end) != Some('.'))
        }
        Some('h') => has_minutes && l == L::Fr,
        _ => !has_minutes && ampm.is_some() && h <= 12,
    };
    if !ok || !(boundary(t, end) || ampm.is_some()) {
        return None;
    }
    if let Some((_, e2)) = ampm {
        end = e2;
    } else if let Some(e2) = uhr {
        end = e2;
    }
    if matches!(l, L::Es | L::Fr) {
        // "1.05 h", "10:30 h": the hour mark after a time.
        let k = spaces_end(t, end);
        if ch(t, k) == Some('h') && boundary(t, k + 1) && (has_minutes) {
            end = k + 1;
        }
    }
    let mut spoken = say_time(cx, i, h, m, s, ampm.map(|(w, _)| w));
    if let (Some(_), Some((a, _)), L::En) = (s, ampm, l) {
        spoken = format!("{spoken} {}", cx.r.am_pm[a]);
    }
    if let Some((zone, ze)) = time_zone(cx, end) {
        spoken = format!("{spoken} {zone}");
        end = ze;
    }
    Hit::new(end, Class::Time, spoken)
}

/// Time-zone abbreviations read letter by letter after a time.
const ZONES: &[&str] = &[
    "est", "edt", "pst", "pdt", "cst", "cdt", "mst", "mdt", "gmt", "utc", "cet", "cest", "bst", "e.s.t", "p.s.t",
];

/// A time zone after a time ("EST", "e.s.t", "pst"): how it is read and where it ends.
fn time_zone(cx: &Cx, i: usize) -> Option<(String, usize)> {
    let t = cx.t;
    let k = spaces_end(t, i);
    let rest = t.get(k..)?;
    let z = ZONES
        .iter()
        .filter(|z| rest.get(..z.len()).is_some_and(|p| p.eq_ignore_ascii_case(z)))
        .max_by_key(|z| z.len())?;
    let mut end = k + z.len();
    if !boundary(t, end) {
        return None;
    }
    if z.contains('.') && ch(t, end) == Some('.') {
        end += 1;
    }
    let letters: Vec<String> = z
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_string())
        .collect();
    let spoken = match cx.r.spell {
        super::rules::Spell::All(_) => letters.join(" "),
        _ => letters.concat().to_uppercase(),
    };
    Some((spoken, end))
}

/// A duration written h:mm:ss: "one hour one minute and one second", "ein Uhr eine Minute eine Sekunde".
fn say_duration(cx: &Cx, h: u64, m: u64, s: u64) -> String {
    let l = cx.l();
    let w = &cx.r.w;
    let card = |n: u64, g: Gender| numbers::cardinal(l, n, Form::new(g, Case::Nom).attr());
    let unit = |n: u64, noun: &super::rules::Noun| if n == 1 { noun.one } else { noun.few };
    let and = w.and;
    match l {
        L::De => format!(
            "{} Uhr {} {} {} {}",
            card(h, Gender::N).replace("eins", "ein"),
            card(m, Gender::F),
            unit(m, &w.minute),
            card(s, Gender::F),
            unit(s, &w.second)
        ),
        L::It => format!(
            "{} {and} {} {} {and} {} {}",
            card(h, Gender::F),
            card(m, Gender::M),
            unit(m, &w.minute),
            card(s, Gender::M),
            unit(s, &w.second)
        ),
        _ => format!(
            "{} {} {} {} {and} {} {}",
            card(h, w.hour.gender),
            unit(h, &w.hour),
            card(m, w.minute.gender),
            unit(m, &w.minute),
            card(s, w.second.gender),
            unit(s, &w.second)
        ),
    }
}

/// A time of day in the language's way; `at` is where it starts (Polish case from the word before).
fn say_time(cx: &Cx, at: usize, h: u64, m: u64, s: Option<u64>, ampm: Option<usize>) -> String {
    let l = cx.l();
    if let Some(s) = s {
        return say_duration(cx, h, m, s);
    }
    let mm = |m: u64| numbers::cardinal(l, m, Form::default());
    match l {
        L::En => {
            let hw = numbers::cardinal(l, if ampm.is_some() && h > 12 { h - 12 } else { h }, Form::default());
            let mw = match m {
                0 if ampm.is_some() => String::new(),
                0 => format!(" {}", cx.r.oclock),
                1..=9 => format!(" oh {}", mm(m)),
                _ => format!(" {}", mm(m)),
            };
            let suffix = ampm.map_or(String::new(), |a| format!(" {}", cx.r.am_pm[a]));
            format!("{hw}{mw}{suffix}")
        }
        L::Pl => {
            // "o godz. 9:15": the case comes from the word before "godz."/"godzinie".
            let at = if prev_word(cx.t, at).starts_with("godz") {
                prev_word_start(cx.t, at)
            } else {
                at
            };
            let case = match governed_case(cx, at) {
                Some(Case::Loc) => Case::Loc,
                Some(Case::Gen) => Case::Gen,
                Some(Case::Ins) => Case::Ins,
                _ => Case::Nom,
            };
            let hw = numbers::ordinal(l, h, Form::new(Gender::F, case));
            match m {
                0 => hw,
                1..=9 => format!("{hw} zero {}", mm(m)),
                _ => format!("{hw} {}", mm(m)),
            }
        }
        L::De => {
            let hw = numbers::cardinal(l, h, Form::new(Gender::N, Case::Nom).attr()).replace("eins", "ein");
            if m == 0 {
                format!("{hw} Uhr")
            } else {
                format!("{hw} Uhr {}", mm(m))
            }
        }
        L::Fr => {
            let hw = numbers::cardinal(l, h, Form::new(Gender::F, Case::Nom));
            let hn = if h == 1 { "heure" } else { "heures" };
            if m == 0 {
                format!("{hw} {hn}")
            } else {
                format!("{hw} {hn} {}", mm(m))
            }
        }
        L::Es => {
            let hw = numbers::cardinal(l, h, Form::new(Gender::F, Case::Nom));
            let mw = match m {
                0 => String::new(),
                15 => " y cuarto".into(),
                30 => " y media".into(),
                _ => format!(" y {}", mm(m)),
            };
            let suffix = match ampm {
                Some(1) if h == 12 => " del mediodía".to_string(),
                Some(0) if h == 12 => " de la noche".to_string(),
                Some(a) => format!(" {}", cx.r.am_pm[a]),
                None => String::new(),
            };
            format!("{hw}{mw}{suffix}")
        }
        L::It => {
            let hw = numbers::cardinal(l, h, Form::default());
            if m == 0 {
                hw
            } else {
                format!("{hw} e {} minuti", mm(m))
            }
        }
    }
}
