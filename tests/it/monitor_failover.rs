//! Monitoring uploads (content, redaction, switch) and domain fail-over (prober_dns).

use std::time::Duration;

use crate::common::*;
use cloud_pay_sdk as sdk;
use serde_json::json;

fn quiet_sandbox() -> Sandbox {
    let mut opts = SandboxOptions::demo();
    opts.config.monitor_interval_secs = 0; // keep the client's (test) interval
    Sandbox::start(opts).unwrap()
}

#[test]
fn every_call_is_recorded_and_uploaded_without_secrets() {
    let _g = serial();
    let sb = quiet_sandbox();
    let mut conf: serde_json::Value = serde_json::from_str(&conf(
        &sb.http_base_url(),
        None,
        json!({"upload_monitor": 1, "upload_monitor_interval": 0.2}),
    ))
    .unwrap();
    conf["trade_conf"]["private_key"] = private_key_pem().into();
    assert_eq!(init(&conf.to_string()), 0, "{}", errmsg());
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 3)).0, 0);
    assert_eq!(query_order(&no, 1).0, 0, "answered from memory: no HTTP call");
    assert_eq!(query_order(&order_no(), 1).0, sdk::CLOUD_PAY_ORDER_NOT_EXIST, "a live query");
    assert_eq!(
        refund(
            &json!({"out_trade_no": no, "out_refund_no": format!("{}R", &no[..31]), "total_fee": 3, "refund_fee": 1})
        )
        .0,
        0
    );
    let uploads = wait_for(Duration::from_secs(10), || {
        let u = sb.control().monitor_uploads();
        let all = serde_json::to_string(&u).unwrap();
        (all.contains("\"interface\":100") && all.contains("\"interface\":104") && all.contains("\"interface\":106"))
            .then_some(u)
    })
    .expect("records uploaded");
    let results: Vec<serde_json::Value> = uploads
        .iter()
        .flat_map(|u| u["uncompressed_monitor_info"]["client_int_results"].as_array().cloned().unwrap_or_default())
        .collect();
    let pay = results.iter().find(|r| r["interface"] == 100).unwrap();
    assert_eq!(pay["status"], 0);
    assert!(pay["log_id"].as_i64().unwrap() > 0);
    assert!(pay["time_cost"].as_i64().unwrap() >= 0 && pay["start_time"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(pay["domain_name"], sb.http_base_url().trim_end_matches('/'));
    assert!(results.iter().any(|r| r["interface"] == 106), "query_order recorded");
    assert_eq!(uploads[0]["out_sub_mch_id"], "sz01TESTSUBMCH000001");
    assert!(uploads[0]["uncompressed_monitor_info"]["machine_info"].as_str().unwrap().contains("cpu_num"));
    // The configuration upload went once.
    let confs = sb.control().conf_uploads();
    assert_eq!(confs.len(), 1);
    assert!(confs[0]["machine_info"].as_str().unwrap().contains("cpu_num"));
    // No payment code, key or signature in anything uploaded.
    let text = serde_json::to_string(&(uploads, confs)).unwrap();
    for secret in [WX_PAYS_AT_ONCE, "TESTONLY0123456789ABCDEFGHIJKLMN", "PRIVATE KEY", "authen_code", "\"sign\""] {
        assert!(!text.contains(secret), "upload contains {secret}");
    }
    sdk::cloud_pay_fini();
    sb.stop();
}

#[test]
fn upload_monitor_0_sends_nothing_and_a_failing_upload_never_touches_payments() {
    let _g = serial();
    let sb = quiet_sandbox();
    assert_eq!(init(&conf(&sb.http_base_url(), None, json!({"upload_monitor": 0, "upload_monitor_interval": 0.1}))), 0);
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 3)).0, 0);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        sb.control().request_count("upload_client_monitor_info")
            + sb.control().request_count("upload_client_conf_info"),
        0
    );
    sdk::cloud_pay_fini();
    // Uploads that fail (rejected, dropped) leave every payment call as it would be.
    sb.control().add_fault(fault("upload_client_monitor_info", FaultKind::Status101, None));
    sb.control().add_fault(fault("upload_client_conf_info", FaultKind::DropMidReply, None));
    assert_eq!(init(&conf(&sb.http_base_url(), None, json!({"upload_monitor": 1, "upload_monitor_interval": 0.1}))), 0);
    for _ in 0..5 {
        let no = order_no();
        let (code, _, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 3));
        assert_eq!((code, err.as_str()), (0, ""));
        assert_eq!(query_order(&no, 1).0, 0);
    }
    assert!(wait_requests(&sb, "upload_client_monitor_info", 2), "uploads were attempted");
    assert_eq!(errmsg(), "", "the uploader never writes this thread's errmsg");
    sdk::cloud_pay_fini();
    sb.stop();
}

