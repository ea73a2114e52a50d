//! The attributes text inherits from its enclosing elements: language (`lang`/`xml:lang`, the latter
//! wins), speaker (`data-speaker`) and pronunciation (`ssml:ph` with its `ssml:alphabet`).
//!
//! Owns the inheritance rules and the [`Span`] attribute comparison; imports nothing outside the
//! manuscript types.

use super::super::Span;
use super::tree::Element;

/// Attributes in force at a point of the walk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Inherited {
    lang: Option<String>,
    speaker: Option<String>,
    ph: Option<String>,
    alphabet: Option<String>,
}

impl Inherited {
    /// Applies `e`'s own attributes: an empty `lang` or `data-speaker` clears the inherited one;
    /// `ssml:ph` sets the pronunciation together with its alphabet (absent alphabet: none).
    pub(super) fn inherit(&mut self, e: &Element) {
        if let Some(l) = e.attr("xml:lang").or_else(|| e.attr("lang")) {
            self.lang = non_empty(l);
        }
        if let Some(s) = e.attr("data-speaker") {
            self.speaker = non_empty(s);
        }
        if let Some(p) = e.attr("ssml:ph") {
            self.ph = Some(p.to_string());
            self.alphabet = e.attr("ssml:alphabet").map(str::to_string);
        }
    }

    /// Whether `span` carries exactly these attributes.
    pub(super) fn matches(&self, span: &Span) -> bool {
        span.lang == self.lang
            && span.speaker == self.speaker
            && span.ph == self.ph
            && span.ph_alphabet == self.alphabet
    }

    /// A span of `text` with these attributes.
    pub(super) fn span(&self, text: &str) -> Span {
        Span {
            text: text.to_string(),
            lang: self.lang.clone(),
            speaker: self.speaker.clone(),
            ph: self.ph.clone(),
            ph_alphabet: self.alphabet.clone(),
        }
    }
}

/// Whether two spans carry the same attributes (so that their texts can be merged).
pub(super) fn same_attributes(a: &Span, b: &Span) -> bool {
    a.lang == b.lang && a.speaker == b.speaker && a.ph == b.ph && a.ph_alphabet == b.ph_alphabet
}

/// The trimmed value, `None` when blank.
fn non_empty(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::walk_html;

    #[test]
    fn fragment_with_lang_and_speaker() {
        let (w, lenient) =
            walk_html(r#"He said <span lang="pl">dzień  dobry</span> and <span data-speaker="alice">hi</span>."#);
        assert!(lenient.is_none());
        assert_eq!(w.blocks.len(), 1);
        let s = &w.blocks[0].spans;
        assert_eq!(s[0].text, "He said ");
        assert_eq!((s[1].text.as_str(), s[1].lang.as_deref()), ("dzień dobry", Some("pl")));
        assert_eq!(s[2].text, " and ");
        assert_eq!((s[3].text.as_str(), s[3].speaker.as_deref()), ("hi", Some("alice")));
        assert_eq!(s[4].text, ".");
    }
}
