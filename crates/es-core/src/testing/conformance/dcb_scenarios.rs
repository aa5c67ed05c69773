//! The dcb.events specification's example scenarios, as checks every
//! [`DcbStore`] runs: each decides from a read by query and appends with
//! the condition "nothing matching since that read", and shows the rule
//! holding in order and under a race.

use serde_json::{json, Value};

use crate::dcb::{
    AppendCondition, DcbStore, Query, QueryItem, QuerySubscription, Tag, TaggedEvent,
};
use crate::{AppendOutcome, ExpectedVersion, NewEvent, StoreError, StreamId};

use super::{dcb_races::fresh_tag, support::WAIT};

fn event(event_type: &str, payload: Value, tags: &[&Tag]) -> TaggedEvent {
    TaggedEvent::new(
        NewEvent::raw(event_type, payload),
        tags.iter().map(|&tag| tag.clone()),
    )
}

/// Reads `query`, lets `decide` turn the matching events into new events
/// (or a refusal), and appends them with the condition "nothing matching
/// since the read".
async fn decide<S: DcbStore>(
    store: &S,
    query: Query,
    decide: impl FnOnce(&[Value], &[String]) -> Result<Vec<TaggedEvent>, String>,
) -> Result<Result<AppendOutcome, StoreError>, String> {
    let read = store.read_query(&query, None, None).await.expect("read");
    let payloads: Vec<Value> = read
        .events
        .iter()
        .map(|e| e.event.payload.clone())
        .collect();
    let types: Vec<String> = read
        .events
        .iter()
        .map(|e| e.event.event_type.clone())
        .collect();
    let events = decide(&payloads, &types)?;
    let condition = AppendCondition::new(query, read.head);
    Ok(store.append_events(events, Some(&condition)).await)
}

/// Two deciders read the same state, then both append: the second one's
/// condition fails.
async fn second_of_two_fails<S: DcbStore>(store: &S, query: Query, events: [TaggedEvent; 2]) {
    let read = store.read_query(&query, None, None).await.expect("read");
    let condition = AppendCondition::new(query, read.head);
    let [first, second] = events;
    store
        .append_events(vec![first], Some(&condition))
        .await
        .expect("the first decider commits");
    let second = store.append_events(vec![second], Some(&condition)).await;
    assert!(
        second.as_ref().is_err_and(StoreError::is_condition_failed),
        "{second:?}"
    );
}

/// Unique username: an account may take a username no open account holds;
/// closing the account releases it.
pub async fn dcb_unique_username<S: DcbStore>(store: S) {
    let name = format!("ada{}", uuid::Uuid::now_v7().simple());
    let tag = Tag::pair("username", &name).expect("tag");
    let query = Query::from_items([QueryItem::new(
        ["AccountRegistered", "AccountClosed"],
        [tag.clone()],
    )]);
    let register = |types: &[String]| {
        let held = types.iter().filter(|t| *t == "AccountRegistered").count()
            > types.iter().filter(|t| *t == "AccountClosed").count();
        if held {
            return Err(format!("username {name:?} is claimed"));
        }
        Ok(vec![event(
            "AccountRegistered",
            json!({ "username": name }),
            &[&tag],
        )])
    };
    decide(&store, query.clone(), |_, t| register(t))
        .await
        .expect("free")
        .expect("registered");
    let taken = decide(&store, query.clone(), |_, t| register(t)).await;
    assert!(taken.is_err(), "a claimed username was registered again");
    decide(&store, query.clone(), |_, _| {
        Ok(vec![event("AccountClosed", json!({}), &[&tag])])
    })
    .await
    .expect("close")
    .expect("closed");
    // Released; two racers from the same read: one wins.
    second_of_two_fails(
        &store,
        query,
        [0, 1].map(|_| event("AccountRegistered", json!({ "username": name }), &[&tag])),
    )
    .await;
}

