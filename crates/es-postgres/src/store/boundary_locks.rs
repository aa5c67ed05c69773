//! The advisory locks that make append conditions race-free at READ
//! COMMITTED without a global lock (docs/adr/dcb-append-conditions.md).
//!
//! Every append takes SHARED transaction-level advisory locks on keys hashed
//! from its events' types and tags (and one key every append shares); an
//! append with a condition also takes EXCLUSIVE locks on the keys its
//! condition's query can match, before it checks the condition. A writer
//! whose events could match a condition therefore either committed before
//! the check started (the check, a statement of its own, sees it) or waits
//! until the conditional append commits. Keys are sorted and taken in one
//! statement, so two appends never wait for each other in a cycle.

use std::collections::BTreeMap;

use es_core::dcb::{Query, Tag};

/// Above this many distinct keys, a writer locks the keys' buckets instead
/// (PostgreSQL's lock table is shared and bounded); conditions lock a key
/// and its bucket, so either way they meet.
const MAX_FINE_KEYS: usize = 32;

/// How many buckets the keys of one schema fall into.
const BUCKETS: u64 = 64;

/// The locks one append takes: keys in ascending order, each exclusive or
/// shared, as the lock statement binds them.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct LockSet {
    pub keys: Vec<i64>,
    pub exclusive: Vec<bool>,
}

/// FNV-1a, 64 bits: stable across processes and releases, which the lock
/// keys of different processes must be.
fn fnv1a(parts: &[&[u8]]) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in part.iter().chain(&[0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash as i64
}

fn key(schema: &str, kind: &str, text: &str) -> i64 {
    fnv1a(&[schema.as_bytes(), kind.as_bytes(), text.as_bytes()])
}

/// The key every append locks shared and a query item without types or
/// tags (one that matches every event) locks exclusively.
fn every_event(schema: &str) -> i64 {
    key(schema, "all", "")
}

fn bucket(schema: &str, fine: i64) -> i64 {
    key(schema, "bucket", &((fine as u64) % BUCKETS).to_string())
}

/// The keys a writer of events of `types` carrying `tags` locks shared.
pub(crate) fn writer_keys<'a>(
    schema: &str,
    types: impl IntoIterator<Item = &'a str>,
    tags: impl IntoIterator<Item = &'a Tag>,
) -> Vec<i64> {
    let mut fine: Vec<i64> = types
        .into_iter()
        .map(|t| key(schema, "type", t))
        .chain(tags.into_iter().map(|t| key(schema, "tag", t.as_str())))
        .collect();
    fine.sort_unstable();
    fine.dedup();
    if fine.len() > MAX_FINE_KEYS {
        fine = fine.into_iter().map(|k| bucket(schema, k)).collect();
        fine.sort_unstable();
        fine.dedup();
    }
    fine.push(every_event(schema));
    fine
}

/// The keys a condition on `query` locks exclusively: per item, one of its
/// tags (every matching event carries it), else each of its types, else
/// the key of every event; each fine key with its bucket.
pub(crate) fn condition_keys(schema: &str, query: &Query) -> Vec<i64> {
    let mut keys = Vec::new();
    for item in &query.items {
        let fine: Vec<i64> = match item.tags.first() {
            Some(tag) => vec![key(schema, "tag", tag.as_str())],
            None if !item.types.is_empty() => {
                item.types.iter().map(|t| key(schema, "type", t)).collect()
            }
            None => {
                keys.push(every_event(schema));
                continue;
            }
        };
        for k in fine {
            keys.push(k);
            keys.push(bucket(schema, k));
        }
    }
    keys
}

/// Shared and exclusive keys merged, sorted, exclusive where both.
pub(crate) fn lock_set(shared: Vec<i64>, exclusive: Vec<i64>) -> LockSet {
    let mut all = BTreeMap::new();
    for k in shared {
        all.entry(k).or_insert(false);
    }
    for k in exclusive {
        all.insert(k, true);
    }
    let (keys, exclusive) = all.into_iter().unzip();
    LockSet { keys, exclusive }
}

#[cfg(test)]
mod tests {
    use super::*;
    use es_core::dcb::QueryItem;

    fn tag(t: &str) -> Tag {
        Tag::new(t).unwrap()
    }

    /// A condition's exclusive keys meet the shared keys of every writer
    /// whose events it matches, fine or bucketed.
    #[test]
    fn a_condition_meets_every_writer_it_matches() {
        let s = "schema";
        let by_tag = Query::from_items([QueryItem::new(["A"], [tag("x"), tag("y")])]);
        let by_type = Query::from_items([QueryItem::types(["A"])]);
        let all = Query::all();
        let few = writer_keys(s, ["A"], &[tag("x"), tag("y")]);
        let many_tags: Vec<Tag> = (0..100)
            .map(|i| tag(&format!("t{i}")))
            .chain([tag("y"), tag("x")])
            .collect();
        let many = writer_keys(s, ["A"], &many_tags);
        assert!(many.len() <= BUCKETS as usize + 1);
        for writer in [&few, &many] {
            for query in [&by_tag, &by_type, &all] {
                let exclusive = condition_keys(s, query);
                assert!(exclusive.iter().any(|k| writer.contains(k)), "{query}");
            }
        }
        let other = writer_keys(s, ["B"], &[tag("z")]);
        for query in [&by_tag, &by_type] {
            let exclusive = condition_keys(s, query);
            let fine = &exclusive[..1];
            assert!(!fine.iter().any(|k| other.contains(k)));
        }
    }

    #[test]
    fn locks_are_sorted_and_exclusive_wins() {
        let set = lock_set(vec![5, 1, 3], vec![3, 7]);
        assert_eq!(set.keys, vec![1, 3, 5, 7]);
        assert_eq!(set.exclusive, vec![false, true, false, true]);
    }
}
