//! The dashboard's control actions over real sockets, exactly as the page (or a script) POSTs
//! them: the customer pays / cancels / keeps paying, a refund succeeds / fails / stays
//! processing, faults for the next N requests in the shapes the page sends, the live order
//! list, the QR image of a scan-code order, and the page itself.

mod common;

use cloud_pay_protocol::StatusClass;
use cloud_pay_protocol::types::*;
use cloud_pay_sandbox::Sandbox;
use common::*;
use serde_json::{Value, json};

/// WeChat code whose customer never confirms (stays "paying" until a dashboard action).
const WX_NEVER: &str = "139400000000000000";
/// Alipay code whose customer never confirms.
const ALI_NEVER: &str = "289400000000000000";
/// WeChat code that pays after 0.3 s.
const WX_SOON: &str = "139100300000000000";

fn control(sb: &Sandbox) -> Client {
    Client::with_base(sb.http_base_url().replace("/cpay/", "/sandbox/"), None)
}

/// POST a control action; (HTTP status, JSON reply).
fn act(ctl: &Client, action: &str, body: Value) -> (u16, Value) {
    let (code, body) = ctl.post(action, &body.to_string()).expect("transport");
    (code, json(&body))
}

fn matrix(q: &qrcode::QrCode) -> Vec<Vec<bool>> {
    let n = q.width();
    let colors = q.to_colors();
    (0..n).map(|r| (0..n).map(|c| colors[r * n + c] == qrcode::Color::Dark).collect()).collect()
}

fn attr<'a>(tag: &'a str, name: &str) -> &'a str {
    let start = tag.find(&format!(" {name}=\"")).unwrap_or_else(|| panic!("no {name} in {tag}")) + name.len() + 3;
    &tag[start..start + tag[start..].find('"').unwrap()]
}

/// The module matrix of the qrcode crate's SVG (a 4-module quiet zone; each dark rectangle
/// is `M{x} {y}h{w}v{h}H{x}V{y}` in pixels), as tests/console.rs reads the login page's.
fn svg_modules(svg: &str, modules: usize) -> Vec<Vec<bool>> {
    let svg = &svg[svg.find("<svg").expect("an svg element")..];
    let tag = &svg[..svg.find('>').unwrap()];
    let width: usize = attr(tag, "width").parse().unwrap();
    assert!(width >= 200 && width.is_multiple_of(modules + 8), "{width}px for {modules} modules");
    let unit = width / (modules + 8);
    let d = attr(&svg[svg.find("<path").expect("a path")..], "d");
    let mut m = vec![vec![false; modules]; modules];
    for rect in d.split('M').filter(|s| !s.is_empty()) {
        let n: Vec<usize> =
            rect.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
        let [x, y, w, h, ..] = n[..] else { panic!("unexpected path segment {rect}") };
        for row in y / unit..(y + h) / unit {
            for col in x / unit..(x + w) / unit {
                m[row - 4][col - 4] = true;
            }
        }
    }
    m
}

fn order_json(ctl: &Client, no: &str) -> Value {
    let (code, v) = act(ctl, "order", json!({"out_trade_no": no}));
    assert_eq!(code, 200, "{v}");
    v["order"].clone()
}

