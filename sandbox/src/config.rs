//! Sandbox configuration: merchants (JSON file or the built-in TEST-ONLY demo) and behaviour knobs.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The shipped demo merchant (TEST-ONLY keys from protocol/tests/data/test-vectors.json).
pub const DEMO_MERCHANT_JSON: &str = include_str!("../demo-merchant.json");

/// Everything the sandbox needs to know about its merchants and how to behave.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(default)]
pub struct SandboxConfig {
    /// Sub-merchants the sandbox knows (one entry per `out_sub_mch_id`).
    pub merchants: Vec<MerchantConfig>,
    /// How long a refund stays "processing" before it succeeds (or fails).
    pub refund_success_after_ms: u64,
    /// Validity of a client_initialize login QR code.
    pub login_ttl_secs: u64,
    /// Accept lower-case hex authen codes (the docs only ever show upper case).
    pub accept_lowercase_hmac: bool,
    /// Legacy rule: `reverse` and `refund` must be RSA-signed (`authen_info.s`).
    pub legacy_strict_sign: bool,
    /// Interval (seconds) returned by upload_client_monitor_info.
    pub monitor_interval_secs: i64,
    /// One line per `/cpay` request on stderr (endpoint, order number, status; never codes or keys).
    pub log_requests: bool,
    /// How `response_content` is written: `escaped` (default, as the real server often does:
    /// non-ASCII as `\uXXXX`, `/` as `\/`) or `raw` (UTF-8, plain slashes). The environment
    /// variable [`REPLY_STYLE_ENV`] overrides it when the sandbox starts.
    pub reply_style: ReplyStyle,
}

/// Environment variable that overrides `reply_style` at start (`raw` or `escaped`).
pub const REPLY_STYLE_ENV: &str = "CLOUDPAY_SANDBOX_REPLY_STYLE";

/// How reply JSON text is written (the HMAC always covers the exact bytes sent).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ReplyStyle {
    /// Non-ASCII as `\uXXXX` (UTF-16 surrogate pairs beyond the BMP) and `/` as `\/`.
    #[default]
    Escaped,
    /// UTF-8 text and plain `/`.
    Raw,
}

impl ReplyStyle {
    /// Parses `raw` / `escaped` (case-insensitive).
    pub fn parse(s: &str) -> Option<ReplyStyle> {
        match s.trim().to_ascii_lowercase().as_str() {
            "raw" => Some(ReplyStyle::Raw),
            "escaped" => Some(ReplyStyle::Escaped),
            _ => None,
        }
    }

    /// Rewrites serialised JSON text in this style. Non-ASCII characters and `/` only occur
    /// inside string literals of JSON text, so escaping them character by character keeps
    /// the text equal as JSON.
    pub fn apply(self, json: String) -> String {
        if self == ReplyStyle::Raw || json.bytes().all(|b| b.is_ascii() && b != b'/') {
            return json;
        }
        let mut out = String::with_capacity(json.len() + json.len() / 2);
        for c in json.chars() {
            match c {
                '/' => out.push_str("\\/"),
                c if c.is_ascii() => out.push(c),
                c => {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        let _ = write!(out, "\\u{u:04x}");
                    }
                }
            }
        }
        out
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            merchants: Vec::new(),
            refund_success_after_ms: 1000,
            login_ttl_secs: 300,
            accept_lowercase_hmac: false,
            legacy_strict_sign: false,
            monitor_interval_secs: 60,
            log_requests: false,
            reply_style: ReplyStyle::Escaped,
        }
    }
}

/// One sub-merchant (with its service provider).
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct MerchantConfig {
    /// Service-provider id (20 chars).
    pub out_mch_id: String,
    /// Sub-merchant id (20 chars).
    pub out_sub_mch_id: String,
    /// The 10-character prefix (also returned as `cloud_cashier_id`).
    pub cloud_cashier_id: String,
    /// Accepted order-number prefixes (docs/wire-protocol.md, "Order and refund numbers"); empty =
    /// `[cloud_cashier_id]`.
    pub order_prefixes: Vec<String>,
    /// HMAC key (32 ASCII chars), used verbatim.
    pub authen_key: String,
    /// RSA public key (PEM) for `authen_info.s` on refund/reverse; empty = signatures rejected.
    pub public_key_pem: String,
    /// Service provider company name.
    pub company_name: String,
    /// Service provider merchant name.
    pub merchant_name: String,
    /// Sub-merchant company name.
    pub sub_company_name: String,
    /// Sub-merchant brand name.
    pub sub_merchant_name: String,
    /// WeChat Pay provider merchant number.
    pub wx_mch_id: String,
    /// WeChat Pay sub-merchant number.
    pub wx_sub_mch_id: String,
    /// Alipay provider id.
    pub ali_mch_id: String,
    /// Alipay sub-merchant id.
    pub ali_sub_mch_id: String,
    /// WeChat payment-code prefixes; empty = 10..15.
    pub wx_author_codes: Vec<String>,
    /// Alipay payment-code prefixes; empty = 25..30.
    pub ali_author_codes: Vec<String>,
    /// AES-128-GCM key (base64 of 16 bytes) delivered in client_configuration_ciphers.
    pub config_cipher_key_b64: String,
    /// Initial shops (later changed by set_sub_mch_shop_info and persisted).
    pub shops: Vec<ShopConfig>,
}

