//! The conformance suite: every guarantee of the event store contract, as
//! checks generic over any store.
//!
//! Each check takes a fresh, empty store and panics (it is test code) when the
//! store breaks the guarantee it is named after; one file per guarantee
//! group. Backends do not call them one by one; they use
//! [`conformance_tests!`](crate::conformance_tests), which makes one `#[test]`
//! per check, named after the guarantee:
//!
//! ```ignore
//! es_core::conformance_tests!(
//!     store: async { my_backend::Store::connect_fresh().await.unwrap() },
//!     projection: |store: my_backend::Store| async move { (store.checkpoints(), MyCounter) },
//! );
//! ```
//!
//! | test | check | file |
//! |---|---|---|
//! | `optimistic_concurrency_one_writer_wins` | [`optimistic_concurrency`] | `optimistic_concurrency.rs` |
//! | `resending_a_batch_writes_it_once` | [`idempotent_append`] | `idempotent_append.rs` |
//! | `a_batch_is_written_whole_or_not_at_all` | [`atomic_batch`] | `atomic_batch.rs` |
//! | `streams_read_back_in_version_order` | [`per_stream_order`] | `stream_order.rs` |
//! | `the_global_log_never_skips_a_late_commit` | [`global_log_never_skips`] | `global_log.rs` |
//! | `subscriptions_catch_up_then_follow_live` | [`catch_up_then_live`] | `catch_up.rs` |
//! | `projections_apply_each_event_exactly_once` | [`projection_exactly_once`] | `projections.rs` |
//! | `bad_stored_data_is_a_clear_error` | [`bad_stored_data_is_a_clear_error`] | `bad_stored_data.rs` |
//! | `hostile_values_round_trip_verbatim` | [`values_round_trip_verbatim`] | `round_trip.rs` |
//! | `numbers_round_trip_exactly` | [`numbers_round_trip_exactly`] | `round_trip.rs` |
//! | `over_limit_input_is_refused_and_nothing_written` | [`over_limit_input_is_refused_and_nothing_written`] | `input_limits.rs` |
//! | `at_limit_input_is_accepted_and_read_back_verbatim` | [`at_limit_input_is_accepted_and_read_back_verbatim`] | `input_limits.rs` |
//! | `a_cached_state_never_answers_for_the_store` | [`cached_state_never_answers_for_the_store`] | `cached_state.rs` |
//! | `a_resent_command_is_applied_once` | [`a_resent_command_is_applied_once`] | `idempotent_commands.rs` |
//!
//! Stores that also implement [`DcbStore`](crate::dcb::DcbStore) run the
//! dcb.events checks with
//! [`dcb_conformance_tests!`](crate::dcb_conformance_tests):
//!
//! | test | check | file |
//! |---|---|---|
//! | `dcb_racers_on_one_boundary_exactly_one_commits` | [`dcb_racers_on_one_boundary`] | `dcb_races.rs` |
//! | `dcb_disjoint_boundaries_never_conflict` | [`dcb_disjoint_boundaries_never_conflict`] | `dcb_races.rs` |
//! | `dcb_a_commit_during_a_read_is_detected` | [`dcb_commit_during_a_read_is_detected`] | `dcb_races.rs` |
//! | `dcb_positions_read_only_increase` | [`dcb_positions_only_increase`] | `dcb_races.rs` |
//! | `dcb_a_resent_append_returns_its_original_position` | [`dcb_resend_returns_the_original_position`] | `dcb_races.rs` |
//! | `dcb_plain_writers_cannot_slip_under_a_condition` | [`dcb_plain_writers_cannot_slip_under_a_condition`] | `dcb_races.rs` |
//! | `dcb_scenario_unique_username` | [`dcb_unique_username`] | `dcb_scenarios.rs` |
//! | `dcb_scenario_course_subscriptions` | [`dcb_course_subscriptions`] | `dcb_scenarios.rs` |
//! | `dcb_scenario_gap_free_invoice_numbers` | [`dcb_gap_free_invoice_numbers`] | `dcb_scenarios.rs` |
//! | `dcb_scenario_opt_in_token` | [`dcb_opt_in_token`] | `dcb_scenarios.rs` |
//! | `dcb_scenario_prevent_duplicates` | [`dcb_prevent_duplicates`] | `dcb_scenarios.rs` |
//! | `dcb_scenario_dynamic_product_price` | [`dcb_dynamic_product_price`] | `dcb_scenarios.rs` |
//! | `dcb_scenario_event_sourced_aggregate` | [`dcb_event_sourced_aggregate`] | `dcb_scenarios.rs` |
//!
//! Three checks need a store built a particular way, so backends call them
//! from tests of their own: [`projection_names_are_checked`] with the
//! backend's checkpoint store, [`projection_runner_on_one_connection`]
//! (`one_connection.rs`) with a store and checkpoint store sharing a pool of
//! one connection, and, for stores that also keep snapshots,
//! [`snapshots_follow_the_state_revision`] (`snapshot_revisions.rs`): it
//! needs a [`SnapshotStore`](crate::SnapshotStore), which the macro does not
//! ask for.

