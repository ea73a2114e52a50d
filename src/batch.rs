//! Unattended runs: render one or several projects (books or podcasts) with one state database and one
//! worker pool, then publish (transcripts, podcast feed). A failure in one project never stops the others.
//!
//! All projects are queued first ([`render::queue`]); the first project's workers then claim chunks of every
//! queued project with the same engine fingerprint (claims are by fingerprint, not by project), and each
//! project is assembled in turn.
//!
//! Owns the batch loop and exit codes. It sits at the top of the library (it may use render, podcast, publish);
//! nothing in the library may import it except the CLI.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Serialize;

use crate::podcast::{self, Planned};
use crate::publish::feed::{self, FeedReport};
use crate::publish::templates::Templates;
use crate::render::{self, RenderError, RenderOptions, RenderSummary};

/// Exit code: everything done.
pub const EXIT_OK: i32 = 0;
/// Exit code: bad input (a project file, a manuscript, a flag).
pub const EXIT_INPUT: i32 = 2;
/// Exit code: some chunks failed (what was complete is kept and assembled).
pub const EXIT_FAILED_CHUNKS: i32 = 3;
/// Exit code: the QA gate is on and some chunks are still flagged after their takes (everything was rendered).
pub const EXIT_QA_FLAGGED: i32 = 4;
/// Exit code: approval is required and some chapters are not approved (they were not published).
pub const EXIT_NOT_APPROVED: i32 = 5;
/// Exit code: another render of the project is running (without `--wait`); `EX_TEMPFAIL` of sysexits.h.
pub const EXIT_BUSY: i32 = 75;
/// Exit code: interrupted by Ctrl-C (SIGINT).
pub const EXIT_INTERRUPTED: i32 = 130;
/// Exit code: stopped by SIGTERM (or SIGHUP), after finishing or releasing the chunks in flight.
pub const EXIT_TERMINATED: i32 = 143;

/// The result of one project of a batch.
#[derive(Debug, Serialize)]
pub struct ProjectResult {
    /// The project file given.
    pub input: PathBuf,
    /// The render summary, when the project could be rendered.
    pub summary: Option<RenderSummary>,
    /// The podcast feed written (podcast projects).
    pub feed: Option<FeedReport>,
    /// The error that stopped this project (input error, engine, I/O).
    pub error: Option<String>,
    /// Whether the error is an input error (exit code 2).
    #[serde(skip)]
    pub input_error: bool,
    /// The exit code of an error that is neither an input error (2) nor 1: 75 when another render of the
    /// project was running, 130 when interrupted while waiting for it.
    #[serde(skip)]
    pub error_code: Option<i32>,
}

impl ProjectResult {
    /// This project's exit code: 0, 2, 3 or 130 (see the README's exit codes).
    pub fn exit_code(&self) -> i32 {
        match (&self.summary, &self.error) {
            (_, Some(_)) if self.input_error => EXIT_INPUT,
            (_, Some(_)) if self.error_code.is_some() => self.error_code.unwrap_or(1),
            (_, Some(_)) => 1,
            (Some(s), None) if s.interrupted => EXIT_INTERRUPTED,
            (Some(s), None) if s.chunks.failed == 0 && !s.approvals.withheld.is_empty() => EXIT_NOT_APPROVED,
            (Some(s), None) if s.chunks.failed > 0 || !s.complete => EXIT_FAILED_CHUNKS,
            (Some(s), None) if s.qa.as_ref().is_some_and(|q| q.gate && q.flagged > 0) => EXIT_QA_FLAGGED,
            _ => EXIT_OK,
        }
    }
}

/// The exit code of a batch: 130 if interrupted, else 2 if any input error, else 75 if a project was being
/// rendered by another process, else 1 for any other error, else 3 if any chunk failed, else 0.
pub fn batch_exit_code(results: &[ProjectResult]) -> i32 {
    let codes: Vec<i32> = results.iter().map(ProjectResult::exit_code).collect();
    for c in [
        EXIT_INTERRUPTED,
        EXIT_INPUT,
        EXIT_BUSY,
        1,
        EXIT_FAILED_CHUNKS,
        EXIT_NOT_APPROVED,
        EXIT_QA_FLAGGED,
    ] {
        if codes.contains(&c) {
            return c;
        }
    }
    EXIT_OK
}

