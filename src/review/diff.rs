//! Word differences between what a chunk should say and what speech recognition heard, for the page's
//! highlighting: the same word normalisation QA scores with (`qa::score::words`), aligned by the `similar`
//! crate's Myers diff.

use serde::Serialize;
use similar::{capture_diff_slices, Algorithm, DiffOp as Op};

/// One stretch of the alignment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum DiffOp {
    /// Said as written.
    Same {
        /// The words.
        text: String,
    },
    /// In the text, not heard.
    Missing {
        /// The words.
        text: String,
    },
    /// Heard, not in the text.
    Extra {
        /// The words heard.
        heard: String,
    },
    /// Heard differently.
    Changed {
        /// The words of the text.
        text: String,
        /// What was heard instead.
        heard: String,
    },
}

/// The alignment of `text` (the chunk) and `heard` (the transcript, normalised), word by word.
pub fn word_diff(text: &str, heard: &str) -> Vec<DiffOp> {
    let a = crate::qa::score::words(text);
    let b = crate::qa::score::words(heard);
    let join = |w: &[String]| w.join(" ");
    capture_diff_slices(Algorithm::Myers, &a, &b)
        .into_iter()
        .map(|op| match op {
            Op::Equal { old_index, len, .. } => DiffOp::Same {
                text: join(&a[old_index..old_index + len]),
            },
            Op::Delete { old_index, old_len, .. } => DiffOp::Missing {
                text: join(&a[old_index..old_index + old_len]),
            },
            Op::Insert { new_index, new_len, .. } => DiffOp::Extra {
                heard: join(&b[new_index..new_index + new_len]),
            },
            Op::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => DiffOp::Changed {
                text: join(&a[old_index..old_index + old_len]),
                heard: join(&b[new_index..new_index + new_len]),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_extra_and_changed_words_are_told_apart() {
        let d = word_diff("The storm came over the hill.", "the storm came over a big hill");
        assert_eq!(
            d,
            vec![
                DiffOp::Same {
                    text: "the storm came over".into()
                },
                DiffOp::Changed {
                    text: "the".into(),
                    heard: "a big".into()
                },
                DiffOp::Same { text: "hill".into() },
            ]
        );
        assert_eq!(
            word_diff("one two three", "one three"),
            vec![
                DiffOp::Same { text: "one".into() },
                DiffOp::Missing { text: "two".into() },
                DiffOp::Same { text: "three".into() },
            ]
        );
        assert_eq!(
            word_diff("a", "a b"),
            vec![DiffOp::Same { text: "a".into() }, DiffOp::Extra { heard: "b".into() }]
        );
    }
}
