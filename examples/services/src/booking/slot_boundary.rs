//! One booking per slot: the consistency boundary of a parking slot.
//!
//! A slot has at most one booking that is created or reserved. Bookings are
//! separate streams, so no stream can keep that rule; a dcb.events boundary
//! can: every `BookingCreated` carries the tag `slot:<uuid>`, a request reads
//! the slot's bookings by that tag, and its `BookingCreated` is appended
//! with the condition "no booking was created for this slot since my read",
//! checked atomically by the store (docs/adr/dcb-append-conditions.md).
//! Completing (or rejecting) a booking frees the slot: a request looks up
//! each earlier booking's state; such a change only frees the slot, so it
//! needs no condition of its own.

use es_core::dcb::{Query, QueryItem, Tag};
use es_core::InvalidInput;
use uuid::Uuid;

/// The stored type of the event that claims a slot.
pub const BOOKING_CREATED: &str = "BookingCreated";

/// The tag `slot:<uuid>` every `BookingCreated` of that slot carries.
///
/// # Errors
///
/// Never for a uuid (the tag is short and plain); typed for the caller.
pub fn slot_tag(slot: Uuid) -> Result<Tag, InvalidInput> {
    Tag::pair("slot", slot)
}

/// The bookings created for `slot`, as a query.
pub fn slot_bookings(tag: &Tag) -> Query {
    Query::from_items([QueryItem::new([BOOKING_CREATED], [tag.clone()])])
}
