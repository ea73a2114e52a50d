//! Phase five of a render: the plan's chapters turned into assembly records (complete ones only are
//! written), handed to the assembly stage, and what it wrote reported as events.

use std::collections::BTreeMap;

use super::approval::audio_key;
use super::keys::store_key;
use super::progress::Progress;
use super::voices::{embedding_of, VoiceEmbeddings};
use crate::assembly::{BookAssembly, ChapterAssembly};
use crate::audio::encode::Cover;
use crate::audio::stitch::ChunkSlot;
use crate::plan::Plan;
use crate::project::{Project, ProjectKind};
use crate::store::{ChapterProgress, ReviewState};

/// Every chunk's store key, per chapter.
pub(super) fn store_keys(plan: &Plan, fingerprint: &str, embeddings: &VoiceEmbeddings) -> Vec<Vec<String>> {
    plan.chapters
        .iter()
        .map(|ch| {
            ch.chunks
                .iter()
                .map(|c| store_key(c, fingerprint, embedding_of(embeddings, &c.speaker, &c.voice)))
                .collect()
        })
        .collect()
}

/// The book to assemble: every chapter with its chunks' audio keys, complete when all its chunks are done.
/// A chunk's audio is its reviewer-chosen take's when there is one (`review`); a withheld chapter (not
/// approved while approval is required) is treated as not complete, so it is not written.
pub(super) fn book(
    project: &Project,
    plan: &Plan,
    keys: &[Vec<String>],
    review: (&BTreeMap<String, ReviewState>, &[usize]),
    prog: &[ChapterProgress],
    progress: &Progress,
    draft: bool,
) -> BookAssembly {
    let (states, withheld) = review;
    let complete: Vec<bool> = prog
        .iter()
        .enumerate()
        .map(|(i, c)| c.total > 0 && c.done == c.total && !withheld.contains(&i))
        .collect();
    BookAssembly {
        title: plan.title.clone(),
        author: plan.author.clone(),
        chapters: plan
            .chapters
            .iter()
            .enumerate()
            .map(|(ci, ch)| ChapterAssembly {
                index: ci,
                title: ch.title.clone(),
                slots: ch
                    .chunks
                    .iter()
                    .zip(&keys[ci])
                    .map(|(c, key)| ChunkSlot {
                        key: audio_key(key, states),
                        paragraph_end: c.paragraph_end,
                    })
                    .collect(),
                complete: complete.get(ci).copied().unwrap_or(false),
                sections: ch.sections.clone(),
                file_stem: ch.file_stem.clone(),
            })
            .collect(),
        cover: load_cover(project, plan, progress),
        genre: match project.config.kind {
            ProjectKind::Book => "Audiobook".into(),
            ProjectKind::Podcast => "Podcast".into(),
        },
        draft,
        tags: project.config.output.tags.clone(),
    }
}

/// The cover: `output.cover` if set, else the manuscript's own (an EPUB's cover image).
fn load_cover(project: &Project, plan: &Plan, progress: &Progress) -> Option<Cover> {
    let Some(p) = project.config.output.cover.as_ref() else {
        return plan.cover.as_ref().map(|(data, _mime)| Cover { data: data.clone() });
    };
    let path = project.resolve(p);
    match std::fs::read(&path) {
        Ok(data) => Some(Cover { data }),
        Err(e) => {
            progress.warn(&format!(
                "{}: cannot read the cover image: {e}; writing files without a cover",
                path.display()
            ));
            None
        }
    }
}

/// `chapter` and `output` events for what assembly wrote.
pub(super) fn report(progress: &Progress, plan: &Plan, assembled: &crate::assembly::Assembled) {
    for l in &assembled.loudness {
        progress.event(
            "chapter",
            serde_json::json!({
                "chapter": l.chapter, "title": plan.chapters[l.chapter].title, "duration": l.duration,
                "gain_db": l.gain_db,
            }),
        );
    }
    for o in &assembled.outputs {
        progress.event(
            "output",
            serde_json::json!({ "path": o.path, "format": o.format, "chapter": o.chapter, "duration": o.duration }),
        );
    }
}