/// Course capacity: a student subscribes to a defined course that is not
/// full (capacity may change) and not twice; a subscription follows the
/// course's events as they are appended.
pub async fn dcb_course_subscriptions<S: DcbStore + Clone>(store: S) {
    let course = fresh_tag("course");
    let course_events = Query::from_items([QueryItem::new(
        [
            "CourseDefined",
            "CourseCapacityChanged",
            "StudentSubscribed",
        ],
        [course.clone()],
    )]);
    let mut following = QuerySubscription::new(store.clone(), course_events.clone(), None);
    let subscribe = |student: &Tag| {
        let student = student.clone();
        let course = course.clone();
        move |payloads: &[Value], types: &[String]| {
            let mut capacity = None;
            let mut subscribed = Vec::new();
            for (payload, event_type) in payloads.iter().zip(types) {
                match event_type.as_str() {
                    "CourseDefined" | "CourseCapacityChanged" => {
                        capacity = payload["capacity"].as_u64()
                    }
                    _ => subscribed.push(payload["student"].as_str().unwrap_or("").to_owned()),
                }
            }
            let capacity = capacity.ok_or("no such course")?;
            if subscribed.iter().any(|s| s == student.as_str()) {
                return Err("already subscribed".to_owned());
            }
            if subscribed.len() as u64 >= capacity {
                return Err("the course is full".to_owned());
            }
            Ok(vec![event(
                "StudentSubscribed",
                json!({ "student": student.as_str() }),
                &[&course, &student],
            )])
        }
    };
    let [s1, s2, s3] = [0, 1, 2].map(|_| fresh_tag("student"));
    let refused = decide(&store, course_events.clone(), subscribe(&s1)).await;
    assert_eq!(refused.err().as_deref(), Some("no such course"));
    store
        .append_events(
            vec![event("CourseDefined", json!({ "capacity": 2 }), &[&course])],
            None,
        )
        .await
        .expect("define");
    for student in [&s1, &s2] {
        decide(&store, course_events.clone(), subscribe(student))
            .await
            .expect("a seat")
            .expect("subscribed");
    }
    let full = decide(&store, course_events.clone(), subscribe(&s3)).await;
    assert_eq!(full.err().as_deref(), Some("the course is full"));
    let twice = decide(&store, course_events.clone(), subscribe(&s1)).await;
    assert_eq!(twice.err().as_deref(), Some("already subscribed"));
    decide(&store, course_events.clone(), |_, _| {
        Ok(vec![event(
            "CourseCapacityChanged",
            json!({ "capacity": 3 }),
            &[&course],
        )])
    })
    .await
    .expect("change")
    .expect("changed");
    // The last seat, raced: one of the two deciders from one read wins.
    let read = store
        .read_query(&course_events, None, None)
        .await
        .expect("read");
    let condition = AppendCondition::new(course_events.clone(), read.head);
    let mut results = Vec::new();
    for student in [&s3, &fresh_tag("student")] {
        let events = subscribe(student)(
            &read
                .events
                .iter()
                .map(|e| e.event.payload.clone())
                .collect::<Vec<_>>(),
            &read
                .events
                .iter()
                .map(|e| e.event.event_type.clone())
                .collect::<Vec<_>>(),
        )
        .expect("a seat left at the read");
        results.push(store.append_events(events, Some(&condition)).await);
    }
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    // The subscription saw the course's five events, in order.
    let mut seen = Vec::new();
    while seen.len() < 5 {
        let batch = tokio::time::timeout(WAIT, following.next_batch())
            .await
            .expect("the subscription stalled")
            .expect("next batch");
        seen.extend(batch.into_iter().map(|e| e.event.event_type));
    }
    assert_eq!(
        seen,
        [
            "CourseDefined",
            "StudentSubscribed",
            "StudentSubscribed",
            "CourseCapacityChanged",
            "StudentSubscribed"
        ]
    );
}

