//! What the review page shows: the book and chapter views as JSON, built from the plan (text, speakers,
//! languages), the store (chunk states, takes, review decisions) and the published files (chapter audio,
//! WebVTT captions, `qc.json`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Value};

use super::diff::word_diff;
use super::ReviewError;
use crate::assembly::{chapter_stem, ChapterAssembly};
use crate::audio::encode::OutFormat;
use crate::podcast::Planned;
use crate::render::{RenderOptions, ReviewContext};
use crate::store::{ChunkState, ReviewState, Store, StoreError, TakeRow};

/// A rendered project as the handlers see it (replaced after a re-render).
pub(crate) struct View {
    /// The project file.
    pub project_file: PathBuf,
    /// Project and plan.
    pub planned: Planned,
    /// The render's store.
    pub store: Store,
    /// The render's id.
    pub render_id: i64,
    /// Every chunk's store key, per chapter.
    pub keys: Vec<Vec<String>>,
    /// Output folder.
    pub out_dir: PathBuf,
    /// Output formats.
    pub formats: Vec<OutFormat>,
    /// Engine name.
    pub engine: String,
    /// The recogniser of new takes, when QA is on.
    pub asr: Option<String>,
}

/// One take as the page lists it.
#[derive(Debug, Serialize)]
struct TakeView<'a> {
    take: u32,
    #[serde(flatten)]
    row: Option<&'a TakeRow>,
    /// Audio to play: `/audio/take/C/I/K`.
    audio: String,
}

impl View {
    /// Loads the project and plan, and opens its render with the engine of new takes.
    pub async fn open(project_file: &Path, opts: &RenderOptions) -> Result<(View, ReviewContext), ReviewError> {
        let planned = crate::podcast::load_and_plan(project_file)?;
        let ctx = ReviewContext::open(&planned.project, &planned.plan, opts).await?;
        let view = View {
            project_file: project_file.to_path_buf(),
            store: ctx.store.clone(),
            render_id: ctx.render_id,
            keys: ctx.keys.clone(),
            out_dir: ctx.out_dir.clone(),
            formats: ctx.formats.clone(),
            engine: ctx.engine.clone(),
            asr: ctx.asr.clone(),
            planned,
        };
        Ok((view, ctx))
    }

    fn stem(&self, n: usize) -> Option<String> {
        let ch = self.planned.plan.chapters.get(n)?;
        let a = ChapterAssembly {
            index: n,
            title: ch.title.clone(),
            slots: vec![],
            complete: true,
            sections: vec![],
            file_stem: ch.file_stem.clone(),
        };
        Some(chapter_stem(&a, self.planned.plan.chapters.len()))
    }

    /// The chapter's own audio file (MP3 or Opus) when it has been written.
    pub fn chapter_file(&self, n: usize) -> Option<PathBuf> {
        let stem = self.stem(n)?;
        [OutFormat::Mp3, OutFormat::Opus]
            .into_iter()
            .filter(|f| self.formats.contains(f))
            .map(|f| self.out_dir.join(format!("{stem}.{}", f.ext())))
            .find(|p| p.is_file())
    }

    /// The chapter's captions (start seconds, speaker, text) from its WebVTT file, if written.
    pub fn cues(&self, n: usize) -> Vec<Value> {
        let Some(stem) = self.stem(n) else { return vec![] };
        let Ok(text) = std::fs::read_to_string(self.out_dir.join(format!("{stem}.vtt"))) else {
            return vec![];
        };
        let cues = crate::publish::transcript::parse_vtt(&text);
        cues.iter()
            .enumerate()
            .map(|(i, (start, speaker, text))| {
                json!({"start": start, "end": cues.get(i + 1).map(|c| c.0), "speaker": speaker, "text": text})
            })
            .collect()
    }

