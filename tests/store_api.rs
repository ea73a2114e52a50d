//! The store API against both back ends — a real SQLite file and a real PostgreSQL server (started by
//! `pg_support` from the Debian `postgresql` package): plan sync, atomic batch claims, leases, heartbeats,
//! fencing by lease token, retries, and audio round trips. One set of tests: each `async fn` below runs
//! once per back end (`sqlite::NAME`, `postgres::NAME`).

mod pg_support;

use std::collections::HashSet;
use std::time::Duration;

use ws_book::store::{FailOutcome, Outcome, PlannedChunk, RenderSpec, Store, StoredAudio};

fn spec(max_attempts: u32) -> RenderSpec {
    RenderSpec {
        name: "book.md".into(),
        title: "T".into(),
        author: "A".into(),
        engine: "espeak".into(),
        fingerprint: "fp1".into(),
        max_attempts,
        audio_dir: None,
    }
}

fn chunks(n_ch: u32, per: u32, salt: &str) -> Vec<PlannedChunk> {
    let mut v = Vec::new();
    for c in 0..n_ch {
        for i in 0..per {
            v.push(PlannedChunk {
                chapter: c,
                index: i,
                plan_key: format!("p{c}-{i}{salt}"),
                store_key: format!("k{c}-{i}{salt}"),
                request: format!("{{\"c\":{c},\"i\":{i}}}"),
            });
        }
    }
    v
}

fn titles(n: u32) -> Vec<String> {
    (0..n).map(|i| format!("Chapter {i}")).collect()
}

fn audio(x: f32) -> StoredAudio {
    StoredAudio {
        sample_rate: 24_000,
        samples: vec![x, -x, 0.25, f32::MIN_POSITIVE, 1.0e-7],
    }
}

/// A store on a fresh database of one back end.
struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
}

impl Fixture {
    async fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.db").display().to_string())
            .await
            .unwrap();
        Fixture { _dir: dir, store }
    }

    async fn postgres() -> Fixture {
        let url = tokio::task::spawn_blocking(|| pg_support::shared().fresh_db())
            .await
            .unwrap();
        let store = Store::open(&url).await.unwrap();
        assert!(store.is_postgres());
        Fixture {
            _dir: tempfile::tempdir().unwrap(),
            store,
        }
    }
}

/// Runs each listed `async fn(&Store)` once per back end.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let f = super::Fixture::sqlite().await;
                    super::$name(&f.store).await;
                    f.store.close().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let f = super::Fixture::postgres().await;
                    super::$name(&f.store).await;
                    f.store.close().await;
                }
            )*
        }
    };
}

on_both_backends!(
    sync_is_idempotent_and_reuses_stored_audio,
    audio_round_trips_bit_identically,
    claims_are_batched_in_book_order_and_exclusive,
    concurrent_claimers_never_share_a_chunk,
    expired_leases_return_and_late_completion_is_fenced,
    heartbeat_renews_leases,
    failures_retry_after_backoff_then_fail_for_good,
    stopping_a_worker_releases_its_leases_and_plan_changes_fence_old_leases,
    workers_register_and_other_fingerprints_are_reported,
    batch_completion_fences_each_item_by_its_own_token,
    review_takes_choices_and_approvals_persist_by_content_key,
);

