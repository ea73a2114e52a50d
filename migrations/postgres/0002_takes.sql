-- QA: every take of a chunk that was checked by speech recognition, keyed by the chunk's content key (the
-- store key of its chosen audio). Written before the chunk is completed, idempotently, so a crash between
-- the two repeats the same (deterministic) takes.
CREATE TABLE takes (
    key        TEXT NOT NULL,
    take       BIGINT NOT NULL,
    seed       TEXT NOT NULL,
    wer        DOUBLE PRECISION NOT NULL,
    cer        DOUBLE PRECISION NOT NULL,
    seconds    DOUBLE PRECISION NOT NULL,
    stop       TEXT NOT NULL,
    duration   TEXT NOT NULL,
    transcript TEXT NOT NULL,
    language   TEXT NOT NULL,
    passed     BIGINT NOT NULL,
    chosen     BIGINT NOT NULL,
    flagged    BIGINT NOT NULL,
    asr        TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (key, take)
);
