//! Quantities: money (symbols and codes before or after the amount, subunits, scale words), measures
//! and units, percentages, degrees and coordinates, ranges and fractions.

use super::engine::{
    attr, boundary, ch, digits_end, governed_case, is_digit_at, letters_end, noun_form, parse_num, say_int, say_num,
    spaces_end, Cx, Hit, Num,
};
use super::numbers::{self, Case, Form, Gender, L};
use super::rules::{Currency, Noun, Rules, Unit};
use super::Class;

/// English drops the "and" of a cardinal before scale words and in fractions ("four hundred sixty billion").
fn plain_en(l: L, s: String) -> String {
    if l == L::En {
        s.replace(" and ", " ")
    } else {
        s
    }
}

/// The longest currency symbol or code at `i`.
fn currency_at(cx: &Cx, i: usize, codes: bool) -> Option<(&'static Currency, usize)> {
    let rest = &cx.t[i..];
    let mut best: Option<(&'static Currency, usize)> = None;
    for c in &cx.r.currencies {
        for &s in &c.syms {
            let is_code = s.chars().next().is_some_and(char::is_alphabetic);
            if is_code != codes && !(codes && s.contains('$')) {
                continue;
            }
            let hit = if is_code {
                rest.get(..s.len()).is_some_and(|p| p.eq_ignore_ascii_case(s)) && boundary_code(cx.t, i + s.len())
            } else {
                rest.starts_with(s)
            };
            if hit && best.is_none_or(|(_, l)| s.len() > l) {
                best = Some((c, s.len()));
            }
        }
    }
    best.map(|(c, l)| (c, i + l))
}

/// A currency code ends at a non-letter (digits may follow: "nio21").
fn boundary_code(t: &str, i: usize) -> bool {
    ch(t, i).is_none_or(|c| !c.is_alphabetic())
}

/// A scale word after a number ("million", "mln", "Millionen"): its noun and end.
pub(super) fn scale_at(cx: &Cx, i: usize) -> Option<(Noun, usize)> {
    let k = spaces_end(cx.t, i);
    let e = letters_end(cx.t, k);
    let e = if ch(cx.t, e) == Some('.') { e + 1 } else { e };
    let w = &cx.t[k..e];
    let w2 = w.trim_end_matches('.');
    for &(written, noun) in &cx.r.scales {
        if written == w || (written == w2 && !written.ends_with('.')) {
            let end = if written.ends_with('.') { e } else { k + w2.len() };
            if boundary(cx.t, end) {
                return Some((noun, end));
            }
        }
    }
    None
}

/// Amount + currency: "three pounds fifty", "dwanaście złotych pięćdziesiąt groszy", "45 billion dollars".
fn say_money(cx: &Cx, n: &Num, c: &Currency, scale: Option<Noun>) -> String {
    let l = cx.l();
    if let Some(sc) = scale {
        let num = plain_en(l, say_num(cx, n, attr(sc.gender)));
        let major = c.major.many;
        let of = match l {
            L::Es => "de ",
            L::Fr => "de ",
            L::It => "di ",
            _ => "",
        };
        return format!("{num} {} {of}{major}", noun_form(l, &sc, n));
    }
    let frac = n.frac.as_deref().unwrap_or("");
    let sub = frac.trim_end_matches('0');
    if sub.len() > 2 {
        // More than two significant decimals: a decimal amount.
        return format!("{} {}", say_num(cx, n, Form::default()), c.major.many);
    }
    let cents: u64 = if sub.is_empty() {
        0
    } else {
        format!("{sub:0<2}").parse().unwrap_or(0)
    };
    let major: u64 = n.int.parse().unwrap_or(0);
    let whole = Num {
        frac: None,
        ..n.clone()
    };
    let major_w = format!(
        "{} {}",
        say_int(l, &whole.int, attr(c.major.gender)),
        noun_form(l, &c.major, &whole)
    );
    if cents == 0 {
        return major_w;
    }
    let cn = Num {
        int: cents.to_string(),
        frac: None,
        end: 0,
        grouped: false,
    };
    let minor_n = say_int(l, &cn.int, attr(c.minor.gender));
    let minor_w = if c.minor_bare && major > 0 {
        minor_n
    } else {
        format!("{minor_n} {}", noun_form(l, &c.minor, &cn))
    };
    if major == 0 && !n.int.is_empty() || n.int.is_empty() {
        return minor_w;
    }
    format!("{major_w} {minor_w}")
}

/// A currency symbol before the amount: "$4.50", "£3.50", "€ 2,3 billones", "$50.00-$100.00".
pub(super) fn money_before(cx: &Cx, i: usize) -> Option<Hit> {
    let (c, e) = currency_at(cx, i, false)?;
    money_amount(cx, e, c)
}

/// A currency code or `US$` before the amount: "USD 5", "US$76.3 trillion", "nio21", "mex$100".
pub(super) fn money_code_before(cx: &Cx, i: usize) -> Option<Hit> {
    let (c, e) = currency_at(cx, i, true)?;
    money_amount(cx, e, c)
}

fn money_amount(cx: &Cx, e: usize, c: &'static Currency) -> Option<Hit> {
    let k = spaces_end(cx.t, e);
    let n = parse_num(cx, k)?;
    if is_digit_at(cx.t, n.end) || ch(cx.t, n.end).is_some_and(|c| c == '.' && is_digit_at(cx.t, n.end + 1)) {
        return None;
    }
    let scale = scale_at(cx, n.end);
    let mut end = scale.map_or(n.end, |(_, e)| e);
    let mut spoken = say_money(cx, &n, c, scale.map(|(s, _)| s));
    // A range of amounts: $250-$300.
    if matches!(ch(cx.t, end), Some('-' | '–')) {
        let j = end + ch(cx.t, end).map_or(1, char::len_utf8);
        if let Some((c2, e2)) = currency_at(cx, j, false).filter(|(c2, _)| std::ptr::eq(*c2, c)) {
            if let Some(n2) = parse_num(cx, e2) {
                spoken = format!("{spoken} {} {}", cx.r.w.to, say_money(cx, &n2, c2, None));
                end = n2.end;
            }
        }
    }
    // "$20/mo": per unit.
    if ch(cx.t, end) == Some('/') {
        if let Some((u, ue)) = unit_at(cx, end + 1, false) {
            spoken = format!("{spoken} {} {}", cx.r.w.per, u.noun.one);
            end = ue;
        }
    }
    Hit::new(end, Class::Money, spoken)
}

/// An amount followed by its currency: "20 zł", "12,50 €", "5 USD", "1,50 $".
pub(super) fn money_after(cx: &Cx, i: usize) -> Option<Hit> {
    let n = parse_num(cx, i)?;
    let scale = scale_at(cx, n.end);
    let after = scale.map_or(n.end, |(_, e)| e);
    let k = spaces_end(cx.t, after);
    let (c, e) = currency_at(cx, k, false).or_else(|| currency_at(cx, k, true))?;
    if !boundary_code(cx.t, e) && !cx.t[k..e].ends_with('$') {
        return None;
    }
    let spoken = match governed_case(cx, i) {
        // Polish "bez 2 złotych" → "bez dwóch złotych": a genitive-governing word before the amount.
        Some(Case::Gen) if cx.l() == L::Pl && scale.is_none() && n.frac.is_none() => {
            let g = c.major.gender;
            format!("{} {}", say_int(cx.l(), &n.int, Form::new(g, Case::Gen)), c.major.many)
        }
        _ => say_money(cx, &n, c, scale.map(|(s, _)| s)),
    };
    Hit::new(e, Class::Money, spoken)
}

/// The longest unit at `i` (no spaces skipped).
fn unit_at(cx: &Cx, i: usize, spaced: bool) -> Option<(&'static Unit, usize)> {
    let rest = &cx.t[i..];
    let mut best: Option<(&'static Unit, usize)> = None;
    for u in &cx.r.units {
        let hit = if u.ci {
            rest.get(..u.sym.len()).is_some_and(|p| p.eq_ignore_ascii_case(u.sym))
        } else {
            rest.starts_with(u.sym)
        };
        if !hit {
            continue;
        }
        let end = i + u.sym.len();
        // A letter unit must end the word; a one-letter unit after a space must not start a sentence's word.
        if u.sym.ends_with(|c: char| c.is_alphanumeric()) && !boundary(cx.t, end) {
            continue;
        }
        if spaced && u.sym.len() == 1 && ch(cx.t, end).is_some_and(|c| c == '\'' || c == '’') {
            continue;
        }
        if best.is_none_or(|(b, _)| u.sym.len() > b.sym.len()) {
            best = Some((u, end));
        }
    }
    best
}

/// Number + unit: "25°C", "1,5 km", "12kg", "5 km/h", "20%", "45°", and coordinates "30° 31′ 39″ N".
pub(super) fn measure(cx: &Cx, i: usize) -> Option<Hit> {
    let n = parse_num(cx, i)?;
    let l = cx.l();
    let t = cx.t;
    let e = n.end;
    if ch(t, e) == Some('°') && !unit_at(cx, e, false).is_some_and(|(u, _)| u.sym.starts_with('°')) {
        return coordinates(cx, n);
    }
    if l == L::En {
        if let Some(h) = feet_inches(cx, &n) {
            return Some(h);
        }
    }
    let k = spaces_end(t, e);
    if ch(t, k) == Some('%') || ch(t, k) == Some('٪') {
        let p = &cx.r.w.percent;
        let f = if matches!(l, L::Es | L::It) {
            Form::default()
        } else {
            attr(p.gender)
        };
        return Hit::new(
            k + 1,
            Class::Measure,
            format!("{} {}", say_num(cx, &n, f), noun_form(l, p, &n)),
        );
    }
    let scale = scale_at(cx, e);
    let (k, head) = match scale {
        Some((sc, se)) => (
            spaces_end(t, se),
            Some(format!(
                "{} {}",
                plain_en(l, say_num(cx, &n, attr(sc.gender))),
                noun_form(l, &sc, &n)
            )),
        ),
        None => (k, None),
    };
    if ch(t, e) == Some('/') {
        // "12/kg": twelve per kilogram.
        if let Some((u, ue)) = unit_at(cx, e + 1, false) {
            return Hit::new(
                ue,
                Class::Measure,
                format!("{} {} {}", say_num(cx, &n, Form::default()), cx.r.w.per, u.noun.one),
            );
        }
    }
    let (u, ue) = unit_at(cx, k, k > e)?;
    if u.sym.ends_with(char::is_alphabetic) && ch(t, ue) == Some('.') && is_digit_at(t, spaces_end(t, ue + 1)) {
        // "ul. Długa 10 m. 5": an abbreviation before another number, not a unit.
        return None;
    }
    let gen = l == L::Pl && n.frac.is_none() && governed_case(cx, i) == Some(Case::Gen);
    let mut spoken = match head {
        Some(h) => format!("{h} {}", u.noun.many),
        // Polish "około 5 km" → "około pięciu kilometrów".
        None if gen => format!(
            "{} {}",
            say_int(l, &n.int, Form::new(u.noun.gender, Case::Gen)),
            u.noun.many
        ),
        None => format!("{} {}", say_num(cx, &n, attr(u.noun.gender)), noun_form(l, &u.noun, &n)),
    };
    let mut end = ue;
    // "6 ft. tall": the unit's abbreviation dot, when the sentence goes on.
    if u.sym.ends_with(char::is_alphabetic) && ch(t, end) == Some('.') {
        let k = spaces_end(t, end + 1);
        if k > end + 1 && ch(t, k).is_some_and(char::is_lowercase) {
            end += 1;
        }
    }
    // Compound: kg/m², km/s.
    if ch(t, end) == Some('/') {
        if let Some((u2, e2)) = unit_at(cx, end + 1, false) {
            spoken = format!("{spoken} {} {}", cx.r.w.per, u2.noun.one);
            end = e2;
        }
    }
    Hit::new(end, Class::Measure, spoken)
}

/// A height in feet and inches: 5'11" → "five feet eleven inches" (English).
fn feet_inches(cx: &Cx, feet: &Num) -> Option<Hit> {
    let t = cx.t;
    let q = ch(t, feet.end).filter(|c| matches!(c, '\'' | '′' | '’'))?;
    let s = feet.end + q.len_utf8();
    let e = digits_end(t, s);
    let dq = ch(t, e).filter(|c| matches!(c, '"' | '″' | '”'))?;
    if e == s || e - s > 2 || feet.frac.is_some() {
        return None;
    }
    let f = feet.whole()?;
    let inch: u64 = t[s..e].parse().ok()?;
    let say = |n: u64, one: &str, many: &str| {
        format!(
            "{} {}",
            numbers::cardinal(L::En, n, Form::default()),
            if n == 1 { one } else { many }
        )
    };
    Hit::new(
        e + dq.len_utf8(),
        Class::Measure,
        format!("{} {}", say(f, "foot", "feet"), say(inch, "inch", "inches")),
    )
}

/// Degrees, minutes and seconds of arc with an optional compass point.
fn coordinates(cx: &Cx, deg: Num) -> Option<Hit> {
    let t = cx.t;
    let l = cx.l();
    let w = &cx.r.w;
    let part = |n: &Num, noun: &Noun| format!("{} {}", say_num(cx, n, attr(noun.gender)), noun_form(l, noun, n));
    let mut spoken = vec![part(&deg, &w.degree)];
    let mut end = deg.end + '°'.len_utf8();
    for (marks, noun) in [(&['′', '\''][..], &w.arcmin), (&['″', '"'][..], &w.arcsec)] {
        let k = spaces_end(t, end);
        let Some(n) = parse_num(cx, k) else { break };
        match ch(t, n.end) {
            Some(c) if marks.contains(&c) => {
                spoken.push(part(&n, noun));
                end = n.end + c.len_utf8();
            }
            _ => break,
        }
    }
    let k = spaces_end(t, end);
    if let Some(c) = ch(t, k).filter(|_| boundary(t, k + 1)) {
        if let Some(p) = "NSEW".find(c) {
            spoken.push(w.compass[p].to_string());
            end = k + 1;
        }
    }
    Hit::new(end, Class::Measure, spoken.join(" "))
}

/// A range: "12-15", "1980–1986", "2-5lb", "12–15 km" ("od dwunastu do piętnastu kilometrów").
pub(super) fn range(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    let a = parse_num(cx, i)?;
    let dash = ch(t, a.end).filter(|c| matches!(c, '-' | '–' | '—'))?;
    let j = a.end + dash.len_utf8();
    let b = parse_num(cx, j)?;
    if ch(t, b.end) == Some('-') || super::engine::prev_ch(t, i) == Some('-') {
        return None;
    }
    if is_digit_at(t, b.end) || matches!(ch(t, b.end), Some('-' | '–' | '/' | ':')) && is_digit_at(t, b.end + 1) {
        return None;
    }
    // Telephone-like: 555-0123, 1234-5678 (unless both are years, increasing).
    let years = |n: &Num| n.whole().filter(|v| n.int.len() == 4 && (1000..=2100).contains(v));
    let both_years = years(&a).zip(years(&b)).is_some_and(|(x, y)| y > x);
    if !both_years && b.int.len() > a.int.len() + 1 {
        return None;
    }
    if !both_years
        && (b.int.len() >= 4 && a.int.len() >= 3
            || b.int.len() > 1 && b.int.starts_with('0')
            || dash == '-' && a.int.len() >= 3 && b.int.len() == 1)
    {
        return None;
    }
    let l = cx.l();
    let w = &cx.r.w;
    let k = spaces_end(t, b.end);
    let unit = unit_at(cx, k, k > b.end);
    let g = unit.map_or(Gender::M, |(u, _)| u.noun.gender);
    let say_end = |n: &Num, case: Case| -> String {
        let year_like = both_years || (years(&a).is_some() && b.int.len() == 2);
        match (l, n.whole()) {
            (L::En, Some(v)) if year_like && v >= 1000 => numbers::year(l, v, Form::default()),
            (L::Pl, Some(v)) if case == Case::Gen => numbers::cardinal(l, v, Form::new(g, Case::Gen)),
            _ => say_num(cx, n, attr(g)),
        }
    };
    let prev = super::engine::prev_word(t, i);
    let pl_gen = l == L::Pl && !matches!(prev.as_str(), "lata" | "latach" | "od" | "w") && !both_years;
    let case = if pl_gen { Case::Gen } else { Case::Nom };
    let from = if pl_gen || (l == L::It && prev != "da" && prev != "dal") {
        format!("{} ", w.from)
    } else {
        String::new()
    };
    let mut spoken = format!("{from}{} {} {}", say_end(&a, case), w.to, say_end(&b, case));
    let mut end = b.end;
    if let Some((u, ue)) = unit {
        let form = if pl_gen { u.noun.many } else { noun_form(l, &u.noun, &b) };
        spoken = format!("{spoken} {form}");
        end = ue;
    }
    if from.trim().is_empty() {
        spoken = spoken.trim_start().to_string();
    }
    Hit::new(end, Class::Range, spoken)
}

/// The denominator of a fraction: "half"/"halves", "Viertel", "cinquièmes", "tercios", "ósmych". Words the
/// table names (`fraction_words`: "half", "quart", "medio") first, then the language's rule.
fn denominator(r: &Rules, num: u64, den: u64) -> Option<String> {
    let l = r.lang;
    let many = num != 1;
    if let Some(&(_, one, plural)) = r.fraction_words.iter().find(|f| f.0 == den) {
        return Some(if many { plural } else { one }.into());
    }
    let ordinal = |f: Form| numbers::ordinal(l, den, f);
    Some(match l {
        L::En | L::Fr => {
            let o = ordinal(Form::default());
            if many {
                format!("{o}s")
            } else {
                o
            }
        }
        L::Pl => {
            let case = match numbers::pl::plural_class(num) {
                0 => Case::Nom,
                1 => Case::NomPl,
                _ => Case::GenPl,
            };
            ordinal(Form::new(Gender::F, case))
        }
        L::De => format!("{}l", ordinal(Form::new(Gender::M, Case::Weak))),
        L::Es => es_denominator(den, many)?,
        L::It => {
            let sg = ordinal(Form::default());
            if many {
                format!("{}i", &sg[..sg.len() - 1])
            } else {
                sg
            }
        }
    })
}

/// Spanish denominators beyond the table's "medio" and "tercio": ordinals to ten, "-avo" to 99 ("treintaiunavo"), ordinals of
/// round hundreds and thousands; `None` for the rest ("uno sobre ciento uno").
fn es_denominator(den: u64, many: bool) -> Option<String> {
    let sg = match den {
        4..=10 => numbers::ordinal(L::Es, den, Form::default()),
        11..=99 => {
            let c = numbers::cardinal(L::Es, den, Form::default()).replace(" y ", "i");
            let c = c.replace(['é', 'á'], "e").replace('ó', "o").replace('í', "i");
            let stem = if let Some(s) = c.strip_suffix("uno") {
                format!("{s}un")
            } else if let Some(s) = c.strip_suffix('a') {
                s.to_string()
            } else {
                c
            };
            format!("{stem}avo")
        }
        _ if den.is_multiple_of(100) && den < 1000 || den == 1000 || (den > 1000 && den.is_multiple_of(1000)) => {
            numbers::ordinal(L::Es, den, Form::default())
        }
        _ => return None,
    };
    Some(if many { format!("{sg}s") } else { sg })
}

fn say_fraction(cx: &Cx, whole: Option<u64>, num: u64, den: u64) -> String {
    let l = cx.l();
    let w = &cx.r.w;
    let g = match l {
        L::Pl => Gender::F,
        _ => Gender::M,
    };
    let f = match l {
        L::De | L::Es | L::It | L::Fr => Form::default().attr(),
        _ => Form::new(g, Case::Nom),
    };
    let part = match denominator(cx.r, num, den) {
        Some(_) if l == L::En && den == 1 => format!("{} over one", numbers::en::cardinal_plain(num)),
        Some(d) if !(l == L::En && den == 2 && num == 1 && whole.is_some()) => {
            plain_en(l, format!("{} {d}", numbers::cardinal(l, num, f)))
        }
        Some(_) => "a half".into(),
        None => format!("uno sobre {}", numbers::cardinal(l, den, Form::default())),
    };
    let part = if l == L::Es && num == 1 && den == 2 {
        "medio".to_string()
    } else {
        part
    };
    match whole {
        None => part,
        Some(x) if l == L::Pl && num == 1 && den == 2 => format!("{} i pół", numbers::cardinal(l, x, Form::default())),
        Some(x) if l == L::De => format!(
            "{}{}",
            numbers::cardinal(l, x, Form::default().attr()),
            if num == 1 && den == 2 {
                "einhalb".to_string()
            } else {
                format!(" {} {part}", w.and)
            }
        ),
        Some(x) if l == L::Fr && den == 2 && num == 1 => {
            format!("{} et demi", numbers::cardinal(l, x, Form::default()))
        }
        Some(x) if l == L::Es && den == 2 && num == 1 => {
            format!("{} y medio", numbers::cardinal(l, x, Form::default()))
        }
        Some(x) => format!("{} {} {part}", numbers::cardinal(l, x, Form::default()), w.and),
    }
}

/// Fractions: "1/2", "3/4", "2 1/2", "1/4th".
pub(super) fn fraction(cx: &Cx, i: usize) -> Option<Hit> {
    let t = cx.t;
    let e = digits_end(t, i);
    let (whole, ns) = if ch(t, e) == Some(' ') && is_digit_at(t, e + 1) && ch(t, digits_end(t, e + 1)) == Some('/') {
        (Some(t[i..e].parse::<u64>().ok()?), e + 1)
    } else {
        (None, i)
    };
    let ne = digits_end(t, ns);
    let slash = ch(t, ne).filter(|c| *c == '/' || *c == '⁄')?;
    let ds = ne + slash.len_utf8();
    let de = digits_end(t, ds);
    if de == ds
        || ne - ns > 6
        || de - ds > 9
        || matches!(ch(t, de), Some('/' | '.' | ',' | '-')) && is_digit_at(t, de + 1)
    {
        return None;
    }
    let num: u64 = t[ns..ne].parse().ok()?;
    let den: u64 = t[ds..de].parse().ok()?;
    if den == 0 {
        return None;
    }
    let mut end = de;
    if cx.l() == L::En {
        for suf in ["th", "TH", "rd", "RD", "nd", "ND", "st", "ST"] {
            if t[end..].starts_with(suf) && boundary(t, end + 2) {
                end += 2;
                break;
            }
        }
    }
    if !boundary(t, end) {
        // "1/2 mm", "4 1/2 lbs" come through the unit below; letters glued on are not a fraction.
        return None;
    }
    let mut spoken = say_fraction(cx, whole, num, den);
    let k = spaces_end(t, end);
    if let Some((u, ue)) = unit_at(cx, k, k > end) {
        let half = num == 1 && den == 2;
        spoken = match cx.l() {
            // Spanish: "tres quintos de milla", "medio milímetro", "uno y medio metro".
            L::Es if half => format!("{spoken} {}", u.noun.one),
            L::Es => format!("{spoken} de {}", u.noun.one),
            // Polish: "pół kilograma", "trzy czwarte kilograma", "dwa i pół kilograma".
            L::Pl if half && whole.is_none() => format!("pół {}", u.noun.frac),
            L::Pl => format!("{spoken} {}", u.noun.frac),
            _ => format!("{spoken} {}", u.noun.many),
        };
        end = ue;
    }
    Hit::new(end, Class::Fraction, spoken)
}

/// A vulgar fraction character: "½", "¾".
pub(super) fn vulgar(cx: &Cx, i: usize, c: char) -> Option<Hit> {
    let (n, d) = match c {
        '½' => (1, 2),
        '¼' => (1, 4),
        '¾' => (3, 4),
        '⅓' => (1, 3),
        '⅔' => (2, 3),
        '⅕' => (1, 5),
        '⅖' => (2, 5),
        _ => (1, 8),
    };
    Hit::new(i + c.len_utf8(), Class::Fraction, say_fraction(cx, None, n, d))
}
