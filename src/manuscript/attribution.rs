//! Speaker attribution: who says each part of a paragraph.
//!
//! Three rules, in order of precedence:
//! 1. `data-speaker` spans (set by the readers) name the speaker of their text.
//! 2. Script lines: a paragraph starting `NAME: text` (or `**NAME:** text` in Markdown) whose NAME is a
//!    declared character or alias is said by that character; the label itself is not spoken.
//! 3. Quoted dialogue with a speech verb and a character's name or alias next to it in the surrounding
//!    narration (`"…," said Alice` / `Alice asked, "…"`) is said by that character; other quotes in the
//!    same paragraph with no tag of their own go to the same character. Everything else is the narrator's.
//!
//! Owns speaker attribution. Must never import the plan, store, worker, engine, render, publish or
//! voice/audio modules.

use std::ops::Range;

/// The speaker name used for narration.
pub const NARRATOR: &str = "narrator";

/// Verbs that introduce or tag dialogue (English; other languages' common ones).
const SPEECH_VERBS: &[&str] = &[
    "said",
    "says",
    "say",
    "asked",
    "asks",
    "ask",
    "replied",
    "replies",
    "answered",
    "answers",
    "cried",
    "cries",
    "shouted",
    "shouts",
    "whispered",
    "whispers",
    "muttered",
    "mutters",
    "called",
    "calls",
    "added",
    "adds",
    "continued",
    "continues",
    "exclaimed",
    "exclaims",
    "yelled",
    "yells",
    "screamed",
    "murmured",
    "murmurs",
    "began",
    "begins",
    "went on",
    "told",
    "tells",
    "remarked",
    "remarks",
    "repeated",
    "insisted",
    "protested",
    "declared",
    "demanded",
    "inquired",
    "enquired",
    "sighed",
    "laughed",
    "snapped",
    "growled",
    "pleaded",
    "agreed",
    "observed",
    "suggested",
    "thought",
    "wondered",
    "explained",
    "responded",
    "retorted",
    "interrupted",
    // Polish, German, French, Spanish
    "powiedział",
    "powiedziała",
    "zapytał",
    "zapytała",
    "odparł",
    "odparła",
    "krzyknęła",
    "krzyknął",
    "sagte",
    "fragte",
    "rief",
    "antwortete",
    "dit",
    "demanda",
    "répondit",
    "cria",
    "dijo",
    "preguntó",
    "respondió",
    "gritó",
];

/// A character as attribution sees it: its canonical name and every name it is called by.
#[derive(Debug, Clone)]
pub struct Speaker {
    /// Canonical name (the key in project.yaml `characters`).
    pub name: String,
    /// Lower-case names and aliases.
    pub names: Vec<String>,
}

/// Result of attributing one paragraph.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attribution {
    /// Byte ranges of the text not spoken (a script-line label such as `ALICE:`).
    pub dropped: Option<Range<usize>>,
    /// Contiguous segments covering the spoken text, each with its speaker.
    pub segments: Vec<(Range<usize>, String)>,
    /// Warnings (unknown speakers in script lines).
    pub warnings: Vec<String>,
}

/// Attributes `text`. `explicit[i]` is the `data-speaker` of byte `i`, if any (same length as `text`,
/// or empty for none). With `enabled == false` only explicit speakers are used.
pub fn attribute<'a>(text: &str, explicit: &[Option<&'a str>], speakers: &'a [Speaker], enabled: bool) -> Attribution {
    let mut out = Attribution::default();
    let mut owner: Vec<Option<&'a str>> = vec![None; text.len()];
    let mut body_start = 0;

    if enabled {
        if let Some((label, name_range, rest_start)) = script_label(text) {
            let name = &text[name_range];
            match find_speaker(name, speakers) {
                Some(s) => {
                    out.dropped = Some(label);
                    body_start = rest_start;
                    owner[rest_start..].fill(Some(s));
                }
                None => {
                    if name.chars().filter(|c| c.is_alphabetic()).all(char::is_uppercase) && name.chars().count() >= 2 {
                        out.warnings.push(format!(
                            "script line names `{name}`, which is not a declared character; read by the narrator (declare it under `characters:`)"
                        ));
                    }
                }
            }
        }
        if body_start == 0 {
            attribute_quotes(text, speakers, &mut owner);
        }
    }
    // Explicit data-speaker spans win.
    for (i, e) in explicit.iter().enumerate() {
        if let Some(s) = e {
            if i < owner.len() {
                owner[i] = Some(find_speaker(s, speakers).unwrap_or(s));
            }
        }
    }
    // Merge into contiguous segments over the spoken part.
    let mut start = body_start;
    while start < text.len() {
        let who = owner[start];
        let mut end = start + 1;
        while end < text.len() && owner[end] == who {
            end += 1;
        }
        out.segments.push((start..end, who.unwrap_or(NARRATOR).to_string()));
        start = end;
    }
    out
}

