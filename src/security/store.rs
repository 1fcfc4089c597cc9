//! The encrypted files of security mode (docs/c-api.md, "Security-mode files").
//!
//! Format, version 2: `CPRS` | version (2) | kind (1 login identity, 2 configuration) |
//! length-prefixed out_sub_mch_id (at most 255 bytes) | generation (u64, big-endian) | 96-bit
//! nonce | AES-128-GCM(ciphertext ‖ tag). Everything before the nonce is authenticated as
//! associated data, so a file cannot be moved to another merchant or kind, nor relabelled with
//! another generation, without failing. Version 1 (no generation) is still read for the
//! configuration only, as generation 0. Each write uses a fresh random nonce and replaces the
//! file atomically (unpredictable temporary name, exclusive creation, no symlink following,
//! owner-only, fsync, rename, fsync of the directory).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Nonce};

/// The login identity (not secret, but kept from casual editing): vendor's file name, sic.
pub const LOGIN_FILE: &str = "cloud_pay_security_login.encrpyt";
/// The configuration with the keys: vendor's file name, sic.
pub const KEY_FILE: &str = "cloud_pay_security_key.encrpyt";

const MAGIC: &[u8; 4] = b"CPRS";
const VERSION: u8 = 2;
/// Format without a generation; read for configuration files written by older SDKs.
const VERSION_1: u8 = 1;
/// The header stores the id's length in one byte.
const MAX_ID_LEN: usize = 255;

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Identity needed to start the next login.
    Login = 1,
    /// The CloudPayConf with its keys.
    Configuration = 2,
}

/// Why a file was refused. Nothing is changed on disk when this happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 16-byte AES key, wiped when dropped.
pub struct Key([u8; 16]);

impl Key {
    /// From raw bytes.
    pub fn new(bytes: [u8; 16]) -> Key {
        Key(bytes)
    }

    /// From the server's `client_configuration_ciphers.key`: base64, else hex; 16 bytes
    /// (docs/c-api.md, "Configuration key encoding").
    pub fn from_server(text: &str) -> Result<Key, StoreError> {
        use base64::Engine as _;
        let t = text.trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(t)
            .ok()
            .filter(|b| b.len() == 16)
            .or_else(|| hex16(t.as_bytes()))
            .ok_or_else(|| StoreError("the server's configuration key is not 16 bytes of base64 or hex".into()))?;
        let mut k = [0u8; 16];
        k.copy_from_slice(&bytes);
        Ok(Key(k))
    }
}

/// 32 hex digits as 16 bytes. Works on bytes, so server text that is not ASCII is refused
/// rather than sliced inside a character.
fn hex16(t: &[u8]) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        (c as char).to_digit(16).map(|d| d as u8)
    }
    if t.len() != 32 {
        return None;
    }
    t.chunks_exact(2).map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?)).collect()
}

impl Drop for Key {
    fn drop(&mut self) {
        crate::secret::zeroize(&mut self.0);
    }
}

fn header(version: u8, kind: Kind, out_sub_mch_id: &str, generation: u64) -> Result<Vec<u8>, StoreError> {
    let id = out_sub_mch_id.as_bytes();
    // Cutting a long id would let two merchants share the authenticated data: refuse it.
    if id.len() > MAX_ID_LEN {
        return Err(StoreError(format!("out_sub_mch_id is longer than {MAX_ID_LEN} bytes")));
    }
    let mut h = Vec::with_capacity(15 + id.len());
    h.extend_from_slice(MAGIC);
    h.push(version);
    h.push(kind as u8);
    h.push(id.len() as u8);
    h.extend_from_slice(id);
    if version != VERSION_1 {
        h.extend_from_slice(&generation.to_be_bytes());
    }
    Ok(h)
}

/// Encrypts `plain` into the file format, labelled with `generation`.
pub fn seal(kind: Kind, out_sub_mch_id: &str, generation: u64, key: &Key, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
    let aad = header(VERSION, kind, out_sub_mch_id, generation)?;
    let mut nonce = [0u8; 12];
    getrandom::getrandom(&mut nonce).map_err(|e| StoreError(format!("OS random source: {e}")))?;
    let cipher = Aes128Gcm::new_from_slice(&key.0).map_err(|_| StoreError("AES key length".into()))?;
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad: &aad })
        .map_err(|_| StoreError("AES-GCM encryption failed".into()))?;
    let mut out = aad;
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// A file that opened: its merchant, generation and plaintext (wiped when dropped).
pub struct Opened {
    /// out_sub_mch_id from the authenticated header.
    pub merchant: String,
    /// Generation from the authenticated header (0 for a version-1 configuration file).
    pub generation: u64,
    /// The decrypted bytes.
    pub plain: Vec<u8>,
}

impl Drop for Opened {
    fn drop(&mut self) {
        crate::secret::zeroize(&mut self.plain);
    }
}

