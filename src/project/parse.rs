//! YAML parsing of `project.yaml`: text → [`ProjectConfig`] under a strict budget, and serde's messages turned
//! into "line:column: `key`: message (did you mean …)".
//!
//! The YAML is read with `serde-saphyr` (a maintained, panic-free successor of `serde_yaml` that reports
//! line/column and enforces a parsing budget, so a billion-laughs file is refused instead of expanded).
//! Owns [`parse`] and [`ParseError`]. Must never import render, worker, store, engine.

use std::path::Path;

use super::error::ProjectError;
use super::schema::ProjectConfig;
use crate::suggest::closest;

/// Top-level keys, for "did you mean" hints.
const KNOWN_KEYS: &[&str] = &[
    "kind",
    "title",
    "author",
    "language",
    "languages",
    "manuscripts",
    "narrator",
    "characters",
    "pronunciations",
    "lexicon",
    "require_approval",
    "reading",
    "chunking",
    "pauses",
    "output",
    "engine",
    "render",
    "voice",
    "voices",
    "aliases",
    "chapter_level",
    "footnotes",
    "skip_front_matter",
    "attribution",
    "detect_language",
    "normalize",
    "max_bytes",
    "max_seconds",
    "cps",
    "sentence_ms",
    "paragraph_ms",
    "chapter_head_ms",
    "chapter_tail_ms",
    "dir",
    "formats",
    "loudness",
    "cover",
    "name",
    "models",
    "temperature",
    "top_k",
    "quantize",
    "workers",
    "device",
    "seed",
    "batch_size",
    "dtype",
    "max_attempts",
    "db",
    "episodes",
    "feed",
    "description",
    "base_url",
    "image",
    "category",
    "explicit",
    "owner_email",
    "store",
    "url",
    "audio_dir",
    "qa",
    "asr",
    "max_wer",
    "takes",
    "gate",
    "min_similarity",
    "tags",
    "room_tone",
    "narrator",
    "date",
    "publisher",
    "copyright",
    "genre",
    "series",
    "series_index",
    "isbn",
    "asin",
];

/// A parse error before the file name is known.
#[derive(Debug)]
pub struct ParseError {
    line: u64,
    column: u64,
    message: String,
    hint: String,
}

impl ParseError {
    /// The error as a [`ProjectError`] naming `path`.
    pub(super) fn with_path(self, path: &Path) -> ProjectError {
        ProjectError::Invalid {
            path: path.to_path_buf(),
            line: self.line,
            column: self.column,
            message: self.message,
            hint: self.hint,
        }
    }
}

/// Parses project YAML text with a strict budget (no aliases explosion, bounded events and depth).
pub fn parse(text: &str) -> Result<ProjectConfig, ParseError> {
    if text.trim().is_empty() {
        return Ok(ProjectConfig::default());
    }
    let options = crate::yaml::budgeted(100_000, 1_000, |budget| {
        budget.max_anchors = 1_000;
        budget.max_depth = 64;
        budget.max_nodes = 100_000;
        budget.max_recorded_anchor_events = 100_000;
    });
    // First pass: the whole document as untyped values under the budget, so an alias bomb is
    // refused even where the typed pass would stop early at an unrelated error.
    serde_saphyr::from_str_with_options::<serde_json::Value>(text, options.clone())
        .map_err(|e| to_parse_error(text, e))?;
    serde_saphyr::from_str_with_options::<ProjectConfig>(text, options).map_err(|e| to_parse_error(text, e))
}

fn to_parse_error(text: &str, e: serde_saphyr::Error) -> ParseError {
    {
        let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((0, 0));
        let mut message = first_line(&e.to_string());
        // serde-saphyr prefixes "error: line L column C: "; the location is printed separately.
        if let Some(rest) = message.strip_prefix("error: ") {
            message = rest.to_string();
        }
        if let Some(i) = message.find(": ").filter(|_| message.starts_with("line ")) {
            message = message[i + 2..].to_string();
        }
        // Name the key when the message does not (e.g. "invalid u64").
        if !message.contains('`') {
            if let Some(key) = key_at_line(text, line) {
                message = format!("`{key}`: {message}");
            }
        }
        let hint = unknown_key_hint(&message);
        ParseError {
            line,
            column,
            message,
            hint,
        }
    }
}

/// The mapping key written on 1-based `line`, if any.
fn key_at_line(text: &str, line: u64) -> Option<String> {
    let l = text.lines().nth(usize::try_from(line).ok()?.checked_sub(1)?)?;
    let key = l.trim_start().trim_start_matches("- ").split(':').next()?.trim();
    (!key.is_empty() && l.contains(':') && key.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-'))
        .then(|| key.to_string())
}

fn first_line(s: &str) -> String {
    // serde-saphyr renders a snippet after the message; keep the message itself, without a
    // repeated location prefix.
    let l = s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s).trim();
    l.to_string()
}

/// For "unknown field `x`" messages, suggests the closest known key.
fn unknown_key_hint(message: &str) -> String {
    let Some(start) = message.find("unknown field `") else {
        return String::new();
    };
    let rest = &message[start + "unknown field `".len()..];
    let Some(end) = rest.find('`') else {
        return String::new();
    };
    let key = &rest[..end];
    match closest(key, KNOWN_KEYS) {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_bomb_is_refused_by_the_budget() {
        let mut bomb =
            String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            bomb.push_str(&format!(
                "{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
            ));
        }
        let t = std::time::Instant::now();
        let e = parse(&bomb).expect_err("refused");
        assert!(
            !e.message.contains("unknown field"),
            "refused for the wrong reason: {}",
            e.message
        );
        assert!(t.elapsed().as_secs() < 10);
    }
}