/// A shop with its devices and staff.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct ShopConfig {
    /// Global Cloud Pay shop id (20 chars).
    pub out_shop_id: String,
    /// Merchant-side shop number.
    pub shop_id: String,
    /// Name.
    pub shop_name: String,
    /// Terminals.
    pub devices: Vec<DeviceConfig>,
    /// Cashiers.
    pub staff: Vec<StaffConfig>,
}

/// A terminal of a shop.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct DeviceConfig {
    /// Terminal id.
    pub device_id: String,
    /// Name.
    pub device_name: String,
    /// DeviceType (1 micro, 2 scan, 3 mixed, 4 fixed QR).
    pub device_type: i32,
}

/// A cashier of a shop.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct StaffConfig {
    /// Cashier id.
    pub staff_id: String,
    /// Name.
    pub staff_name: String,
    /// Shop manager.
    pub shop_manager: bool,
    /// May refund.
    pub refund_auth: bool,
}

impl SandboxConfig {
    /// The TEST-ONLY demo merchant shipped as `sandbox/demo-merchant.json`.
    pub fn demo() -> Self {
        Self::from_json(DEMO_MERCHANT_JSON).expect("the shipped demo config parses")
    }

    /// Loads a JSON config file (same format as `demo-merchant.json`).
    pub fn from_file(path: impl AsRef<Path>) -> io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        Self::from_json(&text)
    }

    /// Parses config JSON text.
    pub fn from_json(text: &str) -> io::Result<Self> {
        let cfg: SandboxConfig = serde_json::from_str(text)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("sandbox config: {e}")))?;
        for m in &cfg.merchants {
            if m.out_sub_mch_id.is_empty() || m.authen_key.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "sandbox config: every merchant needs out_sub_mch_id and authen_key",
                ));
            }
        }
        Ok(cfg)
    }

    /// The merchant with this `out_sub_mch_id`.
    pub fn merchant(&self, out_sub_mch_id: &str) -> Option<&MerchantConfig> {
        self.merchants.iter().find(|m| m.out_sub_mch_id == out_sub_mch_id)
    }
}

impl MerchantConfig {
    /// Accepted order-number prefixes.
    pub fn prefixes(&self) -> Vec<String> {
        if self.order_prefixes.is_empty() { vec![self.cloud_cashier_id.clone()] } else { self.order_prefixes.clone() }
    }

    /// WeChat payment-code prefixes.
    pub fn wx_prefixes(&self) -> Vec<String> {
        if self.wx_author_codes.is_empty() {
            (10..=15).map(|n| n.to_string()).collect()
        } else {
            self.wx_author_codes.clone()
        }
    }

    /// Alipay payment-code prefixes.
    pub fn ali_prefixes(&self) -> Vec<String> {
        if self.ali_author_codes.is_empty() {
            (25..=30).map(|n| n.to_string()).collect()
        } else {
            self.ali_author_codes.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_style_keeps_the_json_and_leaves_only_ascii() {
        let v = serde_json::json!({"d": "操作成功。", "u": "https://qr.alipay.com/x", "e": "🍵", "q": "a\"b\\c"});
        let text = ReplyStyle::Escaped.apply(v.to_string());
        assert!(text.is_ascii(), "{text}");
        assert!(
            text.contains(r"\u64cd\u4f5c\u6210\u529f\u3002") && text.contains(r"https:\/\/qr.alipay.com\/x"),
            "{text}"
        );
        assert!(text.contains(r"\ud83c\udf75"), "surrogate pair: {text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), v);
        assert_eq!(ReplyStyle::Raw.apply(v.to_string()), v.to_string());
        assert_eq!(ReplyStyle::Escaped.apply("{\"a\":1}".into()), "{\"a\":1}");
        assert_eq!(
            (ReplyStyle::parse(" RAW "), ReplyStyle::parse("escaped"), ReplyStyle::parse("x")),
            (Some(ReplyStyle::Raw), Some(ReplyStyle::Escaped), None)
        );
        let c: SandboxConfig = serde_json::from_str(r#"{"reply_style":"raw"}"#).unwrap();
        assert_eq!((c.reply_style, SandboxConfig::default().reply_style), (ReplyStyle::Raw, ReplyStyle::Escaped));
    }
}
