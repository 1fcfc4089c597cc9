//! The sandbox web console (`/sandbox/console/…`): small self-contained pages (inline CSS and
//! JS, no external assets) where a developer plays the staff member who scans a security-login
//! QR code. The buttons call the ordinary control API (`/sandbox/login/approve|reject`).
//!
//! * `GET /sandbox/console/` — logins, pending ones first, with links.
//! * `GET /sandbox/console/login?activator=…` — one login: ids, status, time left, the QR code
//!   of its `qr_code_url` as inline SVG, a staff-id field and Approve / Reject buttons.
//! * `GET /sandbox/console/status?activator=…` — that login as JSON (what the page polls).
//!
//! Everything taken from a request or from state is HTML-escaped; the page's script reads the
//! activator from a `data-` attribute, so no value is ever spliced into JavaScript.

use std::fmt::Write as _;
use std::sync::Arc;

use qrcode::QrCode;
use qrcode::render::svg;
use serde_json::json;

use crate::bootstrap::{expire_if_due, login_url};
use crate::message::{HttpReply, Request};
use crate::shared::Shared;
use crate::state::{Login, LoginStatus};
use crate::util::{now_ms, percent_encode};

/// Logins listed on the index page at most (newest first within each group).
const INDEX_LIMIT: usize = 100;

/// Routes `/sandbox/console<rest>`.
pub fn route(sh: &Arc<Shared>, req: &Request, rest: &str) -> HttpReply {
    if req.method != "GET" {
        return HttpReply::text(405, "the console pages are GET only; actions are POSTs to /sandbox/<action>");
    }
    let activator = query_param(&req.query, "activator").unwrap_or_default();
    match rest {
        "" | "/" => HttpReply::html(200, index_page(sh)),
        "/login" => match view(sh, &activator) {
            Some(v) => HttpReply::html(200, login_page(&v)),
            None => not_found(&format!("No login with activator “{activator}”.")),
        },
        "/qr" => {
            let no = query_param(&req.query, "out_trade_no").unwrap_or_default();
            let url = sh.store.lock().orders.get(&no).and_then(|o| o.code_url.clone());
            match url {
                Some(u) => {
                    let mut r = HttpReply::text(200, &qr_svg_document(&u));
                    r.content_type = "image/svg+xml";
                    r
                }
                None => HttpReply::json(404, json!({"error": format!("no scan-code order {no}")}).to_string()),
            }
        }
        "/status" => match view(sh, &activator) {
            Some(v) => HttpReply::json(200, v.json().to_string()),
            None => HttpReply::json(404, json!({"error": format!("no login with activator {activator}")}).to_string()),
        },
        _ => not_found(&format!("No console page {rest}.")),
    }
}

/// What the pages show of one login (status as of now: a pending login past its ttl is expired).
struct View {
    activator: String,
    out_sub_mch_id: String,
    merchant_name: String,
    /// `None` = every shop of the merchant.
    out_shop_id: Option<String>,
    shop_name: Option<String>,
    status: &'static str,
    staff_id: Option<String>,
    ttl: u64,
    left_secs: u64,
    create_ms: u64,
    qr_url: String,
    /// (staff_id, staff_name) of the login's shop(s), first = the default.
    staff: Vec<(String, String)>,
}

impl View {
    fn json(&self) -> serde_json::Value {
        json!({
            "activator": self.activator, "status": self.status, "staff_id": self.staff_id,
            "ttl": self.ttl, "ttl_left": self.left_secs,
            "out_sub_mch_id": self.out_sub_mch_id, "out_shop_id": self.out_shop_id,
        })
    }
}

fn status_word(s: &LoginStatus) -> &'static str {
    match s {
        LoginStatus::Pending => "pending",
        LoginStatus::Approved { .. } => "approved",
        LoginStatus::Rejected => "rejected",
        LoginStatus::Expired => "expired",
    }
}

