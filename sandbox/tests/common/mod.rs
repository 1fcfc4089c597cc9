//! Test client built only from the protocol crate (envelope, HMAC, PSS) plus ureq.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use cloud_pay_protocol::crypto::SigningKey;
use cloud_pay_protocol::envelope::{Reply, open_reply};
use cloud_pay_protocol::types::*;
use cloud_pay_protocol::{Api, Authenticator, RequestEnvelope, wire};
use cloud_pay_sandbox::{Sandbox, SandboxOptions};
use serde_json::Value;

pub const MCH: &str = "sz01TESTMCH000000001";
pub const SUB: &str = "sz01TESTSUBMCH000001";
pub const SHOP: &str = "sz01TESTSHOP00000001";
pub const KEY: &[u8] = b"TESTONLY0123456789ABCDEFGHIJKLMN";
pub const PREFIX: &str = "sz0100test";

/// WeChat code that pays at once (the README's example).
pub const WX_NOW: &str = "134567890123456789";
/// Alipay code that pays at once.
pub const ALI_NOW: &str = "281234567890123456";

pub fn start() -> Sandbox {
    Sandbox::start(SandboxOptions::demo()).expect("sandbox starts")
}

pub fn signing_key() -> SigningKey {
    SigningKey::from_pem(include_str!("../data/TEST-ONLY-rsa-private-key-pkcs1.pem")).unwrap()
}

/// A fresh order/refund number with the demo prefix.
pub fn no(tag: &str) -> String {
    let mut b = [0u8; 6];
    getrandom::getrandom(&mut b).unwrap();
    let r: String = b.iter().map(|x| format!("{:02x}", x)).collect();
    format!("{PREFIX}{tag}{r}")
}

pub struct Client {
    pub agent: ureq::Agent,
    pub base: String,
}

impl Client {
    pub fn http(sb: &Sandbox) -> Client {
        Client::with_base(sb.http_base_url(), None)
    }

    pub fn https(sb: &Sandbox) -> Client {
        Client::with_base(sb.https_base_url(), Some(sb.ca_pem()))
    }

    pub fn with_base(base: String, ca_pem: Option<String>) -> Client {
        let mut cfg =
            ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(10)));
        if let Some(pem) = ca_pem {
            let cert = ureq::tls::Certificate::from_pem(pem.as_bytes()).unwrap();
            let tls = ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![cert])))
                .build();
            cfg = cfg.tls_config(tls);
        }
        Client { agent: ureq::Agent::new_with_config(cfg.build()), base }
    }

    /// POST a raw body; (HTTP status, body).
    pub fn post(&self, path: &str, body: &str) -> Result<(u16, Vec<u8>), ureq::Error> {
        let mut r =
            self.agent.post(format!("{}{path}", self.base)).header("Content-Type", "application/json").send(body)?;
        Ok((r.status().as_u16(), r.body_mut().read_to_vec()?))
    }

    pub fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let mut r = self.agent.get(format!("{}{path}", self.base)).call().unwrap();
        (r.status().as_u16(), r.body_mut().read_to_vec().unwrap())
    }

    /// Sends inner JSON text with the given authentication; returns the raw body.
    pub fn send_text(&self, path: &str, content: String, auth: Authenticator<'_>) -> Vec<u8> {
        let env = RequestEnvelope::seal(content, auth);
        let (code, body) = self.post(path, &env.to_body()).expect("transport");
        assert_eq!(code, 200, "HTTP status for {path}: {}", String::from_utf8_lossy(&body));
        body
    }

    pub fn call_with<A: Api>(&self, req: &A::Request, auth: Authenticator<'_>) -> Reply<A::Result> {
        let body = self.send_text(A::ENDPOINT.path(), wire::to_text(req), auth);
        open_reply::<A>(&body, KEY)
    }

    /// HMAC-authenticated call; panics on an unverified reply.
    pub fn call<A: Api>(&self, req: &A::Request) -> Reply<A::Result> {
        self.call_with::<A>(req, Authenticator::Hmac(KEY))
    }
}

pub fn status<T>(r: &Reply<T>) -> (i32, i32) {
    let resp = r.response.as_ref().unwrap_or_else(|| panic!("no response: {:?}", r.problem));
    (resp.status, resp.internal_status)
}

