//! HMAC-SHA256 authen codes, RSASSA-PSS-2048-SHA256 signatures and nonces
//! (docs/wire-protocol.md, "HMAC-SHA256"; docs/wire-protocol.md, "RSASSA-PSS signatures";
//! docs/wire-protocol.md, "nonce_str").

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, Pss, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// HMAC-SHA256 of `message` under the raw bytes of `key`, as 64 upper-case hex characters.
pub fn authen_code(key: &[u8], message: &[u8]) -> String {
    hex_upper(&hmac_sha256(key, message))
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // `new_from_slice` accepts any key length for HMAC; the error branch is unreachable.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Constant-time check of an authen code. Only the documented upper-case form is accepted
/// unless `accept_lower` is set (a sandbox switch, docs/wire-protocol.md, "HMAC-SHA256"). Compared
/// in place, no allocation (every reply is checked).
pub fn verify_authen_code(key: &[u8], message: &[u8], code: &str, accept_lower: bool) -> bool {
    let mut expected = [0u8; 64];
    hex_upper_into(&hmac_sha256(key, message), &mut expected);
    let Ok(mut given) = <[u8; 64]>::try_from(code.as_bytes()) else { return false };
    if accept_lower {
        given.make_ascii_uppercase();
    }
    bool::from(expected.ct_eq(&given))
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Upper-case hex of `bytes` into `out` (twice as long).
fn hex_upper_into(bytes: &[u8], out: &mut [u8]) {
    for (b, o) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        o[0] = HEX_UPPER[(b >> 4) as usize];
        o[1] = HEX_UPPER[(b & 15) as usize];
    }
}

/// Upper-case hex.
pub fn hex_upper(bytes: &[u8]) -> String {
    let mut s = vec![0u8; bytes.len() * 2];
    hex_upper_into(bytes, &mut s);
    String::from_utf8(s).expect("hex digits are ASCII")
}

/// The `nonce_str` numbered `n` under `seed`: the first 16 bytes of SHA-256(seed ‖ n) as 32
/// upper-case hex characters. Pure, so this crate holds no random state and does no I/O: the
/// caller keeps a seed from the OS CSPRNG and never repeats a number under one seed.
pub fn nonce_from(seed: &[u8; 32], n: u64) -> String {
    let digest = Sha256::new().chain_update(seed).chain_update(n.to_le_bytes()).finalize();
    hex_upper(&digest[..16])
}

/// Why a key could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub String);

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for KeyError {}

/// An RSA private key loaded from PEM (PKCS#1 `RSA PRIVATE KEY` or unencrypted PKCS#8 `PRIVATE KEY`).
/// Debug output never shows key material.
#[derive(Clone)]
pub struct SigningKey(RsaPrivateKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey(<redacted, {} bits>)", self.0.size() * 8)
    }
}

impl SigningKey {
    /// Parses a PEM private key, PKCS#1 first then PKCS#8 (what OpenSSL's
    /// `PEM_read_bio_RSAPrivateKey` accepts).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let pem = pem.trim();
        RsaPrivateKey::from_pkcs1_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs8_pem(pem))
            .map(SigningKey)
            .map_err(|_| KeyError("private_key is not a PEM RSA private key (PKCS#1 or PKCS#8)".into()))
    }

    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and the maximum salt length
    /// (256 − 32 − 2 = 222 bytes for RSA-2048), standard base64.
    pub fn sign_pss(&self, message: &[u8]) -> String {
        let hashed = Sha256::digest(message);
        let salt_len = self.0.size() - 32 - 2;
        let sig = self
            .0
            .sign_with_rng(&mut rsa::rand_core::OsRng, Pss::new_with_salt::<Sha256>(salt_len), &hashed)
            .expect("PSS signing with a valid key and digest cannot fail");
        B64.encode(sig)
    }

    /// The matching public key.
    pub fn public_key(&self) -> VerifyingKey {
        VerifyingKey(self.0.to_public_key())
    }
}

/// An RSA public key (PEM SPKI `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`).
#[derive(Clone, Debug, PartialEq)]
pub struct VerifyingKey(RsaPublicKey);

impl VerifyingKey {
    /// Parses a PEM public key, SPKI first then PKCS#1.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let pem = pem.trim();
        RsaPublicKey::from_public_key_pem(pem)
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
            .map(VerifyingKey)
            .map_err(|_| KeyError("public key is not a PEM RSA public key (SPKI or PKCS#1)".into()))
    }

    /// Verifies a base64 RSASSA-PSS-SHA256 signature of any salt length
    /// (docs/wire-protocol.md, "RSASSA-PSS signatures": the server auto-detects). A PKCS#1 v1.5
    /// signature, a wrong length or bad base64 fail.
    pub fn verify_pss(&self, message: &[u8], sign_b64: &str) -> bool {
        let Ok(sig) = B64.decode(sign_b64.trim()) else { return false };
        let k = self.0.size();
        if sig.len() != k {
            return false;
        }
        let hashed = Sha256::digest(message);
        // rsa 0.9 verifies one given salt length; find it from the encoded message, then
        // let the library do the full (constant-time) check with that length.
        let Some(salt_len) = self.detect_pss_salt_len(&sig) else { return false };
        self.0.verify(Pss::new_with_salt::<Sha256>(salt_len), &hashed, &sig).is_ok()
    }

    fn detect_pss_salt_len(&self, sig: &[u8]) -> Option<usize> {
        let s = BigUint::from_bytes_be(sig);
        if &s >= self.0.n() {
            return None;
        }
        let m = s.modpow(self.0.e(), self.0.n()); // the raw public operation (RSAVP1)
        let em_bits = self.0.n().bits() - 1;
        let em_len = em_bits.div_ceil(8);
        let mut em = m.to_bytes_be();
        if em.len() > em_len {
            return None;
        }
        let mut padded = vec![0u8; em_len - em.len()];
        padded.append(&mut em);
        let em = padded;
        const H: usize = 32;
        if em_len < H + 2 || em[em_len - 1] != 0xBC {
            return None;
        }
        let (masked_db, rest) = em.split_at(em_len - H - 1);
        let h = &rest[..H];
        let mut db = masked_db.to_vec();
        let mut counter = 0u32;
        let mut pos = 0;
        while pos < db.len() {
            let block = Sha256::new().chain_update(h).chain_update(counter.to_be_bytes()).finalize();
            for b in block.iter() {
                if pos == db.len() {
                    break;
                }
                db[pos] ^= b;
                pos += 1;
            }
            counter += 1;
        }
        db[0] &= 0xFF >> (8 * em_len - em_bits);
        let sep = db.iter().position(|&b| b != 0)?;
        (db[sep] == 0x01).then(|| db.len() - sep - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_32_upper_hex_and_differ_by_number_and_seed() {
        let a: std::collections::HashSet<String> = (0..5000).map(|n| nonce_from(&[7; 32], n)).collect();
        assert_eq!(a.len(), 5000, "a nonce repeated under one seed");
        assert!(a.iter().all(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))));
        assert_ne!(nonce_from(&[7; 32], 0), nonce_from(&[8; 32], 0));
        assert_eq!(nonce_from(&[7; 32], 3), nonce_from(&[7; 32], 3), "pure");
    }
}