fn find_speaker<'a>(name: &str, speakers: &'a [Speaker]) -> Option<&'a str> {
    let n = name.trim().to_lowercase();
    speakers.iter().find(|s| s.names.contains(&n)).map(|s| s.name.as_str())
}

/// `NAME: ` at the start of a paragraph: (label range incl. colon and space, name range, body start).
fn script_label(text: &str) -> Option<(Range<usize>, Range<usize>, usize)> {
    let colon = text.find(':')?;
    let name = &text[..colon];
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 30 || trimmed.split_whitespace().count() > 3 {
        return None;
    }
    if !trimmed.chars().next()?.is_uppercase()
        || !trimmed
            .chars()
            .all(|c| c.is_alphabetic() || c == ' ' || c == '.' || c == '\'' || c == '-')
    {
        return None;
    }
    let after = &text[colon + 1..];
    let body = colon + 1 + (after.len() - after.trim_start().len());
    if body >= text.len() {
        return None;
    }
    let lead = name.len() - name.trim_start().len();
    Some((0..body, lead..lead + trimmed.len(), body))
}

/// Finds quotations: byte ranges including the quote marks.
pub fn quotes(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut open: Option<(usize, char)> = None;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (k, &(i, c)) in chars.iter().enumerate() {
        let prev = if k > 0 { Some(chars[k - 1].1) } else { None };
        let next = chars.get(k + 1).map(|x| x.1);
        match open {
            None => {
                // A quote opens at a word start and closes at a word end, so a speaker change never
                // falls inside a word.
                let at_word_start = prev.is_none_or(|p| !p.is_alphanumeric());
                let opens = match c {
                    '“' | '«' | '„' => at_word_start,
                    '"' | '‘' => prev.is_none_or(|p| p.is_whitespace() || "([—–-".contains(p)),
                    _ => false,
                };
                if opens {
                    open = Some((i, c));
                }
            }
            Some((start, o)) => {
                let at_word_end = next.is_none_or(|n| !n.is_alphanumeric());
                let closes = match (o, c) {
                    ('“', '”') | ('«', '»') | ('„', '“') | ('"', '"') | ('„', '”') | ('‘', '’') => {
                        at_word_end
                    }
                    _ => false,
                };
                if closes {
                    // Widen to whitespace so punctuation glued to the quote (`("…")`) stays with it and
                    // no whitespace-separated word is ever split between speakers.
                    let floor = out.last().map_or(0, |r: &Range<usize>| r.end);
                    let mut s = start;
                    while s > floor && !text[..s].ends_with(char::is_whitespace) {
                        s -= text[..s].chars().next_back().map_or(1, char::len_utf8);
                    }
                    let mut e = i + c.len_utf8();
                    while e < text.len() && !text[e..].starts_with(char::is_whitespace) {
                        e += text[e..].chars().next().map_or(1, char::len_utf8);
                    }
                    out.push(s..e);
                    open = None;
                }
            }
        }
    }
    out
}

