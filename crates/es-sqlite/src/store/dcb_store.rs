//! dcb.events on SQLite: reads by query and conditional appends.
//!
//! SQLite has one writer at a time. A conditional append runs its check
//! and its inserts in one `BEGIN IMMEDIATE` transaction, which holds the
//! database's write lock from its first statement (across processes too),
//! so no event can commit between the check and the write. Reads look the
//! tags up in `es_event_tags` (a `(tag, position)` B-tree) and types in the
//! `(event_type, position)` index.

use async_trait::async_trait;
use es_core::dcb::{
    validate_tagged_append, AppendCondition, DcbStore, Query, QueryRead, SequencedEvent, Tag,
    TaggedEvent,
};
use es_core::{AppendOutcome, ExpectedVersion, Position, StoreError, StreamId};
use sqlx::{AssertSqlSafe, Row, SqliteConnection};

use super::{read::decode_row, SqliteStore};

/// The tags and the condition of a tagged append, beside its events.
#[derive(Clone, Copy)]
pub(super) struct Tagged<'a> {
    /// Each event's tags, in batch order.
    pub tags: &'a [Vec<Tag>],
    /// Checked under the write lock before anything is written.
    pub condition: Option<&'a AppendCondition>,
}

/// A query as SQL over `es_events e`: the predicate and its text binds
/// (numbered from `?2`; `?1` is the position the events lie after).
struct Filter {
    sql: String,
    binds: Vec<String>,
}

impl Filter {
    fn new(query: &Query) -> Self {
        let mut filter = Filter {
            sql: String::new(),
            binds: Vec::new(),
        };
        if query.items.is_empty() {
            filter.sql.push('0');
            return filter;
        }
        for (i, item) in query.items.iter().enumerate() {
            if i > 0 {
                filter.sql.push_str(" OR ");
            }
            filter.sql.push('(');
            let mut terms = Vec::new();
            if let Some((first, rest)) = item.tags.split_first() {
                let lookup = format!(
                    "e.position IN (SELECT t0.position FROM es_event_tags t0{joins} WHERE t0.tag = {first})",
                    joins = rest
                        .iter()
                        .enumerate()
                        .map(|(j, tag)| format!(
                            " JOIN es_event_tags t{n} ON t{n}.position = t0.position AND t{n}.tag = {p}",
                            n = j + 1,
                            p = filter.bind(tag.as_str())
                        ))
                        .collect::<String>(),
                    first = filter.bind(first.as_str()),
                );
                terms.push(lookup);
            }
            if !item.types.is_empty() {
                let list: Vec<String> = item.types.iter().map(|t| filter.bind(t)).collect();
                terms.push(format!("e.event_type IN ({})", list.join(", ")));
            }
            if terms.is_empty() {
                terms.push("1".to_owned());
            }
            filter.sql.push_str(&terms.join(" AND "));
            filter.sql.push(')');
        }
        filter
    }

    /// Adds a bind and returns its numbered placeholder.
    fn bind(&mut self, value: &str) -> String {
        self.binds.push(value.to_owned());
        format!("?{}", self.binds.len() + 1)
    }
}

/// The columns a read by query selects: an event row and its tags as JSON.
const QUERY_COLUMNS: &str = "e.position, e.event_id, e.stream_id, e.version, e.event_type, \
     e.schema_version, e.payload, e.metadata, e.recorded_at, \
     (SELECT json_group_array(tag) FROM es_event_tags WHERE position = e.position) AS tags";

/// The first event matching `condition` after its position, if any.
pub(super) async fn first_match(
    conn: &mut SqliteConnection,
    condition: &AppendCondition,
) -> Result<Option<Position>, StoreError> {
    let filter = Filter::new(&condition.fail_if_events_match);
    let sql = format!(
        "SELECT e.position FROM es_events e WHERE e.position > ?1 AND ({}) \
         ORDER BY e.position LIMIT 1",
        filter.sql
    );
    let after = condition.after.map_or(0, |after| after.sequence);
    // Only fixed text and numbered placeholders: every value is bound.
    let mut query = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql)).bind(to_i64(after));
    for value in &filter.binds {
        query = query.bind(value.as_str());
    }
    let found = query
        .fetch_optional(conn)
        .await
        .map_err(StoreError::backend)?;
    Ok(found.map(|position| Position::from_sequence(position as u64)))
}

/// Records an event's tags.
pub(super) async fn insert_tags(
    conn: &mut SqliteConnection,
    position: i64,
    tags: &[Tag],
) -> Result<(), StoreError> {
    for tag in tags {
        sqlx::query("INSERT OR IGNORE INTO es_event_tags (tag, position) VALUES (?, ?)")
            .bind(tag.as_str())
            .bind(position)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::backend)?;
    }
    Ok(())
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[async_trait]
impl DcbStore for SqliteStore {
    async fn read_query(
        &self,
        query: &Query,
        after: Option<Position>,
        limit: Option<usize>,
    ) -> Result<QueryRead, StoreError> {
        query.validate()?;
        let mut conn = self.pool.acquire().await.map_err(StoreError::backend)?;
        // The head first, then only events up to it: one consistent answer
        // without holding a read transaction open.
        let log_head: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM es_events")
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::backend)?;
        let log_head = log_head.map(|p| Position::from_sequence(p as u64));
        let filter = Filter::new(query);
        let limit_sql = match limit {
            Some(limit) => format!(" LIMIT {}", to_i64(limit as u64)),
            None => String::new(),
        };
        let head_param = filter.binds.len() + 2;
        let sql = format!(
            "SELECT {QUERY_COLUMNS} FROM es_events e \
             WHERE e.position > ?1 AND e.position <= ?{head_param} AND ({}) \
             ORDER BY e.position{limit_sql}",
            filter.sql
        );
        let mut rows =
            sqlx::query(AssertSqlSafe(sql)).bind(to_i64(after.map_or(0, |after| after.sequence)));
        for value in &filter.binds {
            rows = rows.bind(value.as_str());
        }
        let rows = rows
            .bind(log_head.map_or(0, |head| to_i64(head.sequence)))
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::backend)?;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            let event = decode_row(row)?;
            let tags: String = row.try_get("tags").map_err(StoreError::backend)?;
            let tags = parse_tags(&tags).map_err(|what| {
                StoreError::backend(format!(
                    "the tags of the event at {} are unreadable: {what}",
                    event.position
                ))
            })?;
            events.push(SequencedEvent { event, tags });
        }
        Ok(QueryRead::new(events, after, log_head, limit))
    }

    async fn append_tagged(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<TaggedEvent>,
        condition: Option<&AppendCondition>,
    ) -> Result<AppendOutcome, StoreError> {
        let (events, tags) = validate_tagged_append(stream_id, events, condition)?;
        let outcome = {
            let _writer = self.write_lock.lock().await;
            self.try_append(
                stream_id,
                expected,
                &events,
                Some(Tagged {
                    tags: &tags,
                    condition,
                }),
            )
            .await?
        };
        if outcome.last_position.is_some() && !outcome.resent {
            self.appended.send_replace(());
        }
        Ok(outcome)
    }
}

/// The tags column: a JSON array of strings, each a valid tag.
fn parse_tags(text: &str) -> Result<Vec<Tag>, String> {
    let raw: Vec<String> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut tags = raw
        .into_iter()
        .map(Tag::new)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    tags.sort();
    Ok(tags)
}