mod atomic_batch;
mod bad_stored_data;
mod cached_state;
mod catch_up;
mod counter;
mod dcb_races;
mod dcb_scenarios;
mod global_log;
mod idempotent_append;
mod idempotent_commands;
mod input_limits;
mod lost_reply;
mod one_connection;
mod optimistic_concurrency;
mod projection_names;
mod projections;
mod round_trip;
mod snapshot_revisions;
mod stream_order;
mod support;
mod ticket;

pub use atomic_batch::atomic_batch;
pub use bad_stored_data::bad_stored_data_is_a_clear_error;
pub use cached_state::cached_state_never_answers_for_the_store;
pub use catch_up::catch_up_then_live;
pub use counter::{Counter, CounterCommand, CounterEvent, NegativeIncrement};
pub use dcb_races::{
    dcb_commit_during_a_read_is_detected, dcb_disjoint_boundaries_never_conflict,
    dcb_plain_writers_cannot_slip_under_a_condition, dcb_positions_only_increase,
    dcb_racers_on_one_boundary, dcb_resend_returns_the_original_position,
};
pub use dcb_scenarios::{
    dcb_course_subscriptions, dcb_dynamic_product_price, dcb_event_sourced_aggregate,
    dcb_gap_free_invoice_numbers, dcb_opt_in_token, dcb_prevent_duplicates, dcb_unique_username,
};
pub use global_log::global_log_never_skips;
pub use idempotent_append::idempotent_append;
pub use idempotent_commands::a_resent_command_is_applied_once;
pub use input_limits::{
    at_limit_input_is_accepted_and_read_back_verbatim,
    over_limit_input_is_refused_and_nothing_written,
};
pub use lost_reply::LostReplyStore;
pub use one_connection::projection_runner_on_one_connection;
pub use optimistic_concurrency::optimistic_concurrency;
pub use projection_names::projection_names_are_checked;
pub use projections::{projection_exactly_once, CountingProjection};
pub use round_trip::{numbers_round_trip_exactly, values_round_trip_verbatim};
pub use snapshot_revisions::snapshots_follow_the_state_revision;
pub use stream_order::per_stream_order;
pub use ticket::{Ticket, TicketCommand, TicketEvent, TicketRefusal, TicketState, TicketStatus};

/// Runs the whole conformance suite against a backend, one `#[test]` per
/// guarantee, named after it.
///
/// `store:` is an expression evaluating to a future of a fresh, empty store
/// (it is evaluated once per test). The optional `projection:` is a closure
/// taking a clone of that store and returning a future of
/// `(checkpoint_store, counting_projection)` for the exactly-once projection check.
#[macro_export]
macro_rules! conformance_tests {
    (store: $store:expr $(,)?) => {
        $crate::conformance_tests!(@store $store);
    };
    (store: $store:expr, projection: $projection:expr $(,)?) => {
        $crate::conformance_tests!(@store $store);
        #[test]
        fn projections_apply_each_event_exactly_once() {
            $crate::testing::run(async {
                let store = $store.await;
                let (checkpoints, projection) = ($projection)(store.clone()).await;
                $crate::testing::conformance::projection_exactly_once(store, checkpoints, projection).await
            })
        }
    };
    (@store $store:expr) => {
        #[test]
        fn optimistic_concurrency_one_writer_wins() {
            $crate::testing::run(async { $crate::testing::conformance::optimistic_concurrency($store.await).await })
        }
        #[test]
        fn resending_a_batch_writes_it_once() {
            $crate::testing::run(async { $crate::testing::conformance::idempotent_append($store.await).await })
        }
        #[test]
        fn a_batch_is_written_whole_or_not_at_all() {
            $crate::testing::run(async { $crate::testing::conformance::atomic_batch($store.await).await })
        }
        #[test]
        fn streams_read_back_in_version_order() {
            $crate::testing::run(async { $crate::testing::conformance::per_stream_order($store.await).await })
        }
        #[test]
        fn the_global_log_never_skips_a_late_commit() {
            $crate::testing::run(async { $crate::testing::conformance::global_log_never_skips($store.await).await })
        }
        #[test]
        fn subscriptions_catch_up_then_follow_live() {
            $crate::testing::run(async { $crate::testing::conformance::catch_up_then_live($store.await).await })
        }
        #[test]
        fn bad_stored_data_is_a_clear_error() {
            $crate::testing::run(async { $crate::testing::conformance::bad_stored_data_is_a_clear_error($store.await).await })
        }
        #[test]
        fn hostile_values_round_trip_verbatim() {
            $crate::testing::run(async { $crate::testing::conformance::values_round_trip_verbatim($store.await).await })
        }
        #[test]
        fn numbers_round_trip_exactly() {
            $crate::testing::run(async { $crate::testing::conformance::numbers_round_trip_exactly($store.await).await })
        }
        #[test]
        fn over_limit_input_is_refused_and_nothing_written() {
            $crate::testing::run(async { $crate::testing::conformance::over_limit_input_is_refused_and_nothing_written($store.await).await })
        }
        #[test]
        fn at_limit_input_is_accepted_and_read_back_verbatim() {
            $crate::testing::run(async { $crate::testing::conformance::at_limit_input_is_accepted_and_read_back_verbatim($store.await).await })
        }
        #[test]
        fn a_cached_state_never_answers_for_the_store() {
            $crate::testing::run(async { $crate::testing::conformance::cached_state_never_answers_for_the_store($store.await).await })
        }
        #[test]
        fn a_resent_command_is_applied_once() {
            $crate::testing::run(async { $crate::testing::conformance::a_resent_command_is_applied_once($store.await).await })
        }
    };
}