fn make_view(sh: &Shared, l: &Login, now: u64, base: &str) -> View {
    let mut l = l.clone();
    expire_if_due(&mut l, now);
    let st = sh.store.lock();
    let shops: Vec<_> = st
        .shops
        .get(&l.out_sub_mch_id)
        .map(|v| v.iter().filter(|s| l.out_shop_id.as_deref().is_none_or(|o| o == s.out_shop_id)).cloned().collect())
        .unwrap_or_default();
    drop(st);
    let merchant_name =
        sh.cfg.read().merchant(&l.out_sub_mch_id).map(|m| m.sub_merchant_name.clone()).unwrap_or_default();
    let shop_name = l.out_shop_id.as_ref().and_then(|_| shops.first()).map(|s| s.shop_name.clone());
    let mut staff: Vec<(String, String)> = Vec::new();
    for s in shops.iter().flat_map(|s| s.staff.iter()) {
        if !staff.iter().any(|(id, _)| *id == s.staff_id) {
            staff.push((s.staff_id.clone(), s.staff_name.clone()));
        }
    }
    let end = l.create_ms + l.ttl * 1000;
    View {
        qr_url: login_url(base, &l.activator),
        status: status_word(&l.status),
        staff_id: match &l.status {
            LoginStatus::Approved { staff_id } => Some(staff_id.clone()),
            _ => None,
        },
        left_secs: if l.status == LoginStatus::Pending { end.saturating_sub(now).div_ceil(1000) } else { 0 },
        ttl: l.ttl,
        create_ms: l.create_ms,
        activator: l.activator,
        out_sub_mch_id: l.out_sub_mch_id,
        merchant_name,
        out_shop_id: l.out_shop_id,
        shop_name,
        staff,
    }
}

fn view(sh: &Shared, activator: &str) -> Option<View> {
    let login = sh.store.lock().logins.get(activator).cloned()?;
    Some(make_view(sh, &login, now_ms(), &sh.base_url()))
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `application/x-www-form-urlencoded` decoding (`+` = space); invalid escapes stay as they are.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first value of `key` in a query string.
fn query_param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| percent_decode(k) == key)
        .map(|(_, v)| percent_decode(v))
}

/// The QR code of `text` as an inline `<svg id="qr">` (the qrcode crate's SVG renderer, quiet
/// zone included, about 240 px).
pub fn qr_svg(text: &str) -> String {
    let code = match QrCode::new(text.as_bytes()) {
        Ok(c) => c,
        Err(e) => return format!("<p id=\"qr-error\">cannot encode the QR code: {}</p>", escape(&e.to_string())),
    };
    let doc = code
        .render::<svg::Color>()
        .min_dimensions(240, 240)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .build();
    // The renderer writes a standalone document: drop the XML declaration and name the element.
    let start = doc.find("<svg").unwrap_or(0);
    doc[start..].replacen("<svg ", "<svg id=\"qr\" role=\"img\" aria-label=\"QR code of the login URL\" ", 1)
}

