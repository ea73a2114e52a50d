//! "Did you mean" hints: the fuzzy match of a mistyped word against the words that were expected.
//!
//! Owns [`closest`], shared by [`crate::project`] (unknown keys and values), [`crate::lang`] (unknown
//! language tags) and [`crate::podcast`] (front matter). A leaf: it must never import anything of the crate,
//! so that every module, however low, can use it.

/// The candidate closest to `word`, if close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&word.to_lowercase(), c), *c))
        .filter(|(d, _)| {
            *d <= match word.chars().count() {
                0..=4 => 1,
                5..=8 => 2,
                _ => 3,
            }
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
