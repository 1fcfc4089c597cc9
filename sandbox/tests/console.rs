//! The web console: login page (QR code as inline SVG, Approve / Reject), status JSON, index,
//! 404s and HTML escaping. Over real sockets.

mod common;
use cloud_pay_protocol::Authenticator;
use cloud_pay_protocol::types::*;
use cloud_pay_sandbox::{Sandbox, SandboxOptions};
use common::*;
use qrcode::{Color, QrCode};

/// `client_initialize` for the demo shop, without authen_info (as a first-run cashier sends it).
fn login(c: &Client) -> ClientInitializeResult {
    let req = ClientInitializeRequest {
        out_sub_mch_id: SUB.into(),
        out_shop_id: Some(SHOP.into()),
        authorize_terminal_type: Some(AuthorizeTerminalType::PC),
        nonce_str: Some(nonce()),
    };
    ok(&c.call_with::<ClientInitialize>(&req, Authenticator::None))
}

/// (status code, headers in lower case, body) of a GET of `url` (`http://host:port/path?query`).
fn get(url: &str) -> (u16, String, String) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let raw = raw_http(host, format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes());
    let text = String::from_utf8(raw).expect("UTF-8 reply");
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, head.to_ascii_lowercase(), body.to_owned())
}

fn root(sb: &Sandbox) -> String {
    sb.http_base_url().trim_end_matches("cpay/").to_owned()
}

fn page(sb: &Sandbox, activator: &str) -> (u16, String, String) {
    get(&format!("{}sandbox/console/login?activator={activator}", root(sb)))
}

fn attr<'a>(tag: &'a str, name: &str) -> &'a str {
    let start = tag.find(&format!(" {name}=\"")).unwrap_or_else(|| panic!("no {name} in {tag}")) + name.len() + 3;
    let len = tag[start..].find('"').unwrap();
    &tag[start..start + len]
}

/// Reads the module matrix back out of the page's `<svg id="qr">`: the renderer's canvas is
/// `width` px for `modules + 2×4` quiet-zone modules; every dark rectangle is
/// `M{x} {y}h{w}v{h}H{x}V{y}` in pixels.
fn svg_modules(html: &str, modules: usize) -> Vec<Vec<bool>> {
    let start = html.find("<svg id=\"qr\"").expect("inline SVG with id=qr");
    let svg = &html[start..start + html[start..].find("</svg>").expect("closed svg")];
    let tag = &svg[..svg.find('>').unwrap()];
    let width: usize = attr(tag, "width").parse().unwrap();
    assert_eq!(attr(tag, "height"), attr(tag, "width"), "square");
    assert_eq!(width % (modules + 8), 0, "whole pixels per module");
    let unit = width / (modules + 8);
    assert!(width >= 200, "big enough to scan: {width}px");
    let path = svg.find("<path").map(|i| &svg[i..]).expect("a path");
    assert_eq!(attr(path, "fill"), "#000");
    let d = attr(path, "d");
    let mut m = vec![vec![false; modules]; modules];
    for rect in d.split('M').filter(|s| !s.is_empty()) {
        // "{x} {y}h{w}v{h}H{x}V{y}"
        let nums: Vec<usize> =
            rect.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
        let [x, y, w, h, x2, y2] = nums[..] else { panic!("unexpected path segment {rect}") };
        assert_eq!((x, y), (x2, y2), "closed rectangle {rect}");
        assert!(x % unit == 0 && y % unit == 0 && w % unit == 0 && h % unit == 0, "on the module grid: {rect}");
        for row in y / unit..(y + h) / unit {
            for col in x / unit..(x + w) / unit {
                assert!(
                    (4..modules + 4).contains(&row) && (4..modules + 4).contains(&col),
                    "dark module in the quiet zone: {rect}"
                );
                m[row - 4][col - 4] = true;
            }
        }
    }
    m
}

