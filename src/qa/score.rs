//! Scoring a transcript against the text a chunk was meant to say: word and character error rates after
//! one shared normalisation of both sides, and the duration check.
//!
//! Normalisation: the project's text normaliser (numbers and symbols spelled out in the chunk's language) is
//! applied to the transcript — the chunk's text already went through it — then both sides are lowercased,
//! apostrophes dropped, every other non-letter, non-digit character made a space (hyphens too, so
//! "twenty-one" and "twenty one" agree), and whitespace collapsed.

/// Words of `text` for scoring (see the module doc).
pub fn words(text: &str) -> Vec<String> {
    let mut clean = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_alphanumeric() {
            clean.extend(c.to_lowercase());
        } else if matches!(c, '\'' | '’' | 'ʼ') {
            // "don't" = "dont": Whisper and the manuscript disagree on apostrophes more than on words
        } else {
            clean.push(' ');
        }
    }
    clean.split_whitespace().map(str::to_string).collect()
}

/// The transcript as the chunk's text was normalised (numbers spelled out in `lang`).
pub fn normalise_transcript(transcript: &str, lang: &str) -> String {
    crate::manuscript::normalize::normalize(transcript, lang)
}

/// Word error rate: word-level edit distance over the reference's word count (1.0 for an empty reference
/// with any hypothesis, 0.0 when both are empty). It may exceed 1 when the hypothesis runs on.
pub fn wer(reference: &[String], hypothesis: &[String]) -> f64 {
    if reference.is_empty() {
        return if hypothesis.is_empty() { 0.0 } else { 1.0 };
    }
    strsim::generic_levenshtein(&reference.to_vec(), &hypothesis.to_vec()) as f64 / reference.len() as f64
}

/// Character error rate over the words joined by single spaces.
pub fn cer(reference: &[String], hypothesis: &[String]) -> f64 {
    let r: Vec<char> = reference.join(" ").chars().collect();
    let h: Vec<char> = hypothesis.join(" ").chars().collect();
    if r.is_empty() {
        return if h.is_empty() { 0.0 } else { 1.0 };
    }
    strsim::generic_levenshtein(&r, &h) as f64 / r.len() as f64
}

/// Chunks shorter than this many words are judged by their character error rate.
pub const SHORT_WORDS: usize = 4;

/// The error a take is judged by: the word error rate, or for chunks of fewer than [`SHORT_WORDS`] words
/// ("said Mira.") the character error rate — there one misheard name already makes the WER 0.5–1.0.
pub fn error_rate(reference_words: usize, wer: f64, cer: f64) -> f64 {
    if reference_words < SHORT_WORDS {
        cer
    } else {
        wer
    }
}

/// How a take's length compares with what its text should take at the requested speaking rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Duration {
    /// Plausible.
    Ok,
    /// Far too long: a runaway tail.
    Long,
    /// Far too short: truncated or missing speech.
    Short,
}

impl Duration {
    /// The name stored and reported.
    pub fn as_str(self) -> &'static str {
        match self {
            Duration::Ok => "ok",
            Duration::Long => "long",
            Duration::Short => "short",
        }
    }
}

/// Judges `seconds` of audio for `chars` characters at `cps` characters per second: more than three times
/// the expected length plus 3 s is a runaway, less than a fifth of it minus 0.5 s a truncation. The bounds
/// are wide on purpose — speaking rates differ by voice and engine (espeak-ng speaks its own rate) — so only
/// gross failures are caught here; the word error rate catches the rest.
pub fn judge_duration(seconds: f64, chars: usize, cps: f64) -> Duration {
    let expected = chars as f64 / cps.max(1.0);
    if seconds > 3.0 * expected + 3.0 {
        Duration::Long
    } else if seconds < 0.2 * expected - 0.5 {
        Duration::Short
    } else {
        Duration::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        words(s)
    }

    #[test]
    fn words_are_normalised() {
        assert_eq!(w("Twenty-one, said \"Don't!\""), vec!["twenty", "one", "said", "dont"]);
        assert_eq!(w("  Żółć   gęślą "), vec!["żółć", "gęślą"]);
    }

    #[test]
    fn error_rates() {
        let r = w("the cat sat on the mat");
        assert_eq!(wer(&r, &r), 0.0);
        assert!((wer(&r, &w("the cat sat on mat")) - 1.0 / 6.0).abs() < 1e-12);
        assert!((wer(&r, &w("a dog sat on the mat and more")) - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!(wer(&[], &[]), 0.0);
        assert_eq!(wer(&[], &w("x")), 1.0);
        assert!(cer(&w("abcd"), &w("abed")) - 0.25 < 1e-12);
    }

    #[test]
    fn numbers_agree_after_normalising_the_transcript() {
        let reference = w(&crate::manuscript::normalize::normalize("He was 21.", "en"));
        let hyp = w(&normalise_transcript("He was 21.", "en"));
        assert_eq!(wer(&reference, &hyp), 0.0);
        assert_eq!(wer(&reference, &w("He was twenty-one")), 0.0);
    }

    #[test]
    fn durations() {
        // 45 characters at 15 cps = 3 s
        assert_eq!(judge_duration(3.0, 45, 15.0), Duration::Ok);
        assert_eq!(judge_duration(29.9, 45, 15.0), Duration::Long);
        assert_eq!(judge_duration(0.05, 45, 15.0), Duration::Short);
        assert_eq!(judge_duration(0.5, 3, 15.0), Duration::Ok);
    }
}
