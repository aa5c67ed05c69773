//! Queries: which events a decision depends on.
//!
//! A dcb.events query is a list of items OR-ed together; an item matches an
//! event whose type is one of the item's types (any type when it lists
//! none) and that carries every one of the item's tags. The same query
//! selects what a read returns and what an append condition fails on, so
//! the matching rule lives here once and every backend translates it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{
    backend::{limits::MAX_EVENT_TYPE_BYTES, validation::check_text},
    InputField, InvalidInput,
};

use super::Tag;

/// The most items one query holds.
pub const MAX_QUERY_ITEMS: usize = 64;

/// The most types, and separately the most tags, one query item lists.
pub const MAX_ITEM_TERMS: usize = 32;

/// One item of a [`Query`]: events of one of `types` (any type when empty)
/// carrying all of `tags` (no tag constraint when empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryItem {
    /// Event types, OR-ed; empty means any type.
    pub types: Vec<String>,
    /// Tags, AND-ed; empty means no tag is required.
    pub tags: Vec<Tag>,
}

impl QueryItem {
    /// An item matching events of any of `types` that carry all of `tags`.
    pub fn new<T: Into<String>>(
        types: impl IntoIterator<Item = T>,
        tags: impl IntoIterator<Item = Tag>,
    ) -> Self {
        Self {
            types: types.into_iter().map(Into::into).collect(),
            tags: tags.into_iter().collect(),
        }
    }

    /// An item matching events of any of `types`, whatever their tags.
    pub fn types<T: Into<String>>(types: impl IntoIterator<Item = T>) -> Self {
        Self::new(types, [])
    }

    /// An item matching events of any type that carry all of `tags`.
    pub fn tags(tags: impl IntoIterator<Item = Tag>) -> Self {
        Self::new(Vec::<String>::new(), tags)
    }

    /// Whether an event of `event_type` carrying `tags` matches this item.
    pub fn matches(&self, event_type: &str, tags: &[Tag]) -> bool {
        (self.types.is_empty() || self.types.iter().any(|t| t == event_type))
            && self.tags.iter().all(|tag| tags.contains(tag))
    }
}

/// Which events a read selects and an append condition fails on: items
/// OR-ed. A query without items matches no event; [`Query::all`] (one item
/// with neither types nor tags) matches every event.
///
/// ```
/// use es_core::dcb::{Query, QueryItem, Tag};
/// let course = Tag::new("course:c1").unwrap();
/// let query = Query::from_items([QueryItem::new(["CourseDefined", "CourseCapacityChanged"], [course.clone()])]);
/// assert!(query.matches("CourseDefined", &[course.clone()]));
/// assert!(!query.matches("StudentSubscribed", &[course]));
/// assert!(Query::all().matches("Anything", &[]));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// The items, OR-ed.
    pub items: Vec<QueryItem>,
}

impl Query {
    /// A query matching every event.
    pub fn all() -> Self {
        Self {
            items: vec![QueryItem::default()],
        }
    }

    /// A query of `items`, OR-ed.
    pub fn from_items(items: impl IntoIterator<Item = QueryItem>) -> Self {
        Self {
            items: items.into_iter().collect(),
        }
    }

    /// Whether an event of `event_type` carrying `tags` matches.
    pub fn matches(&self, event_type: &str, tags: &[Tag]) -> bool {
        self.items.iter().any(|item| item.matches(event_type, tags))
    }

    /// Checks the query against the limits every backend applies.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`] naming [`InputField::Query`] for more than
    /// [`MAX_QUERY_ITEMS`] items or more than [`MAX_ITEM_TERMS`] types or
    /// tags in one item, or [`InputField::EventType`] for a bad type name.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        let too_many = |value: usize, max: usize| InvalidInput::TooLarge {
            field: InputField::Query,
            value: value as u64,
            max: max as u64,
        };
        if self.items.len() > MAX_QUERY_ITEMS {
            return Err(too_many(self.items.len(), MAX_QUERY_ITEMS));
        }
        for item in &self.items {
            for count in [item.types.len(), item.tags.len()] {
                if count > MAX_ITEM_TERMS {
                    return Err(too_many(count, MAX_ITEM_TERMS));
                }
            }
            for event_type in &item.types {
                check_text(InputField::EventType, event_type, MAX_EVENT_TYPE_BYTES)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Query {
    /// `(A|B with t1+t2) or (any with t3)`; `nothing` for no items.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.items.is_empty() {
            return f.write_str("nothing");
        }
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                f.write_str(" or ")?;
            }
            f.write_str("(")?;
            if item.types.is_empty() {
                f.write_str("any type")?;
            } else {
                f.write_str(&item.types.join("|"))?;
            }
            if !item.tags.is_empty() {
                let tags: Vec<&str> = item.tags.iter().map(Tag::as_str).collect();
                write!(f, " with {}", tags.join("+"))?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}
