//! `common_conf.use_system_roots`: servers verified against the operating system's trust store
//! (for shops whose network inspects TLS with a CA their IT installed there), through the C
//! exports against the HTTPS sandbox. On Linux the system store can be pointed at a file with
//! `SSL_CERT_FILE`, which this test does for its own length (the SDK reads the store only for
//! a configuration with `use_system_roots`, and only this test has one).

use crate::common::*;
use cloud_pay_sdk as sdk;
use serde_json::json;

#[test]
fn system_roots_trust_the_store_and_only_the_store() {
    let g = serial();
    let sb = start_sandbox();
    let store = fresh_state_dir().join("system-store.pem");
    std::fs::write(&store, sb.ca_pem()).unwrap();
    let _store = EnvVar::set(&g, "SSL_CERT_FILE", &store);

    // The sandbox's CA is only in the "system" store: the built-in roots refuse it, and
    // nothing is sent.
    assert_eq!(init(&conf(&sb.https_base_url(), None, json!({}))), 0, "{}", errmsg());
    let no = order_no();
    let (code, _, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 100));
    assert_eq!(code, -1, "built-in roots do not trust the store's CA: {err}");
    assert!(err.contains("nothing was sent"), "{err}");
    sdk::cloud_pay_fini();

    // With use_system_roots the same server is trusted, and the payment goes through.
    assert_eq!(init(&conf(&sb.https_base_url(), None, json!({"use_system_roots": true}))), 0, "{}", errmsg());
    let no = order_no();
    let (code, _, err) = micro_pay(&pay_req(&no, WX_PAYS_AT_ONCE, 100));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = query_order(&no, 1);
    assert_eq!(code, sdk::CLOUD_PAY_ORDER_PAID, "{err}");
    assert_eq!(sb.control().charge_count(&no), 1);
    sdk::cloud_pay_fini();

    // ca_file and use_system_roots together are a configuration mistake, named at init.
    let code = init(&conf(&sb.https_base_url(), Some(&store), json!({"use_system_roots": true})));
    assert_ne!(code, 0);
    let err = errmsg();
    assert!(err.contains("ca_file") && err.contains("use_system_roots"), "{err}");

    sb.stop();
}