#[test]
fn customer_pays_cancels_or_keeps_paying_a_micro_pay_order() {
    let sb = start();
    let c = Client::http(&sb);
    let ctl = control(&sb);

    // Pays: WeChat 9 → 1 (micro pay success), charged exactly once; a second press is refused.
    let n = no("dp");
    ok(&c.call::<MicroPay>(&micro(&n, WX_NEVER, 1234)));
    assert_eq!(state_of(&c, &n), (PayPlatform::WXPAY, WxpayOrderState::USER_PAYING.0));
    assert_eq!(act(&ctl, "customer", json!({"out_trade_no": n, "action": "Pay"})), (200, json!({"ok": true})));
    assert_eq!(state_of(&c, &n), (PayPlatform::WXPAY, WxpayOrderState::MICRO_PAY_SUCCESS.0));
    let o = order_json(&ctl, &n);
    assert_eq!(
        (o["charge_count"].as_u64(), o["paid"].as_bool(), o["is_final"].as_bool()),
        (Some(1), Some(true), Some(true))
    );
    let (code, v) = act(&ctl, "customer", json!({"out_trade_no": n, "action": "Pay"}));
    assert_eq!(code, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("not waiting"), "{v}");
    assert_eq!(sb.control().charge_count(&n), 1);

    // Cancels: WeChat 5 (stopped, final), nothing charged; Alipay 5 (closed).
    let n = no("dc");
    ok(&c.call::<MicroPay>(&micro(&n, WX_NEVER, 100)));
    assert_eq!(act(&ctl, "customer", json!({"out_trade_no": n, "action": "Cancel"})).0, 200);
    assert_eq!(state_of(&c, &n), (PayPlatform::WXPAY, WxpayOrderState::STOPPED.0));
    assert_eq!(sb.control().charge_count(&n), 0);
    let a = no("da");
    ok(&c.call::<MicroPay>(&micro(&a, ALI_NEVER, 100)));
    assert_eq!(state_of(&c, &a), (PayPlatform::ALIPAY, AlipayOrderState::WAIT_BUYER_PAY.0));
    assert_eq!(act(&ctl, "customer", json!({"out_trade_no": a, "action": "Cancel"})).0, 200);
    assert_eq!(state_of(&c, &a), (PayPlatform::ALIPAY, AlipayOrderState::CLOSED.0));

    // Keeps paying: the code would pay after 0.3 s; held, it still pays only when told to.
    let n = no("dk");
    ok(&c.call::<MicroPay>(&micro(&n, WX_SOON, 100)));
    assert_eq!(act(&ctl, "customer", json!({"out_trade_no": n, "action": "KeepPaying"})).0, 200);
    sleep_ms(700);
    assert_eq!(state_of(&c, &n), (PayPlatform::WXPAY, WxpayOrderState::USER_PAYING.0), "held as paying");
    assert_eq!(sb.control().charge_count(&n), 0);
    assert_eq!(act(&ctl, "customer", json!({"out_trade_no": n, "action": "Pay"})).0, 200);
    assert_eq!(state_of(&c, &n), (PayPlatform::WXPAY, WxpayOrderState::MICRO_PAY_SUCCESS.0));

    // Unknown order, bad action: 409 / 400 with an error.
    assert_eq!(act(&ctl, "customer", json!({"out_trade_no": "sz0100testNOPE", "action": "Pay"})).0, 409);
    assert_eq!(act(&ctl, "customer", json!({"out_trade_no": n, "action": "Dance"})).0, 400);
}

#[test]
fn customer_pays_or_gives_up_a_scan_code_order() {
    let sb = start();
    let c = Client::http(&sb);
    let ctl = control(&sb);
    let n = no("ds");
    ok(&c.call::<ScanCodePay>(&scan(&n, 1, 888)));
    assert_eq!(act(&ctl, "customer", json!({"out_trade_no": n, "action": "Cancel"})).0, 200);
    assert_eq!(state_of(&c, &n), (PayPlatform::WXPAY, WxpayOrderState::NOT_PAY.0), "still waiting after giving up");
    assert_eq!(order_json(&ctl, &n)["customer_cancelled"], json!(true));
    assert_eq!(act(&ctl, "customer", json!({"out_trade_no": n, "action": "KeepPaying"})).0, 200);
    assert_eq!(order_json(&ctl, &n)["customer_cancelled"], json!(false));
    assert_eq!(act(&ctl, "customer", json!({"out_trade_no": n, "action": "Pay"})).0, 200);
    assert_eq!(state_of(&c, &n), (PayPlatform::WXPAY, WxpayOrderState::PAID.0));
    assert_eq!(sb.control().charge_count(&n), 1);
}