/// Runs the dcb.events conformance checks against a
/// [`DcbStore`](crate::dcb::DcbStore), one `#[test]` per guarantee.
/// `store:` is as for [`conformance_tests!`](crate::conformance_tests).
#[macro_export]
macro_rules! dcb_conformance_tests {
    (store: $store:expr $(,)?) => {
        #[test]
        fn dcb_racers_on_one_boundary_exactly_one_commits() {
            $crate::testing::run(async {
                $crate::testing::conformance::dcb_racers_on_one_boundary($store.await).await
            })
        }
        #[test]
        fn dcb_disjoint_boundaries_never_conflict() {
            $crate::testing::run(async {
                $crate::testing::conformance::dcb_disjoint_boundaries_never_conflict($store.await)
                    .await
            })
        }
        #[test]
        fn dcb_a_commit_during_a_read_is_detected() {
            $crate::testing::run(async {
                $crate::testing::conformance::dcb_commit_during_a_read_is_detected($store.await)
                    .await
            })
        }
        #[test]
        fn dcb_positions_read_only_increase() {
            $crate::testing::run(async {
                $crate::testing::conformance::dcb_positions_only_increase($store.await).await
            })
        }
        #[test]
        fn dcb_a_resent_append_returns_its_original_position() {
            $crate::testing::run(async {
                $crate::testing::conformance::dcb_resend_returns_the_original_position($store.await)
                    .await
            })
        }
        #[test]
        fn dcb_plain_writers_cannot_slip_under_a_condition() {
            $crate::testing::run(async {
                $crate::testing::conformance::dcb_plain_writers_cannot_slip_under_a_condition(
                    $store.await,
                )
                .await
            })
        }
        #[test]
        fn dcb_scenario_unique_username() {
            $crate::testing::run(async {
                $crate::testing::conformance::dcb_unique_username($store.await).await
            })
        }
        #[test]
        fn dcb_scenario_course_subscriptions() {
            $crate::testing::run(async {
                $crate::testing::conformance::dcb_course_subscriptions($store.await).await
            })
        }
        #[test]
        fn dcb_scenario_gap_free_invoice_numbers() {
            $crate::testing::run(async {
                $crate::testing::conformance::dcb_gap_free_invoice_numbers($store.await).await
            })
        }
        #[test]
        fn dcb_scenario_opt_in_token() {
            $crate::testing::run(async {
                $crate::testing::conformance::dcb_opt_in_token($store.await).await
            })
        }
        #[test]
        fn dcb_scenario_prevent_duplicates() {
            $crate::testing::run(async {
                $crate::testing::conformance::dcb_prevent_duplicates($store.await).await
            })
        }
        #[test]
        fn dcb_scenario_dynamic_product_price() {
            $crate::testing::run(async {
                $crate::testing::conformance::dcb_dynamic_product_price($store.await).await
            })
        }
        #[test]
        fn dcb_scenario_event_sourced_aggregate() {
            $crate::testing::run(async {
                $crate::testing::conformance::dcb_event_sourced_aggregate($store.await).await
            })
        }
    };
}
