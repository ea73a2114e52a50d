//! After publishing, when QA is on: the QA report from the stored takes — `qa.json` beside the outputs and
//! the summary's QA section (checked, re-taken, flagged, every chunk's takes).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::RenderError;
use crate::plan::Plan;
use crate::qa::setup::QaPlan;
use crate::store::{still_flagged, ReviewState, Store, TakeRow};

/// One checked chunk in the report.
#[derive(Debug, Clone, Serialize)]
pub struct QaChunk {
    /// Chapter index (from 0).
    pub chapter: u32,
    /// Chunk index in the chapter (from 0).
    pub index: u32,
    /// The chunk's text as spoken.
    pub text: String,
    /// The chosen take's transcript.
    pub transcript: String,
    /// The chosen take's word error rate.
    pub wer: f64,
    /// The chosen take's character error rate.
    pub cer: f64,
    /// The chosen take's voice similarity (voice drift), when measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
    /// Every take.
    pub takes: Vec<TakeRow>,
    /// The take kept.
    pub chosen: u32,
    /// No take passed, and no reviewer approved the chunk or chose a passing take.
    pub flagged: bool,
    /// A reviewer approved the chunk (`ws-book review`).
    pub approved: bool,
    /// A reviewer chose this take instead of QA's (`chosen` is then that take).
    pub reviewer_choice: bool,
}

/// The QA report (`qa.json`).
#[derive(Debug, Clone, Serialize)]
pub struct QaReport {
    /// The recogniser and thresholds.
    pub asr: serde_json::Value,
    /// Chunks checked.
    pub checked: usize,
    /// Chunks synthesised more than once.
    pub retaken: usize,
    /// Chunks whose best take still failed.
    pub flagged: usize,
    /// The gate was on (a flagged chunk makes the render exit 4).
    pub gate: bool,
    /// Every checked chunk, in book order.
    pub chunks: Vec<QaChunk>,
}

/// Builds the report from the store's takes of this render and writes `qa.json`.
pub(super) async fn report(
    store: &Store,
    render_id: i64,
    plan: &Plan,
    q: &QaPlan,
    review: &BTreeMap<String, ReviewState>,
    out_dir: &Path,
) -> Result<QaReport, RenderError> {
    let rows = store.render_takes(render_id).await?;
    let chunks: Vec<QaChunk> = rows
        .into_iter()
        .map(|c| {
            let text = plan
                .chapters
                .get(c.chapter as usize)
                .and_then(|ch| ch.chunks.get(c.index as usize))
                .map(|k| k.runs.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join(" "))
                .unwrap_or_default();
            let state = review.get(&c.store_key).cloned().unwrap_or_default();
            let picked = state.chosen_take.and_then(|k| c.takes.iter().find(|t| t.take == k));
            let chosen = picked.or(c.takes.iter().find(|t| t.chosen)).or(c.takes.first());
            let flagged = still_flagged(&c.takes, Some(&state));
            QaChunk {
                chapter: c.chapter,
                index: c.index,
                text,
                transcript: chosen.map(|t| t.transcript.clone()).unwrap_or_default(),
                wer: chosen.map_or(0.0, |t| t.wer),
                cer: chosen.map_or(0.0, |t| t.cer),
                similarity: chosen.and_then(|t| t.similarity),
                chosen: chosen.map_or(0, |t| t.take),
                flagged,
                approved: state.approved,
                reviewer_choice: picked.is_some(),
                takes: c.takes.clone(),
            }
        })
        .collect();
    let report = QaReport {
        asr: serde_json::json!({
            "model": q.model.entry.name, "source": q.model.entry.source, "digest": q.model.entry.digest,
            "max_wer": q.settings.max_wer, "takes": q.settings.takes,
            "min_similarity": q.settings.min_similarity,
            "speaker_model": q.speaker.as_ref().map(|(w, _)| w.display().to_string()),
        }),
        checked: chunks.len(),
        retaken: chunks.iter().filter(|c| c.takes.len() > 1).count(),
        flagged: chunks.iter().filter(|c| c.flagged).count(),
        gate: q.gate,
        chunks,
    };
    crate::publish::write_atomic(
        &out_dir.join("qa.json"),
        &serde_json::to_vec_pretty(&report).unwrap_or_default(),
    )?;
    Ok(report)
}