/// A standalone SVG document of the QR code of `text` (for `<img src=…>`).
fn qr_svg_document(text: &str) -> String {
    match QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color>()
            .min_dimensions(200, 200)
            .dark_color(svg::Color("#000"))
            .light_color(svg::Color("#fff"))
            .build(),
        Err(_) => "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"/>".to_owned(),
    }
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:52rem;padding:0 1rem;color:#1d2330;background:#f5f6f8}\
h1{font-size:1.35rem;margin:0 0 1rem}h1 small{color:#6b7280;font-weight:normal;font-size:.9rem}\
.card{background:#fff;border-radius:10px;box-shadow:0 1px 4px rgba(0,0,0,.12);padding:1.25rem 1.5rem;margin-bottom:1rem}\
.login{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}.info{flex:1 1 20rem;min-width:0}.qrbox{text-align:center}.qrbox svg{display:block;border:1px solid #e5e7eb}\
.url{font-size:.75rem;color:#6b7280;word-break:break-all;max-width:250px}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .6rem .3rem 0;vertical-align:top}th{color:#6b7280;font-weight:600;white-space:nowrap}\
code{font-size:.95em}.st{font-weight:700;padding:.1rem .5rem;border-radius:4px}\
.st-pending{background:#fef3c7;color:#92400e}.st-approved{background:#d1fae5;color:#065f46}.st-rejected{background:#fee2e2;color:#991b1b}.st-expired{background:#e5e7eb;color:#374151}\
.actions{margin-top:1rem;display:flex;gap:.5rem;align-items:center;flex-wrap:wrap}input{font:inherit;padding:.35rem .5rem;width:8rem}\
button{font:inherit;padding:.4rem 1rem;border:0;border-radius:6px;color:#fff;cursor:pointer}button:disabled{opacity:.4;cursor:default}\
#approve{background:#07c160}#reject{background:#d9363e}#message{color:#991b1b;min-height:1.2em;margin:.5rem 0 0}\
a{color:#2563eb}.muted{color:#6b7280}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<link rel=\"icon\" href=\"data:,\"><title>{} · Cloud Pay sandbox</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n",
        escape(title)
    )
}

fn not_found(msg: &str) -> HttpReply {
    let body = format!(
        "<h1>Not found <small>Cloud Pay sandbox console</small></h1><div class=\"card\"><p id=\"error\">{}</p>\
<p><a href=\"/sandbox/console/\">All logins</a></p></div>",
        escape(msg)
    );
    HttpReply::html(404, page("Not found", &body))
}

fn shop_text(v: &View) -> String {
    match (&v.out_shop_id, &v.shop_name) {
        (Some(id), Some(name)) if !name.is_empty() => format!("<code>{}</code> {}", escape(id), escape(name)),
        (Some(id), _) => format!("<code>{}</code>", escape(id)),
        (None, _) => "<span class=\"muted\">every shop</span>".to_owned(),
    }
}

fn status_text(v: &View) -> String {
    match &v.staff_id {
        Some(s) => format!("{} (staff {})", v.status, s),
        None => v.status.to_owned(),
    }
}

fn left_text(v: &View) -> String {
    if v.status == "pending" {
        format!("{} s left of {} s", v.left_secs, v.ttl)
    } else {
        format!("— (ttl {} s)", v.ttl)
    }
}

fn login_page(v: &View) -> String {
    let pending = v.status == "pending";
    let disabled = if pending { "" } else { " disabled" };
    let default_staff = v.staff.first().map(|(id, _)| id.as_str()).unwrap_or("");
    let mut options = String::new();
    for (id, name) in &v.staff {
        let _ = write!(options, "<option value=\"{}\">{}</option>", escape(id), escape(name));
    }
    let merchant = if v.merchant_name.is_empty() {
        format!("<code>{}</code>", escape(&v.out_sub_mch_id))
    } else {
        format!("<code>{}</code> {}", escape(&v.out_sub_mch_id), escape(&v.merchant_name))
    };
    let body = format!(
        "<h1>Security login <small>Cloud Pay sandbox console · <a href=\"/sandbox/console/\">all logins</a></small></h1>
<div class=\"card login\" id=\"login\" data-activator=\"{act}\" data-left=\"{left}\" data-ttl=\"{ttl}\">
<div class=\"qrbox\">{svg}<p class=\"url\" id=\"qr-url\">{url}</p></div>
<div class=\"info\">
<table>
<tr><th>Activator</th><td><code id=\"activator\">{act}</code></td></tr>
<tr><th>Merchant</th><td id=\"merchant\">{merchant}</td></tr>
<tr><th>Shop</th><td id=\"shop\">{shop}</td></tr>
<tr><th>Status</th><td><span id=\"status\" class=\"st st-{st}\">{status}</span></td></tr>
<tr><th>Time left</th><td id=\"ttl\">{left_text}</td></tr>
</table>
<p class=\"muted\">The cashier shows this QR code; scanning it with WeChat is simulated here.</p>
<div class=\"actions\">
<label for=\"staff\">Staff id</label>
<input id=\"staff\" name=\"staff_id\" list=\"staff-list\" value=\"{staff}\" autocomplete=\"off\"><datalist id=\"staff-list\">{options}</datalist>
<button id=\"approve\" type=\"button\"{disabled}>Approve</button>
<button id=\"reject\" type=\"button\"{disabled}>Reject</button>
</div>
<p id=\"message\" role=\"alert\"></p>
</div>
</div>
<script>{SCRIPT}</script>",
        act = escape(&v.activator),
        left = v.left_secs,
        ttl = v.ttl,
        svg = qr_svg(&v.qr_url),
        url = escape(&v.qr_url),
        st = v.status,
        status = escape(&status_text(v)),
        left_text = escape(&left_text(v)),
        staff = escape(default_staff),
        shop = shop_text(v),
    );
    page(&format!("Login {}", v.activator), &body)
}

/// The login page's behaviour: Approve / Reject POST to the control API, then the status is
/// re-read from `/sandbox/console/status`; a countdown; polling while pending.
const SCRIPT: &str = r#"
(function () {
  'use strict';
  var root = document.getElementById('login');
  var activator = root.getAttribute('data-activator');
  var ttl = parseInt(root.getAttribute('data-ttl'), 10);
  var left = parseInt(root.getAttribute('data-left'), 10);
  var statusEl = document.getElementById('status');
  var ttlEl = document.getElementById('ttl');
  var msg = document.getElementById('message');
  var approve = document.getElementById('approve');
  var reject = document.getElementById('reject');
  var staff = document.getElementById('staff');
  var state = statusEl.className.replace(/.*st-/, '');
  function show(s) {
    state = s.status;
    left = s.ttl_left;
    statusEl.textContent = s.status + (s.staff_id ? ' (staff ' + s.staff_id + ')' : '');
    statusEl.className = 'st st-' + s.status;
    approve.disabled = reject.disabled = s.status !== 'pending';
    tick(0);
  }
  function tick(step) {
    if (state !== 'pending') { ttlEl.textContent = '\u2014 (ttl ' + ttl + ' s)'; return; }
    left = Math.max(0, left - step);
    ttlEl.textContent = left + ' s left of ' + ttl + ' s';
  }
  function refresh() {
    return fetch('/sandbox/console/status?activator=' + encodeURIComponent(activator), {cache: 'no-store'})
      .then(function (r) { return r.json(); })
      .then(function (s) { if (s.status) { show(s); } });
  }
  function act(action, body) {
    msg.textContent = '';
    approve.disabled = reject.disabled = true;
    return fetch('/sandbox/login/' + action, {
      method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) { msg.textContent = j.error || ('HTTP ' + r.status); }
      });
    }).catch(function (e) { msg.textContent = 'request failed: ' + e; })
      .then(refresh);
  }
  approve.addEventListener('click', function () {
    var id = staff.value.trim();
    if (!id) { msg.textContent = 'enter the approving staff id'; staff.focus(); return; }
    act('approve', {activator: activator, staff_id: id});
  });
  reject.addEventListener('click', function () { act('reject', {activator: activator}); });
  var n = 0;
  setInterval(function () {
    tick(1);
    n += 1;
    if (state === 'pending' && (n % 3 === 0 || left === 0)) { refresh().catch(function () {}); }
  }, 1000);
})();
"#;

fn index_page(sh: &Shared) -> String {
    let now = now_ms();
    let base = sh.base_url();
    let mut logins: Vec<Login> = sh.store.lock().logins.values().cloned().collect();
    logins.sort_by(|a, b| b.create_ms.cmp(&a.create_ms).then_with(|| a.activator.cmp(&b.activator)));
    let mut views: Vec<View> = logins.iter().map(|l| make_view(sh, l, now, &base)).collect();
    // Pending first, then the rest; newest first within each group (stable sort).
    views.sort_by_key(|v| v.status != "pending");
    views.truncate(INDEX_LIMIT);
    let pending = views.iter().filter(|v| v.status == "pending").count();
    let mut rows = String::new();
    for v in &views {
        let _ = write!(
            rows,
            "<tr><td><a href=\"/sandbox/console/login?activator={link}\"><code>{act}</code></a></td><td><code>{mch}</code></td><td>{shop}</td>\
<td><span class=\"st st-{st}\">{status}</span></td><td>{left}</td><td class=\"muted\">{created}</td></tr>",
            link = escape(&percent_encode(&v.activator)),
            act = escape(&v.activator),
            mch = escape(&v.out_sub_mch_id),
            shop = shop_text(v),
            st = v.status,
            status = escape(&status_text(v)),
            left = if v.status == "pending" { format!("{} s", v.left_secs) } else { "—".to_owned() },
            created = china_time(v.create_ms / 1000),
        );
    }
    let table = if views.is_empty() {
        "<p id=\"empty\" class=\"muted\">No logins yet. A cashier's <code>client_initialize</code> creates one.</p>"
            .to_owned()
    } else {
        format!(
            "<table id=\"logins\"><tr><th>Activator</th><th>Merchant</th><th>Shop</th><th>Status</th><th>Left</th><th>Created (China time)</th></tr>{rows}</table>"
        )
    };
    let mut endpoints = String::from("<option value=\"\">any endpoint</option>");
    for ep in cloud_pay_protocol::Endpoint::ALL {
        let _ = write!(endpoints, "<option value=\"{p}\">{p}</option>", p = ep.path());
    }
    let body = format!(
        "<style>{DASH_STYLE}</style>
<h1>Sandbox dashboard <small>Cloud Pay sandbox console · orders refresh every second</small></h1>
<div class=\"card\"><h2>Orders and refunds</h2>
<p id=\"orders-empty\" class=\"muted\">No orders yet. A cashier's <code>micro_pay</code> or <code>scan_code_pay</code> creates one.</p>
<table id=\"orders\" hidden><thead><tr><th>Order</th><th>Kind</th><th>Amount</th><th>State</th><th>Customer</th><th>Refunds</th><th>QR code</th></tr></thead>
<tbody id=\"order-rows\"></tbody></table>
<p id=\"dash-message\" role=\"alert\"></p></div>
<div class=\"card\"><h2>Faults</h2>
<div class=\"actions\">
<select id=\"fault-endpoint\">{endpoints}</select>
<select id=\"fault-kind\">
<option value=\"DropMidReply\">drop the reply midway</option>
<option value=\"ResetBeforeReply\">close the connection, no reply</option>
<option value=\"Delay\">delay past the timeout</option>
<option value=\"Status3\">status 3 (unknown)</option>
<option value=\"Status103\">status 103 (retry)</option>
<option value=\"BadHmac\">bad HMAC</option>
<option value=\"ReEntry407\">status 104 + 407 (re-entry)</option>
</select>
<label>ms <input id=\"fault-ms\" type=\"number\" value=\"16000\" min=\"0\"></label>
<label>next <input id=\"fault-times\" type=\"number\" value=\"1\" min=\"1\"> request(s)</label>
<label>order <input id=\"fault-order\" placeholder=\"any\"></label>
<button id=\"fault-add\" type=\"button\" class=\"act\">Switch on</button>
<button id=\"fault-clear\" type=\"button\" class=\"act warn\">Clear all</button>
</div>
<p class=\"muted\">The SDK's default request timeout is 15 s: a 16 s delay goes past it.</p>
<ul id=\"fault-list\"></ul></div>
<div class=\"card\"><h2>Security logins</h2><p><span id=\"pending-count\">{pending}</span> pending. <a href=\"/sandbox/console/\">Refresh</a></p>{table}</div>
<p class=\"muted\">Every button is a POST to the control API (<a href=\"/sandbox/\">/sandbox/</a>): scripts can do the same.</p>
<script>{DASH_SCRIPT}</script>"
    );
    page("Dashboard", &body)
}

const DASH_STYLE: &str = "body{max-width:84rem}h2{font-size:1.05rem;margin:0 0 .75rem}#orders td{border-top:1px solid #e5e7eb}\
button.act{background:#2563eb;padding:.25rem .6rem;margin:.1rem;font-size:.85rem}button.pay,button.success{background:#07c160}\
button.cancel,button.fail,button.warn{background:#d9363e}button.keep,button.processing{background:#6b7280}\
img.qr{width:120px;height:120px;border:1px solid #e5e7eb}.desc{font-size:.8rem;color:#6b7280}\
.st-paid,.st-success{background:#d1fae5;color:#065f46}.st-waiting,.st-processing{background:#fef3c7;color:#92400e}\
.st-closed,.st-failed{background:#fee2e2;color:#991b1b}.st-refund{background:#dbeafe;color:#1e40af}\
#dash-message{color:#991b1b;min-height:1.2em}select{font:inherit;padding:.3rem}.refund{margin-bottom:.3rem}";

/// The dashboard's behaviour: polls `POST /sandbox/orders` every second and re-renders the
/// table when it changed (DOM text only, never HTML from data); the buttons POST to
/// `/sandbox/customer`, `/sandbox/refund_outcome`, `/sandbox/fault`, `/sandbox/remove_fault`,
/// `/sandbox/clear_faults`.
const DASH_SCRIPT: &str = r#"
(function () {
  'use strict';
  var rows = document.getElementById('order-rows');
  var table = document.getElementById('orders');
  var empty = document.getElementById('orders-empty');
  var msg = document.getElementById('dash-message');
  var faultList = document.getElementById('fault-list');
  var last = '';
  var lastFaults = '';
  function post(action, body) {
    return fetch('/sandbox/' + action, {
      method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body || {}), cache: 'no-store'
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) { throw new Error(j.error || ('HTTP ' + r.status)); }
        return j;
      });
    });
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  function button(label, cls, action, body) {
    var b = el('button', label, 'act ' + cls);
    b.type = 'button';
    b.addEventListener('click', function () { act(action, body); });
    return b;
  }
  function act(action, body) {
    msg.textContent = '';
    return post(action, body).catch(function (e) { msg.textContent = action + ': ' + e.message; })
      .then(refresh);
  }
  function yuan(fen) { return '¥' + (fen / 100).toFixed(2); }
  function orderWord(o) {
    if (o.waiting) { return o.trade_type === 2 ? 'waiting' : 'paying'; }
    if (o.reversed_after_payment) { return 'reversed'; }
    if (o.paid) { return o.refunded_fee > 0 ? 'refund' : 'paid'; }
    return o.is_final ? 'closed' : 'waiting';
  }
  var refundWords = {2: 'success', 3: 'failed', 4: 'processing'};
  function render(list) {
    rows.textContent = '';
    table.hidden = list.orders.length === 0;
    empty.hidden = list.orders.length !== 0;
    list.orders.forEach(function (o) {
      var tr = el('tr');
      tr.setAttribute('data-order', o.out_trade_no);
      var no = el('td');
      no.appendChild(el('code', o.out_trade_no));
      tr.appendChild(no);
      tr.appendChild(el('td', (o.pay_platform === 2 ? 'Alipay ' : 'WeChat ') + (o.trade_type === 2 ? 'scan code' : 'payment code')));
      tr.appendChild(el('td', yuan(o.total_fee)));
      var st = el('td');
      var word = orderWord(o);
      var badge = el('span', word, 'st st-' + (word === 'paying' ? 'waiting' : word === 'reversed' ? 'closed' : word));
      badge.setAttribute('data-role', 'order-status');
      st.appendChild(badge);
      st.appendChild(el('div', 'state ' + o.state + (o.is_final ? ' (final)' : '') + ' · ' + (o.state_desc || ''), 'desc'));
      tr.appendChild(st);
      var cust = el('td');
      if (o.waiting) {
        cust.appendChild(button('Customer pays', 'pay', 'customer', {out_trade_no: o.out_trade_no, action: 'Pay'}));
        cust.appendChild(button('Customer cancels', 'cancel', 'customer', {out_trade_no: o.out_trade_no, action: 'Cancel'}));
        cust.appendChild(button('Stays paying', 'keep', 'customer', {out_trade_no: o.out_trade_no, action: 'KeepPaying'}));
      } else {
        cust.appendChild(el('span', o.paid ? 'paid (charged ' + o.charge_count + '×)' : '—', 'muted'));
      }
      tr.appendChild(cust);
      var rf = el('td');
      (o.refunds || []).forEach(function (r) {
        var d = el('div', null, 'refund');
        d.setAttribute('data-refund', r.out_refund_no);
        var w = refundWords[r.state] || ('state ' + r.state);
        d.appendChild(el('code', r.out_refund_no));
        d.appendChild(document.createTextNode(' ' + yuan(r.refund_fee) + ' '));
        var b = el('span', w, 'st st-' + w);
        b.setAttribute('data-role', 'refund-status');
        d.appendChild(b);
        if (r.state === 4) {
          d.appendChild(el('br'));
          d.appendChild(button('Succeeds', 'success', 'refund_outcome', {out_refund_no: r.out_refund_no, outcome: 'Success'}));
          d.appendChild(button('Fails', 'fail', 'refund_outcome', {out_refund_no: r.out_refund_no, outcome: 'Fail'}));
          d.appendChild(button('Stays processing', 'processing', 'refund_outcome', {out_refund_no: r.out_refund_no, outcome: 'Processing'}));
        }
        rf.appendChild(d);
      });
      if (!(o.refunds || []).length) { rf.appendChild(el('span', '—', 'muted')); }
      tr.appendChild(rf);
      var qr = el('td');
      if (o.code_url && o.waiting) {
        var img = el('img', null, 'qr');
        img.alt = 'QR code of ' + o.code_url;
        img.src = '/sandbox/console/qr?out_trade_no=' + encodeURIComponent(o.out_trade_no);
        qr.appendChild(img);
        qr.appendChild(el('div', o.code_url, 'desc'));
      }
      tr.appendChild(qr);
      rows.appendChild(tr);
    });
  }
  function faultText(f) {
    var r = f.rule;
    var kind = typeof r.kind === 'string' ? r.kind : Object.keys(r.kind)[0] + ' ' + JSON.stringify(r.kind[Object.keys(r.kind)[0]]);
    return '#' + f.id + ' ' + kind + ' on ' + (r.endpoint || 'any endpoint') + (r.out_trade_no ? ' for ' + r.out_trade_no : '') +
      (r.times ? ', ' + r.times + ' more request(s)' : ', until cleared');
  }
  function renderFaults(list) {
    faultList.textContent = '';
    if (!list.length) { faultList.appendChild(el('li', 'none', 'muted')); }
    list.forEach(function (f) {
      var li = el('li', faultText(f));
      li.setAttribute('data-fault', f.id);
      li.appendChild(document.createTextNode(' '));
      li.appendChild(button('Remove', 'warn', 'remove_fault', {id: f.id}));
      faultList.appendChild(li);
    });
  }
  function refresh() {
    var a = post('orders', {limit: 50}).then(function (j) {
      var text = JSON.stringify(j);
      if (text !== last) { last = text; render(j); }
    });
    var b = post('faults', {}).then(function (j) {
      var text = JSON.stringify(j);
      if (text !== lastFaults) { lastFaults = text; renderFaults(j); }
    });
    return Promise.all([a, b]).catch(function (e) { msg.textContent = 'refresh: ' + e.message; });
  }
  document.getElementById('fault-add').addEventListener('click', function () {
    var kind = document.getElementById('fault-kind').value;
    var rule = {kind: kind};
    if (kind === 'Delay') { rule.kind = {Delay: {ms: parseInt(document.getElementById('fault-ms').value, 10) || 0}}; }
    var ep = document.getElementById('fault-endpoint').value;
    if (ep) { rule.endpoint = ep; }
    var order = document.getElementById('fault-order').value.trim();
    if (order) { rule.out_trade_no = order; }
    rule.times = Math.max(1, parseInt(document.getElementById('fault-times').value, 10) || 1);
    act('fault', rule);
  });
  document.getElementById('fault-clear').addEventListener('click', function () { act('clear_faults', {}); });
  refresh();
  setInterval(refresh, 1000);
})();
"#;

/// `YYYY-MM-DD hh:mm:ss` in China time (UTC+8).
fn china_time(unix_secs: u64) -> String {
    let t = unix_secs + 8 * 3600;
    format!("{} {:02}:{:02}:{:02}", crate::util::period_label(unix_secs as i64, 1), t / 3600 % 24, t / 60 % 60, t % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_decodes() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(percent_decode("a%3Cb%3e+c%"), "a<b> c%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(query_param("x=1&activator=AB%20C&activator=D", "activator").as_deref(), Some("AB C"));
        assert_eq!(query_param("activator", "activator").as_deref(), Some(""));
        assert_eq!(query_param("", "activator"), None);
        assert_eq!(percent_encode("AB<c> 1"), "AB%3Cc%3E%201");
        assert_eq!(login_url("http://h/", "ABC"), "http://h/sandbox/console/login?activator=ABC");
    }

    #[test]
    fn qr_svg_is_an_inline_svg_element() {
        let s = qr_svg("http://127.0.0.1:1/sandbox/console/login?activator=ABC");
        assert!(s.starts_with("<svg id=\"qr\" "), "{}", &s[..60]);
        assert!(!s.contains("<?xml") && s.ends_with("</svg>"));
    }
}
