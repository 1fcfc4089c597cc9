//! Every FaultKind, both phases, times and filters.

mod common;
use std::time::Instant;

use cloud_pay_protocol::types::*;
use cloud_pay_protocol::{AuthCheck, StatusClass};
use cloud_pay_sandbox::{FaultKind, FaultPhase, FaultRule};
use common::*;

fn rule(kind: FaultKind, phase: Option<FaultPhase>) -> FaultRule {
    FaultRule { endpoint: Some("micro_pay".into()), out_trade_no: None, kind, times: Some(1), phase }
}

#[test]
fn status_faults_before_and_after_processing() {
    let sb = start();
    let c = Client::http(&sb);
    let ctl = sb.control();
    let cases = [
        (FaultKind::Status3, 3, 0, AuthCheck::Missing, StatusClass::Unknown),
        (FaultKind::Status101, 101, 0, AuthCheck::Missing, StatusClass::FailedFinal),
        (FaultKind::Status102, 102, 0, AuthCheck::Verified, StatusClass::FailedRetryNewNumber),
        (FaultKind::Status103, 103, 0, AuthCheck::Verified, StatusClass::Unknown),
        (FaultKind::Status104 { internal_status: 999 }, 104, 999, AuthCheck::Verified, StatusClass::FailedFinal),
        (FaultKind::ReEntry407, 104, 407, AuthCheck::Verified, StatusClass::ReEntry),
    ];
    for (kind, st, is, auth, class) in cases {
        for phase in [None, Some(FaultPhase::AfterProcessing)] {
            ctl.add_fault(rule(kind.clone(), phase));
            let n = no("st");
            let r = c.call::<MicroPay>(&micro(&n, WX_NOW, 100));
            assert_eq!(status(&r), (st, is), "{kind:?}");
            assert_eq!(r.auth, auth, "{kind:?}");
            assert_eq!(r.class, class, "{kind:?}");
            assert!(r.response.as_ref().unwrap().result.is_none());
            // Default phase (before) applies nothing; after-phase took the money.
            assert_eq!(ctl.charge_count(&n), u32::from(phase.is_some()), "{kind:?} {phase:?}");
            // The rule was used up: the identical retry goes through, charged once in all.
            let again = ok(&c.call::<MicroPay>(&micro(&n, WX_NOW, 100)));
            assert_eq!(again.order_content.unwrap().trade_state().unwrap().1, 2);
            assert_eq!(ctl.charge_count(&n), 1);
        }
    }
}

#[test]
fn envelope_corruptions_are_untrusted_but_applied() {
    let sb = start();
    let c = Client::http(&sb);
    let ctl = sb.control();
    for (kind, auth) in [
        (FaultKind::BadHmac, AuthCheck::Mismatch),
        (FaultKind::MissingAuthen, AuthCheck::Missing),
        (FaultKind::HmacOverOtherContent, AuthCheck::Mismatch),
    ] {
        ctl.add_fault(rule(kind.clone(), None));
        let n = no("env");
        let r = c.call::<MicroPay>(&micro(&n, WX_NOW, 100));
        assert_eq!(r.auth, auth, "{kind:?}");
        assert_eq!(r.class, StatusClass::Unknown, "{kind:?}: a status-0 reply without a valid HMAC is unknown");
        assert_eq!(status(&r).0, 0);
        assert_eq!(ctl.charge_count(&n), 1, "{kind:?} hits after processing by default");
        // BeforeProcessing: nothing applied.
        ctl.add_fault(rule(kind.clone(), Some(FaultPhase::BeforeProcessing)));
        let n = no("envb");
        let r = c.call::<MicroPay>(&micro(&n, WX_NOW, 100));
        assert_eq!(r.class, StatusClass::Unknown);
        assert!(ctl.order(&n).is_none(), "{kind:?} before processing");
    }
    // The HMAC of HmacOverOtherContent is genuine — for a different text.
    ctl.add_fault(rule(FaultKind::HmacOverOtherContent, None));
    let body = c.send_text(
        "micro_pay",
        cloud_pay_protocol::wire::to_text(&micro(&no("o"), WX_NOW, 1)),
        cloud_pay_protocol::Authenticator::Hmac(KEY),
    );
    let env = cloud_pay_protocol::ResponseEnvelope::parse(&body).unwrap();
    let code = env.authen_info.unwrap().a.unwrap().authen_code;
    assert_eq!(code.len(), 64);
    assert!(code.chars().all(|ch| ch.is_ascii_hexdigit() && !ch.is_ascii_lowercase()));
}

