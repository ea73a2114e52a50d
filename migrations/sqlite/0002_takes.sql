-- QA: every take of a chunk that was checked by speech recognition, keyed by the chunk's content key (the
-- store key of its chosen audio). Written before the chunk is completed, idempotently, so a crash between
-- the two repeats the same (deterministic) takes.
CREATE TABLE takes (
    key        TEXT NOT NULL,
    take       INTEGER NOT NULL,
    seed       TEXT NOT NULL,
    wer        REAL NOT NULL,
    cer        REAL NOT NULL,
    seconds    REAL NOT NULL,
    stop       TEXT NOT NULL,
    duration   TEXT NOT NULL,
    transcript TEXT NOT NULL,
    language   TEXT NOT NULL,
    passed     INTEGER NOT NULL,
    chosen     INTEGER NOT NULL,
    flagged    INTEGER NOT NULL,
    asr        TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (key, take)
);
