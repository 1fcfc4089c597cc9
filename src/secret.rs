//! Secrets that cannot leak through Debug/Display and are wiped when dropped.

/// A secret string (authen_key). Debug prints `<redacted>`; memory is zeroised on drop.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: String) -> Self {
        Secret(s.into_bytes())
    }

    /// The raw bytes, for HMAC.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize(&mut self.0);
    }
}

/// Overwrites secret bytes with zeros; volatile, so the wipe is not optimised away as a dead store.
pub fn zeroize(bytes: &mut [u8]) {
    for b in bytes {
        // SAFETY: a valid &mut u8.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
}

/// Overwrites a string's bytes before it is dropped (an output holding a configuration).
pub fn wipe_string(s: &mut String) {
    // SAFETY: zero bytes are valid UTF-8, so the String stays valid.
    zeroize(unsafe { s.as_bytes_mut() });
    s.clear();
}

/// Overwrites every string value in a JSON tree (a decrypted configuration) before it is dropped.
pub fn wipe_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => wipe_string(s),
        serde_json::Value::Array(a) => a.iter_mut().for_each(wipe_json),
        serde_json::Value::Object(m) => m.values_mut().for_each(wipe_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn wipe_json_clears_every_string_value() {
        let mut v =
            serde_json::json!({"trade_conf": {"authen_key": "TESTONLY-KEY", "list": ["a", {"b": "c"}], "n": 1}});
        super::wipe_json(&mut v);
        assert_eq!(v, serde_json::json!({"trade_conf": {"authen_key": "", "list": ["", {"b": ""}], "n": 1}}));
    }
}
