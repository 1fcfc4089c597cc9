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
