//! Whitespace: runs collapsed to one space (across span boundaries), block edges trimmed.
//!
//! Owns the collapsing rules; imports nothing outside the manuscript types.

use super::super::Span;
use super::attrs::same_attributes;

/// Collapses whitespace runs to single spaces and trims (titles, navigation labels, metadata).
pub fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Collapses whitespace runs to one space across span boundaries, trims the block's edges, and drops
/// spans left empty (merging neighbours with equal attributes).
pub fn collapse_spans(spans: Vec<Span>) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    let mut prev_space = true; // trims the leading edge
    for mut s in spans {
        let mut text = String::with_capacity(s.text.len());
        for ch in s.text.chars() {
            if ch.is_whitespace() {
                if !prev_space {
                    text.push(' ');
                    prev_space = true;
                }
            } else {
                text.push(ch);
                prev_space = false;
            }
        }
        if text.is_empty() {
            continue;
        }
        s.text = text;
        if let Some(last) = out.last_mut() {
            if same_attributes(last, &s) {
                last.text.push_str(&s.text);
                continue;
            }
        }
        out.push(s);
    }
    // Trim the trailing edge.
    while let Some(last) = out.last_mut() {
        if last.text.ends_with(' ') {
            last.text.pop();
        }
        if last.text.is_empty() {
            out.pop();
        } else {
            break;
        }
    }
    out
}
