//! W3C Pronunciation Lexicon Specification (PLS 1.0) files, as linked from EPUB 3 XHTML
//! (`<link rel="pronunciation" type="application/pls+xml" href="…" hreflang="…"/>`).
//!
//! Each `<lexeme>` with `<grapheme>`s and an `<alias>` becomes one [`LexiconEntry`] per grapheme.
//! Lexemes with only `<phoneme>`s cannot be used by the engine (it takes text, not IPA); they are
//! reported as warnings.
//!
//! Owns PLS parsing. Must never import the plan, store, worker, engine, render, publish or voice/audio
//! modules.

use super::LexiconEntry;

/// Entries and warnings read from one PLS document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlsLexicon {
    /// Grapheme → alias entries, in document order, without duplicates.
    pub entries: Vec<LexiconEntry>,
    /// Lexemes that could not be used (phoneme only, empty), one line each.
    pub warnings: Vec<String>,
}

/// Parses a PLS document. `lang` (the link's `hreflang`) wins over the lexicon's `xml:lang`.
/// `name` names the file in warnings and errors.
///
/// # Errors
/// A message naming `name` when the document is not well-formed XML or its root is not `<lexicon>`.
pub fn parse_pls(text: &str, hreflang: Option<&str>, name: &str) -> Result<PlsLexicon, String> {
    let doc =
        roxmltree::Document::parse(text).map_err(|e| format!("pronunciation lexicon {name} is not valid XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "lexicon" {
        return Err(format!(
            "pronunciation lexicon {name}: root element is <{}>, expected <lexicon>",
            root.tag_name().name()
        ));
    }
    let lang = hreflang
        .map(str::to_string)
        .or_else(|| {
            root.attribute(("http://www.w3.org/XML/1998/namespace", "lang"))
                .map(str::to_string)
        })
        .filter(|l| !l.trim().is_empty());
    let mut out = PlsLexicon::default();
    let mut seen = std::collections::HashSet::new();
    for lexeme in root
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "lexeme")
    {
        let text_of = |tag: &str| -> Vec<String> {
            lexeme
                .children()
                .filter(|n| n.is_element() && n.tag_name().name() == tag)
                .map(|n| {
                    n.descendants()
                        .filter(|d| d.is_text())
                        .filter_map(|d| d.text())
                        .collect::<String>()
                })
                .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|t| !t.is_empty())
                .collect()
        };
        let graphemes = text_of("grapheme");
        let aliases = text_of("alias");
        let phonemes = text_of("phoneme");
        if graphemes.is_empty() {
            out.warnings
                .push(format!("{name}: a <lexeme> without a <grapheme> was ignored"));
            continue;
        }
        let Some(alias) = aliases.first() else {
            let what = if phonemes.is_empty() {
                "has no <alias>"
            } else {
                "has only a <phoneme> (not usable: the engine reads text, not phonemes)"
            };
            out.warnings.push(format!(
                "{name}: lexeme \"{}\" {what}; ignored",
                graphemes.join("\", \"")
            ));
            continue;
        };
        for g in graphemes {
            if seen.insert((g.clone(), alias.clone())) {
                out.entries.push(LexiconEntry {
                    grapheme: g,
                    alias: alias.clone(),
                    lang: lang.clone(),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_and_phoneme() {
        let pls = r#"<?xml version="1.0"?>
<lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon" alphabet="ipa" xml:lang="en">
  <lexeme><grapheme>W3C</grapheme><grapheme>w3c</grapheme><alias>World Wide Web Consortium</alias></lexeme>
  <lexeme><grapheme>W3C</grapheme><alias>World Wide Web Consortium</alias></lexeme>
  <lexeme><grapheme>tomato</grapheme><phoneme>təˈmɑːtoʊ</phoneme></lexeme>
</lexicon>"#;
        let l = parse_pls(pls, None, "lex.pls").expect("valid");
        assert_eq!(l.entries.len(), 2);
        assert_eq!(l.entries[0].lang.as_deref(), Some("en"));
        assert_eq!(l.entries[1].grapheme, "w3c");
        assert_eq!(l.warnings.len(), 1);
        assert!(l.warnings[0].contains("tomato"));
    }
}