fn prober_conf(primary: &str, others: &[String]) -> String {
    conf(primary, None, json!({"prober_dns": 1, "domain_list": others, "micro_pay_query_order_interval": 0.1}))
}

#[test]
fn a_stopped_domain_fails_over_to_the_healthy_one() {
    let _g = serial();
    let sb1 = start_sandbox();
    let sb2 = start_sandbox();
    assert_eq!(init(&prober_conf(&sb1.http_base_url(), &[sb2.http_base_url()])), 0, "{}", errmsg());
    assert!(sb1.control().request_count("ping") >= 1, "probed at init");
    let no = order_no();
    assert_eq!(micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 5)).0, 0);
    assert_eq!(sb1.control().charge_count(&no), 1, "the first healthy domain takes payments");
    sb1.stop();
    // Nothing can reach sb1: the identical request goes to sb2 and is paid there.
    let no2 = order_no();
    let (code, _, err) = micro_pay(&pay_req(&no2, WX_PAYS_AT_ONCE, 6));
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "", "failed over without an unknown outcome");
    assert_eq!(sb2.control().charge_count(&no2), 1);
    assert_eq!(query_order(&no2, 1).0, 0, "its queries follow it to sb2");
    sdk::cloud_pay_fini();
    sb2.stop();
}

#[test]
fn without_prober_dns_there_is_no_fail_over() {
    let _g = serial();
    let sb1 = start_sandbox();
    let sb2 = start_sandbox();
    let url1 = sb1.http_base_url();
    assert_eq!(init(&conf(&url1, None, json!({"prober_dns": 0, "domain_list": [sb2.http_base_url()]}))), 0);
    sb1.stop();
    let no = order_no();
    let (code, _, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 6));
    // Nothing reached any server ("not sent" is known, -1), and sb2 was not tried.
    assert_eq!(code, -1, "not sent: {err}");
    assert!(err.starts_with("nothing was sent: "), "{err}");
    assert_eq!(sb2.control().request_count("micro_pay") + sb2.control().request_count("ping"), 0);
    sdk::cloud_pay_fini();
    sb2.stop();
}

#[test]
fn an_order_stays_on_its_domain_while_that_domain_is_up() {
    let _g = serial();
    let sb1 = start_sandbox();
    let sb2 = start_sandbox();
    let addr1: std::net::SocketAddr =
        sb1.http_base_url().trim_start_matches("http://").trim_end_matches("/cpay/").parse().unwrap();
    let url1 = sb1.http_base_url();
    sb1.stop();
    assert_eq!(init(&prober_conf(&url1, &[sb2.http_base_url()])), 0);
    // sb1 is down at init: the order goes to sb2 and its customer pays there after 1 s.
    let a = order_no();
    assert_eq!(micro_pay(&pay_req(&a, &wx_code(1, 10), 7)).0, 0);
    assert_eq!(sb2.control().request_count("micro_pay"), 1);
    // sb1 comes back on the same port, and a lost reply from sb2 makes the SDK probe again:
    // new calls now go to sb1 (first healthy), but order A stays on sb2, which is still up.
    let mut opts = SandboxOptions::demo();
    opts.http_addr = Some(addr1);
    let sb1 = Sandbox::start(opts).unwrap();
    sb2.control().add_fault(fault("query_refund_order", FaultKind::DropMidReply, Some(1)));
    assert_eq!(query_refund(&json!({"out_trade_no": a, "pay_platform": 1})).0, sdk::CLOUD_PAY_UNKNOWN);
    let c = order_no();
    assert_eq!(micro_pay(&pay_req(&c, WX_PAYS_AT_ONCE, 8)).0, 0);
    assert_eq!(sb1.control().charge_count(&c), 1, "new payments use the recovered first domain");
    assert!(wait_paid(&a, 1), "order A was followed on sb2 until paid");
    assert_eq!(sb2.control().charge_count(&a), 1);
    assert_eq!(sb1.control().request_count("query_order"), 0, "A was never queried on sb1");
    sdk::cloud_pay_fini();
    sb1.stop();
    sb2.stop();
}
