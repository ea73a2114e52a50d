//! Validation of a parsed `project.yaml`, one function per block, in the order the file documents them; the
//! first error found is returned, located at the line and column where its key or value first appears.
//!
//! Owns the rules (ranges, known names, files that must exist, podcast-only keys) and their messages. Uses
//! [`crate::lang`] for language tags and [`crate::suggest`] for hints; must never import render, worker,
//! store, engine.

use std::collections::BTreeMap;
use std::path::Path;

use super::error::ProjectError;
use super::schema::{
    BatchSize, Character, ChunkingOptions, EngineOptions, ProjectConfig, ProjectKind, QaOptions, ReadingOptions,
    RenderOptions,
};
use super::Project;
use crate::lang;
use crate::suggest::closest;

/// Builds the errors of one project file, each located where its needle first appears in the text.
struct Locator<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Locator<'_> {
    /// An [`ProjectError::Invalid`] at the first appearance of `needle`.
    fn err(&self, needle: &str, message: String, hint: String) -> ProjectError {
        self.invalid(locate(self.text, needle), message, hint)
    }

    /// An [`ProjectError::Invalid`] at `(line, column)`.
    fn invalid(&self, (line, column): (u64, u64), message: String, hint: String) -> ProjectError {
        ProjectError::Invalid {
            path: self.path.to_path_buf(),
            line,
            column,
            message,
            hint,
        }
    }

    /// `` `key` is v; it must be lo to hi `` unless `lo <= v <= hi` (a NaN is out of range), located at the
    /// key's last segment.
    fn in_range<T: PartialOrd + std::fmt::Display>(
        &self,
        key: &str,
        v: T,
        lo: T,
        hi: T,
        hint: &str,
    ) -> Result<(), ProjectError> {
        if v >= lo && v <= hi {
            return Ok(());
        }
        let needle = key.rsplit('.').next().unwrap_or(key);
        Err(self.err(
            needle,
            format!("`{key}` is {v}; it must be {lo} to {hi}"),
            hint.to_string(),
        ))
    }
}

impl Locator<'_> {
    /// An [`ProjectError::Invalid`] at the first appearance of `needle` after the first appearance of
    /// `anchor` (a key inside a block: `grc` under `languages_map`, not an earlier `grc` elsewhere).
    fn err_after(&self, anchor: &str, needle: &str, message: String, hint: String) -> ProjectError {
        self.invalid(locate_after(self.text, anchor, needle), message, hint)
    }
}

/// Like [`locate`], searching only after the first appearance of `anchor` (anywhere, when it is absent).
fn locate_after(text: &str, anchor: &str, needle: &str) -> (u64, u64) {
    let (aline, acol) = locate(text, anchor);
    if aline == 0 {
        return locate(text, needle);
    }
    for (i, line) in text.lines().enumerate().skip(aline as usize - 1) {
        let from = if i + 1 == aline as usize {
            acol as usize - 1 + anchor.len()
        } else {
            0
        };
        if let Some(col) = line.get(from..).and_then(|l| l.find(needle)) {
            return (i as u64 + 1, (from + col) as u64 + 1);
        }
    }
    (aline, acol)
}

/// Finds the 1-based line and column where `needle` first appears as a YAML key or value.
fn locate(text: &str, needle: &str) -> (u64, u64) {
    for (i, line) in text.lines().enumerate() {
        if let Some(col) = line.find(needle) {
            return (i as u64 + 1, col as u64 + 1);
        }
    }
    (0, 0)
}

/// Checks a parsed project whose file text is `text`; the first error found is returned.
pub(super) fn validate(p: &Project, text: &str) -> Result<(), ProjectError> {
    let at = Locator { path: &p.source, text };
    let c = &p.config;
    manuscripts(p, &at)?;
    languages(c, &at)?;
    reading(&c.reading, &at)?;
    chunking(&c.chunking, &at)?;
    podcast(p, &at)?;
    output(p, &at)?;
    if let Some(db) = c.pauses.room_tone {
        at.in_range(
            "pauses.room_tone",
            db,
            -90.0,
            -50.0,
            "a level in dBFS such as -70 (ACX wants the noise floor at -60 or below)",
        )?;
    }
    engine(&c.engine, &at)?;
    render(&c.render, &at)?;
    qa(&c.qa, &at)?;
    characters(&c.characters, &at)
}

