-- The voice library: named voices (averaged, L2-normalised ECAPA embeddings) and the cache of embeddings of
-- reference-audio files used directly in project.yaml, keyed by the file's BLAKE3 digest and the model's.
CREATE TABLE voices (
    name        TEXT PRIMARY KEY NOT NULL,
    lang        TEXT,
    description TEXT,
    embedding   BLOB NOT NULL,          -- f32 little-endian
    sources     TEXT NOT NULL,          -- JSON array of {file, blake3, seconds}
    model       TEXT NOT NULL,          -- blake3 of the speaker-encoder weights ("" for imported/built-in)
    created     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE audio_embeddings (
    digest      TEXT NOT NULL,          -- blake3 of the audio file
    model       TEXT NOT NULL,          -- blake3 of the speaker-encoder weights
    path        TEXT NOT NULL,          -- where it was first seen (informational)
    embedding   BLOB NOT NULL,          -- raw f32 little-endian (as the encoder returned it)
    created     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (digest, model)
);
