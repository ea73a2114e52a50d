//! Reviewer decisions in a render (`ws-book review`): each chunk's audio key with a chosen take applied, and
//! the approval counts; with `--require-approval` (or `render.require_approval`) a chapter with an unapproved
//! chunk is withheld from publishing.
//!
//! A choice or an approval is keyed by the chunk's store key, so it holds while the chunk is unchanged and
//! the same store always gives the same book.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::store::{take_audio_key, ReviewState};

/// Approvals of a render's chunks.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Approvals {
    /// Unapproved chapters are not published (`--require-approval` / `render.require_approval`).
    pub required: bool,
    /// Chunks in the plan.
    pub chunks: u64,
    /// Chunks a reviewer approved.
    pub approved_chunks: u64,
    /// Chapters in the plan.
    pub chapters: usize,
    /// Chapters whose every chunk is approved (0-based).
    pub approved_chapters: Vec<usize>,
    /// Chapters withheld from publishing because some chunk is not approved (only when required).
    pub withheld: Vec<usize>,
    /// Chunks whose audio is a take a reviewer chose instead of the chunk's own.
    pub chosen_takes: u64,
}

/// The audio key of a chunk: its chosen take's when a reviewer chose one, else its own store key.
pub(super) fn audio_key(store_key: &str, states: &BTreeMap<String, ReviewState>) -> String {
    match states.get(store_key).and_then(|s| s.chosen_take) {
        Some(t) => take_audio_key(store_key, t),
        None => store_key.to_string(),
    }
}

/// The approvals of a plan's chunks (store keys per chapter).
pub(super) fn approvals(keys: &[Vec<String>], states: &BTreeMap<String, ReviewState>, required: bool) -> Approvals {
    let approved = |k: &String| states.get(k).is_some_and(|s| s.approved);
    let approved_chapters: Vec<usize> = keys
        .iter()
        .enumerate()
        .filter(|(_, ks)| !ks.is_empty() && ks.iter().all(approved))
        .map(|(i, _)| i)
        .collect();
    Approvals {
        required,
        chunks: keys.iter().map(|k| k.len() as u64).sum(),
        approved_chunks: keys.iter().flatten().filter(|k| approved(k)).count() as u64,
        chapters: keys.len(),
        withheld: match required {
            true => (0..keys.len()).filter(|i| !approved_chapters.contains(i)).collect(),
            false => vec![],
        },
        approved_chapters,
        chosen_takes: keys
            .iter()
            .flatten()
            .filter(|k| states.get(*k).is_some_and(|s| s.chosen_take.is_some()))
            .count() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chapters_are_approved_when_every_chunk_is_and_withheld_only_when_required() {
        let keys = vec![vec!["a".to_string(), "b".to_string()], vec!["c".to_string()]];
        let mut st = BTreeMap::new();
        st.insert(
            "a".to_string(),
            ReviewState {
                chosen_take: Some(2),
                approved: true,
            },
        );
        st.insert(
            "c".to_string(),
            ReviewState {
                chosen_take: None,
                approved: true,
            },
        );
        let a = approvals(&keys, &st, false);
        assert_eq!(
            (a.approved_chunks, a.approved_chapters.clone(), a.chosen_takes),
            (2, vec![1], 1)
        );
        assert!(a.withheld.is_empty());
        assert_eq!(approvals(&keys, &st, true).withheld, vec![0]);
        assert_eq!(audio_key("a", &st), "a#take2");
        assert_eq!(audio_key("b", &st), "b");
    }
}