async fn review_takes_choices_and_approvals_persist_by_content_key(store: &Store) {
    use ws_book::store::{take_audio_key, TakeRow};
    let plan = chunks(1, 2, "");
    let r = store.sync_plan(&spec(3), &titles(1), &plan).await.unwrap();
    let key = plan[0].store_key.clone();
    // a take's audio is read back bit-identically under its take key; a take that does not exist cannot be chosen
    store.put_take_audio(&key, 0, &audio(0.5)).await.unwrap();
    store.put_take_audio(&key, 0, &audio(0.9)).await.unwrap(); // kept: a take's audio never changes
    let row = TakeRow {
        take: 1,
        seed: 7,
        wer: 0.0,
        cer: 0.0,
        seconds: 1.0,
        stop: "end".into(),
        duration: "ok".into(),
        transcript: "fine".into(),
        language: "en".into(),
        passed: true,
        chosen: false,
        flagged: false,
        asr: "test@0".into(),
        similarity: Some(0.8125),
    };
    store.add_take(&key, &row, &audio(0.25)).await.unwrap();
    assert_eq!(store.take_numbers(&key).await.unwrap(), vec![0, 1]);
    let back = store.audio(&take_audio_key(&key, 0)).await.unwrap().unwrap();
    assert_eq!(back.samples[0].to_bits(), 0.5f32.to_bits());
    assert!(store.audio(&take_audio_key(&key, 5)).await.unwrap().is_none());
    assert!(store.choose_take(&key, Some(5)).await.is_err());
    store.choose_take(&key, Some(1)).await.unwrap();
    store.approve(std::slice::from_ref(&key), true).await.unwrap();
    let st = store.review_states(r.render_id).await.unwrap();
    assert_eq!(st[&key].chosen_take, Some(1));
    assert!(st[&key].approved);
    assert_eq!(st.len(), 1, "only the reviewed chunk has a state");
    // the takes table lists the added take with its metrics
    let takes = store.render_takes(r.render_id).await.unwrap();
    assert_eq!(takes[0].takes[0].transcript, "fine");
    assert_eq!(
        takes[0].takes[0].similarity,
        Some(0.8125),
        "voice similarity round-trips"
    );
    // un-choosing keeps the approval; a re-sync with a changed key leaves the old state behind (content-keyed)
    store.choose_take(&key, None).await.unwrap();
    assert_eq!(store.review_states(r.render_id).await.unwrap()[&key].chosen_take, None);
    assert!(store.review_states(r.render_id).await.unwrap()[&key].approved);
    let plan2 = chunks(1, 2, "edited");
    store.sync_plan(&spec(3), &titles(1), &plan2).await.unwrap();
    assert!(store.review_states(r.render_id).await.unwrap().is_empty());
    // ... and finds it again when the edit is undone
    store.sync_plan(&spec(3), &titles(1), &plan).await.unwrap();
    assert!(store.review_states(r.render_id).await.unwrap()[&key].approved);
}

async fn sync_is_idempotent_and_reuses_stored_audio(store: &Store) {
    let plan = chunks(2, 3, "");
    let r1 = store.sync_plan(&spec(3), &titles(2), &plan).await.unwrap();
    assert_eq!((r1.total, r1.already_done, r1.reused, r1.queued), (6, 0, 0, 6));
    let r2 = store.sync_plan(&spec(3), &titles(2), &plan).await.unwrap();
    assert_eq!(r1.render_id, r2.render_id);
    assert_eq!((r2.already_done, r2.reused, r2.queued), (0, 0, 6));

    // Complete one chunk, then change a different chunk's key to the completed one's: reused at once.
    let c = store.claim("w", "fp1", 1, 10_000).await.unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(
        store.complete(&c[0], "w", &audio(0.5), 0.1).await.unwrap(),
        Outcome::Recorded
    );
    let mut plan2 = plan.clone();
    plan2[4].store_key = c[0].store_key.clone();
    let r3 = store.sync_plan(&spec(3), &titles(2), &plan2).await.unwrap();
    assert_eq!((r3.already_done, r3.reused, r3.queued), (1, 1, 4));

    // Dropping a chapter and a chunk removes their rows; stored audio stays.
    let mut plan3: Vec<_> = plan2
        .iter()
        .filter(|c| c.chapter == 0 && c.index < 2)
        .cloned()
        .collect();
    plan3.truncate(2);
    let r4 = store.sync_plan(&spec(3), &titles(1), &plan3).await.unwrap();
    assert_eq!(r4.dropped, 4);
    assert_eq!(r4.total, 2);
    assert_eq!(store.chunk_states(r4.render_id).await.unwrap().len(), 2);
    assert!(store.audio(&c[0].store_key).await.unwrap().is_some());
}

async fn audio_round_trips_bit_identically(store: &Store) {
    store.sync_plan(&spec(3), &titles(1), &chunks(1, 1, "")).await.unwrap();
    let c = store.claim("w", "fp1", 1, 10_000).await.unwrap();
    let a = StoredAudio {
        sample_rate: 24_000,
        samples: (0..10_000).map(|i| ((i as f32) * 0.37).sin() * 0.9).collect(),
    };
    store.complete(&c[0], "w", &a, 0.0).await.unwrap();
    let back = store.audio(&c[0].store_key).await.unwrap().unwrap();
    assert_eq!(back.sample_rate, 24_000);
    assert!(back
        .samples
        .iter()
        .zip(&a.samples)
        .all(|(x, y)| x.to_bits() == y.to_bits()));
    assert_eq!(back.samples.len(), a.samples.len());
}