/// The project files of the inputs: a folder stands for every `*.yaml`/`*.yml` directly in it or in its
/// sub-folders' `project.yaml`, sorted; files are kept as given.
pub fn expand_inputs(inputs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for i in inputs {
        if i.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(i)
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
                .map(|e| e.path())
                .flat_map(|p| {
                    if p.is_dir() {
                        let y = p.join("project.yaml");
                        y.is_file().then_some(y)
                    } else {
                        p.extension().is_some_and(|e| e == "yaml" || e == "yml").then_some(p)
                    }
                })
                .collect();
            found.sort();
            if found.is_empty() {
                // Kept, so the error names the folder.
                out.push(i.join("project.yaml"));
            }
            out.extend(found);
        } else {
            out.push(i.clone());
        }
    }
    out
}

/// Whether a render error is the user's input (exit code 2) rather than the machine's (1).
pub fn is_input_error(e: &RenderError) -> bool {
    // a voice in project.yaml that does not resolve is an input error too
    matches!(
        e,
        RenderError::Input(_)
            | RenderError::Voice(crate::voices::VoiceError::Project { .. })
            | RenderError::Publish(crate::publish::PublishError::Template { .. })
    )
}

/// Renders one planned project, then publishes its podcast feed (podcast projects).
pub async fn render_planned(
    p: &Planned,
    opts: &RenderOptions,
    cancel: Arc<AtomicBool>,
) -> Result<(RenderSummary, Option<FeedReport>), RenderError> {
    let summary = render::render(&p.project, &p.plan, opts, cancel).await?;
    if p.episodes.is_empty() || summary.interrupted {
        return Ok((summary, None));
    }
    let out_dir = opts.out.clone().unwrap_or_else(|| p.project.output_dir());
    let report = feed::write_feed(
        &p.project,
        &p.plan,
        &p.episodes,
        &summary.outputs,
        &out_dir,
        &Templates::for_project(&p.project),
    )?;
    Ok((summary, Some(report)))
}

/// Renders several projects in one database (`opts.db`, else the first project's) and one worker pool.
/// Every project gets a result, whatever happens to the others.
pub async fn render_batch(inputs: &[PathBuf], opts: &RenderOptions, cancel: Arc<AtomicBool>) -> Vec<ProjectResult> {
    let mut results: Vec<ProjectResult> = Vec::new();
    let mut planned: Vec<(usize, Planned)> = Vec::new();
    for input in expand_inputs(inputs) {
        let r = ProjectResult {
            input: input.clone(),
            summary: None,
            feed: None,
            error: None,
            input_error: false,
            error_code: None,
        };
        results.push(r);
        let last = results.len() - 1;
        match podcast::load_and_plan(&input) {
            Ok(p) if p.plan.chapters.iter().all(|c| c.chunks.is_empty()) => {
                // an empty render would "complete" with no audio at all: say so instead
                let sources: Vec<String> = if p.episodes.is_empty() {
                    p.project
                        .config
                        .manuscripts
                        .iter()
                        .map(|m| m.display().to_string())
                        .collect()
                } else {
                    vec!["the episodes".into()]
                };
                results[last].error = Some(format!(
                    "nothing to speak: no text in {} (an empty file, or only images and markup?)",
                    sources.join(", ")
                ));
                results[last].input_error = true;
            }
            Ok(p) => planned.push((last, p)),
            Err(e) => {
                results[last].error = Some(e.to_string());
                results[last].input_error = true;
            }
        }
    }
    let mut opts = opts.clone();
    if opts.db.is_none() && planned.len() > 1 {
        opts.db = planned.first().map(|(_, p)| render::db_location(&p.project, None));
    }
    // Queue everything first, so the workers serve every project.
    if planned.len() > 1 {
        let mut kept = Vec::new();
        for (i, p) in planned {
            match render::queue(&p.project, &p.plan, &opts).await {
                Ok(_) => kept.push((i, p)),
                Err(e) => {
                    results[i].input_error = is_input_error(&e);
                    results[i].error = Some(e.to_string());
                }
            }
        }
        planned = kept;
    }
    for (i, p) in planned {
        if cancel.load(Ordering::SeqCst) {
            results[i].error = Some("interrupted before this project was rendered".into());
            continue;
        }
        match render_planned(&p, &opts, cancel.clone()).await {
            Ok((s, f)) => {
                results[i].summary = Some(s);
                results[i].feed = f;
            }
            Err(e) => {
                results[i].input_error = is_input_error(&e);
                results[i].error_code = match e {
                    RenderError::Busy { .. } => Some(EXIT_BUSY),
                    RenderError::Interrupted => Some(EXIT_INTERRUPTED),
                    _ => None,
                };
                results[i].error = Some(e.to_string());
            }
        }
    }
    results
}