/// Gap-free invoice numbers: each invoice takes the number after the last
/// one; concurrent creators retry on a failed condition and end with
/// 1, 2, 3, … without gaps or repeats.
pub async fn dcb_gap_free_invoice_numbers<S: DcbStore + Clone + 'static>(store: S) {
    let invoice_type = format!("InvoiceCreated{}", uuid::Uuid::now_v7().simple());
    let query = Query::from_items([QueryItem::types([invoice_type.clone()])]);
    let mut creators = Vec::new();
    for _ in 0..6 {
        let (store, query, invoice_type) = (store.clone(), query.clone(), invoice_type.clone());
        creators.push(tokio::spawn(async move {
            for _ in 0..200 {
                let created = decide(&store, query.clone(), |payloads, _| {
                    let next = payloads
                        .last()
                        .map_or(0, |p| p["number"].as_u64().unwrap_or(0))
                        + 1;
                    Ok(vec![event(&invoice_type, json!({ "number": next }), &[])])
                })
                .await
                .expect("no refusal");
                match created {
                    Ok(_) => return,
                    Err(error) if error.is_condition_failed() => continue,
                    Err(error) => panic!("{error}"),
                }
            }
            panic!("an invoice creator never got a number");
        }));
    }
    for creator in creators {
        creator.await.expect("a creator panicked");
    }
    let read = store.read_query(&query, None, None).await.expect("read");
    let numbers: Vec<u64> = read
        .events
        .iter()
        .map(|e| e.event.payload["number"].as_u64().expect("a number"))
        .collect();
    assert_eq!(numbers, (1..=6).collect::<Vec<_>>());
}

/// Opt-in token: a sign-up is confirmed with the token it was sent, once.
pub async fn dcb_opt_in_token<S: DcbStore>(store: S) {
    let email = fresh_tag("email");
    let token = fresh_tag("otp");
    store
        .append_events(
            vec![event("SignUpInitiated", json!({}), &[&email, &token])],
            None,
        )
        .await
        .expect("initiate");
    let confirm = |token: &Tag| {
        let query = Query::from_items([QueryItem::new(
            ["SignUpInitiated", "SignUpConfirmed"],
            [token.clone()],
        )]);
        let event = event("SignUpConfirmed", json!({}), &[&email, token]);
        (query, move |_: &[Value], types: &[String]| match types {
            [] => Err("no sign-up with this token".to_owned()),
            [_] => Ok(vec![event]),
            _ => Err("already confirmed".to_owned()),
        })
    };
    let (query, decider) = confirm(&fresh_tag("otp"));
    assert_eq!(
        decide(&store, query, decider).await.err().as_deref(),
        Some("no sign-up with this token")
    );
    let (query, decider) = confirm(&token);
    decide(&store, query, decider)
        .await
        .expect("the right token")
        .expect("confirmed");
    let (query, decider) = confirm(&token);
    assert_eq!(
        decide(&store, query, decider).await.err().as_deref(),
        Some("already confirmed")
    );
}

/// Prevent record duplicates: an order re-submitted with the same
/// idempotency token is refused, also when both submissions race.
pub async fn dcb_prevent_duplicates<S: DcbStore>(store: S) {
    let token = fresh_tag("idempotency");
    let query = Query::from_items([QueryItem::tags([token.clone()])]);
    let place = |_: &[Value], types: &[String]| {
        if types.is_empty() {
            Ok(vec![event("OrderPlaced", json!({}), &[&token])])
        } else {
            Err("re-submission".to_owned())
        }
    };
    decide(&store, query.clone(), place)
        .await
        .expect("first")
        .expect("placed");
    assert_eq!(
        decide(&store, query, place).await.err().as_deref(),
        Some("re-submission")
    );
    let other = fresh_tag("idempotency");
    second_of_two_fails(
        &store,
        Query::from_items([QueryItem::tags([other.clone()])]),
        [0, 1].map(|_| event("OrderPlaced", json!({}), &[&other])),
    )
    .await;
}