/// `manuscripts`: a book has at least one, and each exists.
fn manuscripts(p: &Project, at: &Locator) -> Result<(), ProjectError> {
    let c = &p.config;
    if c.manuscripts.is_empty() && c.kind == ProjectKind::Book {
        return Err(at.err(
            "manuscripts",
            "`manuscripts` is empty".into(),
            " (list the book's .md or .epub files, e.g. `manuscripts: [book.md]`)".into(),
        ));
    }
    for m in &c.manuscripts {
        let full = p.resolve(m);
        if !full.is_file() {
            let s = m.to_string_lossy();
            return Err(at.err(
                &s,
                format!("manuscript `{}` does not exist (looked for {})", s, full.display()),
                " (paths are relative to the project file's folder)".into(),
            ));
        }
    }
    Ok(())
}

/// Every language tag (`language`, `languages`, per-language voices, `pronunciations`) is known.
fn languages(c: &ProjectConfig, at: &Locator) -> Result<(), ProjectError> {
    let mut langs: Vec<(&str, String)> = Vec::new();
    if let Some(l) = &c.language {
        langs.push(("language", l.clone()));
    }
    langs.extend(c.languages.iter().map(|l| ("languages", l.clone())));
    langs.extend(c.narrator.voices.keys().map(|l| ("narrator.voices", l.clone())));
    for ch in c.characters.values() {
        langs.extend(ch.voices.keys().map(|l| ("characters.voices", l.clone())));
    }
    langs.extend(c.pronunciations.keys().map(|l| ("pronunciations", l.clone())));
    for (key, code) in langs {
        if lang::resolve(&code).is_none() {
            let hint = match lang::suggest(&code) {
                Some(s) => format!(" (did you mean `{s}`? WhisperSpeech knows 99 language codes)"),
                None => " (use a WhisperSpeech language code such as `en`, `pl`, `de`)".into(),
            };
            return Err(at.err(&code, format!("`{key}`: unknown language `{code}`"), hint));
        }
    }
    languages_map(c, at)
}

/// `languages_map`: keys are language tags as manuscripts write them (any BCP 47-like tag, known or not),
/// values WhisperSpeech codes.
fn languages_map(c: &ProjectConfig, at: &Locator) -> Result<(), ProjectError> {
    for (tag, code) in &c.languages_map {
        if !is_language_tag(tag) {
            return Err(at.err_after(
                "languages_map",
                tag,
                format!("`languages_map`: `{tag}` is not a language tag"),
                " (keys are tags as manuscripts write them, e.g. `grc`, `sco`, `de-CH`)".into(),
            ));
        }
        if lang::resolve(code).is_none() {
            let hint = match lang::suggest(code) {
                Some(s) => format!(" (did you mean `{s}`? values are WhisperSpeech language codes)"),
                None => " (values are WhisperSpeech language codes such as `en`, `el`, `de`)".into(),
            };
            return Err(at.err_after(
                &format!("{tag}:"),
                code,
                format!("`languages_map.{tag}`: unknown language `{code}`"),
                hint,
            ));
        }
    }
    Ok(())
}

/// A BCP 47-like tag: a 2–8 letter primary subtag, then `-`/`_`-separated subtags of 1–8 letters or digits.
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split(['-', '_']);
    let primary = parts.next().unwrap_or("");
    (2..=8).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// `reading:`: the chapter heading level is 1 to 6.
fn reading(r: &ReadingOptions, at: &Locator) -> Result<(), ProjectError> {
    at.in_range("reading.chapter_level", r.chapter_level, 1, 6, "")
}

/// `chunking:`: chunks fit the WhisperSpeech text window and its 30 s of speech.
fn chunking(k: &ChunkingOptions, at: &Locator) -> Result<(), ProjectError> {
    at.in_range(
        "chunking.max_bytes",
        k.max_bytes,
        32,
        540,
        " (the WhisperSpeech text window is 550 bytes)",
    )?;
    at.in_range(
        "chunking.max_seconds",
        k.max_seconds,
        2.0,
        29.0,
        " (WhisperSpeech stops after 30 s of speech)",
    )?;
    at.in_range("chunking.cps", k.cps, 1.0, 40.0, "")
}