#[test]
fn transport_faults() {
    let sb = start();
    let c = Client::http(&sb);
    let ctl = sb.control();
    // Drop mid reply: the client errors, the order exists and was charged; the retry is idempotent.
    ctl.add_fault(rule(FaultKind::DropMidReply, None));
    let n = no("drop");
    let req = micro(&n, WX_NOW, 100);
    let env = cloud_pay_protocol::RequestEnvelope::seal(
        cloud_pay_protocol::wire::to_text(&req),
        cloud_pay_protocol::Authenticator::Hmac(KEY),
    );
    assert!(c.post("micro_pay", &env.to_body()).is_err(), "truncated reply is a transport error");
    assert_eq!(ctl.charge_count(&n), 1);
    ok(&c.call::<MicroPay>(&req));
    assert_eq!(ctl.charge_count(&n), 1);
    // Reset before reply: nothing applied by default; applied with AfterProcessing.
    for (phase, charged) in [(None, 0), (Some(FaultPhase::AfterProcessing), 1)] {
        ctl.add_fault(rule(FaultKind::ResetBeforeReply, phase));
        let n = no("rst");
        let env = cloud_pay_protocol::RequestEnvelope::seal(
            cloud_pay_protocol::wire::to_text(&micro(&n, WX_NOW, 100)),
            cloud_pay_protocol::Authenticator::Hmac(KEY),
        );
        assert!(c.post("micro_pay", &env.to_body()).is_err());
        assert_eq!(ctl.charge_count(&n), charged, "{phase:?}");
    }
    // HTTP 500 and a non-JSON body (applied).
    ctl.add_fault(rule(FaultKind::Http500, None));
    let n = no("500");
    let env = cloud_pay_protocol::RequestEnvelope::seal(
        cloud_pay_protocol::wire::to_text(&micro(&n, WX_NOW, 100)),
        cloud_pay_protocol::Authenticator::Hmac(KEY),
    );
    assert_eq!(c.post("micro_pay", &env.to_body()).unwrap().0, 500);
    assert_eq!(ctl.charge_count(&n), 1);
    ctl.add_fault(rule(FaultKind::NonJsonBody, None));
    let n = no("html");
    let env = cloud_pay_protocol::RequestEnvelope::seal(
        cloud_pay_protocol::wire::to_text(&micro(&n, WX_NOW, 100)),
        cloud_pay_protocol::Authenticator::Hmac(KEY),
    );
    let (code, body) = c.post("micro_pay", &env.to_body()).unwrap();
    assert_eq!(code, 200);
    let r = cloud_pay_protocol::envelope::open_reply::<MicroPay>(&body, KEY);
    assert_eq!(r.class, StatusClass::Unknown);
    assert!(r.response.is_none());
    assert_eq!(ctl.charge_count(&n), 1);
    // Delay: the reply takes at least that long; the request is applied.
    ctl.add_fault(rule(FaultKind::Delay { ms: 300 }, None));
    let n = no("dly");
    let t = Instant::now();
    ok(&c.call::<MicroPay>(&micro(&n, WX_NOW, 100)));
    assert!(t.elapsed().as_millis() >= 300);
    // Faults work on ping too (host failover tests).
    ctl.add_fault(FaultRule {
        endpoint: Some("ping".into()),
        out_trade_no: None,
        kind: FaultKind::Http500,
        times: Some(1),
        phase: None,
    });
    assert_eq!(c.get("ping").0, 500);
    assert_eq!(c.get("ping").0, 200);
}

#[test]
fn times_filters_and_clear() {
    let sb = start();
    let c = Client::http(&sb);
    let ctl = sb.control();
    // times: 2 → two hits, then normal.
    ctl.add_fault(FaultRule { times: Some(2), ..rule(FaultKind::Status103, None) });
    let n = no("t");
    let req = micro(&n, WX_NOW, 100);
    assert_eq!(status(&c.call::<MicroPay>(&req)).0, 103);
    assert_eq!(status(&c.call::<MicroPay>(&req)).0, 103);
    ok(&c.call::<MicroPay>(&req));
    // out_trade_no filter: only that order; endpoint filter: only that endpoint.
    let target = no("only");
    ctl.add_fault(FaultRule {
        endpoint: None,
        out_trade_no: Some(target.clone()),
        kind: FaultKind::Status3,
        times: None,
        phase: None,
    });
    ok(&c.call::<MicroPay>(&micro(&no("other"), WX_NOW, 1)));
    assert_eq!(status(&c.call::<MicroPay>(&micro(&target, WX_NOW, 1))).0, 3);
    assert_eq!(status(&c.call::<QueryOrder>(&query(&target))).0, 3, "any endpoint about that order");
    assert_eq!(status(&c.call::<MicroPay>(&micro(&target, WX_NOW, 1))).0, 3, "until cleared");
    ctl.clear_faults();
    ok(&c.call::<MicroPay>(&micro(&target, WX_NOW, 1)));
    let id = ctl.add_fault(FaultRule { endpoint: Some("query_order".into()), ..rule(FaultKind::Status3, None) });
    ok(&c.call::<MicroPay>(&micro(&no("e"), WX_NOW, 1)));
    assert!(ctl.remove_fault(id));
    ok(&c.call::<QueryOrder>(&query(&target)));
}

