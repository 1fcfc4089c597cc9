//! Which platform a payment code belongs to (docs/c-api.md, "Payment-code prefixes"): the
//! public rules, and the server's prefix lists once `cloud_pay_get_auth_code_prefix` fetched them.

use cloud_pay_protocol::types::PayPlatform;
use parking_lot::RwLock;

/// Infers the platform from a payment code: WeChat `10`–`15` with 18 digits, Alipay
/// `25`–`30` with 16–24 digits (the public rules; docs/c-api.md, "Payment-code prefixes").
pub fn platform_from_author_code(code: &str) -> Option<PayPlatform> {
    if !code.bytes().all(|b| b.is_ascii_digit()) || code.len() < 2 {
        return None;
    }
    let prefix: u32 = code[..2].parse().ok()?;
    match (prefix, code.len()) {
        (10..=15, 18) => Some(PayPlatform::WXPAY),
        (25..=30, 16..=24) => Some(PayPlatform::ALIPAY),
        _ => None,
    }
}

/// Payment-code prefixes by platform: the server's list once fetched.
#[derive(Default)]
pub struct Prefixes(RwLock<Option<(Vec<String>, Vec<String>)>>);

/// The public rules used until (or when) the server's list is unavailable.
pub const PUBLIC_WX_PREFIXES: &[&str] = &["10", "11", "12", "13", "14", "15"];
/// Alipay's public prefixes.
pub const PUBLIC_ALI_PREFIXES: &[&str] = &["25", "26", "27", "28", "29", "30"];

impl Prefixes {
    /// The server's lists `(wechat, alipay)`, when fetched.
    pub fn fetched(&self) -> Option<(Vec<String>, Vec<String>)> {
        self.0.read().clone()
    }

    /// Keeps the server's lists for the payments that follow.
    pub fn set(&self, wx: Vec<String>, ali: Vec<String>) {
        *self.0.write() = Some((wx, ali));
    }

    /// The platform of a payment code by the server's prefixes, when they were fetched.
    pub fn platform_of(&self, code: &str) -> Option<PayPlatform> {
        let guard = self.0.read();
        let (wx, ali) = guard.as_ref()?;
        let longest = |list: &[String]| {
            list.iter().filter(|p| !p.is_empty() && code.starts_with(p.as_str())).map(|p| p.len()).max()
        };
        match (longest(wx), longest(ali)) {
            (Some(a), Some(b)) if a >= b => Some(PayPlatform::WXPAY),
            (_, Some(_)) => Some(PayPlatform::ALIPAY),
            (Some(_), None) => Some(PayPlatform::WXPAY),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_code_prefixes() {
        assert_eq!(platform_from_author_code("134567890123456789"), Some(PayPlatform::WXPAY));
        assert_eq!(platform_from_author_code("104567890123456789"), Some(PayPlatform::WXPAY));
        assert_eq!(platform_from_author_code("13456789012345678"), None, "WeChat codes have 18 digits");
        assert_eq!(platform_from_author_code("164567890123456789"), None);
        assert_eq!(platform_from_author_code("2845678901234567"), Some(PayPlatform::ALIPAY));
        assert_eq!(platform_from_author_code("301234567890123456789012"), Some(PayPlatform::ALIPAY));
        assert_eq!(platform_from_author_code("3012345678901234567890123"), None, "at most 24 digits");
        assert_eq!(platform_from_author_code("99123456789"), None);
        assert_eq!(platform_from_author_code("13456789012345678x"), None);
    }
}
