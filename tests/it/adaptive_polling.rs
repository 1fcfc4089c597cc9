//! The adaptive result-poll schedule (`common_conf.micro_pay_query_order_schedule`) against
//! the sandbox: it finds a payment sooner, and never sends more than
//! `micro_pay_query_order_count` background queries. Assertions are on query counts; the
//! times come from the pure schedule (`schedule`), not from the wall clock.

use std::time::Duration;

use crate::common::*;
use cloud_pay_sdk as sdk;
use sdk::schedule::{PollSchedule, poll_offsets};
use serde_json::json;

fn adaptive_conf(sb: &Sandbox, interval: f64) -> String {
    conf(
        &sb.http_base_url(),
        None,
        json!({"micro_pay_query_order_schedule": "adaptive", "micro_pay_query_order_interval": interval, "micro_pay_query_order_count": 25}),
    )
}

/// Whether the SDK already knows the order's final state (read without sending anything).
fn known_final(no: &str) -> bool {
    sdk::ffi::current().ok().and_then(|rt| rt.trade.record(no)).is_some_and(|r| r.cached_final)
}

#[test]
fn adaptive_schedule_finds_a_payment_before_the_first_fixed_poll() {
    let _g = serial();
    let sb = start_sandbox();
    let interval = Duration::from_millis(1200);
    assert_eq!(init(&adaptive_conf(&sb, interval.as_secs_f64())), 0, "{}", errmsg());
    let adaptive = poll_offsets(PollSchedule::Adaptive, 25, interval);
    let fixed = poll_offsets(PollSchedule::Fixed, 25, interval);
    // The customer pays 0.6 s after micro_pay: the fixed schedule's first query is at 1.2 s.
    let pay_after = Duration::from_millis(600);
    let first_after_payment = adaptive.iter().position(|t| *t >= pay_after).unwrap() + 1;

    let no = order_no();
    let (code, _, err) = micro_pay(&pay_req(&no, &wx_code(1, 6), 9));
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_for(Duration::from_secs(10), || known_final(&no).then_some(())).is_some(),
        "the background loop found the payment"
    );
    let queries = sb.control().request_count("query_order") as usize;
    assert!(
        (1..=first_after_payment + 1).contains(&queries),
        "found after {queries} queries; the first poll after the payment is #{first_after_payment}"
    );
    assert!(
        adaptive[queries - 1] < fixed[0],
        "query #{queries} is due at {:?}, before the fixed schedule's first at {:?}",
        adaptive[queries - 1],
        fixed[0]
    );

    // The answer now comes from memory, and the loop has stopped.
    assert_eq!(query_order(&no, 1).0, 0);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sb.control().request_count("query_order") as usize, queries, "no query after the final state");
    assert_eq!(sb.control().charge_count(&no), 1);
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn adaptive_schedule_never_exceeds_the_configured_count() {
    let _g = serial();
    let sb = start_sandbox();
    // A short window (25 × 0.06 s = 1.5 s) and a customer who never confirms.
    assert_eq!(init(&adaptive_conf(&sb, 0.06)), 0, "{}", errmsg());
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, &wx_code(4, 0), 9)).0, 0);
    assert!(wait_requests(&sb, "query_order", 25), "all 25 polls were sent");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(sb.control().request_count("query_order"), 25, "exactly micro_pay_query_order_count background queries");
    assert_eq!(sb.control().charge_count(&no), 0);
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn an_unknown_schedule_name_is_a_configuration_error() {
    let _g = serial();
    let sb = start_sandbox();
    let bad = conf(&sb.http_base_url(), None, json!({"micro_pay_query_order_schedule": "fast"}));
    assert_eq!(init(&bad), -1);
    assert!(errmsg().contains("common_conf.micro_pay_query_order_schedule"), "{}", errmsg());
    sb.stop();
}
