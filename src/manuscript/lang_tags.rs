//! Language tags written in manuscripts (`xml:lang`/`lang` attributes, EPUB `dc:language`, front matter)
//! → WhisperSpeech codes, including tags outside the model's 99.
//!
//! Order: the project's `languages_map` (full tag, then its primary subtag), then the 99 codes and their
//! aliases ([`crate::lang::resolve`]), then the closest listed language where one is obvious
//! ([`crate::lang::fallback`]: `grc` → `el`), else the surrounding language. Every tag that needed a
//! fallback gets one warning per book, naming the tag, the code used and an example of its text.
//! The project's own `language:`/`languages:` never come here: they stay strict.
//!
//! Owns manuscript tag resolution; imports only `crate::lang` and the manuscript types. Must never
//! import the plan, store, worker, engine, render, publish or voice/audio modules.

use std::collections::{BTreeMap, HashMap};

use super::{RawBook, Span};

/// How a manuscript tag was resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Through the project's `languages_map`, or a tag WhisperSpeech knows: no warning.
    Known(String),
    /// Read as its closest listed language (`grc` → `el`), with the reason.
    Closest(String, &'static str),
    /// No close listed language: read in the surrounding language.
    Surrounding,
}

/// Resolves one manuscript tag: `languages_map` (keys lower case), the 99 codes, the fallback table.
pub fn resolve_tag(tag: &str, map: &BTreeMap<String, String>) -> Resolved {
    let t = tag.trim().to_ascii_lowercase().replace('_', "-");
    let primary = t.split('-').next().unwrap_or("");
    if let Some(code) = map.get(&t).or_else(|| map.get(primary)) {
        return Resolved::Known(code.clone());
    }
    if let Some(code) = crate::lang::resolve(&t) {
        return Resolved::Known(code.to_string());
    }
    match crate::lang::fallback(&t) {
        Some(f) => Resolved::Closest(f.code.to_string(), f.reason),
        None => Resolved::Surrounding,
    }
}

/// The WhisperSpeech code of every span language tag of `raw` (body and footnotes), with one warning
/// per tag that needed a fallback. `surrounding` is the book's language, used where no listed language
/// is close.
pub fn span_languages(
    raw: &RawBook,
    map: &BTreeMap<String, String>,
    surrounding: &str,
) -> (HashMap<String, String>, Vec<String>) {
    let mut codes: HashMap<String, String> = HashMap::new();
    let mut warnings = Vec::new();
    let spans = raw
        .chapters
        .iter()
        .flat_map(|c| c.blocks.iter().chain(&c.footnotes))
        .flat_map(|b| &b.spans);
    for span in spans {
        let Some(tag) = &span.lang else { continue };
        if codes.contains_key(tag) {
            continue;
        }
        let (code, warning) = match resolve_tag(tag, map) {
            Resolved::Known(code) => (code, None),
            Resolved::Closest(code, reason) => {
                let w = format!(
                    "language `{tag}` is not one of WhisperSpeech's 99; its text is read as `{code}` ({reason}), e.g. {}{MAP_HINT}",
                    example(span)
                );
                (code, Some(w))
            }
            Resolved::Surrounding => {
                let hint = crate::lang::suggest(tag)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                let w = format!(
                    "language `{tag}` is not one of WhisperSpeech's 99{hint} and none is close; its text is read in the surrounding language `{surrounding}`, e.g. {}{MAP_HINT}",
                    example(span)
                );
                (surrounding.to_string(), Some(w))
            }
        };
        warnings.extend(warning);
        codes.insert(tag.clone(), code);
    }
    (codes, warnings)
}

/// What every fallback warning ends with.
const MAP_HINT: &str = "; choose another with `languages_map` in project.yaml";

/// The first words of a span, quoted.
fn example(span: &Span) -> String {
    let t = super::xhtml::collapse(&span.text);
    let short: String = t.chars().take(40).collect();
    if short.len() < t.len() {
        format!("\"{short}…\"")
    } else {
        format!("\"{short}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manuscript::{BlockKind, RawBlock, RawChapter};

    fn span(text: &str, lang: &str) -> Span {
        Span {
            lang: Some(lang.into()),
            ..Span::plain(text)
        }
    }

    #[test]
    fn map_then_known_then_closest_then_surrounding() {
        let map: BTreeMap<String, String> = [("sco".to_string(), "en".to_string()), ("grc".into(), "la".into())]
            .into_iter()
            .collect();
        assert_eq!(resolve_tag("grc", &map), Resolved::Known("la".into()));
        assert_eq!(resolve_tag("sco-GB", &map), Resolved::Known("en".into()));
        assert_eq!(resolve_tag("pl-PL", &map), Resolved::Known("pl".into()));
        let none = BTreeMap::new();
        assert!(matches!(resolve_tag("grc", &none), Resolved::Closest(c, _) if c == "el"));
        assert_eq!(resolve_tag("tlh", &none), Resolved::Surrounding);
    }

    #[test]
    fn one_warning_per_tag_with_the_code_and_an_example() {
        let block = RawBlock {
            kind: BlockKind::Paragraph,
            spans: vec![
                span("μῆνιν ἄειδε θεὰ", "grc"),
                Span::plain(" and "),
                span("nuqneH", "tlh"),
                span("ἄνδρα μοι ἔννεπε", "grc"),
            ],
            marker: None,
        };
        let raw = RawBook {
            chapters: vec![RawChapter {
                title: None,
                blocks: vec![block],
                footnotes: vec![],
            }],
            ..Default::default()
        };
        let (codes, warnings) = span_languages(&raw, &BTreeMap::new(), "en");
        assert_eq!(codes["grc"], "el");
        assert_eq!(codes["tlh"], "en");
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("`grc`") && warnings[0].contains("`el`") && warnings[0].contains("μῆνιν"),
            "{}",
            warnings[0]
        );
        assert!(
            warnings[1].contains("`tlh`") && warnings[1].contains("surrounding language `en`"),
            "{}",
            warnings[1]
        );
    }
}
