-- ws-book state: the render queue and the content-addressed audio store.
-- Times are Unix milliseconds written by the application (portable to PostgreSQL).

CREATE TABLE renders (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    title        TEXT NOT NULL,
    author       TEXT NOT NULL,
    engine       TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    max_attempts INTEGER NOT NULL,
    outputs      TEXT NOT NULL DEFAULT '[]',
    created_ms   INTEGER NOT NULL,
    updated_ms   INTEGER NOT NULL
);

CREATE TABLE chapters (
    render_id INTEGER NOT NULL REFERENCES renders(id) ON DELETE CASCADE,
    idx       INTEGER NOT NULL,
    title     TEXT NOT NULL,
    PRIMARY KEY (render_id, idx)
);

CREATE TABLE chunks (
    id            INTEGER PRIMARY KEY,
    render_id     INTEGER NOT NULL REFERENCES renders(id) ON DELETE CASCADE,
    chapter       INTEGER NOT NULL,
    idx           INTEGER NOT NULL,
    plan_key      TEXT NOT NULL,
    store_key     TEXT NOT NULL,
    request       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'leased', 'done', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    lease_owner   TEXT,
    lease_token   TEXT,
    lease_expires INTEGER,
    retry_after   INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    duration      REAL,
    completions   INTEGER NOT NULL DEFAULT 0,
    updated_ms    INTEGER NOT NULL,
    UNIQUE (render_id, chapter, idx)
);
CREATE INDEX chunks_queue ON chunks (status, retry_after);
CREATE INDEX chunks_store_key ON chunks (store_key);
CREATE INDEX chunks_lease ON chunks (lease_token);

CREATE TABLE audio (
    key         TEXT PRIMARY KEY,
    sample_rate INTEGER NOT NULL,
    samples     INTEGER NOT NULL,
    format      TEXT NOT NULL,
    digest      TEXT NOT NULL,
    data        BLOB NOT NULL,
    created_ms  INTEGER NOT NULL
);

CREATE TABLE workers (
    id            TEXT PRIMARY KEY,
    host          TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    device        TEXT NOT NULL,
    engine        TEXT NOT NULL,
    started_ms    INTEGER NOT NULL,
    heartbeat_ms  INTEGER NOT NULL,
    chunks_done   INTEGER NOT NULL DEFAULT 0,
    audio_seconds REAL NOT NULL DEFAULT 0,
    busy_seconds  REAL NOT NULL DEFAULT 0,
    stopped       INTEGER NOT NULL DEFAULT 0
);
