//! dcb.events on PostgreSQL: reads by query below the log's horizon, and
//! conditional appends that lock, check, then write in one transaction.
//!
//! The race argument is docs/adr/dcb-append-conditions.md: the exclusive
//! advisory locks of a condition's keys ([`boundary_locks`](super::boundary_locks))
//! are taken first, in a statement of their own; the check then runs as a
//! new statement, whose fresh READ COMMITTED snapshot sees every writer that
//! could match (such writers hold a shared lock on one of those keys until
//! they commit); the events and their tags are written after it, in the
//! same transaction. Statements are built per query shape (one predicate
//! per item), with every value bound.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use es_core::dcb::{
    validate_tagged_append, AppendCondition, DcbStore, Query, QueryRead, SequencedEvent, Tag,
    TaggedEvent,
};
use es_core::{AppendOutcome, ExpectedVersion, Position, StoreError, StreamId};
use sqlx::{postgres::PgRow, AssertSqlSafe, Connection, PgConnection, Row};
use uuid::Uuid;

use super::{
    boundary_locks::{condition_keys, lock_set, writer_keys},
    decode::decode_row,
    read::MAX_HELD_BACK_PAUSE,
    to_i64, PostgresStore, HELD_BACK_WAIT,
};
use crate::statements::EVENT_COLUMNS;

/// A query as SQL over `es_events e`: a predicate whose values are text
/// binds numbered after the statement's own (`first` is the first free
/// number). `$1`, `$2` are always the position the events lie after.
struct Filter {
    sql: String,
    binds: Vec<String>,
    first: usize,
}

impl Filter {
    fn new(q: &str, query: &Query, first: usize) -> Self {
        let mut filter = Filter {
            sql: String::new(),
            binds: Vec::new(),
            first,
        };
        if query.items.is_empty() {
            filter.sql.push_str("false");
            return filter;
        }
        let mut items = Vec::new();
        for item in &query.items {
            let mut terms = Vec::new();
            if let Some((first, rest)) = item.tags.split_first() {
                let first = filter.bind(first.as_str());
                let joins: String = rest
                    .iter()
                    .enumerate()
                    .map(|(j, tag)| {
                        let n = j + 1;
                        let p = filter.bind(tag.as_str());
                        format!(
                            " JOIN {q}.es_event_tags t{n} \
                             ON t{n}.sequence = t0.sequence AND t{n}.tag = {p}"
                        )
                    })
                    .collect();
                terms.push(format!(
                    "e.sequence IN (SELECT t0.sequence FROM {q}.es_event_tags t0{joins} \
                     WHERE t0.tag = {first} AND (t0.txid, t0.sequence) > ($1, $2))"
                ));
            }
            if !item.types.is_empty() {
                let list: Vec<String> = item.types.iter().map(|t| filter.bind(t)).collect();
                terms.push(format!("e.event_type IN ({})", list.join(", ")));
            }
            if terms.is_empty() {
                terms.push("true".to_owned());
            }
            items.push(format!("({})", terms.join(" AND ")));
        }
        filter.sql = items.join(" OR ");
        filter
    }

    fn bind(&mut self, value: &str) -> String {
        self.binds.push(value.to_owned());
        format!("${}", self.first + self.binds.len() - 1)
    }
}

/// A position as the two bigints PostgreSQL compares.
fn parts(position: Option<Position>) -> (i64, i64) {
    let position = position.unwrap_or(Position::START);
    (to_i64(position.commit), to_i64(position.sequence))
}

