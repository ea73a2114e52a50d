//! Text normalisation before synthesis: pronunciation replacements, then numbers, dates, times and
//! common symbols spelled out (English and French; other languages keep digits, which WhisperSpeech
//! reads itself with mixed results).
//!
//! French, currencies and decimals go through `num2words`. English integers (cardinals, ordinals,
//! years) use the small [`english`] speller here instead: `num2words` computes with arbitrary-precision
//! floats (~1 M instructions a number, measured with callgrind), which made it 57 % of planning time on a
//! number-rich book; the speller is checked against `num2words` in the tests.
//!
//! Normalisation only rewrites tokens in place (a number becomes its words), so the order of the
//! text and every other word are kept.
//!
//! Owns text normalisation. Must never import the plan, store, worker, engine, render, publish or
//! voice/audio modules.

use num2words::{Currency, Lang, Num2Words};

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

/// Spells out numbers and symbols for `lang` (a WhisperSpeech code).
pub fn normalize(text: &str, lang: &str) -> String {
    let nlang = || match lang {
        "fr" => Lang::French,
        _ => Lang::English,
    };
    if (lang != "en" && lang != "fr") || !text.contains(|c: char| c.is_ascii_digit() || "&$£€".contains(c)) {
        return text.to_string();
    }
    let en = lang == "en";
    let mut out = String::with_capacity(text.len() + 16);
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // Currency symbol before a number.
        if let Some(cur) = currency(c) {
            if let Some((num, len)) = scan_number(&chars[i + 1..]) {
                if let Some(w) = words(Num2Words::parse(&num).map(|n| n.lang(nlang()).currency(cur))) {
                    out.push_str(&w);
                    i += 1 + len;
                    continue;
                }
            }
        }
        if c.is_ascii_digit() && (i == 0 || !chars[i - 1].is_alphanumeric()) {
            if let Some(len) = number_words(&chars, i, &mut out, lang) {
                i += len;
                continue;
            }
        }
        match c {
            '&' if chars.get(i + 1).is_some_and(|c| c.is_whitespace()) => out.push_str(if en { "and" } else { "et" }),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// Spells out the number (date, time, ordinal, percentage, year, cardinal or decimal) starting at
/// `chars[i]` into `out`; returns how many chars it took, `None` to keep the digit as written.
fn number_words(chars: &[char], i: usize, out: &mut String, lang: &str) -> Option<usize> {
    let nlang = || match lang {
        "fr" => Lang::French,
        _ => Lang::English,
    };
    let en = lang == "en";
    // ISO dates: 2024-05-12.
    if en {
        if let Some((w, len)) = iso_date(&chars[i..]) {
            out.push_str(&w);
            return Some(len);
        }
        // A day after a month name: May 12 → May twelfth.
        if let Some((num, len)) = scan_number(&chars[i..]) {
            let day: u32 = num.parse().unwrap_or(0);
            let after_month = MONTHS.iter().any(|m| out.trim_end().ends_with(m)) && out.ends_with(' ');
            if after_month && (1..=31).contains(&day) && !chars.get(i + len).is_some_and(|c| c.is_alphanumeric()) {
                if let Some(w) = english::ordinal(u64::from(day)) {
                    out.push_str(&w);
                    return Some(len);
                }
            }
        }
    }
    // Times: 10:30.
    if let Some((h, m, len)) = scan_time(&chars[i..]) {
        if en {
            out.push_str(&time_words(h, m));
            return Some(len);
        }
    }
    if let Some((num, len)) = scan_number(&chars[i..]) {
        let rest: String = chars[i + len..].iter().take(2).collect();
        let after = chars.get(i + len + 2);
        let plain = !num.contains('.');
        // Ordinals: 1st, 2nd, 3rd, 4th.
        if en
            && plain
            && ["st", "nd", "rd", "th"].contains(&rest.to_lowercase().as_str())
            && !after.is_some_and(|c| c.is_alphanumeric())
        {
            let w = num.parse::<u64>().ok().and_then(english::ordinal);
            if let Some(w) = w {
                out.push_str(&w);
                return Some(len + 2);
            }
        }
        let next = chars.get(i + len).copied();
        if next == Some('%') {
            if let Some(w) = words(Num2Words::parse(&num).map(|n| n.lang(nlang()))) {
                out.push_str(&w);
                out.push_str(if en { " percent" } else { " pour cent" });
                return Some(len + 1);
            }
        }
        if next.is_some_and(|c| c.is_alphabetic()) {
            // 3D, 4K, 10x: leave as written.
            let n: String = chars[i..i + len].iter().collect();
            out.push_str(&n);
            return Some(len);
        }
        // Years: a bare four-digit number 1100–2099 without separators.
        let is_year = en
            && plain
            && num.len() == 4
            && !num.contains(',')
            && (1100..2100).contains(&num.parse::<u32>().unwrap_or(0));
        let fast = match num.parse::<u64>() {
            Ok(n) if en && is_year => english::year(n),
            Ok(n) if en => english::cardinal(n),
            _ if en => english::decimal(&num),
            _ => None,
        };
        let w = fast.or_else(|| words(Num2Words::parse(&num).map(|n| n.lang(nlang()))));
        if let Some(w) = w {
            out.push_str(&w);
            return Some(len);
        }
    }
    None
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `YYYY-MM-DD` → "May twelfth, twenty twenty-four".
fn iso_date(chars: &[char]) -> Option<(String, usize)> {
    let s: String = chars.iter().take(11).collect();
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' || b.get(10).is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| {
        s.get(r)
            .filter(|x| x.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|x| x.parse::<u32>().ok())
    };
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let day = english::ordinal(u64::from(d))?;
    let year = english::year(u64::from(y))?;
    Some((format!("{} {day}, {year}", MONTHS[m as usize - 1]), 10))
}

/// English number words for integers (cardinal, ordinal, year), matching `num2words`' style.
pub mod english {
    const ONES: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 10] = [
        "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    const SCALES: [&str; 5] = ["", "thousand", "million", "billion", "trillion"];

    /// Cardinal in num2words' style: 1001 → "one thousand and one", 1200 → "one thousand two hundred".
    pub fn cardinal(n: u64) -> Option<String> {
        if n == 0 {
            return Some("zero".into());
        }
        let mut triplets = Vec::new();
        let mut m = n;
        while m > 0 {
            triplets.push(m % 1000);
            m /= 1000;
        }
        if triplets.len() > SCALES.len() {
            return None;
        }
        let mut words: Vec<String> = Vec::new();
        let mut first = true;
        for (i, &t) in triplets.iter().enumerate().rev() {
            let (h, r) = (t / 100, t % 100);
            if h > 0 {
                words.push(ONES[h as usize].into());
                words.push("hundred".into());
            }
            if r > 0 {
                if i == 0 && !first {
                    words.push("and".into());
                } else {
                    first = false;
                }
                words.push(match r {
                    0..=19 => ONES[r as usize].to_string(),
                    _ if r % 10 == 0 => TENS[(r / 10) as usize].to_string(),
                    _ => format!("{}-{}", TENS[(r / 10) as usize], ONES[(r % 10) as usize]),
                });
            }
            if i != 0 && t != 0 {
                words.push(SCALES[i].into());
            }
        }
        Some(words.join(" "))
    }

    /// Decimal: "3.14" → "three point one four".
    pub fn decimal(num: &str) -> Option<String> {
        let (int, frac) = num.split_once('.')?;
        let mut out = cardinal(int.parse().ok()?)?;
        out.push_str(" point");
        for d in frac.chars() {
            out.push(' ');
            out.push_str(ONES[d.to_digit(10)? as usize]);
        }
        Some(out)
    }

    /// Ordinal: 21 → "twenty-first".
    pub fn ordinal(n: u64) -> Option<String> {
        let c = cardinal(n)?;
        let (head, last) = match c.rfind([' ', '-']) {
            Some(i) => (&c[..=i], &c[i + 1..]),
            None => ("", c.as_str()),
        };
        let last = match last {
            "one" => "first".to_string(),
            "two" => "second".into(),
            "three" => "third".into(),
            "five" => "fifth".into(),
            "eight" => "eighth".into(),
            "nine" => "ninth".into(),
            "twelve" => "twelfth".into(),
            l if l.ends_with('y') => format!("{}ieth", &l[..l.len() - 1]),
            l => format!("{l}th"),
        };
        Some(format!("{head}{last}"))
    }

    /// Year: 1984 → "nineteen eighty-four", 2005 → "two thousand and five", 1900 → "nineteen hundred".
    pub fn year(n: u64) -> Option<String> {
        let (hi, lo) = (n / 100, n % 100);
        if hi == 0 || (hi % 10 == 0 && lo < 10) || hi >= 100 {
            return cardinal(n);
        }
        let hi_w = cardinal(hi)?;
        Some(match lo {
            0 => format!("{hi_w} hundred"),
            1..=9 => format!("{hi_w} oh-{}", ONES[lo as usize]),
            _ => format!("{hi_w} {}", cardinal(lo)?),
        })
    }
}

fn words(n: Option<Num2Words>) -> Option<String> {
    n?.to_words().ok()
}

fn currency(c: char) -> Option<Currency> {
    match c {
        '$' => Some(Currency::DOLLAR),
        '£' => Some(Currency::GBP),
        '€' => Some(Currency::EUR),
        _ => None,
    }
}

/// A number at the start: digits with optional `,` thousands groups and one `.` decimal part.
/// Returns the number without thousands separators and the chars consumed.
fn scan_number(chars: &[char]) -> Option<(String, usize)> {
    let mut i = 0;
    let mut s = String::new();
    while i < chars.len() && chars[i].is_ascii_digit() {
        s.push(chars[i]);
        i += 1;
    }
    if s.is_empty() || s.len() > 15 {
        return None;
    }
    // Thousands groups: ,ddd
    while i + 3 < chars.len()
        && chars[i] == ','
        && chars[i + 1..=i + 3].iter().all(char::is_ascii_digit)
        && !chars.get(i + 4).is_some_and(char::is_ascii_digit)
    {
        s.extend(&chars[i + 1..=i + 3]);
        i += 4;
    }
    if i + 1 < chars.len() && chars[i] == '.' && chars[i + 1].is_ascii_digit() {
        s.push('.');
        i += 1;
        while i < chars.len() && chars[i].is_ascii_digit() {
            s.push(chars[i]);
            i += 1;
        }
    }
    Some((s, i))
}

fn scan_time(chars: &[char]) -> Option<(u32, u32, usize)> {
    let mut i = 0;
    while i < chars.len() && i < 2 && chars[i].is_ascii_digit() {
        i += 1;
    }
    if i == 0 || chars.get(i) != Some(&':') {
        return None;
    }
    let m: String = chars.get(i + 1..i + 3)?.iter().collect();
    if !m.chars().all(|c| c.is_ascii_digit()) || chars.get(i + 3).is_some_and(char::is_ascii_digit) {
        return None;
    }
    let h: u32 = chars[..i].iter().collect::<String>().parse().ok()?;
    let mm: u32 = m.parse().ok()?;
    (h < 24 && mm < 60).then_some((h, mm, i + 3))
}

fn time_words(h: u32, m: u32) -> String {
    let hw = english::cardinal(u64::from(h)).unwrap_or_else(|| h.to_string());
    match m {
        0 => format!("{hw} o'clock"),
        1..=9 => format!("{hw} oh {}", english::cardinal(u64::from(m)).unwrap_or_default()),
        _ => format!("{hw} {}", english::cardinal(u64::from(m)).unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_numbers() {
        assert_eq!(
            normalize("I have 3 cats and 1,200 fish.", "en"),
            "I have three cats and twelve hundred fish."
        );
        assert_eq!(
            normalize("In 1984 it cost $4.50 & 20% more.", "en"),
            "In nineteen eighty-four it cost four dollars and fifty cents and twenty percent more."
        );
        assert_eq!(
            normalize("The 21st time at 10:05, 3.14.", "en"),
            "The twenty-first time at ten oh five, three point one four."
        );
        assert_eq!(normalize("Mam 3 koty.", "pl"), "Mam 3 koty.");
        assert_eq!(
            normalize("On 2024-05-12 and May 3, 1999.", "en"),
            "On May twelfth, twenty twenty-four and May third, nineteen ninety-nine."
        );
        assert_eq!(normalize("A 4K TV", "en"), "A 4K TV");
    }

    #[test]
    fn lexicon() {
        let e = vec![
            ("Nginx".to_string(), "engine x".to_string()),
            ("SQL".to_string(), "sequel".to_string()),
        ];
        assert_eq!(
            apply_lexicon("Nginx and SQLite and SQL.", &e),
            "engine x and SQLite and sequel."
        );
    }
}

#[cfg(test)]
mod speller_tests {
    use super::english;
    use num2words::Num2Words;

    /// The hand-written English speller agrees with num2words.
    #[test]
    fn matches_num2words() {
        let mut ns: Vec<u64> = (0..2100).collect();
        ns.extend([
            9_999,
            10_001,
            21_345,
            100_000,
            999_999,
            1_000_001,
            12_345_678,
            2_000_000_000,
            987_654_321_012,
        ]);
        for n in ns {
            assert_eq!(
                english::cardinal(n),
                Num2Words::new(n as i64).to_words().ok(),
                "cardinal {n}"
            );
            assert_eq!(
                english::ordinal(n),
                Num2Words::new(n as i64).ordinal().to_words().ok(),
                "ordinal {n}"
            );
            let dec = format!("{n}.{}", n % 97 * 10 + 7); // written digits are read as written: no trailing 0
            let want = Num2Words::parse(&dec).and_then(|w| w.to_words().ok());
            if n > 0 {
                // num2words says "point seven" for 0.7; "zero point seven" is kept on purpose.
                assert_eq!(english::decimal(&dec), want, "decimal {dec}");
            }
            if (1000..2100).contains(&n) {
                assert_eq!(
                    english::year(n),
                    Num2Words::new(n as i64).year().to_words().ok(),
                    "year {n}"
                );
            }
        }
    }
}
