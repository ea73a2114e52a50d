//! `<ol>` item numbers, as a browser shows them and a narrator reads them: `start` (default 1, or the
//! item count for `reversed`), `reversed`, `type` (`1`, `a`, `A`, `i`, `I`) and `<li value>`; none when
//! the list's own `style` hides them (`list-style: none`, `list-style-type: none`).
//!
//! Owns list numbering; imports nothing outside this walker but the manuscript types.

use super::super::Span;
use super::tree::Element;

/// The numbering state of one `<ol>`.
pub(super) struct OrderedList {
    next: i64,
    step: i64,
    style: char,
    hidden: bool,
}

impl OrderedList {
    /// The numbering `ol` declares.
    pub(super) fn new(ol: &Element) -> Self {
        let reversed = ol.attr("reversed").is_some();
        let items = ol.elements().filter(|c| c.name == "li").count() as i64;
        let start = ol
            .attr("start")
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(if reversed { items } else { 1 });
        let style = ol
            .attr("type")
            .and_then(|t| t.trim().chars().next())
            .filter(|c| matches!(c, 'a' | 'A' | 'i' | 'I'))
            .unwrap_or('1');
        let css = ol.attr("style").unwrap_or("").to_ascii_lowercase().replace(' ', "");
        OrderedList {
            next: start,
            step: if reversed { -1 } else { 1 },
            style,
            hidden: css.contains("list-style:none") || css.contains("list-style-type:none"),
        }
    }

    /// The marker of the next item `li` (`14.`), advancing the count; `None` when numbers are hidden.
    pub(super) fn next(&mut self, li: &Element) -> Option<String> {
        if let Some(v) = li.attr("value").and_then(|v| v.trim().parse::<i64>().ok()) {
            self.next = v;
        }
        let n = self.next;
        self.next += self.step;
        if self.hidden {
            return None;
        }
        let label = match self.style {
            'a' => letters(n)?,
            'A' => letters(n)?.to_uppercase(),
            'i' => roman(n)?.to_lowercase(),
            'I' => roman(n)?,
            _ => n.to_string(),
        };
        Some(format!("{label}."))
    }
}

/// `a`…`z`, `aa`… for 1, 2, …; `None` below 1.
fn letters(mut n: i64) -> Option<String> {
    if n < 1 {
        return None;
    }
    let mut out = Vec::new();
    while n > 0 {
        n -= 1;
        out.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
    }
    Some(out.into_iter().rev().collect())
}

/// Upper-case Roman numerals for 1 to 3999.
fn roman(n: i64) -> Option<String> {
    crate::manuscript::roman::to_roman(u64::try_from(n).ok()?)
}

/// Whether the item's text already starts with its number (`1. First`, `1) First`): the list's numbers
/// are then part of the text and not read twice.
pub(super) fn marker_in_text(marker: &str, spans: &[Span]) -> bool {
    let label = marker.trim_end_matches('.');
    let text = spans.first().map(|s| s.text.trim_start()).unwrap_or("");
    text.strip_prefix(label)
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::super::walk_html;
    use super::*;

    fn markers(html: &str) -> Vec<Option<String>> {
        walk_html(html).0.blocks.iter().map(|b| b.marker.clone()).collect()
    }

    #[test]
    fn numbers_follow_start_reversed_type_and_value() {
        let m = |v: &[&str]| v.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>();
        assert_eq!(
            markers("<ol start=\"14\"><li>a</li><li>b</li></ol>"),
            m(&["14.", "15."])
        );
        assert_eq!(
            markers("<ol reversed=\"\"><li>a</li><li>b</li><li>c</li></ol>"),
            m(&["3.", "2.", "1."])
        );
        assert_eq!(
            markers("<ol type=\"i\"><li>a</li><li value=\"9\">b</li></ol>"),
            m(&["i.", "ix."])
        );
        assert_eq!(markers("<ol type=\"A\"><li>a</li><li>b</li></ol>"), m(&["A.", "B."]));
        assert_eq!(
            markers("<div><ul><li>x</li></ul><ol style=\"list-style: none\"><li>y</li></ol><ol><li>1. z</li><li>10 men</li></ol></div>"),
            [None, None, None, Some("2.".into())]
        );
        assert_eq!(letters(27).as_deref(), Some("aa"));
        assert_eq!(roman(1994).as_deref(), Some("MCMXCIV"));
    }

    #[test]
    fn nested_lists_number_their_own_items_and_notes_have_none() {
        let got = markers(
            "<div><ol><li>Eggs<ol><li>brown</li></ol></li><li>Milk</li></ol><aside><ol><li>note</li></ol></aside></div>",
        );
        assert_eq!(got, [Some("1.".into()), Some("1.".into()), Some("2.".into())]);
        let (w, _) = walk_html("<div><aside><ol><li>note</li></ol></aside></div>");
        assert_eq!(w.footnotes[0].marker, None);
    }
}
