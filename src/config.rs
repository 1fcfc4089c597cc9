//! `CloudPayConf` (docs/c-api.md, "CloudPayConf"): parsing, defaults and validation.

use std::path::PathBuf;
use std::time::Duration;

use cloud_pay_protocol::crypto::SigningKey;
use cloud_pay_protocol::types::TerminalType;
use serde::Deserialize;

use crate::error::SdkError;
use crate::schedule::PollSchedule;
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
    allow_insecure_http: Option<bool>,
    use_system_roots: Option<bool>,
    log_dir: Option<String>,
    log_max_bytes: Option<i64>,
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

/// Keys of `common_conf` this SDK reads (the fields of `RawCommon`).
const COMMON_KEYS: &[&str] = &[
    "micro_pay_query_order_count",
    "micro_pay_query_order_interval",
    "scan_code_pay_query_order_count",
    "scan_code_pay_query_order_interval",
    "prober_dns",
    "base_url",
    "ca_file",
    "state_dir",
    "timeout_ms",
    "connect_timeout_ms",
    "upload_monitor",
    "retry_pause_ms",
    "domain_list",
    "upload_monitor_interval",
    "micro_pay_query_order_schedule",
    "keep_alive_ping_interval",
    "proxy",
    "allow_insecure_http",
    "use_system_roots",
    "log_dir",
    "log_max_bytes",
];
/// Keys of `trade_conf` this SDK reads (the fields of `RawTrade`).
const TRADE_KEYS: &[&str] = &[
    "out_mch_id",
    "out_sub_mch_id",
    "out_shop_id",
    "device_id",
    "staff_id",
    "authen_type",
    "authen_key",
    "sign_type",
    "private_key",
    "terminal_type",
    "sub_terminal_type",
    "machine_no",
    "spbill_create_ip",
    "sdk_version",
    "cloud_cashier_id",
    "pay_platform",
];

/// Keys of a CloudPayConf this SDK does not read, each with the known key it nearly matches:
/// `common_conf.base_ur1 (did you mean base_url?)`. They are ignored (drop-in with
/// configurations written for the vendor DLL), but a typo must not pass unseen.
fn unknown_keys(text: &str) -> Vec<String> {
    let Ok(serde_json::Value::Object(top)) = serde_json::from_str::<serde_json::Value>(text) else { return Vec::new() };
    let sections = [("common_conf", COMMON_KEYS), ("trade_conf", TRADE_KEYS)];
    let mut out = Vec::new();
    for (key, value) in &top {
        let Some((section, known)) = sections.iter().find(|(s, _)| s == key) else {
            let hint = near_miss(key, &["common_conf", "trade_conf"])
                .map(|k| format!(" (did you mean {k}?)"))
                .unwrap_or_default();
            out.push(format!("{key}{hint}"));
            continue;
        };
        for k in value.as_object().into_iter().flat_map(|o| o.keys()).filter(|k| !known.contains(&k.as_str())) {
            let hint = match near_miss(k, known) {
                Some(m) => format!(" (did you mean {m}?)"),
                None => sections
                    .iter()
                    .find(|(s, keys)| s != section && keys.contains(&k.as_str()))
                    .map(|(s, _)| format!(" (it belongs in {s})"))
                    .unwrap_or_default(),
            };
            out.push(format!("{section}.{k}{hint}"));
        }
    }
    out
}

