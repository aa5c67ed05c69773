//! Dynamic Consistency Boundaries (the dcb.events specification).
//!
//! Streams draw consistency boundaries in advance: one stream, one
//! boundary. Rules that span streams (a username unique across accounts, a
//! slot booked once across bookings) need a boundary drawn per decision:
//! events carry [`Tag`]s, a [`Query`] selects the events a decision depends
//! on, and an append carries an [`AppendCondition`] that fails, atomically
//! with the write, if any event matching the query was stored after the
//! read the decision was taken on. [`DcbStore`] states the contract; the
//! in-memory, SQLite and PostgreSQL stores implement it on the one global
//! log, so streams, aggregates, subscriptions and projections see the same
//! events.
//!
//! Files: `tag.rs` ([`Tag`]), `query.rs` ([`Query`], [`QueryItem`]: the
//! matching rule), `append_condition.rs` ([`AppendCondition`]),
//! `tagged_event.rs` (what goes in and comes out: [`TaggedEvent`],
//! [`SequencedEvent`], [`QueryRead`]), `dcb_store.rs` ([`DcbStore`]: every
//! guarantee, and the input rules every backend applies) and
//! `query_subscription.rs` ([`QuerySubscription`]: follow a query on the
//! gap-safe log).
//!
//! ## The specification's scenarios
//!
//! Each runs on the [`InMemoryStore`](crate::InMemoryStore); the same code
//! runs on SQLite and PostgreSQL, and the conformance suite (`testing`
//! feature, `dcb_scenarios.rs`) runs each one, with races, on every store.
//! The pattern is always the same: read the query the decision depends on,
//! decide, append with the condition "nothing matching after the read's
//! head".
//!
//! ### Unique username
//!
//! An account may only take a username nobody holds.
//!
//! ```
//! use es_core::dcb::{AppendCondition, DcbStore, Query, QueryItem, Tag, TaggedEvent};
//! use es_core::{InMemoryStore, NewEvent};
//! use serde_json::json;
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = InMemoryStore::new();
//! let ada = Tag::new("username:ada")?;
//! let query = Query::from_items([QueryItem::new(["AccountRegistered"], [ada.clone()])]);
//! let register = || TaggedEvent::new(NewEvent::raw("AccountRegistered", json!({})), [ada.clone()]);
//!
//! let read = store.read_query(&query, None, None).await?;
//! assert!(read.events.is_empty(), "ada is free");
//! let condition = AppendCondition::new(query.clone(), read.head);
//! store.append_events(vec![register()], Some(&condition)).await?;
//!
//! // A second registration decided on the same read fails, naming the first.
//! let again = store.append_events(vec![register()], Some(&condition)).await;
//! assert!(again.is_err_and(|e| e.is_condition_failed()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! ### Course capacity with subscriptions
//!
//! A student subscribes to a course that is not full; a [`QuerySubscription`]
//! follows the course's events.
//!
//! ```
//! use es_core::dcb::{AppendCondition, DcbStore, Query, QueryItem, Tag, TaggedEvent};
//! use es_core::{InMemoryStore, NewEvent};
//! use serde_json::json;
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use es_core::dcb::QuerySubscription;
//! let store = InMemoryStore::new();
//! let course = Tag::new("course:c1")?;
//! let query = Query::from_items([QueryItem::new(["CourseDefined", "StudentSubscribed"], [course.clone()])]);
//! let mut following = QuerySubscription::new(store.clone(), query.clone(), None);
//! store.append_events(vec![TaggedEvent::new(NewEvent::raw("CourseDefined", json!({ "capacity": 1 })), [course.clone()])], None).await?;
//!
//! let subscribe = |student: &str| -> Result<TaggedEvent, Box<dyn std::error::Error>> {
//!     Ok(TaggedEvent::new(NewEvent::raw("StudentSubscribed", json!({})), [course.clone(), Tag::pair("student", student)?]))
//! };
//! let read = store.read_query(&query, None, None).await?;
//! let capacity = read.events[0].event.payload["capacity"].as_u64().unwrap_or(0);
//! let subscribed = read.events.iter().filter(|e| e.event.event_type == "StudentSubscribed").count() as u64;
//! assert!(subscribed < capacity);
//! let condition = AppendCondition::new(query, read.head);
//! store.append_events(vec![subscribe("s1")?], Some(&condition)).await?;
//! // The last seat is gone: a decision on the same read fails.
//! assert!(store.append_events(vec![subscribe("s2")?], Some(&condition)).await.is_err());
//! let seen = following.next_batch().await?;
//! assert_eq!(seen.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! ### Gap-free invoice numbers
//!
//! Each invoice takes the number after the last one; a racer that lost
//! reads again and takes the next.
//!
//! ```
//! use es_core::dcb::{AppendCondition, DcbStore, Query, QueryItem, Tag, TaggedEvent};
//! use es_core::{InMemoryStore, NewEvent};
//! use serde_json::json;
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = InMemoryStore::new();
//! let query = Query::from_items([QueryItem::types(["InvoiceCreated"])]);
//! for _ in 0..3 {
//!     let read = store.read_query(&query, None, None).await?;
//!     let next = read.events.last().map_or(0, |e| e.event.payload["number"].as_u64().unwrap_or(0)) + 1;
//!     let invoice = TaggedEvent::new(NewEvent::raw("InvoiceCreated", json!({ "number": next })), []);
//!     store.append_events(vec![invoice], Some(&AppendCondition::new(query.clone(), read.head))).await?;
//! }
//! let numbers: Vec<_> = store.read_query(&query, None, None).await?.events.iter()
//!     .map(|e| e.event.payload["number"].clone()).collect();
//! assert_eq!(numbers, [json!(1), json!(2), json!(3)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! ### Opt-in token
//!
//! A sign-up is confirmed with the token it was sent, once.
//!
//! ```
//! use es_core::dcb::{AppendCondition, DcbStore, Query, QueryItem, Tag, TaggedEvent};
//! use es_core::{InMemoryStore, NewEvent};
//! use serde_json::json;
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = InMemoryStore::new();
//! let token = Tag::new("otp:444")?;
//! store.append_events(vec![TaggedEvent::new(NewEvent::raw("SignUpInitiated", json!({})), [token.clone()])], None).await?;
//! let query = Query::from_items([QueryItem::new(["SignUpInitiated", "SignUpConfirmed"], [token.clone()])]);
//! let read = store.read_query(&query, None, None).await?;
//! assert_eq!(read.events.len(), 1, "initiated, not confirmed yet");
//! let confirm = TaggedEvent::new(NewEvent::raw("SignUpConfirmed", json!({})), [token]);
//! let condition = AppendCondition::new(query, read.head);
//! store.append_events(vec![confirm.clone()], Some(&condition)).await?;
//! // The same confirmation re-sent (same event id) returns the original outcome.
//! assert!(store.append_events(vec![confirm], Some(&condition)).await?.resent);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! ### Prevent record duplicates
//!
//! An order re-submitted with the same idempotency token is refused.
//!
//! ```
//! use es_core::dcb::{AppendCondition, DcbStore, Query, QueryItem, Tag, TaggedEvent};
//! use es_core::{InMemoryStore, NewEvent};
//! use serde_json::json;
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = InMemoryStore::new();
//! let token = Tag::new("idempotency:7f3a")?;
//! let query = Query::from_items([QueryItem::tags([token.clone()])]);
//! let place = || TaggedEvent::new(NewEvent::raw("OrderPlaced", json!({})), [token.clone()]);
//! let fresh = AppendCondition::new(query, None); // no event with this token, ever
//! store.append_events(vec![place()], Some(&fresh)).await?;
//! assert!(store.append_events(vec![place()], Some(&fresh)).await.is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! ### Dynamic product price
//!
//! An order stands only at the product's current price: a price change
//! between the read and the order fails it.
//!
//! ```
//! use es_core::dcb::{AppendCondition, DcbStore, Query, QueryItem, Tag, TaggedEvent};
//! use es_core::{InMemoryStore, NewEvent};
//! use serde_json::json;
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = InMemoryStore::new();
//! let product = Tag::new("product:p1")?;
//! let price = |event_type: &str, price: u64| TaggedEvent::new(NewEvent::raw(event_type, json!({ "price": price })), [product.clone()]);
//! store.append_events(vec![price("ProductDefined", 100)], None).await?;
//! let query = Query::from_items([QueryItem::new(["ProductDefined", "ProductPriceChanged"], [product.clone()])]);
//! let read = store.read_query(&query, None, None).await?;
//! assert_eq!(read.events.last().map(|e| e.event.payload["price"].clone()), Some(json!(100)));
//! store.append_events(vec![price("ProductPriceChanged", 120)], None).await?;
//! let order = price("ProductOrdered", 100);
//! let refused = store.append_events(vec![order], Some(&AppendCondition::new(query, read.head))).await;
//! assert!(refused.is_err_and(|e| e.is_condition_failed()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! ### An event-sourced aggregate
//!
//! A stream keeps its expected version, and its append can carry a
//! condition on the aggregate's tag as well.
//!
//! ```
//! use es_core::dcb::{AppendCondition, DcbStore, Query, QueryItem, Tag, TaggedEvent};
//! use es_core::{InMemoryStore, NewEvent};
//! use serde_json::json;
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use es_core::{ExpectedVersion, StreamId};
//! let store = InMemoryStore::new();
//! let stream = StreamId::new("course-c1")?;
//! let tag = Tag::new("course:c1")?;
//! let query = Query::from_items([QueryItem::tags([tag.clone()])]);
//! let renamed = |title: &str| vec![TaggedEvent::new(NewEvent::raw("CourseRenamed", json!({ "title": title })), [tag.clone()])];
//! store.append_tagged(&stream, ExpectedVersion::NoStream, renamed("Rust"), None).await?;
//! let read = store.read_query(&query, None, None).await?;
//! let condition = AppendCondition::new(query, read.head);
//! store.append_tagged(&stream, ExpectedVersion::Exact(1), renamed("Rust 2"), Some(&condition)).await?;
//! // A second command decided on the same state fails.
//! let stale = store.append_tagged(&stream, ExpectedVersion::Any, renamed("Rust 3"), Some(&condition)).await;
//! assert!(stale.is_err_and(|e| e.is_condition_failed()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!

mod append_condition;
mod dcb_store;
mod query;
mod query_subscription;
mod tag;
mod tagged_event;

pub use append_condition::AppendCondition;
pub use dcb_store::{validate_tagged_append, DcbStore, DCB_CATEGORY};
pub use query::{Query, QueryItem, MAX_ITEM_TERMS, MAX_QUERY_ITEMS};
pub use query_subscription::QuerySubscription;
pub use tag::{Tag, MAX_TAG_BYTES};
pub use tagged_event::{QueryRead, SequencedEvent, TaggedEvent, MAX_TAGS_PER_EVENT};
