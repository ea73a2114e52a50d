//! The WhisperSpeech pipeline in candle: T2S → S2A → Vocos (see `whisperspeech-spec.md`).
