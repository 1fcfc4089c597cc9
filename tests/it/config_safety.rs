//! Configuration that could weaken the channel: plain `http://` to a host other than this
//! machine is refused unless asked for, and settings picked up from outside the configuration
//! text (the environment, the working directory) are named in the notice after init.

use crate::common::*;
use serde_json::json;

use cloud_pay_sdk::{CLOUD_PAY_FAIL, CLOUD_PAY_OK};

#[test]
fn plain_http_is_refused_for_a_lan_host_and_allowed_with_the_flag() {
    let _g = serial();
    // TEST-NET-1: never reached (no keep-alive ping, no prober), only configured.
    let lan = "http://192.0.2.10:8080/cpay/";
    let quiet = json!({"keep_alive_ping_interval": 0});
    assert_eq!(init(&conf(lan, None, quiet.clone())), CLOUD_PAY_FAIL);
    let e = errmsg();
    assert!(e.contains("common_conf.base_url") && e.contains("allow_insecure_http"), "{e}");

    let mut allowed = quiet.clone();
    allowed["allow_insecure_http"] = true.into();
    assert_eq!(init(&conf(lan, None, allowed)), CLOUD_PAY_OK, "{}", errmsg());
    cloud_pay_sdk::cloud_pay_fini();

    // A fail-over domain is held to the same rule.
    let mut list = quiet.clone();
    list["prober_dns"] = 1.into();
    list["domain_list"] = json!(["http://192.0.2.11/cpay/"]);
    assert_eq!(init(&conf("https://127.0.0.1:1/cpay/", None, list)), CLOUD_PAY_FAIL);
    assert!(errmsg().contains("common_conf.domain_list"), "{}", errmsg());

    // Loopback stays allowed: the sandbox tests and a local test server rely on it.
    assert_eq!(init(&conf("http://127.0.0.1:1/cpay/", None, quiet.clone())), CLOUD_PAY_OK, "{}", errmsg());
    assert_eq!(init(&conf("http://localhost:1/cpay/", None, quiet)), CLOUD_PAY_OK, "{}", errmsg());
    cloud_pay_sdk::cloud_pay_fini();
}

#[test]
fn a_base_url_from_the_environment_is_named_in_the_notice() {
    let g = serial();
    let quiet = json!({"keep_alive_ping_interval": 0});
    let env = EnvVar::set(&g, "CLOUDPAY_BASE_URL", "http://127.0.0.1:9/cpay/");
    let code = init(&conf("https://pay.qcloud.com/cpay/", None, quiet.clone()));
    let notice = errmsg();
    drop(env);
    // The environment's URL is checked like the configured one.
    let env = EnvVar::set(&g, "CLOUDPAY_BASE_URL", "http://192.0.2.10/cpay/");
    let refused = init(&conf("https://pay.qcloud.com/cpay/", None, quiet));
    let refused_msg = errmsg();
    drop(env);
    cloud_pay_sdk::cloud_pay_fini();
    assert_eq!(code, CLOUD_PAY_OK, "{notice}");
    assert!(notice.contains("CLOUDPAY_BASE_URL") && notice.contains("http://127.0.0.1:9/cpay/"), "{notice:?}");
    assert_eq!(refused, CLOUD_PAY_FAIL);
    assert!(refused_msg.contains("CLOUDPAY_BASE_URL") && refused_msg.contains("allow_insecure_http"), "{refused_msg}");
}