async fn claims_are_batched_in_book_order_and_exclusive(store: &Store) {
    let r = store.sync_plan(&spec(3), &titles(2), &chunks(2, 5, "")).await.unwrap();
    let a = store.claim("a", "fp1", 3, 10_000).await.unwrap();
    let b = store.claim("b", "fp1", 3, 10_000).await.unwrap();
    let keys: Vec<_> = a.iter().chain(&b).map(|c| c.store_key.clone()).collect();
    assert_eq!(keys, vec!["k0-0", "k0-1", "k0-2", "k0-3", "k0-4", "k1-0"]);
    // A different engine fingerprint claims nothing.
    assert!(store.claim("c", "other", 5, 10_000).await.unwrap().is_empty());
    let prog = store.progress(r.render_id).await.unwrap();
    assert_eq!(prog[0].leased, 5);
    assert_eq!(prog[1].leased, 1);
    assert_eq!(prog[1].pending, 4);
}

async fn concurrent_claimers_never_share_a_chunk(store: &Store) {
    let r = store.sync_plan(&spec(3), &titles(4), &chunks(4, 50, "")).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("w{w}");
            let mut mine = Vec::new();
            loop {
                let c = store.claim(&id, "fp1", 4, 10_000).await.unwrap();
                if c.is_empty() {
                    break;
                }
                for cl in c {
                    assert_eq!(
                        store.complete(&cl, &id, &audio(0.1), 0.0).await.unwrap(),
                        Outcome::Recorded
                    );
                    mine.push(cl.chunk_id);
                }
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let set: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 200, "every chunk completed");
    assert_eq!(set.len(), 200, "no chunk completed twice");
    let states = store.chunk_states(r.render_id).await.unwrap();
    assert!(states.iter().all(|s| s.status == "done" && s.completions == 1));
}

async fn expired_leases_return_and_late_completion_is_fenced(store: &Store) {
    let r = store.sync_plan(&spec(3), &titles(1), &chunks(1, 1, "")).await.unwrap();
    let old = store.claim("slow", "fp1", 1, 50).await.unwrap();
    assert_eq!(old.len(), 1);
    assert!(
        store.claim("fast", "fp1", 1, 10_000).await.unwrap().is_empty(),
        "lease still held"
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    let new = store.claim("fast", "fp1", 1, 10_000).await.unwrap();
    assert_eq!(new.len(), 1, "expired lease is claimable");
    assert_eq!(
        store.complete(&old[0], "slow", &audio(0.3), 0.0).await.unwrap(),
        Outcome::LeaseLost
    );
    assert_eq!(
        store.complete(&new[0], "fast", &audio(0.4), 0.0).await.unwrap(),
        Outcome::Recorded
    );
    let st = store.chunk_states(r.render_id).await.unwrap();
    assert_eq!(st[0].completions, 1);
    let a = store.audio(&st[0].store_key).await.unwrap().unwrap();
    assert_eq!(a.samples[0], 0.4, "the fenced worker's audio was not stored");
}

async fn heartbeat_renews_leases(store: &Store) {
    store.sync_plan(&spec(3), &titles(1), &chunks(1, 1, "")).await.unwrap();
    let c = store.claim("w", "fp1", 1, 150).await.unwrap();
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(store.heartbeat("w", 150).await.unwrap(), 1);
    }
    assert!(
        store.claim("x", "fp1", 1, 150).await.unwrap().is_empty(),
        "renewed lease still held"
    );
    assert_eq!(
        store.complete(&c[0], "w", &audio(0.2), 0.0).await.unwrap(),
        Outcome::Recorded
    );
}