/// Dynamic product price: an order stands only at the product's current
/// price; a price change between the read and the order fails the order.
pub async fn dcb_dynamic_product_price<S: DcbStore>(store: S) {
    let product = fresh_tag("product");
    let query = Query::from_items([QueryItem::new(
        ["ProductDefined", "ProductPriceChanged"],
        [product.clone()],
    )]);
    store
        .append_events(
            vec![event(
                "ProductDefined",
                json!({ "price": 100 }),
                &[&product],
            )],
            None,
        )
        .await
        .expect("define");
    store
        .append_events(
            vec![event(
                "ProductPriceChanged",
                json!({ "price": 120 }),
                &[&product],
            )],
            None,
        )
        .await
        .expect("change");
    let order = |displayed: u64| {
        let product = product.clone();
        move |payloads: &[Value], _: &[String]| {
            let current = payloads.last().and_then(|p| p["price"].as_u64());
            if current != Some(displayed) {
                return Err(format!("the price is {current:?}, not {displayed}"));
            }
            Ok(vec![event(
                "ProductOrdered",
                json!({ "price": displayed }),
                &[&product],
            )])
        }
    };
    assert!(decide(&store, query.clone(), order(100)).await.is_err());
    decide(&store, query.clone(), order(120))
        .await
        .expect("current price")
        .expect("ordered");
    // The price changes while an order at 120 is being decided.
    let read = store.read_query(&query, None, None).await.expect("read");
    store
        .append_events(
            vec![event(
                "ProductPriceChanged",
                json!({ "price": 130 }),
                &[&product],
            )],
            None,
        )
        .await
        .expect("change");
    let late = store
        .append_events(
            vec![event(
                "ProductOrdered",
                json!({ "price": 120 }),
                &[&product],
            )],
            Some(&AppendCondition::new(query, read.head)),
        )
        .await;
    assert!(late.is_err_and(|e| e.is_condition_failed()));
}

/// An event-sourced aggregate in the same model: its stream's expected
/// version and a condition on its tag, checked together; two commands from
/// the same state cannot both commit.
pub async fn dcb_event_sourced_aggregate<S: DcbStore>(store: S) {
    let id = uuid::Uuid::now_v7();
    let stream = StreamId::new(format!("course-{id}")).expect("stream id");
    let tag = Tag::pair("course", id).expect("tag");
    let query = Query::from_items([QueryItem::tags([tag.clone()])]);
    let rename = |title: &str| vec![event("CourseRenamed", json!({ "title": title }), &[&tag])];
    store
        .append_tagged(&stream, ExpectedVersion::NoStream, rename("first"), None)
        .await
        .expect("create");
    let read = store.read_query(&query, None, None).await.expect("load");
    assert_eq!(read.events.len(), 1);
    let version = read.events.last().map_or(0, |e| e.event.version);
    let condition = AppendCondition::new(query.clone(), read.head);
    store
        .append_tagged(
            &stream,
            ExpectedVersion::Exact(version),
            rename("second"),
            Some(&condition),
        )
        .await
        .expect("the first command commits");
    let stale = store
        .append_tagged(
            &stream,
            ExpectedVersion::Any,
            rename("third"),
            Some(&condition),
        )
        .await;
    assert!(stale.is_err_and(|e| e.is_condition_failed()));
    let stale = store
        .append_tagged(
            &stream,
            ExpectedVersion::Exact(version),
            rename("third"),
            None,
        )
        .await;
    assert!(stale.is_err_and(|e| e.is_conflict()));
    let state = store.read_query(&query, None, None).await.expect("load");
    let titles: Vec<&str> = state
        .events
        .iter()
        .map(|e| e.event.payload["title"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(titles, ["first", "second"]);
    assert_eq!(state.events[1].event.stream_id, stream);
}