fn attribute_quotes<'a>(text: &str, speakers: &'a [Speaker], owner: &mut [Option<&'a str>]) {
    let qs = quotes(text);
    if qs.is_empty() || speakers.is_empty() {
        return;
    }
    let mut tagged: Vec<Option<&str>> = vec![None; qs.len()];
    for (k, q) in qs.iter().enumerate() {
        // Narration after the quote, up to the next quote or sentence end.
        let after_end = qs.get(k + 1).map(|n| n.start).unwrap_or(text.len());
        let after = &text[q.end..after_end];
        let after = after.split(['.', '!', '?']).next().unwrap_or("");
        // Narration before the quote, back to the previous quote, if it ends in `,` or `:`.
        let before_start = if k > 0 { qs[k - 1].end } else { 0 };
        let before = &text[before_start..q.start];
        let before_tag = before
            .trim_end()
            .ends_with([',', ':'])
            .then(|| before.rsplit(['.', '!', '?']).next().unwrap_or(""));
        tagged[k] = speech_tag(after, speakers).or_else(|| before_tag.and_then(|b| speech_tag(b, speakers)));
    }
    // Untagged quotes in a paragraph with exactly one tagged speaker belong to that speaker.
    let mut distinct: Vec<&str> = tagged.iter().flatten().copied().collect();
    distinct.dedup();
    let fill = if distinct.len() == 1 { Some(distinct[0]) } else { None };
    for (k, q) in qs.iter().enumerate() {
        if let Some(s) = tagged[k].or(fill) {
            owner[q.clone()].fill(Some(s));
        }
    }
}

/// A character named next to a speech verb in `narration` (within three words of it).
fn speech_tag<'a>(narration: &str, speakers: &'a [Speaker]) -> Option<&'a str> {
    let lower = narration.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-'))
        .filter(|w| !w.is_empty())
        .collect();
    let verb_at: Vec<usize> = words
        .iter()
        .enumerate()
        .filter(|(_, w)| SPEECH_VERBS.contains(w))
        .map(|(i, _)| i)
        .collect();
    if verb_at.is_empty() {
        return None;
    }
    let mut best: Option<(usize, &str)> = None;
    for s in speakers {
        for n in &s.names {
            let parts: Vec<&str> = n.split_whitespace().collect();
            if parts.is_empty() {
                continue;
            }
            for i in 0..words.len() {
                if words[i..].starts_with(&parts) {
                    let dist = verb_at.iter().map(|v| v.abs_diff(i)).min().unwrap_or(usize::MAX);
                    if dist <= 3 + parts.len() && best.is_none_or(|(d, _)| dist < d) {
                        best = Some((dist, s.name.as_str()));
                    }
                }
            }
        }
    }
    best.map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp() -> Vec<Speaker> {
        vec![
            Speaker {
                name: "alice".into(),
                names: vec!["alice".into()],
            },
            Speaker {
                name: "queen".into(),
                names: vec!["queen".into(), "the queen".into()],
            },
        ]
    }

    fn segs(text: &str) -> Vec<(String, String)> {
        attribute(text, &[], &sp(), true)
            .segments
            .into_iter()
            .map(|(r, s)| (text[r].to_string(), s))
            .collect()
    }

    #[test]
    fn quote_with_tag_after() {
        assert_eq!(
            segs("“Hello,” said Alice. “How are you?”"),
            vec![
                ("“Hello,”".to_string(), "alice".to_string()),
                (" said Alice. ".into(), "narrator".into()),
                ("“How are you?”".into(), "alice".into())
            ]
        );
    }

    #[test]
    fn tag_before_and_unattributed() {
        assert_eq!(
            segs("The Queen shouted: \"Off with her head!\"")[1],
            ("\"Off with her head!\"".into(), "queen".into())
        );
        assert_eq!(
            segs("\"Who is there?\" It was dark."),
            vec![("\"Who is there?\" It was dark.".to_string(), "narrator".to_string())]
        );
    }

    #[test]
    fn script_lines() {
        let a = attribute("ALICE: I'm late.", &[], &sp(), true);
        assert_eq!(a.dropped, Some(0..7));
        assert_eq!(a.segments, vec![(7..16, "alice".to_string())]);
        let b = attribute("BOB: Hi there.", &[], &sp(), true);
        assert_eq!(b.segments, vec![(0..14, "narrator".to_string())]);
        assert!(b.warnings[0].contains("`BOB`"));
        let c = attribute("ALICE: I'm late.", &[], &sp(), false);
        assert_eq!(c.segments, vec![(0..16, "narrator".to_string())]);
    }
}
