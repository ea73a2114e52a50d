//! Archive paths: hrefs resolved against a document's directory, `.`/`..` normalised (never climbing
//! out of the archive), percent-decoding.
//!
//! Owns path arithmetic only; imports nothing.

/// Directory part of an archive path (`OPS/text/ch1.xhtml` → `OPS/text`).
pub(super) fn dir_of(path: &str) -> String {
    path.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default()
}

/// Resolves `href` (relative to `dir`) to an archive path, dropping the fragment and query and
/// percent-decoding. `None` for external URLs, empty hrefs and paths escaping the archive.
pub(super) fn resolve_href(dir: &str, href: &str) -> Option<String> {
    let href = href.split(['#', '?']).next().unwrap_or("");
    if href.is_empty() || href.contains("://") || href.starts_with("mailto:") {
        return None;
    }
    let href = percent_decode(href);
    let joined = if dir.is_empty() { href } else { format!("{dir}/{href}") };
    normalize(&joined)
}

/// Normalises `a/./b/../c` to `a/c`; `None` when the path is absolute or climbs out of the root.
pub(super) fn normalize(path: &str) -> Option<String> {
    if path.starts_with('/') || path.starts_with('\\') || path.as_bytes().get(1) == Some(&b':') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

/// Decodes `%XX` escapes; the input unchanged when the result would not be UTF-8.
pub(super) fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit() {
            let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            out.push(hex(b[i + 1]) * 16 + hex(b[i + 2]));
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(normalize("OPS/../OPS/./a.xhtml").as_deref(), Some("OPS/a.xhtml"));
        assert_eq!(normalize("OPS/../../a"), None);
        assert_eq!(normalize("/etc/passwd"), None);
        assert_eq!(
            resolve_href("OPS/text", "../ch%201.xhtml#x").as_deref(),
            Some("OPS/ch 1.xhtml")
        );
        assert_eq!(resolve_href("OPS", "http://example.com/a"), None);
        assert_eq!(percent_decode("a%2"), "a%2");
    }
}