pub fn ok<T: Clone>(r: &Reply<T>) -> T {
    let resp = r.response.as_ref().unwrap_or_else(|| panic!("no response: {:?}", r.problem));
    assert_eq!(resp.status, 0, "expected success, got {} {} ({})", resp.status, resp.internal_status, resp.description);
    assert_eq!(r.auth, cloud_pay_protocol::AuthCheck::Verified, "success must be authenticated");
    resp.result.clone().expect("result object")
}

pub fn pay_mch_key(platform: Option<i32>) -> PayMchKey {
    PayMchKey {
        pay_platform: platform.map(PayPlatform),
        out_mch_id: MCH.into(),
        out_sub_mch_id: SUB.into(),
        out_shop_id: Some(SHOP.into()),
        ..Default::default()
    }
}

pub fn order_client() -> OrderClient {
    OrderClient {
        device_id: Some("dev01".into()),
        staff_id: Some("1001".into()),
        terminal_type: Some(TerminalType::WINDOWS),
        machine_no: Some("00-11-22-33-44-55".into()),
        sdk_version: Some("1.0".into()),
        spbill_create_ip: Some("127.0.0.1".into()),
        ..Default::default()
    }
}

/// A fresh nonce_str, as a client makes one: a random seed, number 0.
pub fn nonce() -> String {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).unwrap();
    cloud_pay_protocol::crypto::nonce_from(&seed, 0)
}

pub fn micro(out_trade_no: &str, code: &str, fee: i64) -> PayRequest {
    PayRequest {
        pay_mch_key: pay_mch_key(None),
        pay_content: PayContent {
            out_trade_no: out_trade_no.into(),
            author_code: Some(code.into()),
            total_fee: fee,
            fee_type: "CNY".into(),
            body: "Sandbox test-goods".into(),
            ..Default::default()
        },
        order_client: order_client(),
        nonce_str: nonce(),
    }
}

pub fn scan(out_trade_no: &str, platform: i32, fee: i64) -> PayRequest {
    PayRequest {
        pay_mch_key: pay_mch_key(Some(platform)),
        pay_content: PayContent {
            out_trade_no: out_trade_no.into(),
            total_fee: fee,
            fee_type: "CNY".into(),
            body: "Sandbox QR goods".into(),
            ..Default::default()
        },
        order_client: order_client(),
        nonce_str: nonce(),
    }
}

pub fn query(out_trade_no: &str) -> QueryOrderRequest {
    QueryOrderRequest {
        pay_mch_key: pay_mch_key(None),
        order_client: order_client(),
        out_trade_no: out_trade_no.into(),
        trade_type: None,
        nonce_str: nonce(),
    }
}

pub fn refund_req(out_trade_no: &str, out_refund_no: &str, total: i64, fee: i64) -> RefundRequest {
    RefundRequest {
        pay_mch_key: pay_mch_key(None),
        refund_content: RefundContent {
            out_trade_no: out_trade_no.into(),
            out_refund_no: out_refund_no.into(),
            total_fee: total,
            refund_fee: fee,
            refund_fee_type: "CNY".into(),
            ..Default::default()
        },
        order_client: order_client(),
        api_version: None,
        nonce_str: nonce(),
    }
}

pub fn query_refund(out_trade_no: &str, out_refund_no: Option<&str>) -> QueryRefundOrderRequest {
    QueryRefundOrderRequest {
        pay_mch_key: pay_mch_key(None),
        order_client: order_client(),
        out_trade_no: out_trade_no.into(),
        out_refund_no: out_refund_no.map(str::to_owned),
        nonce_str: nonce(),
    }
}

/// (platform, state) of an order via query_order.
pub fn state_of(c: &Client, out_trade_no: &str) -> (PayPlatform, i32) {
    let r = ok(&c.call::<QueryOrder>(&query(out_trade_no)));
    r.order_content.unwrap().trade_state().unwrap()
}

pub fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// One raw HTTP/1.1 exchange on a fresh socket; returns everything read until close or `Content-Length`.
pub fn raw_http(addr: &str, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

pub fn host_of(base: &str) -> String {
    base.trim_start_matches("http://").trim_start_matches("https://").split('/').next().unwrap().to_owned()
}

pub fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
}