/// The podcast keys: `episodes` and `feed` (with `base_url`) for `kind: podcast`, neither for a book.
fn podcast(p: &Project, at: &Locator) -> Result<(), ProjectError> {
    let c = &p.config;
    let patterns = c.episodes.patterns();
    if c.kind == ProjectKind::Book {
        if !patterns.is_empty() || c.feed.is_some() {
            let key = if patterns.is_empty() { "feed" } else { "episodes" };
            return Err(at.err(
                key,
                format!("`{key}` is only used by podcast projects"),
                " (add `kind: podcast`, or remove the key)".into(),
            ));
        }
        return Ok(());
    }
    if patterns.is_empty() {
        return Err(at.err(
            "kind",
            "a podcast project needs `episodes`".into(),
            " (a glob or list of Markdown files, one per episode, e.g. `episodes: posts/*.md`)".into(),
        ));
    }
    if !c.manuscripts.is_empty() {
        return Err(at.err(
            "manuscripts",
            "`manuscripts` is for books; a podcast lists its files under `episodes`".into(),
            String::new(),
        ));
    }
    feed(c, at)?;
    episodes(p, &patterns, at)
}

/// `feed:` of a podcast: present, with an http(s) `base_url` and a known `language`.
fn feed(c: &ProjectConfig, at: &Locator) -> Result<(), ProjectError> {
    let Some(feed) = &c.feed else {
        return Err(at.err(
            "kind",
            "a podcast project needs a `feed` block".into(),
            " (at least `feed: { base_url: https://example.com/podcast/ }`)".into(),
        ));
    };
    match feed.base_url.as_deref().map(str::trim) {
        None | Some("") => {
            return Err(at.err(
                "feed",
                "`feed.base_url` is missing: it is the public URL the `out/` folder is served from; every \
                 episode's enclosure URL in feed.xml is built from it"
                    .into(),
                " (e.g. `base_url: https://example.com/podcast/`)".into(),
            ))
        }
        Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => {
            return Err(at.err(
                u,
                format!("`feed.base_url` `{u}` is not an http(s) URL"),
                " (podcast apps download enclosures over HTTP, e.g. `https://example.com/podcast/`)".into(),
            ))
        }
        Some(_) => {}
    }
    if let Some(l) = &feed.language {
        if lang::resolve(l).is_none() {
            return Err(at.err(
                l,
                format!("`feed.language`: unknown language `{l}`"),
                " (use a language code such as `en`)".into(),
            ));
        }
    }
    Ok(())
}

/// `episodes:` of a podcast: every glob or path matches at least one file.
fn episodes(p: &Project, patterns: &[String], at: &Locator) -> Result<(), ProjectError> {
    for pat in patterns {
        let full = p.resolve(Path::new(pat));
        let matched = glob::glob(&full.to_string_lossy())
            .map_err(|e| at.err(pat, format!("`episodes`: bad glob `{pat}`: {e}"), String::new()))?
            .filter_map(Result::ok)
            .any(|f| f.is_file());
        if !matched {
            return Err(at.err(
                pat,
                format!("`episodes`: `{pat}` matches no file (looked for {})", full.display()),
                " (paths and globs are relative to the project file's folder)".into(),
            ));
        }
    }
    Ok(())
}

/// `output:`: known formats (no m4b for a podcast) and loudness preset, with the kind's defaults applied.
/// `output.tags`: a date is `YYYY` or `YYYY-MM-DD`, a series index a number, no value empty or multi-line.
fn tags(t: &crate::project::OutputTags, at: &Locator) -> Result<(), ProjectError> {
    let fields = [
        ("narrator", &t.narrator),
        ("date", &t.date),
        ("publisher", &t.publisher),
        ("copyright", &t.copyright),
        ("genre", &t.genre),
        ("series", &t.series),
        ("series_index", &t.series_index),
        ("isbn", &t.isbn),
        ("asin", &t.asin),
    ];
    for (k, v) in fields {
        if let Some(v) = v {
            if v.trim().is_empty() || v.contains('\n') {
                return Err(at.err_after(
                    "tags",
                    k,
                    format!("`output.tags.{k}` must be one line of text"),
                    String::new(),
                ));
            }
        }
    }
    if let Some(d) = &t.date {
        let ok = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        let parts: Vec<&str> = d.split('-').collect();
        let valid = match parts.as_slice() {
            [y] => ok(y, 4),
            [y, m, dd] => ok(y, 4) && ok(m, 2) && ok(dd, 2),
            _ => false,
        };
        if !valid {
            return Err(at.err_after(
                "tags",
                "date",
                format!("`output.tags.date` is `{d}`; use a year (`2026`) or a date (`2026-12-01`)"),
                String::new(),
            ));
        }
    }
    if let Some(i) = &t.series_index {
        if i.parse::<f64>().map_or(true, |x| !x.is_finite() || x < 0.0) {
            return Err(at.err_after(
                "tags",
                "series_index",
                format!("`output.tags.series_index` is `{i}`; use a number such as 1 or 2.5"),
                String::new(),
            ));
        }
    }
    Ok(())
}

