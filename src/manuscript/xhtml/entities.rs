//! Character references: HTML named entities (the common ones plus all of Latin-1) and numeric
//! references, rewritten for the strict XML stage or decoded for the tolerant one.
//!
//! Owns the entity table; imports nothing outside `std`.

/// HTML named entities that XML does not define, as code points (the common ones plus all of Latin-1).
fn named_entity(name: &str) -> Option<u32> {
    const LATIN1: [&str; 96] = [
        "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf", "laquo", "not",
        "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro", "para", "middot", "cedil", "sup1",
        "ordm", "raquo", "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc", "Atilde", "Auml",
        "Aring", "AElig", "Ccedil", "Egrave", "Eacute", "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH",
        "Ntilde", "Ograve", "Oacute", "Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc",
        "Uuml", "Yacute", "THORN", "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil",
        "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde", "ograve", "oacute",
        "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave", "uacute", "ucirc", "uuml", "yacute", "thorn", "yuml",
    ];
    if let Some(i) = LATIN1.iter().position(|n| *n == name) {
        return Some(160 + i as u32);
    }
    const OTHER: &[(&str, u32)] = &[
        ("amp", 38),
        ("lt", 60),
        ("gt", 62),
        ("quot", 34),
        ("apos", 39),
        ("OElig", 338),
        ("oelig", 339),
        ("Scaron", 352),
        ("scaron", 353),
        ("Yuml", 376),
        ("fnof", 402),
        ("circ", 710),
        ("tilde", 732),
        ("ensp", 8194),
        ("emsp", 8195),
        ("thinsp", 8201),
        ("zwnj", 8204),
        ("zwj", 8205),
        ("lrm", 8206),
        ("rlm", 8207),
        ("ndash", 8211),
        ("mdash", 8212),
        ("lsquo", 8216),
        ("rsquo", 8217),
        ("sbquo", 8218),
        ("ldquo", 8220),
        ("rdquo", 8221),
        ("bdquo", 8222),
        ("dagger", 8224),
        ("Dagger", 8225),
        ("bull", 8226),
        ("hellip", 8230),
        ("permil", 8240),
        ("prime", 8242),
        ("Prime", 8243),
        ("lsaquo", 8249),
        ("rsaquo", 8250),
        ("oline", 8254),
        ("frasl", 8260),
        ("euro", 8364),
        ("trade", 8482),
        ("larr", 8592),
        ("rarr", 8594),
        ("minus", 8722),
        ("infin", 8734),
        ("ne", 8800),
        ("le", 8804),
        ("ge", 8805),
        ("alpha", 945),
        ("beta", 946),
        ("pi", 960),
    ];
    OTHER.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// Rewrites HTML named entities (other than XML's five) to numeric references so that XML parsing
/// accepts typical EPUB XHTML (`&nbsp;`, `&mdash;`…). Unknown names are left as they are.
pub(super) fn replace_html_entities(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('&') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map(|p| p + 1)
            .unwrap_or(rest.len());
        let name = &rest[1..end];
        if rest[end..].starts_with(';') && !matches!(name, "amp" | "lt" | "gt" | "quot" | "apos") {
            if let Some(cp) = named_entity(name) {
                out.push_str(&format!("&#{cp};"));
                rest = &rest[end + 1..];
                continue;
            }
        }
        out.push('&');
        rest = &rest[1..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Decodes entity references in `s` (numeric, XML's five, and the HTML names above); unknown or
/// malformed references are kept literally.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        // Bounded look-ahead: text with many '&' and no ';' stays linear.
        let semi = rest.as_bytes().iter().take(34).position(|&b| b == b';');
        let decoded = semi.and_then(|p| {
            let name = &rest[1..p];
            let cp = if let Some(num) = name.strip_prefix('#') {
                if let Some(hex) = num.strip_prefix('x').or_else(|| num.strip_prefix('X')) {
                    u32::from_str_radix(hex, 16).ok()
                } else {
                    num.parse::<u32>().ok()
                }
            } else {
                named_entity(name)
            };
            cp.and_then(char::from_u32).map(|c| (c, p))
        });
        match decoded {
            Some((c, p)) => {
                out.push(c);
                rest = &rest[p + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::walked_texts;

    #[test]
    fn html_entities_in_xhtml() {
        let (texts, lenient) = walked_texts("<html><body><p>a&nbsp;b&mdash;c &amp; d</p></body></html>");
        assert!(!lenient);
        assert_eq!(texts, vec!["a b\u{2014}c & d"]);
    }
}