async fn failures_retry_after_backoff_then_fail_for_good(store: &Store) {
    let r = store.sync_plan(&spec(2), &titles(1), &chunks(1, 2, "")).await.unwrap();
    let c = store.claim("w", "fp1", 1, 10_000).await.unwrap();
    assert_eq!(store.fail(&c[0], "boom one", 200).await.unwrap(), FailOutcome::Retrying);
    // During the back-off the next chunk is claimed instead.
    let other = store.claim("w", "fp1", 1, 10_000).await.unwrap();
    assert_eq!(other[0].store_key, "k0-1");
    assert!(store.claim("w", "fp1", 1, 10_000).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(250)).await;
    let again = store.claim("w", "fp1", 1, 10_000).await.unwrap();
    assert_eq!(again[0].store_key, "k0-0");
    assert_eq!(again[0].attempts, 1);
    assert_eq!(store.fail(&again[0], "boom two", 0).await.unwrap(), FailOutcome::Failed);
    let failed = store.failed_chunks(r.render_id).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].error, "boom two");
    assert_eq!(failed[0].attempts, 2);
    // A failed chunk is not claimable; a new sync (a new render run) queues it again.
    assert!(store.claim("w", "fp1", 1, 10_000).await.unwrap().is_empty());
    let r2 = store.sync_plan(&spec(2), &titles(1), &chunks(1, 2, "")).await.unwrap();
    assert_eq!(r2.queued, 2);
}

async fn stopping_a_worker_releases_its_leases_and_plan_changes_fence_old_leases(store: &Store) {
    let r = store.sync_plan(&spec(3), &titles(1), &chunks(1, 3, "")).await.unwrap();
    let c = store.claim("w", "fp1", 2, 60_000).await.unwrap();
    assert_eq!(store.stop_worker("w").await.unwrap(), 2);
    assert_eq!(store.progress(r.render_id).await.unwrap()[0].pending, 3);
    assert_eq!(
        store.complete(&c[0], "w", &audio(0.1), 0.0).await.unwrap(),
        Outcome::LeaseLost
    );

    let c = store.claim("w2", "fp1", 1, 60_000).await.unwrap();
    // The chunk's text changed while it was being synthesised: the old lease cannot complete it.
    let mut changed = chunks(1, 3, "");
    changed[0].store_key = "k-new".into();
    store.sync_plan(&spec(3), &titles(1), &changed).await.unwrap();
    assert_eq!(
        store.complete(&c[0], "w2", &audio(0.1), 0.0).await.unwrap(),
        Outcome::LeaseLost
    );
    assert!(store.audio("k0-0").await.unwrap().is_none());
}

#[tokio::test]
async fn unsupported_locations_are_refused_with_a_sentence() {
    let e = Store::open("mysql://localhost/x").await.unwrap_err().to_string();
    assert!(e.contains("unsupported state database `mysql://localhost/x`"), "{e}");
    assert!(e.contains("postgres://"), "{e}");
    assert_eq!(
        ws_book::store::parse_location("postgresql://u@h/db").unwrap(),
        ws_book::store::Location::Postgres("postgresql://u@h/db".into())
    );
    assert_eq!(
        ws_book::store::redact("postgres://u:secret@h/db"),
        "postgres://u:***@h/db"
    );
}