fn output(p: &Project, at: &Locator) -> Result<(), ProjectError> {
    for f in &p.formats() {
        if f == "m4b" && p.config.kind == ProjectKind::Podcast {
            return Err(at.err(
                "m4b",
                "`output.formats`: `m4b` is one file for a whole book; a podcast's episodes use mp3 or opus".into(),
                String::new(),
            ));
        }
        if !["m4b", "mp3", "opus"].contains(&f.as_str()) {
            let hint = closest(f, &["m4b", "mp3", "opus"])
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(at.err(
                f,
                format!("`output.formats`: unknown format `{f}`; use m4b, mp3 or opus"),
                hint,
            ));
        }
    }
    tags(&p.config.output.tags, at)?;
    if !["audiobook", "podcast"].contains(&p.loudness().as_str()) {
        return Err(at.err(
            "loudness",
            format!(
                "`output.loudness`: unknown preset `{}`; use `audiobook` or `podcast`",
                p.loudness()
            ),
            String::new(),
        ));
    }
    Ok(())
}

/// `engine:`: a known engine name and a temperature of 0 to 2.
fn engine(e: &EngineOptions, at: &Locator) -> Result<(), ProjectError> {
    if !["auto", "whisperspeech", "espeak"].contains(&e.name.as_str()) {
        let hint = closest(&e.name, &["auto", "whisperspeech", "espeak"])
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        return Err(at.err(
            "engine",
            format!(
                "`engine.name`: unknown engine `{}`; use auto, whisperspeech or espeak",
                e.name
            ),
            hint,
        ));
    }
    at.in_range("engine.temperature", e.temperature, 0.0, 2.0, "")
}

/// `render:`: counts of at least 1 and a known device.
fn render(r: &RenderOptions, at: &Locator) -> Result<(), ProjectError> {
    if r.workers == 0 || r.batch_size == BatchSize::Fixed(0) || r.max_attempts == 0 {
        return Err(at.err(
            "render",
            "`render.workers`, `render.batch_size` and `render.max_attempts` must be at least 1".into(),
            String::new(),
        ));
    }
    let dev = r.device.as_str();
    let cuda_ok = dev == "cuda" || dev.strip_prefix("cuda:").is_some_and(|n| n.parse::<usize>().is_ok());
    if !(dev == "auto" || dev == "cpu" || cuda_ok) {
        return Err(at.err(
            "device",
            format!("`render.device`: unknown device `{dev}`; use auto, cpu, cuda or cuda:N"),
            String::new(),
        ));
    }
    if !["f32", "f16", "bf16"].contains(&r.dtype.as_str()) {
        return Err(at.err(
            "dtype",
            format!("`render.dtype`: unknown dtype `{}`; use f32, f16 or bf16", r.dtype),
            String::new(),
        ));
    }
    Ok(())
}

/// `qa:`: a WER threshold of 0 to 1 and 1 to 10 takes; the model itself is resolved by the render.
fn qa(q: &QaOptions, at: &Locator) -> Result<(), ProjectError> {
    if let Some(w) = q.max_wer {
        at.in_range("qa.max_wer", w, 0.0, 1.0, "(0.25 lets one word in four differ)")?;
    }
    if let Some(t) = q.takes {
        at.in_range("qa.takes", t, 1, 10, "")?;
    }
    if let Some(s) = q.min_similarity {
        at.in_range(
            "qa.min_similarity",
            s,
            -1.0,
            1.0,
            "(a cosine similarity; 0.5 is a loose voice match)",
        )?;
    }
    if q.asr.as_deref().is_some_and(|a| a.trim().is_empty()) {
        return Err(at.err(
            "asr",
            "`qa.asr` is empty; name a Whisper model (e.g. base) or remove the key".into(),
            String::new(),
        ));
    }
    Ok(())
}

/// `characters:`: names and aliases are unique across characters so attribution is unambiguous.
fn characters(characters: &BTreeMap<String, Character>, at: &Locator) -> Result<(), ProjectError> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (name, ch) in characters {
        for a in std::iter::once(name).chain(ch.aliases.iter()) {
            if let Some(prev) = seen.insert(a.to_lowercase(), name) {
                if prev != name {
                    return Err(at.err(
                        a,
                        format!("`characters`: the name `{a}` is used by both `{prev}` and `{name}`"),
                        " (aliases must be unique so dialogue can be attributed)".into(),
                    ));
                }
            }
        }
    }
    Ok(())
}
