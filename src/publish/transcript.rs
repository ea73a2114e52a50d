//! Timed transcripts: sentence-level cues placed on the assembled timeline, written as WebVTT (speaker names as
//! `<v>` voice tags) and SRT, plus the Podcasting 2.0 chapters JSON.
//!
//! Invariant: every chunk's first cue starts exactly at the chunk's offset in the assembled audio (rounded to
//! the millisecond), because the offsets come from the stitcher's [`Timeline`], which counts every silence,
//! pause and per-chunk resample. Sentences inside a chunk split its span in proportion to their spoken lengths.
//! Cues show what the author wrote (the chunk's `captions`), never the normalised, respelled engine input.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::templates::Templates;
use super::{write_atomic, PublishError};
use crate::audio::stitch::Timeline;
use crate::plan::ChapterPlan;

/// One cue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cue {
    /// Start, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// Speaker (`narrator` or a character).
    pub speaker: String,
    /// The sentence as the author wrote it (the chunk's `captions`: numbers as written, no pronunciation
    /// respellings), not the normalised text the engine spoke.
    pub text: String,
}

/// The cues of a chapter on its timeline (one per sentence, in order).
pub fn cues(chapter: &ChapterPlan, timeline: &Timeline) -> Vec<Cue> {
    let mut out = Vec::new();
    for (chunk, (start, len)) in chapter.chunks.iter().zip(&timeline.chunks) {
        let weights: Vec<usize> = chunk.sentences.iter().map(|s| s.chars().count().max(1)).collect();
        let total: usize = weights.iter().sum();
        let mut acc = 0usize;
        // Timing follows the spoken text (its length is what took time); the cue shows the written text.
        for (k, w) in weights.iter().enumerate() {
            let shown = chunk
                .captions
                .get(k)
                .or(chunk.sentences.get(k))
                .cloned()
                .unwrap_or_default();
            let a = start + (*len as u128 * acc as u128 / total.max(1) as u128) as u64;
            acc += w;
            let b = start + (*len as u128 * acc as u128 / total.max(1) as u128) as u64;
            out.push(Cue {
                start: timeline.seconds(a),
                end: timeline.seconds(b),
                speaker: chunk.speaker.clone(),
                text: shown,
            });
        }
    }
    out
}

/// `HH:MM:SS.mmm` (WebVTT) or `HH:MM:SS,mmm` (SRT) of a time in seconds, rounded to the millisecond.
pub fn timestamp(seconds: f64, sep: char) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}{sep}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

#[derive(Serialize)]
struct CueCtx<'a> {
    n: usize,
    start_vtt: String,
    end_vtt: String,
    start_srt: String,
    end_srt: String,
    start: f64,
    speaker: &'a str,
    text: &'a str,
}

#[derive(Serialize)]
struct ChapterCtx {
    title: String,
    start: f64,
}

/// The sections' start times in seconds (the first at 0).
pub fn section_starts(chapter: &ChapterPlan, timeline: &Timeline) -> Vec<(String, f64)> {
    if chapter.sections.is_empty() {
        return vec![(chapter.title.clone(), 0.0)];
    }
    chapter
        .sections
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let t = match (i, timeline.chunks.get(s.first_chunk)) {
                (0, _) | (_, None) => 0.0,
                (_, Some((start, _))) => timeline.seconds(*start),
            };
            (s.title.clone(), t)
        })
        .collect()
}

