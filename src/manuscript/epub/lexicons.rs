//! Pronunciation lexicons (PLS) linked from spine documents: each file read once, its entries added to
//! the book without duplicates; a missing or unreadable lexicon is a warning, never an error.
//!
//! Owns lexicon linking; imports nothing outside the manuscript types.

use std::collections::HashSet;

use super::super::pls::parse_pls;
use super::super::xhtml::PronunciationLink;
use super::super::RawBook;
use super::archive::Archive;
use super::paths::{dir_of, resolve_href};

/// The lexicons read so far and the entries taken from them.
#[derive(Debug, Default)]
pub(super) struct LinkedLexicons {
    /// Archive paths of the lexicons already read (or found missing).
    seen: HashSet<String>,
    /// `(grapheme, alias, lang)` of the entries already in the book.
    keys: HashSet<(String, String, Option<String>)>,
}

impl LinkedLexicons {
    /// Reads the lexicons `links` of the document at `doc_path` name, adding new entries and any
    /// warnings to `book`.
    pub(super) fn read(&mut self, ar: &mut Archive, doc_path: &str, links: &[PronunciationLink], book: &mut RawBook) {
        for link in links {
            let Some(p) = resolve_href(&dir_of(doc_path), &link.href) else {
                continue;
            };
            if !self.seen.insert(p.clone()) {
                continue;
            }
            let Some(name) = ar.resolve_name(&p) else {
                book.warnings.push(format!(
                    "{doc_path}: pronunciation lexicon {p} is missing from the archive"
                ));
                continue;
            };
            let lex = ar
                .read_text(&name)
                .and_then(|t| parse_pls(&t, link.hreflang.as_deref(), &name).map_err(|m| ar.invalid(m)));
            match lex {
                Ok(lex) => {
                    book.warnings.extend(lex.warnings);
                    for e in lex.entries {
                        if self.keys.insert((e.grapheme.clone(), e.alias.clone(), e.lang.clone())) {
                            book.lexicon.push(e);
                        }
                    }
                }
                Err(e) => book.warnings.push(format!("pronunciation lexicon not read: {e}")),
            }
        }
    }
}
