//! Phase six of a render: what goes beside the audio — timed transcripts and chapter JSON from the assembled
//! timelines, QC of every encoded file into `qc.json`, and the outputs recorded in the store.

use std::path::Path;

use super::progress::Progress;
use super::{RenderError, RenderSummary};
use crate::assembly::{chapter_stem, BookAssembly};
use crate::audio::loudness::Preset;
use crate::audio::qc::FileQc;
use crate::engine::EngineKind;
use crate::plan::Plan;
use crate::project::Project;
use crate::publish::templates::Templates;
use crate::publish::transcript;
use crate::store::Store;

/// Writes the transcripts of every assembled chapter (into `summary.transcripts`).
pub(super) fn transcripts(
    project: &Project,
    plan: &Plan,
    book: &BookAssembly,
    out_dir: &Path,
    summary: &mut RenderSummary,
    progress: &Progress,
) -> Result<(), RenderError> {
    let templates = Templates::for_project(project);
    for (ci, timeline) in &summary.timelines {
        let ch = &plan.chapters[*ci];
        let stem = chapter_stem(&book.chapters[*ci], book.chapters.len());
        let files = transcript::write_chapter(&templates, out_dir, &stem, ch, timeline)?;
        for f in &files {
            progress.event("output", serde_json::json!({ "path": f, "chapter": ci }));
        }
        summary.transcripts.extend(files);
    }
    Ok(())
}

/// Measures every encoded file (into `summary.qc`), writes `qc.json` and records the outputs in the store.
pub(super) async fn qc_and_outputs(
    store: &Store,
    render_id: i64,
    preset: &Preset,
    out_dir: &Path,
    summary: &mut RenderSummary,
) -> Result<(), RenderError> {
    for o in &summary.outputs {
        // an unchanged file's QC comes from the assembly cache (same bytes, same measurement)
        summary.qc.push(crate::assembly::cache::measure_qc(&o.path, preset)?);
    }
    write_qc(out_dir, preset, &summary.qc, &summary.engine)?;
    let outputs_json = serde_json::to_value(&summary.outputs).unwrap_or(serde_json::Value::Null);
    store.set_outputs(render_id, &outputs_json).await?;
    Ok(())
}

/// `qc.json`: the preset, every file's QC and the overall verdict (written atomically, as every output).
/// Paths in it are relative to `out_dir` (the file names), wherever the command ran.
fn write_qc(out_dir: &Path, preset: &Preset, files: &[FileQc], engine: &str) -> Result<(), RenderError> {
    let files: Vec<FileQc> = files
        .iter()
        .map(|f| FileQc {
            path: f.path.strip_prefix(out_dir).unwrap_or(&f.path).to_path_buf(),
            ..f.clone()
        })
        .collect();
    let v = serde_json::json!({
        "preset": preset,
        "engine": engine,
        // spoken by the espeak-ng draft engine: not for publishing
        "draft": engine == EngineKind::Espeak.as_str(),
        "files": files,
        "pass": files.iter().all(|f| f.pass),
    });
    crate::publish::write_atomic(
        &out_dir.join("qc.json"),
        &serde_json::to_vec_pretty(&v).unwrap_or_default(),
    )?;
    Ok(())
}

/// Records what this render wrote in `out/.ws-book-outputs.json`; a complete render moves what an earlier one
/// wrote and this one did not into `out/stale/` (into `summary.stale`).
pub(super) fn manifest(out_dir: &Path, owner: &str, summary: &mut RenderSummary) -> Result<(), RenderError> {
    let mut written: Vec<std::path::PathBuf> = summary.outputs.iter().map(|o| o.path.clone()).collect();
    written.extend(summary.transcripts.iter().cloned());
    written.push(out_dir.join("qc.json"));
    if summary.qa.is_some() {
        written.push(out_dir.join("qa.json"));
    }
    summary.stale = crate::publish::manifest::update(out_dir, owner, &written, summary.complete)?;
    Ok(())
}