impl PostgresStore {
    /// The events matching `query` after `after`, up to the last event below
    /// the log's horizon (the head): a settled answer that no later commit
    /// can change.
    async fn read_query_below_horizon(
        &self,
        query: &Query,
        after: Option<Position>,
        limit: Option<usize>,
    ) -> Result<QueryRead, StoreError> {
        let q = self.inner.schema.quoted();
        // Before this read takes its own connection (it takes one of the
        // pool's too).
        let horizon = self.horizon().await?;
        let mut conn = self
            .inner
            .pool
            .acquire()
            .await
            .map_err(StoreError::backend)?;
        // The head first: the last event below the horizon of the log's
        // writers, as `read_all` uses it (computed in a statement of its
        // own, before). No event can later commit below it, so reading up
        // to the head later (a new snapshot) returns a settled answer.
        let head: Option<(i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT txid, sequence FROM {q}.es_events WHERE txid < $1 \
             ORDER BY txid DESC, sequence DESC LIMIT 1"
        )))
        .bind(to_i64(horizon))
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::backend)?;
        let log_head = head.map(|(txid, sequence)| Position::new(txid as u64, sequence as u64));
        let filter = Filter::new(&q, query, 5);
        let limit_sql = match limit {
            Some(limit) => format!(" LIMIT {}", to_i64(limit as u64)),
            None => String::new(),
        };
        let sql = format!(
            "SELECT {columns}, \
                    (SELECT coalesce(array_agg(t.tag ORDER BY t.tag), '{{}}') \
                     FROM {q}.es_event_tags t WHERE t.sequence = e.sequence) \
             FROM {q}.es_events e \
             WHERE (e.txid, e.sequence) > ($1, $2) AND (e.txid, e.sequence) <= ($3, $4) \
               AND ({filter}) \
             ORDER BY e.txid, e.sequence{limit_sql}",
            columns = EVENT_COLUMNS
                .split(", ")
                .map(|c| format!("e.{}", c.trim()))
                .collect::<Vec<_>>()
                .join(", "),
            filter = filter.sql,
        );
        let (after_commit, after_sequence) = parts(after);
        let (head_commit, head_sequence) = parts(log_head);
        let mut rows = sqlx::query(AssertSqlSafe(sql))
            .bind(after_commit)
            .bind(after_sequence)
            .bind(head_commit)
            .bind(head_sequence);
        for value in &filter.binds {
            rows = rows.bind(value.as_str());
        }
        let rows = rows
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::backend)?;
        let events = rows.iter().map(sequenced).collect::<Result<Vec<_>, _>>()?;
        Ok(QueryRead::new(events, after, log_head, limit))
    }

    /// The first committed event matching `condition` after its position,
    /// at a snapshot taken now (after the caller took its locks).
    async fn first_match(
        &self,
        conn: &mut PgConnection,
        condition: &AppendCondition,
    ) -> Result<Option<Position>, StoreError> {
        let q = self.inner.schema.quoted();
        let filter = Filter::new(&q, &condition.fail_if_events_match, 3);
        let sql = format!(
            "SELECT e.txid, e.sequence FROM {q}.es_events e \
             WHERE (e.txid, e.sequence) > ($1, $2) AND ({}) \
             ORDER BY e.txid, e.sequence LIMIT 1",
            filter.sql
        );
        let (commit, sequence) = parts(condition.after);
        // The schema name is validated and quoted; every value is bound.
        let mut query = sqlx::query_as::<_, (i64, i64)>(AssertSqlSafe(sql))
            .bind(commit)
            .bind(sequence);
        for value in &filter.binds {
            query = query.bind(value.as_str());
        }
        let found = query
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::backend)?;
        Ok(found.map(|(txid, sequence)| Position::new(txid as u64, sequence as u64)))
    }

    /// Lock, check, append, tag: the transaction of one tagged append.
    async fn append_tagged_in(
        &self,
        tx: &mut PgConnection,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<es_core::NewEvent>,
        tags: &[Vec<Tag>],
        condition: Option<&AppendCondition>,
    ) -> Result<AppendOutcome, StoreError> {
        let schema = self.inner.schema.as_str();
        let shared = writer_keys(
            schema,
            events.iter().map(|e| e.event_type.as_str()),
            tags.iter().flatten(),
        );
        let exclusive = condition.map_or_else(Vec::new, |c| {
            condition_keys(schema, &c.fail_if_events_match)
        });
        let locks = lock_set(shared, exclusive);
        sqlx::query(
            "SELECT count(*) FROM unnest($1::bigint[], $2::bool[]) AS l(k, x) \
             WHERE (CASE WHEN x THEN pg_advisory_xact_lock(k) \
                         ELSE pg_advisory_xact_lock_shared(k) END) IS NULL",
        )
        .bind(&locks.keys)
        .bind(&locks.exclusive)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::backend)?;
        if let Some(condition) = condition {
            if let Some(first_match) = self.first_match(tx, condition).await? {
                let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
                if let Some(outcome) = self.previous_append(tx, stream_id, &ids).await? {
                    return Ok(outcome);
                }
                return Err(StoreError::AppendConditionFailed {
                    condition: Box::new(condition.clone()),
                    first_match,
                });
            }
        }
        let (ids, event_tags): (Vec<Uuid>, Vec<String>) = events
            .iter()
            .zip(tags)
            .flat_map(|(event, tags)| {
                tags.iter()
                    .map(move |tag| (event.event_id, tag.as_str().to_owned()))
            })
            .unzip();
        let outcome = self
            .append_on(tx, stream_id, expected, events, tags, true)
            .await?;
        if outcome.resent || ids.is_empty() {
            return Ok(outcome);
        }
        let q = self.inner.schema.quoted();
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {q}.es_event_tags (tag, txid, sequence) \
             SELECT t.tag, e.txid, e.sequence \
             FROM unnest($1::uuid[], $2::text[]) AS t(event_id, tag) \
             JOIN {q}.es_events e ON e.event_id = t.event_id \
             ON CONFLICT DO NOTHING"
        )))
        .bind(&ids)
        .bind(&event_tags)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::backend)?;
        Ok(outcome)
    }
}

