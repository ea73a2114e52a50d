//! English: the speller `num2words` agrees with (tested against it), without its arbitrary-precision cost.
pub(super) const ONES: [&str; 20] = [
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
const SCALES: [&str; 7] = [
    "",
    "thousand",
    "million",
    "billion",
    "trillion",
    "quadrillion",
    "quintillion",
];

fn below_100(r: u64) -> String {
    match r {
        0..=19 => ONES[r as usize].to_string(),
        _ if r.is_multiple_of(10) => TENS[(r / 10) as usize].to_string(),
        _ => format!("{}-{}", TENS[(r / 10) as usize], ONES[(r % 10) as usize]),
    }
}

/// Cardinal in the British style NeMo's suite uses: "and" inside the last group of three
/// ("one hundred and twenty-three", "eighteen thousand and eighty-one"), none elsewhere
/// ("one hundred twenty-three thousand", "one hundred twenty-three million twelve").
pub fn cardinal(n: u64) -> String {
    if n == 0 {
        return "zero".into();
    }
    let triplets = super::triplets(n);
    if triplets.len() > SCALES.len() {
        return n
            .to_string()
            .chars()
            .map(|c| ONES[c as usize - '0' as usize])
            .collect::<Vec<_>>()
            .join(" ");
    }
    let mut words: Vec<String> = Vec::new();
    for (i, &t) in triplets.iter().enumerate().rev() {
        let (h, r) = (t / 100, t % 100);
        if h > 0 {
            words.push(ONES[h as usize].into());
            words.push("hundred".into());
        }
        if r > 0 {
            let thousands_before = triplets.get(1).is_some_and(|&k| k > 0);
            if i == 0 && (h > 0 || thousands_before) {
                words.push("and".into());
            }
            words.push(below_100(r));
        }
        if i != 0 && t != 0 {
            words.push(SCALES[i].into());
        }
    }
    words.join(" ")
}

/// Ordinal: 21 → "twenty-first".
pub fn ordinal(n: u64) -> String {
    let c = cardinal(n).replace(" and ", " ");
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
    format!("{head}{last}")
}

/// Year: 1984 → "nineteen eighty-four", 2005 → "two thousand five", 1900 → "nineteen hundred".
pub fn year(n: u64) -> String {
    let (hi, lo) = (n / 100, n % 100);
    if (2000..2010).contains(&n) {
        return if lo == 0 {
            "two thousand".into()
        } else {
            format!("two thousand {}", ONES[lo as usize])
        };
    }
    if hi == 0 || (hi % 10 == 0 && lo < 10) || hi >= 100 {
        return cardinal(n);
    }
    let hi_w = cardinal(hi);
    match lo {
        0 => format!("{hi_w} hundred"),
        1..=9 => format!("{hi_w} oh {}", ONES[lo as usize]),
        _ => format!("{hi_w} {}", cardinal(lo)),
    }
}

/// A cardinal without the British "and", as used before scale words and in ordinals, fractions and
/// serials ("four hundred sixty billion").
pub fn cardinal_plain(n: u64) -> String {
    cardinal(n).replace(" and ", " ")
}

/// The plural of a spelled number, for decades: "nineties", "tens", "thousands".
pub fn plural(words: &str) -> String {
    match words.strip_suffix('y') {
        Some(s) => format!("{s}ies"),
        None if words.ends_with('x') => format!("{words}es"),
        None => format!("{words}s"),
    }
}