#[test]
fn faults_over_the_http_control_api() {
    let sb = start();
    let c = Client::http(&sb);
    let ctl_client = Client::with_base(sb.http_base_url().replace("/cpay/", "/sandbox/"), None);
    let (code, body) =
        ctl_client.post("fault", r#"{"endpoint":"micro_pay","kind":{"Delay":{"ms":300}},"times":1}"#).unwrap();
    assert_eq!(code, 200);
    assert!(json(&body)["id"].as_u64().unwrap() > 0);
    let (_, body) = ctl_client.post("faults", "").unwrap();
    assert_eq!(json(&body)[0]["rule"]["kind"]["Delay"]["ms"], 300);
    let t = Instant::now();
    ok(&c.call::<MicroPay>(&micro(&no("h"), WX_NOW, 1)));
    assert!(t.elapsed().as_millis() >= 300);
    let (code, _) = ctl_client.post("fault", r#"{"kind":"Status3"}"#).unwrap();
    assert_eq!(code, 200);
    assert_eq!(status(&c.call::<QueryOrder>(&query(&no("q")))).0, 3);
    assert_eq!(ctl_client.post("clear_faults", "{}").unwrap().0, 200);
    assert_eq!(status(&c.call::<QueryOrder>(&query(&no("q")))), (104, 400));
    assert_eq!(ctl_client.post("fault", r#"{"kind":"NoSuchKind"}"#).unwrap().0, 400);
}

#[test]
fn transport_faults_before_processing_apply_nothing() {
    let sb = start();
    let c = Client::http(&sb);
    let ctl = sb.control();
    for kind in [FaultKind::DropMidReply, FaultKind::Http500, FaultKind::NonJsonBody] {
        ctl.add_fault(rule(kind.clone(), Some(FaultPhase::BeforeProcessing)));
        let n = no("tb");
        let env = cloud_pay_protocol::RequestEnvelope::seal(
            cloud_pay_protocol::wire::to_text(&micro(&n, WX_NOW, 100)),
            cloud_pay_protocol::Authenticator::Hmac(KEY),
        );
        match c.post("micro_pay", &env.to_body()) {
            Ok((code, body)) => {
                let r = cloud_pay_protocol::envelope::open_reply::<MicroPay>(&body, KEY);
                assert!(code == 500 || r.class == StatusClass::Unknown, "{kind:?}");
            }
            Err(_) => assert_eq!(kind, FaultKind::DropMidReply),
        }
        assert!(ctl.order(&n).is_none(), "{kind:?} before processing applies nothing");
    }
    // A delay before processing still processes (late), like a slow server.
    ctl.add_fault(rule(FaultKind::Delay { ms: 200 }, Some(FaultPhase::BeforeProcessing)));
    let n = no("db");
    let t = Instant::now();
    ok(&c.call::<MicroPay>(&micro(&n, WX_NOW, 100)));
    assert!(t.elapsed().as_millis() >= 200);
    assert_eq!(ctl.charge_count(&n), 1);
}

#[test]
fn concurrent_identical_submissions_charge_once() {
    let sb = start();
    let n = no("cc");
    let req = micro(&n, WX_NOW, 100);
    let base = sb.http_base_url();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (req, base) = (req.clone(), base.clone());
            std::thread::spawn(move || {
                let c = Client::with_base(base, None);
                let r = ok(&c.call::<MicroPay>(&req));
                r.order_content.unwrap().transaction_id.unwrap()
            })
        })
        .collect();
    let ids: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "one order, one transaction");
    assert_eq!(sb.control().charge_count(&n), 1);
    assert_eq!(sb.control().request_count("micro_pay"), 8);
}