#[test]
fn refund_succeeds_fails_or_stays_processing() {
    let sb = start();
    let c = Client::http(&sb);
    let ctl = control(&sb);
    let n = no("dr");
    ok(&c.call::<MicroPay>(&micro(&n, WX_NOW, 1000)));
    let refund_state = |r: &str| {
        let q = ok(&c.call::<QueryRefundOrder>(&query_refund(&n, Some(r))));
        q.refund_order_content[0].wxpay_refund_order_content_ext.as_ref().unwrap().state.0
    };

    // Held processing well past the configured 1 s, then succeeds when told to.
    let r1 = format!("{n}R1");
    ok(&c.call::<Refund>(&refund_req(&n, &r1, 1000, 300)));
    assert_eq!(act(&ctl, "refund_outcome", json!({"out_refund_no": r1, "outcome": "Processing"})).0, 200);
    sleep_ms(1500);
    assert_eq!(refund_state(&r1), WxpayRefundState::PROCESSING.0, "held processing");
    assert_eq!(act(&ctl, "refund_outcome", json!({"out_refund_no": r1, "outcome": "Success"})).0, 200);
    assert_eq!(refund_state(&r1), WxpayRefundState::SUCCESS.0);

    // Fails now: its amount is freed (700 more can still be refunded).
    let r2 = format!("{n}R2");
    ok(&c.call::<Refund>(&refund_req(&n, &r2, 1000, 700)));
    assert_eq!(act(&ctl, "refund_outcome", json!({"out_refund_no": r2, "outcome": "Fail"})).0, 200);
    assert_eq!(refund_state(&r2), WxpayRefundState::FAIL.0);
    let o = order_json(&ctl, &n);
    assert_eq!(o["refunded_fee"], json!(300), "{o}");
    ok(&c.call::<Refund>(&refund_req(&n, &format!("{n}R3"), 1000, 700)));

    // A final refund cannot change any more; unknown refunds are refused.
    let (code, v) = act(&ctl, "refund_outcome", json!({"out_refund_no": r2, "outcome": "Success"}));
    assert_eq!(code, 409, "{v}");
    assert_eq!(act(&ctl, "refund_outcome", json!({"out_refund_no": "sz0100testNONE", "outcome": "Fail"})).0, 409);
}

