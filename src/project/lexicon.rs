//! The lexicon file (`lexicon: lexicon.yaml` in project.yaml): pronunciations kept apart from project.yaml, in
//! the same shape (language → word → replacement), so that `ws-book review` can edit them without ever
//! rewriting the user's project file. Read at load time and merged over `pronunciations`.
//!
//! Owns reading, editing and writing that file. Imports only `lang`, `files` and the project error; must
//! never import render, worker, store, engine.

use std::collections::BTreeMap;
use std::path::Path;

use super::error::ProjectError;
use crate::files::{read_capped, CappedRead};
use crate::lang;

/// Language → (word → replacement).
pub type Lexicon = BTreeMap<String, BTreeMap<String, String>>;

/// Largest lexicon file accepted.
pub const MAX_LEXICON_BYTES: u64 = 4 << 20;

/// Longest word or replacement accepted, in characters.
pub const MAX_ENTRY_CHARS: usize = 200;

fn invalid(path: &Path, line: u64, column: u64, message: String, hint: &str) -> ProjectError {
    ProjectError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
        hint: hint.into(),
    }
}

/// Reads a lexicon file; a missing file is an empty lexicon. Errors name the file (and line:column for YAML
/// errors); unknown languages and empty or multi-line entries are refused.
pub fn read(path: &Path) -> Result<Lexicon, ProjectError> {
    let text = match read_capped(path, MAX_LEXICON_BYTES, std::fs::read_to_string) {
        Ok(t) => t,
        Err(CappedRead::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Lexicon::new()),
        Err(CappedRead::Io(source)) => {
            return Err(ProjectError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
        Err(CappedRead::TooLarge(size)) => {
            return Err(invalid(
                path,
                0,
                0,
                format!("the lexicon file is {size} bytes; the limit is {MAX_LEXICON_BYTES}"),
                "",
            ))
        }
    };
    if text.trim().is_empty() {
        return Ok(Lexicon::new());
    }
    let options = crate::yaml::budgeted(200_000, 0, |b| b.max_depth = 8);
    let lex: Lexicon = serde_saphyr::from_str_with_options(&text, options).map_err(|e| {
        let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((0, 0));
        let msg = e.to_string();
        invalid(
            path,
            line,
            column,
            msg.lines().next().unwrap_or("invalid YAML").to_string(),
            " (a lexicon maps a language code to word: replacement pairs, e.g. `en: {Tomasz: Tomash}`)",
        )
    })?;
    for (l, words) in &lex {
        if lang::resolve(l).is_none() {
            return Err(invalid(
                path,
                0,
                0,
                format!("unknown language `{l}`"),
                " (use a WhisperSpeech language code such as `en`, `pl`, `de`)",
            ));
        }
        for (w, r) in words {
            check_entry(w, r).map_err(|m| invalid(path, 0, 0, format!("{l}: `{w}`: {m}"), ""))?;
        }
    }
    Ok(lex)
}

/// Why a word → replacement pair cannot be stored, if it cannot.
pub fn check_entry(word: &str, replacement: &str) -> Result<(), String> {
    if word.trim().is_empty() || word.trim() != word {
        return Err("the word must be non-empty, without surrounding spaces".into());
    }
    for (what, v) in [("word", word), ("replacement", replacement)] {
        if v.chars().count() > MAX_ENTRY_CHARS {
            return Err(format!("the {what} is longer than {MAX_ENTRY_CHARS} characters"));
        }
        if v.chars().any(|c| c.is_control()) {
            return Err(format!("the {what} holds a line break or control character"));
        }
    }
    if replacement.trim().is_empty() {
        return Err("the replacement is empty".into());
    }
    Ok(())
}

/// The lexicon as YAML: one block per language, every scalar double-quoted (JSON strings are YAML
/// double-quoted scalars), sorted, so the file diffs cleanly.
pub fn to_yaml(lex: &Lexicon) -> String {
    let mut out = String::from("# Pronunciations edited by `ws-book review` (language -> word: replacement).\n");
    for (l, words) in lex.iter().filter(|(_, w)| !w.is_empty()) {
        out.push_str(&format!("{l}:\n"));
        for (w, r) in words {
            let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
            out.push_str(&format!("  {}: {}\n", q(w), q(r)));
        }
    }
    out
}

/// Sets (or, with `None`, removes) one entry and writes the file atomically (temporary file + rename).
pub fn set_entry(path: &Path, lang_code: &str, word: &str, replacement: Option<&str>) -> Result<Lexicon, ProjectError> {
    if lang::resolve(lang_code).is_none() {
        return Err(invalid(path, 0, 0, format!("unknown language `{lang_code}`"), ""));
    }
    if let Some(r) = replacement {
        check_entry(word, r).map_err(|m| invalid(path, 0, 0, format!("`{word}`: {m}"), ""))?;
    }
    let mut lex = read(path)?;
    match replacement {
        Some(r) => {
            lex.entry(lang_code.to_string())
                .or_default()
                .insert(word.to_string(), r.to_string());
        }
        None => {
            if let Some(w) = lex.get_mut(lang_code) {
                w.remove(word);
            }
        }
    }
    let io = |source| ProjectError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("yaml.tmp");
    std::fs::write(&tmp, to_yaml(&lex)).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(lex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lexicon_round_trips_and_bad_entries_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lexicon.yaml");
        assert!(read(&p).unwrap().is_empty());
        set_entry(&p, "en", "Tomasz", Some("Tomash")).unwrap();
        set_entry(&p, "en", "a: \"b\"", Some("quoted # not a comment")).unwrap();
        let lex = read(&p).unwrap();
        assert_eq!(lex["en"]["Tomasz"], "Tomash");
        assert_eq!(lex["en"]["a: \"b\""], "quoted # not a comment");
        set_entry(&p, "en", "Tomasz", None).unwrap();
        assert!(!read(&p).unwrap()["en"].contains_key("Tomasz"));
        assert!(set_entry(&p, "xx", "a", Some("b")).is_err());
        assert!(set_entry(&p, "en", "a", Some("two\nlines")).is_err());
        std::fs::write(&p, "en: [1, 2\n").unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.starts_with(&p.display().to_string()), "{e}");
        std::fs::write(&p, "qq:\n  a: b\n").unwrap();
        assert!(read(&p).unwrap_err().to_string().contains("unknown language `qq`"));
    }
}