/// The known key within a small edit distance of `key` (about one typo per four letters).
fn near_miss<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let limit = (key.chars().count() / 4).clamp(1, 3);
    known
        .iter()
        .map(|k| (edit_distance(&key.to_ascii_lowercase(), k), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
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
    /// Probe the domain list and fail over (docs/c-api.md, "Domain fail-over").
    pub prober_dns: bool,
    /// Base URLs, ending in `/`, preferred first (more than one only with `prober_dns`).
    pub domains: Vec<String>,
    /// Extra trusted root (PEM text), besides the built-in roots.
    pub extra_ca_pem: Option<String>,
    /// `use_system_roots`: verify servers against the operating system's trust store instead
    /// of the built-in roots (then `extra_ca_pem` is `None`: the two are exclusive).
    pub use_system_roots: bool,
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
    /// Settings taken from outside the configuration text (environment, working directory),
    /// for the notice after init: they are never applied silently.
    pub outside_sources: Vec<String>,
    /// The local SDK log (`common_conf.log_dir`, `log_max_bytes`); None: off.
    pub log: Option<crate::sdklog::Settings>,
    /// Merchant and terminal identity.
    pub trade: TradeConf,
    /// Keys the SDK ignored, with near-miss hints (for init's notice).
    pub unknown_keys: Vec<String>,
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
    /// What servers' certificates must chain to.
    pub fn trust(&self) -> crate::transport::Trust {
        if self.use_system_roots {
            crate::transport::Trust::System
        } else {
            crate::transport::Trust::Bundled(self.extra_ca_pem.clone())
        }
    }

    /// Parses CloudPayConf JSON text. Every error names the offending field.
    pub fn parse(text: &str) -> Result<Config, SdkError> {
        let raw: RawConf = crate::input::parse_json(text, "CloudPayConf").map_err(SdkError::into_config)?;
        let c = raw.common_conf;
        let t = raw.trade_conf;

        match t.authen_type {
            None | Some(1) => {}
            Some(n) => {
                return Err(bad("trade_conf.authen_type", &format!("only 1 (HMAC-SHA256) is supported, got {n}")));
            }
        }
        match t.sign_type {
            None | Some(1) => {}
            Some(n) => {
                return Err(bad(
                    "trade_conf.sign_type",
                    &format!("only 1 (RSASSA-PSS-2048-SHA256) is supported, got {n}"),
                ));
            }
        }
        let authen_key = required(t.authen_key, "trade_conf.authen_key")?;
        let private_key = match optional(t.private_key) {
            None => None,
            Some(pem) => Some(SigningKey::from_pem(&pem).map_err(|e| bad("trade_conf.private_key", &e.0))?),
        };
        let insecure_ok = c.allow_insecure_http.unwrap_or(false);
        let mut outside_sources = Vec::new();
        let from_env = std::env::var(BASE_URL_ENV).ok().filter(|s| !s.trim().is_empty());
        let (base_url, base_field) = match from_env {
            Some(u) => {
                outside_sources.push(format!("base URL {} from the environment variable {BASE_URL_ENV}", u.trim()));
                (Some(u), BASE_URL_ENV)
            }
            None => (optional(c.base_url), "common_conf.base_url"),
        };
        let base_url = normalize_base_url(base_url.as_deref().unwrap_or(DEFAULT_BASE_URL), base_field, insecure_ok)
            .map_err(SdkError::BadConfig)?;
        let prober_dns = flag(c.prober_dns, false, "common_conf.prober_dns")?;
        // The domain list: the base URL first; with prober_dns the configured list (tests use
        // local sandboxes) or, for the default service, its documented sister hosts.
        let mut domains = vec![base_url.clone()];
        if prober_dns {
            let extra: Vec<String> = match c.domain_list {
                Some(list) => list
                    .iter()
                    .map(|u| normalize_base_url(u, "common_conf.domain_list", insecure_ok))
                    .collect::<Result<_, _>>()
                    .map_err(SdkError::BadConfig)?,
                None if base_url == DEFAULT_BASE_URL => {
                    crate::domains::DEFAULT_DOMAINS.iter().map(|s| s.to_string()).collect()
                }
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
        let use_system_roots = c.use_system_roots.unwrap_or(false);
        let extra_ca_pem = match optional(c.ca_file) {
            Some(_) if use_system_roots => {
                return Err(bad(
                    "common_conf.ca_file",
                    "cannot be combined with use_system_roots: true (add that CA to the system's trust store, or drop use_system_roots)",
                ));
            }
            None if use_system_roots => None,
            Some(path) => Some(
                std::fs::read_to_string(&path)
                    .map_err(|e| bad("common_conf.ca_file", &format!("cannot read {path}: {e}")))?,
            ),
            None => std::fs::read_to_string(VENDOR_CA_FILE).ok().inspect(|_| {
                outside_sources.push(format!(
                    "trusting the root CA in ./{VENDOR_CA_FILE} (working directory) besides the built-in roots"
                ));
            }),
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
            micro_pay_query_interval: seconds(
                c.micro_pay_query_order_interval,
                6.0,
                "common_conf.micro_pay_query_order_interval",
            )?,
            scan_code_query_count: count(
                c.scan_code_pay_query_order_count,
                5,
                "common_conf.scan_code_pay_query_order_count",
            )?,
            scan_code_query_interval: seconds(
                c.scan_code_pay_query_order_interval,
                6.0,
                "common_conf.scan_code_pay_query_order_interval",
            )?,
            prober_dns,
            domains,
            extra_ca_pem,
            use_system_roots,
            state_dir,
            timeout: millis(c.timeout_ms, 15_000, "common_conf.timeout_ms", 1)?,
            connect_timeout: millis(c.connect_timeout_ms, 5_000, "common_conf.connect_timeout_ms", 1)?,
            upload_monitor: flag(c.upload_monitor, true, "common_conf.upload_monitor")?,
            upload_monitor_interval: seconds(c.upload_monitor_interval, 60.0, "common_conf.upload_monitor_interval")?,
            micro_pay_query_schedule: match c.micro_pay_query_order_schedule.as_deref() {
                None => PollSchedule::Fixed,
                Some(s) => PollSchedule::parse(s).ok_or_else(|| {
                    bad(
                        "common_conf.micro_pay_query_order_schedule",
                        &format!("must be \"fixed\" or \"adaptive\", got {s:?}"),
                    )
                })?,
            },
            keep_alive_ping_interval: match c.keep_alive_ping_interval {
                Some(0.0) => None,
                v => Some(seconds(v, 50.0, "common_conf.keep_alive_ping_interval")?.min(MAX_KEEP_ALIVE_PING)),
            },
            retry_pause: millis(c.retry_pause_ms, 3_000, "common_conf.retry_pause_ms", 0)?,
            outside_sources,
            log: crate::sdklog::settings(c.log_dir, c.log_max_bytes).map_err(SdkError::BadConfig)?,
            proxy: optional(c.proxy)
                .map(|u| crate::transport::Proxy::parse(&u))
                .transpose()
                .map_err(|e| bad("common_conf.proxy", &e))?,
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
            unknown_keys: unknown_keys(text),
        })
    }
}

/// A base URL ending in `/`; the error text names `field`. Plain `http://` only reaches a
/// loopback host unless `insecure_ok` (`common_conf.allow_insecure_http`): anything else on
/// the path could read the keys' HMACs and forge replies.
pub(crate) fn normalize_base_url(url: &str, field: &str, insecure_ok: bool) -> Result<String, String> {
    let url = url.trim();
    if let Some(rest) = url.strip_prefix("http://") {
        if !insecure_ok && !is_loopback(rest.split(['/', '?', '#']).next().unwrap_or("")) {
            return Err(format!(
                "{field}: plain http:// is only allowed to a loopback host (127.0.0.0/8, ::1, localhost), got {url:?}; use https://, or set common_conf.allow_insecure_http: true for a sandbox on a trusted LAN"
            ));
        }
    } else if !url.starts_with("https://") {
        return Err(format!("{field}: must start with https:// or http://, got {url:?}"));
    }
    Ok(if url.ends_with('/') { url.to_owned() } else { format!("{url}/") })
}

/// Whether `host[:port]` names this machine.
fn is_loopback(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named_with_near_misses() {
        let text = r#"{"common_conf":{"base_ur1":"x","timeout_ms":1,"authen_key":"k","vendor_thing":1},"trade_conf":{"out_mch_idd":"m","staff_id":"1"},"trade_cnf":{}}"#;
        assert_eq!(
            unknown_keys(text),
            vec![
                "common_conf.base_ur1 (did you mean base_url?)",
                "common_conf.authen_key (it belongs in trade_conf)",
                "common_conf.vendor_thing",
                "trade_conf.out_mch_idd (did you mean out_mch_id?)",
                "trade_cnf (did you mean trade_conf?)",
            ]
        );
        assert!(unknown_keys(r#"{"common_conf":{"base_url":"x"},"trade_conf":{"authen_key":"k"}}"#).is_empty());
    }

    /// The key lists are the fields `RawCommon` and `RawTrade` read: every listed key with a
    /// value of the wrong type is refused naming it, so a list entry without a field would pass.
    #[test]
    fn the_key_lists_match_the_fields() {
        for (section, keys) in [("common_conf", COMMON_KEYS), ("trade_conf", TRADE_KEYS)] {
            for k in keys {
                let text = format!(r#"{{"{section}":{{"{k}":{{"not":"this"}}}}}}"#);
                let e = crate::input::parse_json::<RawConf>(&text, "CloudPayConf").err();
                assert!(e.is_some_and(|e| e.to_string().contains(k)), "{section}.{k} is not a field");
            }
        }
    }

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        for ok in [
            "http://127.0.0.1:8080/cpay",
            "http://127.9.9.9/",
            "http://localhost:1/x/",
            "http://[::1]:81/cpay/",
            "https://pay.qcloud.com/cpay/",
        ] {
            assert!(normalize_base_url(ok, "f", false).is_ok(), "{ok}");
        }
        for refused in [
            "http://192.168.1.5:8080/cpay/",
            "http://pay.qcloud.com/cpay/",
            "http://localhost.evil.com/",
            "http://127.0.0.1.nip.io/",
            "http://[::2]/",
        ] {
            let e = normalize_base_url(refused, "f", false).unwrap_err();
            assert!(e.contains("allow_insecure_http"), "{e}");
            assert!(normalize_base_url(refused, "f", true).is_ok(), "{refused} with the flag");
        }
        assert!(normalize_base_url("ftp://h/", "f", true).is_err());
    }
}