    /// QC verdicts by file name, from `qc.json`.
    fn qc(&self) -> BTreeMap<String, bool> {
        let v: Value = std::fs::read(self.out_dir.join("qc.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        v["files"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| Some((f["path"].as_str()?.to_string(), f["pass"].as_bool()?)))
            .collect()
    }

    async fn state(
        &self,
    ) -> Result<
        (
            Vec<ChunkState>,
            BTreeMap<String, Vec<TakeRow>>,
            BTreeMap<String, ReviewState>,
        ),
        StoreError,
    > {
        let chunks = self.store.chunk_states(self.render_id).await?;
        let takes = self
            .store
            .render_takes(self.render_id)
            .await?
            .into_iter()
            .map(|c| (c.store_key, c.takes))
            .collect();
        let review = self.store.review_states(self.render_id).await?;
        Ok((chunks, takes, review))
    }

    /// The book view: chapters with duration, QC, QA and approval counts.
    pub async fn book(&self) -> Result<Value, StoreError> {
        let (chunks, takes, review) = self.state().await?;
        let qc = self.qc();
        let plan = &self.planned.plan;
        let chapters: Vec<Value> = plan
            .chapters
            .iter()
            .enumerate()
            .map(|(n, ch)| {
                let rows: Vec<&ChunkState> = chunks.iter().filter(|c| c.chapter as usize == n).collect();
                let keys = self.keys.get(n).cloned().unwrap_or_default();
                let approved = keys
                    .iter()
                    .filter(|k| review.get(*k).is_some_and(|s| s.approved))
                    .count();
                let flagged = keys.iter().filter(|k| flagged(k, &takes, &review)).count();
                let retaken = keys
                    .iter()
                    .filter(|k| takes.get(*k).is_some_and(|t| t.len() > 1))
                    .count();
                let stem = self.stem(n).unwrap_or_default();
                let verdicts: Vec<bool> = qc
                    .iter()
                    .filter(|(p, _)| p.starts_with(&format!("{stem}.")))
                    .map(|(_, v)| *v)
                    .collect();
                json!({
                    "index": n, "title": ch.title, "chunks": ch.chunks.len(),
                    "done": rows.iter().filter(|c| c.status == "done").count(),
                    "duration": rows.iter().filter_map(|c| c.duration).sum::<f64>(),
                    "qc": if verdicts.is_empty() { Value::Null } else { json!(verdicts.iter().all(|v| *v)) },
                    "flagged": flagged, "retaken": retaken, "approved": approved,
                    "audio": self.chapter_file(n).is_some(),
                })
            })
            .collect();
        let p = &self.planned.project;
        Ok(json!({
            "title": plan.title, "author": plan.author, "engine": self.engine, "asr": self.asr,
            "draft": self.engine == "espeak", "project": self.project_file,
            "lexicon": p.lexicon_path(),
            "require_approval": p.config.render.require_approval,
            "chapters": chapters,
        }))
    }

    /// The chapter view: every chunk with text, speaker, languages, takes, QA and review state.
    pub async fn chapter(&self, n: usize) -> Result<Option<Value>, StoreError> {
        let Some(ch) = self.planned.plan.chapters.get(n) else {
            return Ok(None);
        };
        let (chunks, takes, review) = self.state().await?;
        let take_numbers = self.store.render_take_numbers(self.render_id).await?;
        let mut out = Vec::new();
        for (i, c) in ch.chunks.iter().enumerate() {
            let key = self.keys[n][i].as_str();
            let row = chunks.iter().find(|s| s.chapter as usize == n && s.index as usize == i);
            let rows: &[TakeRow] = takes.get(key).map(Vec::as_slice).unwrap_or(&[]);
            let numbers: &[u32] = take_numbers.get(key).map(Vec::as_slice).unwrap_or(&[]);
            let state = review.get(key).cloned().unwrap_or_default();
            let qa_choice = rows.iter().find(|t| t.chosen).map(|t| t.take);
            let playing = state.chosen_take.or(qa_choice);
            let text = c.runs.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join(" ");
            let shown = playing.and_then(|k| rows.iter().find(|t| t.take == k)).or(rows.first());
            let lang = crate::qa::chunk_language(&c.runs);
            let diff = shown
                .filter(|t| t.wer >= 0.0)
                .map(|t| word_diff(&text, &crate::qa::score::normalise_transcript(&t.transcript, &lang)));
            let take_views: Vec<TakeView> = numbers
                .iter()
                .map(|&k| TakeView {
                    take: k,
                    row: rows.iter().find(|t| t.take == k),
                    audio: format!("/audio/take/{n}/{i}/{k}"),
                })
                .collect();
            out.push(json!({
                "index": i, "text": text, "source": c.captions.join(" "),
                "speaker": c.speaker, "voice": c.voice,
                "runs": c.runs.iter().map(|r| json!({"lang": r.lang, "text": r.text})).collect::<Vec<_>>(),
                "status": row.map(|r| r.status.as_str()).unwrap_or("missing"),
                "duration": row.and_then(|r| r.duration),
                "audio": format!("/audio/chunk/{n}/{i}"),
                "takes": take_views, "qa_choice": qa_choice, "chosen_take": state.chosen_take,
                "approved": state.approved, "flagged": flagged(key, &takes, &review),
                "transcript": shown.map(|t| t.transcript.as_str()),
                "wer": shown.map(|t| t.wer), "stop": shown.map(|t| t.stop.as_str()),
                "diff": diff,
            }));
        }
        Ok(Some(json!({
            "index": n, "title": ch.title, "chapters": self.planned.plan.chapters.len(),
            "audio": self.chapter_file(n).map(|_| format!("/audio/chapter/{n}")),
            "cues": self.cues(n), "chunks": out,
        })))
    }
}

/// A chunk is flagged when QA flagged it, unless a reviewer approved it or chose a take that passed.
fn flagged(key: &str, takes: &BTreeMap<String, Vec<TakeRow>>, review: &BTreeMap<String, ReviewState>) -> bool {
    takes
        .get(key)
        .is_some_and(|rows| crate::store::still_flagged(rows, review.get(key)))
}
