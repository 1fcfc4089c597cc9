//! Payments over a weak link: the SDK talks HTTPS to the sandbox through a shaping relay on
//! loopback (300 ms round trip with jitter, 2 % of segments stalled 0.2–3 s, and a profile
//! that also goes dead for seconds). Slow is allowed; a wrong answer is not: a customer who
//! pays is never reported "failed", one whose payment fails is never reported "paid".

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::*;
use cloud_pay_sandbox::{LinkProfile, Relay};
use cloud_pay_sdk::{CLOUD_PAY_FAIL, CLOUD_PAY_ORDER_FAILED, CLOUD_PAY_ORDER_PAID};
use serde_json::json;

/// What the customer does, and the final answer it must lead to.
#[derive(Clone, Copy, Debug)]
enum Customer {
    PaysAtOnce,
    PaysAfterASecond,
    FundsShort,
}

impl Customer {
    fn code(self) -> String {
        match self {
            Customer::PaysAtOnce => WX_PAYS_AT_ONCE.to_owned(),
            Customer::PaysAfterASecond => wx_code(1, 10),
            Customer::FundsShort => wx_code(3, 10),
        }
    }

    fn pays(self) -> bool {
        !matches!(self, Customer::FundsShort)
    }
}

/// Pays, then queries until the answer is final. Panics on any answer that contradicts what
/// the customer did; returns how many query_order calls said "unknown" on the way.
fn pay_and_settle(customer: Customer) -> u32 {
    let no = order_no();
    let (code, _, err) = micro_pay(&pay_req(&no, &customer.code(), 1));
    assert!(!(customer.pays() && code == CLOUD_PAY_FAIL), "{customer:?}: micro_pay said failed: {err}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut unknown = 0;
    loop {
        let (code, _, err) = query_order(&no, 1);
        match code {
            CLOUD_PAY_ORDER_PAID => {
                assert!(customer.pays(), "{customer:?} reported paid");
                return unknown;
            }
            CLOUD_PAY_ORDER_FAILED => {
                assert!(!customer.pays(), "{customer:?} reported failed: {err}");
                return unknown;
            }
            _ => unknown += 1,
        }
        assert!(Instant::now() < deadline, "{customer:?}: no final answer in 60 s (last {code}: {err})");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn run(profile: LinkProfile, payments_per_till: usize) {
    let sb = start_sandbox();
    let https: SocketAddr =
        sb.https_base_url().trim_start_matches("https://").trim_end_matches("/cpay/").parse().unwrap();
    let relay = Relay::start(https, profile.clone(), 7).unwrap();
    let base = format!("https://{}/cpay/", relay.addr());
    let extra = json!({"timeout_ms": 4000, "connect_timeout_ms": 3000, "micro_pay_query_order_interval": 0.5});
    assert_eq!(init(&conf(&base, Some(&sb.ca_file()), extra)), 0, "{}", errmsg());
    let customers = [Customer::PaysAtOnce, Customer::PaysAfterASecond, Customer::FundsShort];
    // Four tills' worth of calls at once on one SDK instance.
    let tills: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                (0..payments_per_till).map(|i| pay_and_settle(customers[(t + i) % 3])).sum::<u32>()
            })
        })
        .collect();
    let unknown: u32 = tills.into_iter().map(|h| h.join().unwrap()).sum();
    cloud_pay_sdk::cloud_pay_fini();
    eprintln!(
        "{profile:?}: {} payments, {unknown} interim unknown answers, {} connections",
        4 * payments_per_till,
        relay.connections()
    );
}

#[test]
fn payments_over_a_lossy_link_end_with_the_true_result() {
    let _g = serial();
    run(LinkProfile::lossy(), 4);
}

#[test]
fn payments_across_a_dead_link_end_with_the_true_result() {
    let _g = serial();
    // Dead for 5 s of every 8 s: calls time out mid-request and are settled by querying.
    run(LinkProfile::stalling(Duration::from_secs(8), Duration::from_secs(5)), 3);
}