async fn workers_register_and_other_fingerprints_are_reported(store: &Store) {
    use ws_book::store::WorkerInfo;
    store.sync_plan(&spec(3), &titles(1), &chunks(1, 2, "")).await.unwrap();
    let w = WorkerInfo {
        id: "gpu-7:42:0".into(),
        host: "gpu-7".into(),
        pid: 42,
        device: "cuda:0".into(),
        engine: "fp2".into(),
    };
    store.register_worker(&w).await.unwrap();
    // A worker of another engine/model version sees the render's work but cannot claim it.
    assert!(store.claim(&w.id, "fp2", 4, 10_000).await.unwrap().is_empty());
    assert!(!store.has_work("fp2").await.unwrap());
    assert_eq!(
        store.other_work("fp2").await.unwrap(),
        vec![("book.md".to_string(), "fp1".to_string())]
    );
    assert!(store.other_work("fp1").await.unwrap().is_empty());
    let c = store.claim("gpu-8:1:0", "fp1", 1, 10_000).await.unwrap();
    store
        .register_worker(&WorkerInfo {
            id: "gpu-8:1:0".into(),
            host: "gpu-8".into(),
            pid: 1,
            device: "cuda:1".into(),
            engine: "fp1".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        store.complete(&c[0], "gpu-8:1:0", &audio(0.5), 2.0).await.unwrap(),
        Outcome::Recorded
    );
    let rows = store.workers().await.unwrap();
    assert_eq!(rows.len(), 2);
    let r = rows.iter().find(|r| r.info.id == "gpu-8:1:0").unwrap();
    assert_eq!((r.info.host.as_str(), r.info.device.as_str()), ("gpu-8", "cuda:1"));
    assert_eq!(r.chunks_done, 1);
    assert!((r.busy_seconds - 2.0).abs() < 1e-9);
    assert!(r.heartbeat_ms > 0 && !r.stopped);
    let g = rows.iter().find(|r| r.info.id == "gpu-7:42:0").unwrap();
    assert_eq!((g.chunks_done, g.info.engine.as_str()), (0, "fp2"));
}

async fn batch_completion_fences_each_item_by_its_own_token(store: &Store) {
    let r = store.sync_plan(&spec(3), &titles(1), &chunks(1, 3, "")).await.unwrap();
    let mine = store.claim("a", "fp1", 2, 50).await.unwrap();
    assert_eq!(mine.len(), 2);
    tokio::time::sleep(Duration::from_millis(120)).await;
    // Worker b takes over the first two (expired) and then the third; a's second lease is renewed only
    // after it was taken over, which does not bring it back.
    let theirs = store.claim("b", "fp1", 1, 10_000).await.unwrap();
    assert_eq!(theirs[0].chunk_id, mine[0].chunk_id);
    assert_eq!(
        store.heartbeat("a", 10_000).await.unwrap(),
        1,
        "a still holds its second lease"
    );
    let (x, y) = (audio(0.1), audio(0.2));
    let out = store
        .complete_batch(&[(&mine[0], &x), (&mine[1], &y)], "a", 0.5)
        .await
        .unwrap();
    assert_eq!(out, vec![Outcome::LeaseLost, Outcome::Recorded]);
    assert_eq!(
        store.complete(&theirs[0], "b", &audio(0.3), 0.1).await.unwrap(),
        Outcome::Recorded
    );
    let st = store.chunk_states(r.render_id).await.unwrap();
    assert_eq!(
        st.iter()
            .map(|s| (s.status.as_str(), s.completions))
            .collect::<Vec<_>>(),
        vec![("done", 1), ("done", 1), ("pending", 0)]
    );
    // A failure report with a stale token is refused too.
    assert_eq!(store.fail(&mine[0], "late", 0).await.unwrap(), FailOutcome::LeaseLost);
    assert_eq!(store.release(&mine[1]).await.unwrap(), Outcome::LeaseLost);
}

/// PostgreSQL with `audio_dir`: audio goes to a content-addressed file (temporary name, renamed before the
/// row commits) whose digest the database keeps; a damaged file is reported, never returned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_audio_dir_stores_content_addressed_files() {
    let f = Fixture::postgres().await;
    let store = &f.store;
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(3);
    s.audio_dir = Some(dir.path().join("farm-audio"));
    store.sync_plan(&s, &titles(1), &chunks(1, 2, "")).await.unwrap();
    let c = store.claim("w", "fp1", 2, 10_000).await.unwrap();
    let a = audio(0.7);
    assert_eq!(store.complete(&c[0], "w", &a, 0.0).await.unwrap(), Outcome::Recorded);
    let bytes = ws_book::store::encode_samples(&a.samples);
    let digest = blake3::hash(&bytes).to_hex().to_string();
    let file = ws_book::store::postgres::audio_file(&dir.path().join("farm-audio"), &digest);
    // the documented layout: AUDIO_DIR/<first two hex digits>/<blake3 hex>.f32le
    assert_eq!(
        file,
        dir.path()
            .join("farm-audio")
            .join(&digest[..2])
            .join(format!("{digest}.f32le"))
    );
    assert_eq!(std::fs::read(&file).unwrap(), bytes, "file holds the f32le samples");
    let leftovers: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
    assert_eq!(store.audio(&c[0].store_key).await.unwrap().unwrap(), a);
    // Damage the file: reading it names the file and the digest mismatch.
    std::fs::write(&file, [0u8; 20]).unwrap();
    let e = store.audio(&c[0].store_key).await.unwrap_err().to_string();
    assert!(e.contains("corrupt") && e.contains(&digest), "{e}");
    std::fs::remove_file(&file).unwrap();
    let e = store.audio(&c[0].store_key).await.unwrap_err().to_string();
    assert!(e.contains(&file.display().to_string()), "{e}");
    f.store.close().await;
}

