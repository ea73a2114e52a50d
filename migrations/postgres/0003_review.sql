-- Proof-listening (ws-book review). Keyed by the chunk's store key, so a choice or an approval holds exactly
-- while the chunk's content is unchanged, and survives renders, resumes and farm runs.
-- The audio of every take (QA takes and takes asked for in the review), beside the chunk's own audio.
CREATE TABLE take_audio (
    key         TEXT NOT NULL,
    take        BIGINT NOT NULL,
    sample_rate BIGINT NOT NULL,
    samples     BIGINT NOT NULL,
    digest      TEXT NOT NULL,
    data        BYTEA NOT NULL,
    created_ms  BIGINT NOT NULL,
    PRIMARY KEY (key, take)
);
-- A reviewer's decisions: the take to use instead of the chunk's audio (NULL: the chunk's own), approval.
CREATE TABLE review (
    key         TEXT PRIMARY KEY,
    chosen_take BIGINT,
    approved    BIGINT NOT NULL DEFAULT 0,
    updated_ms  BIGINT NOT NULL
);