#[async_trait]
impl DcbStore for PostgresStore {
    async fn read_query(
        &self,
        query: &Query,
        after: Option<Position>,
        limit: Option<usize>,
    ) -> Result<QueryRead, StoreError> {
        query.validate()?;
        self.check_opened(None).await?;
        let deadline = Instant::now() + HELD_BACK_WAIT;
        let mut pause = Duration::from_millis(1);
        loop {
            let read = self.read_query_below_horizon(query, after, limit).await?;
            if limit.is_some_and(|limit| read.events.len() >= limit) {
                return Ok(read);
            }
            // A match committed above the head (held back by a writer of the
            // log still running) would refuse an append conditioned on this
            // read: the caller's own last append, typically. Wait (briefly,
            // as `read_all` does) until no writer can commit below it, then
            // read again; past the wait, answer what is settled.
            let held_back = {
                let mut conn = self
                    .inner
                    .pool
                    .acquire()
                    .await
                    .map_err(StoreError::backend)?;
                self.first_match(&mut conn, &AppendCondition::new(query.clone(), read.head))
                    .await?
            };
            let Some(held_back) = held_back else {
                return Ok(read);
            };
            while self.horizon().await? <= held_back.commit {
                if Instant::now() >= deadline {
                    return Ok(read);
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_HELD_BACK_PAUSE);
            }
        }
    }

    async fn append_tagged(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<TaggedEvent>,
        condition: Option<&AppendCondition>,
    ) -> Result<AppendOutcome, StoreError> {
        let (events, tags) = validate_tagged_append(stream_id, events, condition)?;
        self.check_opened(None).await?;
        let mut conn = self
            .inner
            .pool
            .acquire()
            .await
            .map_err(StoreError::backend)?;
        let mut tx = conn.begin().await.map_err(StoreError::backend)?;
        let appended = self
            .append_tagged_in(&mut tx, stream_id, expected, events, &tags, condition)
            .await;
        match appended {
            Ok(outcome) if !outcome.resent && outcome.last_position.is_some() => {
                tx.commit().await.map_err(StoreError::backend)?;
                self.inner.notifications.signal();
                Ok(outcome)
            }
            other => {
                tx.rollback().await.map_err(StoreError::backend)?;
                other
            }
        }
    }
}

/// A row of the read by query: the event columns, then its tags.
fn sequenced(row: &PgRow) -> Result<SequencedEvent, StoreError> {
    let event = decode_row(row, None)?;
    let raw: Vec<String> = row.try_get(10).map_err(StoreError::backend)?;
    let tags = raw
        .into_iter()
        .map(Tag::new)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            StoreError::backend(format!(
                "a tag of the event at {} is unreadable: {e}",
                event.position
            ))
        })?;
    Ok(SequencedEvent { event, tags })
}