#[test]
fn login_page_is_html_with_the_qr_code_and_both_buttons() {
    let sb = start();
    let c = Client::http(&sb);
    let i = login(&c);
    // The QR code's URL is the page itself.
    let (code, head, html) = get(&i.qr_code_url);
    assert_eq!(code, 200, "{html}");
    assert!(head.contains("\r\ncontent-type: text/html; charset=utf-8\r\n"), "{head}");
    assert!(html.starts_with("<!DOCTYPE html>"));
    for needle in [
        "<svg id=\"qr\"",
        "<button id=\"approve\"",
        "<button id=\"reject\"",
        "id=\"status\"",
        ">pending</span>",
        &format!("data-activator=\"{}\"", i.activator),
        SUB,
        SHOP,
        "Sandbox Test Shop",
        "<input id=\"staff\"",
        "value=\"1001\"",
        "s left of 300 s",
    ] {
        assert!(html.contains(needle), "page lacks {needle}:\n{html}");
    }
    assert!(!html.contains(" disabled>"), "buttons enabled while pending");
    // Self-contained: no external scripts, styles or images.
    let outside_svg_and_url = html
        .replace("http://www.w3.org/2000/svg", "")
        .replace(&i.qr_code_url, "")
        .replace(r#"<link rel="icon" href="data:,">"#, "");
    for bad in ["<script src", "<link", "<img", "src=", "url(", "@import", "http://", "https://"] {
        assert!(!outside_svg_and_url.contains(bad), "external reference {bad}");
    }
    // The ttl left is counting down from the login's 300 s.
    let left: u64 = attr(&html[html.find("<div class=\"card login\"").unwrap()..], "data-left").parse().unwrap();
    assert!((290..=300).contains(&left), "{left}");
}

#[test]
fn svg_encodes_the_qr_code_url() {
    let sb = start();
    let c = Client::http(&sb);
    let i = login(&c);
    let (_, _, html) = page(&sb, &i.activator);
    let want = QrCode::new(i.qr_code_url.as_bytes()).unwrap();
    let n = want.width();
    let colors = want.to_colors();
    let expected: Vec<Vec<bool>> =
        (0..n).map(|r| (0..n).map(|col| colors[r * n + col] == Color::Dark).collect()).collect();
    let got = svg_modules(&html, n);
    assert_eq!(got, expected, "rendered modules differ from QrCode::new(qr_code_url)");
    // Another login has another code.
    let j = login(&c);
    let (_, _, other) = page(&sb, &j.activator);
    assert_ne!(svg_modules(&other, n), expected);
    // The URL is printed under the code, too.
    assert!(html.contains(&format!("id=\"qr-url\">{}</p>", i.qr_code_url)));
}

#[test]
fn status_json_follows_approve_reject_and_expire() {
    let sb = start();
    let c = Client::http(&sb);
    let ctl = Client::with_base(format!("{}sandbox/", root(&sb)), None);
    let status = |a: &str| {
        let (code, head, body) = get(&format!("{}sandbox/console/status?activator={a}", root(&sb)));
        assert!(head.contains("application/json"), "{head}");
        (code, json(body.as_bytes()))
    };
    let i = login(&c);
    let (code, s) = status(&i.activator);
    assert_eq!(code, 200);
    assert_eq!((s["status"].as_str(), s["ttl"].as_u64(), s["staff_id"].is_null()), (Some("pending"), Some(300), true));
    // What the Approve button sends.
    let (code, body) =
        ctl.post("login/approve", &format!(r#"{{"activator":"{}","staff_id":"1001"}}"#, i.activator)).unwrap();
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    let (_, s) = status(&i.activator);
    assert_eq!(
        (s["status"].as_str(), s["staff_id"].as_str(), s["ttl_left"].as_u64()),
        (Some("approved"), Some("1001"), Some(0))
    );
    let (_, _, html) = page(&sb, &i.activator);
    assert!(
        html.contains(">approved (staff 1001)</span>")
            && html.contains("<button id=\"approve\" type=\"button\" disabled>"),
        "{html}"
    );
    // A second click is refused with a message the page shows.
    let (code, body) = ctl.post("login/reject", &format!(r#"{{"activator":"{}"}}"#, i.activator)).unwrap();
    assert_eq!(code, 409);
    assert!(json(&body)["error"].as_str().unwrap().contains("no longer pending"));
    // What the Reject button sends.
    let j = login(&c);
    ctl.post("login/reject", &format!(r#"{{"activator":"{}"}}"#, j.activator)).unwrap();
    assert_eq!(status(&j.activator).1["status"], "rejected");
    let k = login(&c);
    sb.control().expire_login(&k.activator).unwrap();
    assert_eq!(status(&k.activator).1["status"], "expired");
    assert!(page(&sb, &k.activator).2.contains(">expired</span>"));
    // Unknown activator.
    let (code, s) = status("NOSUCHLOGIN1");
    assert_eq!(code, 404);
    assert!(s["error"].as_str().unwrap().contains("NOSUCHLOGIN1"));
}

#[test]
fn ttl_passing_shows_expired_without_any_poll() {
    let mut opts = SandboxOptions::demo();
    opts.config.login_ttl_secs = 1;
    let sb = Sandbox::start(opts).unwrap();
    let i = login(&Client::http(&sb));
    assert!(page(&sb, &i.activator).2.contains(">pending</span>"));
    sleep_ms(1100);
    let (_, _, html) = page(&sb, &i.activator);
    assert!(html.contains(">expired</span>") && html.contains(" disabled>Approve"), "{html}");
}

#[test]
fn index_lists_logins_pending_first_with_links() {
    let sb = start();
    let (code, head, html) = get(&format!("{}sandbox/console/", root(&sb)));
    assert_eq!(code, 200);
    assert!(head.contains("text/html; charset=utf-8"));
    assert!(html.contains("id=\"empty\""));
    let c = Client::http(&sb);
    let done = login(&c);
    sb.control().reject_login(&done.activator).unwrap();
    let open = login(&c);
    for path in ["sandbox/console", "sandbox/console/"] {
        let (code, _, html) = get(&format!("{}{path}", root(&sb)));
        assert_eq!(code, 200);
        assert!(html.contains("<span id=\"pending-count\">1</span>"), "{html}");
        let a = html
            .find(&format!("<a href=\"/sandbox/console/login?activator={}\">", open.activator))
            .expect("link to the pending login");
        let b = html
            .find(&format!("<a href=\"/sandbox/console/login?activator={}\">", done.activator))
            .expect("link to the rejected login");
        assert!(a < b, "pending first");
    }
    // The control API's index points at the console.
    assert!(get(&format!("{}sandbox/", root(&sb))).2.contains("/sandbox/console/"));
}

#[test]
fn unknown_activator_and_pages_are_404_and_post_is_405() {
    let sb = start();
    let (code, head, html) = page(&sb, "NOSUCHLOGIN1");
    assert_eq!(code, 404);
    assert!(head.contains("text/html; charset=utf-8"));
    assert!(html.contains("NOSUCHLOGIN1") && !html.contains("id=\"qr\""));
    assert_eq!(get(&format!("{}sandbox/console/login", root(&sb))).0, 404, "no activator at all");
    assert_eq!(get(&format!("{}sandbox/console/nothing", root(&sb))).0, 404);
    // "consoles" is not the console; it is an (unknown) control action.
    let ctl = Client::with_base(format!("{}sandbox/", root(&sb)), None);
    let (code, body) = ctl.post("consoles", "{}").unwrap();
    assert_eq!(code, 404);
    assert!(json(&body)["error"].as_str().unwrap().contains("unknown control action"));
    let (code, _) = ctl.post("console/login?activator=X", "{}").unwrap();
    assert_eq!(code, 405);
}

#[test]
fn hostile_input_is_escaped() {
    let evil = r#"<script>alert("x")</script>'&"#;
    let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&amp;";
    let mut opts = SandboxOptions::demo();
    let m = &mut opts.config.merchants[0];
    m.sub_merchant_name = evil.into();
    m.shops[0].shop_name = evil.into();
    m.shops[0].staff[0].staff_name = evil.into();
    let sb = Sandbox::start(opts).unwrap();
    let c = Client::http(&sb);
    // In the query string (percent-encoded as a browser sends it) → the 404 page echoes it escaped.
    let q = "%3Cscript%3Ealert(%22x%22)%3C%2Fscript%3E'%26";
    let (code, _, html) = page(&sb, q);
    assert_eq!(code, 404);
    assert!(html.contains(escaped), "{html}");
    assert!(!html.contains("<script>"), "{html}");
    // From the configuration and from an approving staff id.
    let i = login(&c);
    let (_, _, html) = page(&sb, &i.activator);
    assert!(html.matches(escaped).count() >= 3, "merchant, shop and staff names: {html}");
    assert!(!html.contains(evil));
    let ctl = Client::with_base(format!("{}sandbox/", root(&sb)), None);
    let body = serde_json::json!({"activator": i.activator, "staff_id": evil}).to_string();
    assert_eq!(ctl.post("login/approve", &body).unwrap().0, 200);
    let (_, _, html) = page(&sb, &i.activator);
    assert!(html.contains(&format!(">approved (staff {escaped})</span>")), "{html}");
    assert!(!html.contains(evil));
    let (_, _, index) = get(&format!("{}sandbox/console/", root(&sb)));
    assert!(index.contains(escaped) && !index.contains(evil), "{index}");
    // The page's only script is the console's own, and it takes the activator from the DOM.
    assert_eq!(html.matches("<script>").count(), 1);
}
