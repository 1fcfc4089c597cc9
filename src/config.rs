//! `CloudPayConf` (sdk-c-api.md §2): parsing, defaults and validation.

use std::path::PathBuf;
use std::time::Duration;

use cloud_pay_protocol::crypto::SigningKey;
use cloud_pay_protocol::types::TerminalType;
use serde::Deserialize;

use crate::error::SdkError;
use crate::trade::schedule::PollSchedule;
use crate::secret::Secret;

/// Default base URL of the Cloud Pay service.
pub const DEFAULT_BASE_URL: &str = "https://pay.qcloud.com/cpay/";
/// Environment variable that overrides `common_conf.base_url` (tests, sandboxes).
pub const BASE_URL_ENV: &str = "CLOUDPAY_BASE_URL";
/// Root CA file loaded from the working directory when present (the vendor's convention).
pub const VENDOR_CA_FILE: &str = "cloudpayrootca.pem";
/// Longest idle time between keep-alive pings: it must stay below the agent's idle age
/// (110 s). The default, 50 s, is also below the usual 60–75 s server keep-alive timeouts.
const MAX_KEEP_ALIVE_PING: Duration = Duration::from_secs(100);
/// `sdk_version` sent in order_client unless configured (≤ 10 characters).
pub const SDK_VERSION: &str = "1.6";

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawConf {
    common_conf: RawCommon,
    trade_conf: RawTrade,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawCommon {
    micro_pay_query_order_count: Option<i64>,
    micro_pay_query_order_interval: Option<f64>,
    scan_code_pay_query_order_count: Option<i64>,
    scan_code_pay_query_order_interval: Option<f64>,
    prober_dns: Option<i64>,
    base_url: Option<String>,
    ca_file: Option<String>,
    state_dir: Option<String>,
    timeout_ms: Option<i64>,
    connect_timeout_ms: Option<i64>,
    upload_monitor: Option<i64>,
    retry_pause_ms: Option<i64>,
    domain_list: Option<Vec<String>>,
    upload_monitor_interval: Option<f64>,
    micro_pay_query_order_schedule: Option<String>,
    keep_alive_ping_interval: Option<f64>,
    proxy: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawTrade {
    out_mch_id: Option<String>,
    out_sub_mch_id: Option<String>,
    out_shop_id: Option<String>,
    device_id: Option<String>,
    staff_id: Option<String>,
    authen_type: Option<i64>,
    authen_key: Option<String>,
    sign_type: Option<i64>,
    private_key: Option<String>,
    terminal_type: Option<i64>,
    sub_terminal_type: Option<i64>,
    machine_no: Option<String>,
    spbill_create_ip: Option<String>,
    sdk_version: Option<String>,
    cloud_cashier_id: Option<String>,
    pay_platform: Option<i64>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Result polls after micro_pay.
    pub micro_pay_query_count: u32,
    /// Interval between those polls.
    pub micro_pay_query_interval: Duration,
    /// Result polls after scan_code_pay.
    pub scan_code_query_count: u32,
    /// Interval between those polls.
    pub scan_code_query_interval: Duration,
    /// Probe the domain list and fail over (issue 4).
    pub prober_dns: bool,
    /// Base URLs, ending in `/`, preferred first (more than one only with `prober_dns`).
    pub domains: Vec<String>,
    /// Extra trusted root (PEM text), besides the built-in roots.
    pub extra_ca_pem: Option<String>,
    /// Directory for every file the library writes.
    pub state_dir: PathBuf,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Upload monitoring records and the machine configuration.
    pub upload_monitor: bool,
    /// First interval between monitoring uploads (the server may change it).
    pub upload_monitor_interval: Duration,
    /// Schedule of the result polls after micro_pay (fixed by default).
    pub micro_pay_query_schedule: PollSchedule,
    /// Ping the service after this much idle time so the connection stays open (None: never,
    /// and no pre-warm ping at init).
    pub keep_alive_ping_interval: Option<Duration>,
    /// Pause before repeating a request answered with status 103.
    pub retry_pause: Duration,
    /// The HTTP proxy every request goes through (None: direct).
    pub proxy: Option<crate::transport::Proxy>,
    /// Merchant and terminal identity.
    pub trade: TradeConf,
}

/// `trade_conf`: who we are. Secrets are wrapped so that Debug never prints them.
#[derive(Debug, Clone)]
pub struct TradeConf {
    /// Service-provider id.
    pub out_mch_id: String,
    /// Sub-merchant id.
    pub out_sub_mch_id: String,
    /// Shop id.
    pub out_shop_id: String,
    /// Terminal id.
    pub device_id: Option<String>,
    /// Cashier id.
    pub staff_id: Option<String>,
    /// HMAC key.
    pub authen_key: Secret,
    /// RSA key for refund/reverse signatures, when configured.
    pub private_key: Option<SigningKey>,
    /// TerminalType.
    pub terminal_type: TerminalType,
    /// Device model code.
    pub sub_terminal_type: Option<i32>,
    /// Cash-register id (MAC address).
    pub machine_no: String,
    /// Caller IP.
    pub spbill_create_ip: String,
    /// Client version string.
    pub sdk_version: String,
    /// Order prefix (informational).
    pub cloud_cashier_id: Option<String>,
}

fn bad(field: &str, why: &str) -> SdkError {
    SdkError::BadConfig(format!("{field}: {why}"))
}

fn count(v: Option<i64>, default: u32, field: &str) -> Result<u32, SdkError> {
    match v {
        None => Ok(default),
        Some(n) if (1..=10_000).contains(&n) => Ok(n as u32),
        Some(n) => Err(bad(field, &format!("must be 1..10000, got {n}"))),
    }
}

fn seconds(v: Option<f64>, default: f64, field: &str) -> Result<Duration, SdkError> {
    let s = v.unwrap_or(default);
    if !(s.is_finite() && (0.01..=3600.0).contains(&s)) {
        return Err(bad(field, &format!("must be between 0.01 and 3600 seconds, got {s}")));
    }
    Ok(Duration::from_secs_f64(s))
}

fn millis(v: Option<i64>, default: u64, field: &str, min: i64) -> Result<Duration, SdkError> {
    match v {
        None => Ok(Duration::from_millis(default)),
        Some(n) if (min..=600_000).contains(&n) => Ok(Duration::from_millis(n as u64)),
        Some(n) => Err(bad(field, &format!("must be {min}..600000 ms, got {n}"))),
    }
}

fn flag(v: Option<i64>, default: bool, field: &str) -> Result<bool, SdkError> {
    match v {
        None => Ok(default),
        Some(0) => Ok(false),
        Some(1) => Ok(true),
        Some(n) => Err(bad(field, &format!("must be 0 or 1, got {n}"))),
    }
}

fn required(v: Option<String>, field: &str) -> Result<String, SdkError> {
    match v {
        Some(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        _ => Err(bad(field, "is required")),
    }
}

fn optional(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl Config {
    /// Parses CloudPayConf JSON text. Every error names the offending field.
    pub fn parse(text: &str) -> Result<Config, SdkError> {
        let raw: RawConf = crate::input::parse_json(text, "CloudPayConf").map_err(|e| SdkError::BadConfig(e.to_string()))?;
        let c = raw.common_conf;
        let t = raw.trade_conf;

        match t.authen_type {
            None | Some(1) => {}
            Some(n) => return Err(bad("trade_conf.authen_type", &format!("only 1 (HMAC-SHA256) is supported, got {n}"))),
        }
        match t.sign_type {
            None | Some(1) => {}
            Some(n) => return Err(bad("trade_conf.sign_type", &format!("only 1 (RSASSA-PSS-2048-SHA256) is supported, got {n}"))),
        }
        let authen_key = required(t.authen_key, "trade_conf.authen_key")?;
        let private_key = match optional(t.private_key) {
            None => None,
            Some(pem) => Some(SigningKey::from_pem(&pem).map_err(|e| bad("trade_conf.private_key", &e.0))?),
        };
        let base_url = std::env::var(BASE_URL_ENV).ok().filter(|s| !s.trim().is_empty()).or(optional(c.base_url));
        let base_url = normalize_base_url(base_url.as_deref().unwrap_or(DEFAULT_BASE_URL), "common_conf.base_url").map_err(SdkError::BadConfig)?;
        let prober_dns = flag(c.prober_dns, false, "common_conf.prober_dns")?;
        // The domain list: the base URL first; with prober_dns the configured list (tests use
        // local sandboxes) or, for the default service, its documented sister hosts.
        let mut domains = vec![base_url.clone()];
        if prober_dns {
            let extra: Vec<String> = match c.domain_list {
                Some(list) => list.iter().map(|u| normalize_base_url(u, "common_conf.domain_list")).collect::<Result<_, _>>().map_err(SdkError::BadConfig)?,
                None if base_url == DEFAULT_BASE_URL => crate::domains::DEFAULT_DOMAINS.iter().map(|s| s.to_string()).collect(),
                None => Vec::new(),
            };
            for d in extra {
                if !domains.contains(&d) {
                    domains.push(d);
                }
            }
        }
        let state_dir = match optional(c.state_dir) {
            Some(d) => PathBuf::from(d),
            None => crate::platform::default_state_dir().map_err(SdkError::Internal)?,
        };
        let extra_ca_pem = match optional(c.ca_file) {
            Some(path) => Some(
                std::fs::read_to_string(&path).map_err(|e| bad("common_conf.ca_file", &format!("cannot read {path}: {e}")))?,
            ),
            None => std::fs::read_to_string(VENDOR_CA_FILE).ok(),
        };
        let terminal_type = match t.terminal_type {
            None => TerminalType::WINDOWS,
            Some(n) if (1..=100).contains(&n) => TerminalType(n as i32),
            Some(n) => return Err(bad("trade_conf.terminal_type", &format!("unknown TerminalType {n}"))),
        };
        let sdk_version = optional(t.sdk_version).unwrap_or_else(|| SDK_VERSION.to_owned());
        if sdk_version.len() > 10 {
            return Err(bad("trade_conf.sdk_version", "must be at most 10 characters"));
        }
        let _ = t.pay_platform; // informational in the vendor config; each request names its platform
        Ok(Config {
            micro_pay_query_count: count(c.micro_pay_query_order_count, 25, "common_conf.micro_pay_query_order_count")?,
            micro_pay_query_interval: seconds(c.micro_pay_query_order_interval, 6.0, "common_conf.micro_pay_query_order_interval")?,
            scan_code_query_count: count(c.scan_code_pay_query_order_count, 5, "common_conf.scan_code_pay_query_order_count")?,
            scan_code_query_interval: seconds(c.scan_code_pay_query_order_interval, 6.0, "common_conf.scan_code_pay_query_order_interval")?,
            prober_dns,
            domains,
            extra_ca_pem,
            state_dir,
            timeout: millis(c.timeout_ms, 15_000, "common_conf.timeout_ms", 1)?,
            connect_timeout: millis(c.connect_timeout_ms, 5_000, "common_conf.connect_timeout_ms", 1)?,
            upload_monitor: flag(c.upload_monitor, true, "common_conf.upload_monitor")?,
            upload_monitor_interval: seconds(c.upload_monitor_interval, 60.0, "common_conf.upload_monitor_interval")?,
            micro_pay_query_schedule: match c.micro_pay_query_order_schedule.as_deref() {
                None => PollSchedule::Fixed,
                Some(s) => PollSchedule::parse(s).ok_or_else(|| bad("common_conf.micro_pay_query_order_schedule", &format!("must be \"fixed\" or \"adaptive\", got {s:?}")))?,
            },
            keep_alive_ping_interval: match c.keep_alive_ping_interval {
                Some(0.0) => None,
                v => Some(seconds(v, 50.0, "common_conf.keep_alive_ping_interval")?.min(MAX_KEEP_ALIVE_PING)),
            },
            retry_pause: millis(c.retry_pause_ms, 3_000, "common_conf.retry_pause_ms", 0)?,
            proxy: optional(c.proxy).map(|u| crate::transport::Proxy::parse(&u)).transpose().map_err(|e| bad("common_conf.proxy", &e))?,
            trade: TradeConf {
                out_mch_id: required(t.out_mch_id, "trade_conf.out_mch_id")?,
                out_sub_mch_id: required(t.out_sub_mch_id, "trade_conf.out_sub_mch_id")?,
                out_shop_id: required(t.out_shop_id, "trade_conf.out_shop_id")?,
                device_id: optional(t.device_id),
                staff_id: optional(t.staff_id),
                authen_key: Secret::new(authen_key),
                private_key,
                terminal_type,
                sub_terminal_type: t.sub_terminal_type.and_then(|n| i32::try_from(n).ok()).filter(|n| *n != 0),
                machine_no: optional(t.machine_no).unwrap_or_else(crate::machine::machine_no),
                spbill_create_ip: optional(t.spbill_create_ip).unwrap_or_else(crate::machine::local_ipv4),
                sdk_version,
                cloud_cashier_id: optional(t.cloud_cashier_id),
            },
        })
    }
}

/// A base URL ending in `/`; the error text names `field`.
pub(crate) fn normalize_base_url(url: &str, field: &str) -> Result<String, String> {
    let url = url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(format!("{field}: must start with https:// or http://, got {url:?}"));
    }
    Ok(if url.ends_with('/') { url.to_owned() } else { format!("{url}/") })
}