/// The lines of `EXPLAIN EXECUTE claim_plan(…)` under `plan_cache_mode = mode` (prepared statements switch
/// from custom to generic plans after five executions, so both must be right).
async fn claim_plan(conn: &mut sqlx::PgConnection, mode: &str) -> String {
    use sqlx::{AssertSqlSafe, Executor};
    conn.execute(AssertSqlSafe(format!("SET plan_cache_mode = {mode}")))
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let lines: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "EXPLAIN EXECUTE claim_plan('w', 't', {}, {now}, 'fp1', 1)",
        now + 60_000
    )))
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    lines.join("\n")
}

/// PostgreSQL: a claim walks the partial index `chunks_claimable` in book order and stops at the first
/// unlocked rows; it never reads every claimable row and sorts them (the plan the planner chose for the
/// former `IN (…)` join without fresh statistics, which made each claim cost O(queue) and capped
/// single-chunk claim throughput). Checked right after a plan sync and again after 300 claims and
/// completions have left dead index entries behind, with custom and generic plans.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_claims_walk_the_queue_index_in_book_order() {
    use sqlx::{AssertSqlSafe, Connection, Executor};
    let url = tokio::task::spawn_blocking(|| pg_support::shared().fresh_db())
        .await
        .unwrap();
    let store = Store::open(&url).await.unwrap();
    store
        .sync_plan(&spec(3), &titles(20), &chunks(20, 100, ""))
        .await
        .unwrap();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    // The plan sync analysed the table: the planner knows the new queue before autovacuum gets to it.
    let analysed: bool =
        sqlx::query_scalar("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'chunks'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(analysed, "sync_plan must ANALYZE chunks");
    conn.execute(AssertSqlSafe(format!(
        "PREPARE claim_plan (text, text, bigint, bigint, text, bigint) AS {}",
        ws_book::store::postgres::CLAIM_SQL
    )))
    .await
    .unwrap();
    for stage in ["after the plan sync", "after 300 claims"] {
        for mode in ["force_custom_plan", "force_generic_plan"] {
            let plan = claim_plan(&mut conn, mode).await;
            assert!(
                plan.contains("Index Scan using chunks_claimable") && !plan.contains("Sort"),
                "{stage}, {mode}: the claim must walk chunks_claimable in order, not sort the queue:\n{plan}"
            );
        }
        for i in 0..300 {
            let c = store.claim("w", "fp1", 1, 60_000).await.unwrap();
            assert_eq!(c.len(), 1);
            let done = store.complete(&c[0], "w", &audio(i as f32), 0.0).await.unwrap();
            assert_eq!(done, Outcome::Recorded);
        }
    }
    // The plan's order is the book order.
    let next = store.claim("w", "fp1", 2, 60_000).await.unwrap();
    let states = store.chunk_states(next[0].render_id).await.unwrap();
    let leased: Vec<_> = states
        .iter()
        .filter(|s| s.status == "leased")
        .map(|s| (s.chapter, s.index))
        .collect();
    assert_eq!(leased, vec![(6, 0), (6, 1)]);
    store.close().await;
}

/// PostgreSQL: pooled connections are not pinged before every statement any more, only after sitting idle
/// ≥ 1 s; such a connection that the server dropped meanwhile (restart, failover, idle timeout) is noticed
/// by that ping and replaced, so the next store call succeeds instead of failing with an I/O error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_idle_pooled_connections_dropped_by_the_server_are_replaced() {
    use sqlx::Connection;
    let url = tokio::task::spawn_blocking(|| pg_support::shared().fresh_db())
        .await
        .unwrap();
    let store = Store::open(&url).await.unwrap();
    store.sync_plan(&spec(3), &titles(1), &chunks(1, 3, "")).await.unwrap();
    assert!(store.has_work("fp1").await.unwrap());
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let killed: i64 = sqlx::query_scalar(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert!(killed >= 1, "the store's pooled connection was terminated");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(
        store.has_work("fp1").await.unwrap(),
        "a dead idle connection must be replaced"
    );
    let c = store.claim("w", "fp1", 1, 60_000).await.unwrap();
    assert_eq!(c.len(), 1);
    store.close().await;
}
