//! Phase two of a render: the voices of the plan's speakers, resolved once per (speaker, voice) pair.

use std::collections::HashMap;

use super::RenderError;
use crate::engine::EngineKind;
use crate::plan::Plan;
use crate::project::Project;

/// Each (speaker, voice) pair of the plan → its speaker embedding (WhisperSpeech; `None` for `default`, the
/// engine's built-in speaker, and for the draft engine).
pub(super) type VoiceEmbeddings = HashMap<(String, String), Option<Vec<f32>>>;

/// Resolves every (speaker, voice) pair of the plan: an embedding (WhisperSpeech) or an existence check
/// (draft engine). Unknown voices name the speaker.
pub(super) async fn resolve(project: &Project, plan: &Plan, kind: EngineKind) -> Result<VoiceEmbeddings, RenderError> {
    let cfg = &project.config;
    let mut resolver = crate::voices::VoiceResolver::new(&project.base_dir)
        .with_speaker_model(cfg.engine.models.get("speaker").map(|p| project.base_dir.join(p)));
    let mut embeddings = VoiceEmbeddings::default();
    for c in plan.chapters.iter().flat_map(|ch| &ch.chunks) {
        let k = (c.speaker.clone(), c.voice.clone());
        if embeddings.contains_key(&k) {
            continue;
        }
        let who = if c.speaker == "narrator" {
            "narrator".to_string()
        } else {
            format!("character `{}`", c.speaker)
        };
        let e = if c.voice == crate::voices::DEFAULT_VOICE {
            None // the engine's built-in speaker; keeps existing store keys
        } else if kind == EngineKind::Whisperspeech {
            Some(resolver.embedding(&who, &c.voice).await?)
        } else {
            resolver.check(&who, &c.voice).await?;
            None
        };
        embeddings.insert(k, e);
    }
    Ok(embeddings)
}

/// The embedding of a chunk's (speaker, voice) pair.
pub(super) fn embedding_of<'a>(embeddings: &'a VoiceEmbeddings, speaker: &str, voice: &str) -> Option<&'a [f32]> {
    embeddings
        .get(&(speaker.to_string(), voice.to_string()))
        .and_then(|e| e.as_deref())
}