/// Writes `<stem>.vtt`, `<stem>.srt` and `<stem>.chapters.json` for a chapter into `dir`; returns the paths.
pub fn write_chapter(
    templates: &Templates,
    dir: &Path,
    stem: &str,
    chapter: &ChapterPlan,
    timeline: &Timeline,
) -> Result<Vec<PathBuf>, PublishError> {
    let cues = cues(chapter, timeline);
    let ctx: Vec<CueCtx> = cues
        .iter()
        .enumerate()
        .map(|(i, c)| CueCtx {
            n: i + 1,
            start_vtt: timestamp(c.start, '.'),
            end_vtt: timestamp(c.end, '.'),
            start_srt: timestamp(c.start, ','),
            end_srt: timestamp(c.end, ','),
            start: c.start,
            speaker: &c.speaker,
            text: &c.text,
        })
        .collect();
    let chapters: Vec<ChapterCtx> = section_starts(chapter, timeline)
        .into_iter()
        .map(|(title, start)| ChapterCtx {
            title,
            start: (start * 1000.0).round() / 1000.0,
        })
        .collect();
    let env = serde_json::json!({ "title": chapter.title, "cues": ctx, "chapters": chapters });
    let mut written = Vec::new();
    for (name, ext) in [
        ("transcript/transcript.vtt.j2", "vtt"),
        ("transcript/transcript.srt.j2", "srt"),
        ("podcast/chapters.json.j2", "chapters.json"),
    ] {
        let text = templates.render(name, &env)?;
        let path = dir.join(format!("{stem}.{ext}"));
        write_atomic(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// Parses WebVTT text back into cues (start seconds, speaker, text): for tests and checks of a written file.
pub fn parse_vtt(text: &str) -> Vec<(f64, Option<String>, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        let Some((a, _)) = l.split_once(" --> ") else {
            continue;
        };
        let secs = parse_ts(a.trim());
        let mut body = Vec::new();
        while let Some(n) = lines.peek() {
            if n.trim().is_empty() {
                break;
            }
            body.push(lines.next().unwrap_or_default());
        }
        let body = body.join("\n");
        let (speaker, text) = match body.strip_prefix("<v ").and_then(|r| r.split_once('>')) {
            Some((s, t)) => (Some(s.to_string()), t.to_string()),
            None => (None, body),
        };
        let text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
        out.push((secs, speaker, text));
    }
    out
}

fn parse_ts(s: &str) -> f64 {
    let s = s.replace(',', ".");
    s.split(':')
        .fold(0.0, |acc, p| acc * 60.0 + p.parse::<f64>().unwrap_or(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(index: usize, speaker: &str, sentences: &[&str]) -> crate::plan::Chunk {
        crate::plan::Chunk {
            key: format!("k{index}"),
            chapter: 0,
            index,
            speaker: speaker.into(),
            voice: "default".into(),
            runs: vec![],
            sentences: sentences.iter().map(|s| s.to_string()).collect(),
            captions: sentences.iter().map(|s| s.to_string()).collect(),
            paragraph_end: true,
            chapter_end: false,
            words: 0,
            est_seconds: 0.0,
        }
    }

    #[test]
    fn cues_start_at_chunk_offsets_and_split_chunks_by_sentence_length() {
        let chapter = ChapterPlan {
            title: "T".into(),
            chunks: vec![
                chunk(0, "narrator", &["Hello.", "A longer sentence."]),
                chunk(1, "mira", &["Hi!"]),
            ],
            warnings: vec![],
            sections: vec![
                crate::plan::Section {
                    title: "One".into(),
                    first_chunk: 0,
                },
                crate::plan::Section {
                    title: "Two".into(),
                    first_chunk: 1,
                },
            ],
            file_stem: None,
        };
        let timeline = Timeline {
            rate: 24_000,
            total: 200_000,
            chunks: vec![(18_000, 96_000), (120_000, 48_000)],
        };
        let c = cues(&chapter, &timeline);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].start, 0.75);
        // 6 of 24 characters: a quarter of the chunk's 4 s.
        assert_eq!(c[0].end, 1.75);
        assert_eq!(c[1].start, 1.75);
        assert_eq!(c[1].end, 4.75);
        assert_eq!((c[2].start, c[2].end, c[2].speaker.as_str()), (5.0, 7.0, "mira"));
        assert_eq!(
            section_starts(&chapter, &timeline),
            [("One".to_string(), 0.0), ("Two".to_string(), 5.0)]
        );
        let marks = crate::assembly::section_marks(&chapter.sections, &timeline, 48_000);
        assert_eq!((marks[0].start, marks[0].end), (0, 240_000));
        assert_eq!((marks[1].start, marks[1].end), (240_000, 400_000));
    }

    #[test]
    fn cues_show_the_written_text_timed_by_the_spoken_text() {
        let mut c = chunk(0, "narrator", &["At nine thirty.", "Hell."]);
        c.captions = vec!["At 9:30.".into(), "Hel.".into()];
        let chapter = ChapterPlan {
            title: "T".into(),
            chunks: vec![c],
            warnings: vec![],
            sections: vec![],
            file_stem: None,
        };
        let timeline = Timeline {
            rate: 1000,
            total: 2000,
            chunks: vec![(0, 2000)],
        };
        let cues = cues(&chapter, &timeline);
        let texts: Vec<&str> = cues.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["At 9:30.", "Hel."]);
        // 15 of 20 spoken characters.
        assert_eq!(cues[0].end, 1.5);
    }

    #[test]
    fn timestamps_round_to_the_millisecond() {
        assert_eq!(timestamp(3723.4567, '.'), "01:02:03.457");
        assert_eq!(timestamp(0.0, ','), "00:00:00,000");
        assert!((parse_ts("01:02:03.457") - 3723.457).abs() < 1e-9);
    }
}