/// Decrypts a file's bytes; checks the kind and, when given, the merchant.
pub fn open(kind: Kind, expected_merchant: Option<&str>, key: &Key, bytes: &[u8]) -> Result<Opened, StoreError> {
    let what = match kind {
        Kind::Login => LOGIN_FILE,
        Kind::Configuration => KEY_FILE,
    };
    if bytes.len() < 7 || &bytes[..4] != MAGIC {
        return Err(StoreError(format!("{what} is not a Cloud Pay SDK file (bad header, or written by another SDK)")));
    }
    let version = bytes[4];
    match (version, kind) {
        (VERSION, _) | (VERSION_1, Kind::Configuration) => {}
        (VERSION_1, Kind::Login) => {
            // Version 1 kept base_url, ca_file and proxy under a key anyone could compute.
            return Err(StoreError(format!(
                "{what} was written by an older SDK (format 1, which stored server settings) and is ignored"
            )));
        }
        (v, _) => return Err(StoreError(format!("{what} has unsupported format version {v}"))),
    }
    if bytes[5] != kind as u8 {
        return Err(StoreError(format!("{what} holds another kind of data")));
    }
    let id_len = bytes[6] as usize;
    let gen_at = 7 + id_len;
    let body_at = if version == VERSION_1 { gen_at } else { gen_at + 8 };
    if bytes.len() < body_at + 12 + 16 {
        return Err(StoreError(format!("{what} is truncated")));
    }
    let merchant = String::from_utf8_lossy(&bytes[7..gen_at]).into_owned();
    if let Some(m) = expected_merchant
        && m != merchant
    {
        return Err(StoreError(format!("{what} belongs to another sub-merchant ({merchant}), not {m}")));
    }
    let cipher = Aes128Gcm::new_from_slice(&key.0).map_err(|_| StoreError("AES key length".into()))?;
    let plain = cipher
        .decrypt(
            Nonce::from_slice(&bytes[body_at..body_at + 12]),
            Payload { msg: &bytes[body_at + 12..], aad: &bytes[..body_at] },
        )
        .map_err(|_| {
            StoreError(format!("{what} cannot be decrypted: wrong key, or the file was truncated or tampered with"))
        })?;
    let generation = bytes[gen_at..body_at].try_into().map(u64::from_be_bytes).unwrap_or(0);
    Ok(Opened { merchant, generation, plain })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> Key {
        Key::new([b; 16])
    }

    #[test]
    fn round_trip_and_every_refusal() {
        let sealed = seal(Kind::Configuration, "sub1", 7, &key(1), b"{\"a\":1}").unwrap();
        let again = seal(Kind::Configuration, "sub1", 7, &key(1), b"{\"a\":1}").unwrap();
        assert_ne!(sealed, again, "a fresh nonce per write");
        let opened = open(Kind::Configuration, Some("sub1"), &key(1), &sealed).unwrap();
        assert_eq!((opened.plain.as_slice(), opened.generation), (&b"{\"a\":1}"[..], 7));
        let e = |r: Result<Opened, StoreError>| r.err().unwrap().0;
        assert!(e(open(Kind::Configuration, Some("sub1"), &key(2), &sealed)).contains("wrong key"));
        assert!(e(open(Kind::Configuration, Some("sub2"), &key(1), &sealed)).contains("another sub-merchant"));
        assert!(e(open(Kind::Login, None, &key(1), &sealed)).contains("another kind"));
        assert!(e(open(Kind::Configuration, None, &key(1), &sealed[..sealed.len() - 1])).contains("tampered"));
        assert!(e(open(Kind::Configuration, None, &key(1), &sealed[..20])).contains("truncated"));
        let mut flipped = sealed.clone();
        let last = flipped.len() - 20;
        flipped[last] ^= 1;
        assert!(e(open(Kind::Configuration, None, &key(1), &flipped)).contains("tampered"));
        // The merchant in the header is authenticated: editing it breaks the tag.
        let mut moved = sealed.clone();
        moved[10] = b'X';
        assert!(open(Kind::Configuration, None, &key(1), &moved).is_err());
        assert!(e(open(Kind::Configuration, None, &key(1), b"garbage file")).contains("not a Cloud Pay SDK file"));
        // The generation is authenticated: relabelling a file as newer breaks the tag.
        let mut newer = sealed.clone();
        newer[7 + 4 + 7] ^= 1;
        assert!(e(open(Kind::Configuration, None, &key(1), &newer)).contains("tampered"));
        assert!(seal(Kind::Login, &"x".repeat(256), 1, &key(1), b"{}").is_err(), "long ids are refused, not cut");
    }

    #[test]
    fn version_1_configuration_still_opens_but_a_version_1_login_file_does_not() {
        let v1 = |kind: Kind| {
            let aad = header(VERSION_1, kind, "sub1", 0).unwrap();
            let ct = Aes128Gcm::new_from_slice(&[1; 16])
                .unwrap()
                .encrypt(Nonce::from_slice(&[0; 12]), Payload { msg: b"{}", aad: &aad })
                .unwrap();
            [aad, vec![0; 12], ct].concat()
        };
        assert_eq!(open(Kind::Configuration, Some("sub1"), &key(1), &v1(Kind::Configuration)).unwrap().generation, 0);
        assert!(open(Kind::Login, None, &key(1), &v1(Kind::Login)).err().unwrap().0.contains("older SDK"));
    }

    #[test]
    fn server_keys_in_base64_or_hex() {
        assert_eq!(Key::from_server("VEVTVE9OTFlLRVkxMjM0NQ==").unwrap().0, *b"TESTONLYKEY12345");
        assert_eq!(Key::from_server("00112233445566778899aabbccddeeff").unwrap().0[15], 0xff);
        assert!(Key::from_server("c2hvcnQ=").is_err());
        // A hostile server's non-ASCII text of the right byte length is refused, not sliced.
        assert!(Key::from_server("中中中中中中中中中中ab").is_err());
        assert!(Key::from_server("é0112233445566778899aabbccddeef").is_err());
    }
}
