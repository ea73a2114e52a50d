//! Speech engines: turn a batch of chunk requests into audio.

pub mod whisperspeech;
