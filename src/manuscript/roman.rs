//! Roman numerals, written: shared by the list-marker reader (`xhtml::lists`) and the verbaliser's
//! Roman-numeral check (`normalize::words`). Imports nothing.

/// Upper-case Roman numeral for 1 to 3999; `None` outside that range.
pub fn to_roman(mut n: u64) -> Option<String> {
    if !(1..=3999).contains(&n) {
        return None;
    }
    const TABLE: [(u64, &str); 13] = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut out = String::new();
    for (v, s) in TABLE {
        while n >= v {
            out.push_str(s);
            n -= v;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::to_roman;

    #[test]
    fn numerals() {
        assert_eq!(to_roman(1994).as_deref(), Some("MCMXCIV"));
        assert_eq!(to_roman(3999).as_deref(), Some("MMMCMXCIX"));
        assert_eq!(to_roman(4), Some("IV".to_string()));
        assert_eq!(to_roman(0), None);
        assert_eq!(to_roman(4000), None);
    }
}