#[test]
fn orders_list_is_newest_first_with_refunds_and_waiting_flags() {
    let sb = start();
    let c = Client::http(&sb);
    let ctl = control(&sb);
    assert_eq!(act(&ctl, "orders", json!({})).1, json!({"orders": [], "total": 0}));
    let paid = no("l1");
    ok(&c.call::<MicroPay>(&micro(&paid, WX_NOW, 500)));
    ok(&c.call::<Refund>(&refund_req(&paid, &format!("{paid}R"), 500, 200)));
    sleep_ms(20);
    let paying = no("l2");
    ok(&c.call::<MicroPay>(&micro(&paying, WX_NEVER, 600)));
    sleep_ms(20);
    let qr = no("l3");
    ok(&c.call::<ScanCodePay>(&scan(&qr, 2, 700)));

    let (code, v) = act(&ctl, "orders", json!({"limit": 50}));
    assert_eq!(code, 200);
    assert_eq!(v["total"], json!(3));
    let rows = v["orders"].as_array().unwrap();
    let nos: Vec<&str> = rows.iter().map(|o| o["out_trade_no"].as_str().unwrap()).collect();
    assert_eq!(nos, [qr.as_str(), paying.as_str(), paid.as_str()], "newest first");
    assert_eq!(rows.iter().map(|o| o["waiting"].as_bool().unwrap()).collect::<Vec<_>>(), [true, true, false]);
    assert!(rows[0]["code_url"].as_str().unwrap().starts_with("https://qr.alipay.com/"), "{}", rows[0]);
    let refunds = rows[2]["refunds"].as_array().unwrap();
    assert_eq!(
        (refunds.len(), refunds[0]["refund_fee"].as_i64(), refunds[0]["state"].as_i64()),
        (1, Some(200), Some(4))
    );
    assert_eq!(act(&ctl, "orders", json!({"limit": 1})).1["orders"].as_array().unwrap().len(), 1);

    // The dashboard's QR image of the scan-code order is an SVG document; unknown → 404.
    let root = Client::with_base(sb.http_base_url().replace("/cpay/", "/"), None);
    let (code, svg) = root.get(&format!("sandbox/console/qr?out_trade_no={qr}"));
    assert_eq!(code, 200);
    let svg = String::from_utf8(svg).unwrap();
    assert!(svg.contains("<svg") && svg.ends_with("</svg>"), "{svg}");
    let want = qrcode::QrCode::new(rows[0]["code_url"].as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(svg_modules(&svg, want.width()), matrix(&want), "the image encodes the order's code_url");
    assert_eq!(root.get("sandbox/console/qr?out_trade_no=sz0100testNONE").0, 404);

    // The page carries the parts the script and the browser test use.
    let (code, page) = root.get("sandbox/console/");
    assert_eq!(code, 200);
    let page = String::from_utf8(page).unwrap();
    for id in [
        "order-rows",
        "orders-empty",
        "fault-endpoint",
        "fault-kind",
        "fault-times",
        "fault-add",
        "fault-list",
        "pending-count",
    ] {
        assert!(page.contains(&format!("id=\"{id}\"")), "missing #{id}");
    }
    for action in ["'customer'", "'refund_outcome'", "'fault'", "post('orders'"] {
        assert!(page.contains(action), "page does not use {action}");
    }
    // Data reach the page as DOM text only: no HTML is ever built from it.
    assert!(!page.contains("innerHTML") && !page.contains("insertAdjacentHTML") && !page.contains("document.write"));
}

#[test]
fn faults_in_the_shapes_the_page_sends_hit_the_next_n_requests() {
    let sb = start();
    let c = Client::http(&sb);
    let ctl = control(&sb);
    let n = no("df");
    ok(&c.call::<MicroPay>(&micro(&n, WX_NOW, 100)));
    let cases = [
        (json!("Status3"), "query_order", StatusClass::Unknown),
        (json!("Status103"), "query_order", StatusClass::Unknown),
        (json!("BadHmac"), "query_order", StatusClass::Unknown),
        (json!("ReEntry407"), "micro_pay", StatusClass::ReEntry),
    ];
    // The identical micro_pay is idempotent: once the rule is used up it answers the order.
    let call = |ep: &str| match ep {
        "micro_pay" => c.call::<MicroPay>(&micro(&n, WX_NOW, 100)).class,
        _ => c.call::<QueryOrder>(&query(&n)).class,
    };
    for (kind, ep, class) in cases {
        let (code, v) = act(&ctl, "fault", json!({"kind": kind, "endpoint": ep, "times": 2}));
        assert_eq!(code, 200, "{v}");
        for i in 0..2 {
            assert_eq!(call(ep), class, "{kind} request {i}");
        }
        assert_eq!(act(&ctl, "faults", json!({})).1, json!([]), "{kind} used up after 2");
        assert_eq!(call(ep), StatusClass::Success, "{kind}: request 3 goes through");
    }
    // Drop and delay: transport failures for exactly N requests, scoped to one order.
    act(&ctl, "fault", json!({"kind": "DropMidReply", "endpoint": "query_order", "out_trade_no": n, "times": 1}));
    let env = cloud_pay_protocol::RequestEnvelope::seal(
        cloud_pay_protocol::wire::to_text(&query(&n)),
        cloud_pay_protocol::Authenticator::Hmac(KEY),
    );
    assert!(c.post("query_order", &env.to_body()).is_err(), "reply dropped midway");
    ok(&c.call::<QueryOrder>(&query(&n)));
    act(&ctl, "fault", json!({"kind": {"Delay": {"ms": 1200}}, "endpoint": "query_order", "times": 1}));
    let t = std::time::Instant::now();
    ok(&c.call::<QueryOrder>(&query(&n)));
    assert!(t.elapsed().as_millis() >= 1200);
    let t = std::time::Instant::now();
    ok(&c.call::<QueryOrder>(&query(&n)));
    assert!(t.elapsed().as_millis() < 1000, "only the next request was delayed");
}
