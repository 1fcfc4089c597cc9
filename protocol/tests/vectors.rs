//! Every vector of `tests/data/test-vectors.json`: the worked examples of the algorithms in
//! docs/wire-protocol.md.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use cloud_pay_protocol::crypto::{self, SigningKey, VerifyingKey};
use cloud_pay_protocol::envelope::{self, AuthCheck, Authenticator, RequestEnvelope, ResponseEnvelope};
use cloud_pay_protocol::types::{self, PayRequest, QueryOrder, WxpayOrderState};
use cloud_pay_protocol::{StatusClass, wire};
use serde_json::Value;

const VECTORS: &str = include_str!("data/test-vectors.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn every_hmac_vector() {
    let v = vectors();
    let cases = v["hmac_vectors"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let key = c["authen_key"].as_str().unwrap().as_bytes();
        let msg = c["message"].as_str().unwrap();
        assert_eq!(msg.as_bytes(), hex_decode(c["message_utf8_hex"].as_str().unwrap()), "{name}: utf8 bytes");
        assert_eq!(msg.len() as u64, c["message_byte_length"].as_u64().unwrap(), "{name}: length");
        let expected = c["expected_authen_code"].as_str().unwrap();
        assert_eq!(crypto::authen_code(key, msg.as_bytes()), expected, "{name}");
        assert!(crypto::verify_authen_code(key, msg.as_bytes(), expected, false), "{name}");
        assert!(
            !crypto::verify_authen_code(key, msg.as_bytes(), &expected.to_lowercase(), false),
            "{name}: lower case is not the documented form"
        );
        assert!(
            crypto::verify_authen_code(key, msg.as_bytes(), &expected.to_lowercase(), true),
            "{name}: lower case when allowed"
        );
        let mut flipped = msg.as_bytes().to_vec();
        flipped[0] ^= 1;
        assert!(!crypto::verify_authen_code(key, &flipped, expected, false), "{name}: one bit changes the code");
    }
}

#[test]
fn hmac_is_sensitive_to_whitespace_newline_and_escapes() {
    let v = vectors();
    let code = |name: &str| {
        v["hmac_vectors"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["expected_authen_code"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let all = [
        code("micro_pay_compact"),
        code("micro_pay_compact_trailing_newline"),
        code("micro_pay_python_default_separators"),
    ];
    assert_ne!(all[0], all[1]);
    assert_ne!(all[0], all[2]);
    assert_ne!(code("non_ascii_raw_utf8"), code("non_ascii_u_escaped"));
    // The escaped and raw forms are the same JSON value: only the bytes differ.
    let find = |name: &str| {
        v["hmac_vectors"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let a: Value = serde_json::from_str(&find("non_ascii_raw_utf8")).unwrap();
    let b: Value = serde_json::from_str(&find("non_ascii_u_escaped")).unwrap();
    assert_eq!(a, b);
}

fn rsa_vector() -> Value {
    vectors()["rsa_pss_vectors"][0].clone()
}

#[test]
fn pss_vector_verifies_with_both_public_key_forms() {
    let r = rsa_vector();
    let msg = r["message"].as_str().unwrap().as_bytes();
    assert_eq!(
        crypto::hex_upper(&<sha2::Sha256 as sha2::Digest>::digest(msg)).to_lowercase(),
        r["message_sha256_hex"].as_str().unwrap()
    );
    let sig = r["signature_base64"].as_str().unwrap();
    assert_eq!(B64.decode(sig).unwrap().len(), 256);
    for pem in ["public_key_spki_pem", "public_key_pkcs1_pem"] {
        let key = VerifyingKey::from_pem(r[pem].as_str().unwrap()).unwrap();
        assert!(key.verify_pss(msg, sig), "{pem}");
        assert!(!key.verify_pss(b"another message", sig), "{pem}: other message");
        let neg = r["negative_pkcs1v15_signature_base64"].as_str().unwrap();
        assert!(!key.verify_pss(msg, neg), "{pem}: a PKCS#1 v1.5 signature is not valid");
        assert!(!key.verify_pss(msg, "not base64!"), "{pem}: garbage");
        assert!(!key.verify_pss(msg, &B64.encode([1u8; 255])), "{pem}: wrong length");
    }
}

#[test]
fn pss_signing_with_pkcs1_and_pkcs8_keys_uses_maximum_salt() {
    let r = rsa_vector();
    let msg = r["message"].as_str().unwrap().as_bytes();
    let public = VerifyingKey::from_pem(r["public_key_spki_pem"].as_str().unwrap()).unwrap();
    let rsa_pub = rsa::RsaPublicKey::from_public_key_pem(r["public_key_spki_pem"].as_str().unwrap()).unwrap();
    for pem in ["private_key_pkcs1_pem", "private_key_pkcs8_pem"] {
        let key = SigningKey::from_pem(r[pem].as_str().unwrap()).unwrap();
        assert_eq!(key.public_key(), public, "{pem}");
        let s1 = key.sign_pss(msg);
        let s2 = key.sign_pss(msg);
        assert_ne!(s1, s2, "PSS is randomised");
        assert!(public.verify_pss(msg, &s1));
        // Independent check with the library at exactly 222 bytes of salt (256 - 32 - 2).
        let raw = B64.decode(&s1).unwrap();
        let hashed = <sha2::Sha256 as sha2::Digest>::digest(msg);
        assert!(rsa_pub.verify(rsa::Pss::new_with_salt::<sha2::Sha256>(222), &hashed, &raw).is_ok(), "{pem}: salt 222");
        assert!(
            rsa_pub.verify(rsa::Pss::new_with_salt::<sha2::Sha256>(32), &hashed, &raw).is_err(),
            "{pem}: not salt 32"
        );
        assert!(format!("{key:?}").contains("redacted"));
    }
    assert!(SigningKey::from_pem("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----").is_err());
}

use rsa::pkcs8::DecodePublicKey as _;

#[test]
fn pss_accepts_any_salt_length() {
    let r = rsa_vector();
    let msg = b"salt length auto-detection";
    let private = {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        rsa::RsaPrivateKey::from_pkcs1_pem(r["private_key_pkcs1_pem"].as_str().unwrap()).unwrap()
    };
    let public = VerifyingKey::from_pem(r["public_key_spki_pem"].as_str().unwrap()).unwrap();
    let hashed = <sha2::Sha256 as sha2::Digest>::digest(msg);
    for salt in [0usize, 20, 32, 64, 222] {
        let sig = private
            .sign_with_rng(&mut rsa::rand_core::OsRng, rsa::Pss::new_with_salt::<sha2::Sha256>(salt), &hashed)
            .unwrap();
        assert!(public.verify_pss(msg, &B64.encode(&sig)), "salt {salt}");
    }
}

fn envelope_example(name: &str) -> Value {
    vectors()["envelope_examples"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap().clone()
}

#[test]
fn micro_pay_request_envelope_is_reproduced_byte_for_byte() {
    let e = envelope_example("micro_pay_request_envelope");
    let body = e["body"].as_str().unwrap();
    let key = b"TESTONLY0123456789ABCDEFGHIJKLMN";
    let parsed = RequestEnvelope::parse(body.as_bytes()).unwrap();
    let a = parsed.authen_info.as_ref().unwrap().a.as_ref().unwrap();
    assert!(crypto::verify_authen_code(key, parsed.request_content.as_bytes(), &a.authen_code, false));
    // Typed round trip: the request_content parses into PayRequest and serialises back to the same text.
    let req: PayRequest = wire::from_text(&parsed.request_content).unwrap();
    assert_eq!(req.pay_content.total_fee, 1);
    assert_eq!(req.pay_mch_key.pay_platform, Some(types::PayPlatform::WXPAY));
    assert_eq!(wire::to_text(&req), parsed.request_content, "optional fields omitted, order kept");
    let sealed = RequestEnvelope::seal(wire::to_text(&req), Authenticator::Hmac(key));
    assert_eq!(sealed.to_body(), body);
}

#[test]
fn query_order_response_envelope_opens_as_trusted_success() {
    let e = envelope_example("query_order_response_envelope");
    let body = e["body"].as_str().unwrap();
    let key = b"TESTONLY0123456789ABCDEFGHIJKLMN";
    let reply = envelope::open_reply::<QueryOrder>(body.as_bytes(), key);
    assert_eq!(reply.auth, AuthCheck::Verified);
    assert_eq!(reply.class, StatusClass::Success);
    let resp = reply.response.unwrap();
    assert_eq!(resp.description, "操作成功。");
    assert_eq!(resp.log_id, 123456789);
    let order = resp.result.unwrap().order_content.unwrap();
    assert_eq!(order.wxpay_order_content_ext.unwrap().current_trade_state, WxpayOrderState::MICRO_PAY_SUCCESS);
    // A different key, or a changed byte, makes the same reply untrusted: unknown, never success.
    let wrong = envelope::open_reply::<QueryOrder>(body.as_bytes(), b"another-key");
    assert_eq!((wrong.auth, wrong.class), (AuthCheck::Mismatch, StatusClass::Unknown));
    let tampered = body.replacen("current_trade_state\\\":2", "current_trade_state\\\":3", 1);
    assert_ne!(tampered, body);
    let t = envelope::open_reply::<QueryOrder>(tampered.as_bytes(), key);
    assert_eq!((t.auth, t.class), (AuthCheck::Mismatch, StatusClass::Unknown));
    // The same content without authen_info: unknown.
    let env = ResponseEnvelope::parse(body.as_bytes()).unwrap();
    let bare = ResponseEnvelope { response_content: env.response_content.clone(), authen_info: None }.to_body();
    let b = envelope::open_reply::<QueryOrder>(bare.as_bytes(), key);
    assert_eq!((b.auth, b.class), (AuthCheck::Missing, StatusClass::Unknown));
}

#[test]
fn error_101_without_authen_is_a_final_failure_and_with_forged_code_too() {
    let v = vectors();
    let c = v["hmac_vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "response_content_error_101")
        .unwrap()
        .clone();
    let content = c["message"].as_str().unwrap().to_owned();
    let key = b"TESTONLY0123456789ABCDEFGHIJKLMN";
    let body = ResponseEnvelope::seal(content.clone(), None).to_body();
    let r = envelope::open_reply::<QueryOrder>(body.as_bytes(), key);
    assert_eq!(r.class, StatusClass::FailedFinal);
    assert_eq!(r.response.as_ref().unwrap().internal_status, 7);
    let signed = ResponseEnvelope::seal(content, Some(key));
    assert_eq!(signed.authen_info.unwrap().a.unwrap().authen_code, c["expected_authen_code"].as_str().unwrap());
}

#[test]
fn refund_request_envelope_signature_verifies() {
    let e = envelope_example("refund_request_envelope_signed");
    let r = rsa_vector();
    let parsed = RequestEnvelope::parse(e["body"].as_str().unwrap().as_bytes()).unwrap();
    let s = parsed.authen_info.unwrap().s.unwrap();
    assert_eq!(s.sign_type, 1);
    let key = VerifyingKey::from_pem(r["public_key_spki_pem"].as_str().unwrap()).unwrap();
    assert!(key.verify_pss(parsed.request_content.as_bytes(), &s.sign));
    assert_eq!(parsed.request_content, r["message"].as_str().unwrap());
    let req: types::RefundRequest = wire::from_text(&parsed.request_content).unwrap();
    assert_eq!(req.refund_content.out_refund_no, "sz0100test20240101130000001");
}

#[test]
fn aes_vector_device_key_unwrap() {
    use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
    use sha1::{Digest, Sha1};
    let a = &vectors()["aes_vectors"][0];
    let password = a["device_initial_key"].as_str().unwrap().as_bytes();
    let salt = hex_decode(a["salt_hex"].as_str().unwrap());
    // EVP_BytesToKey(aes-128-cbc, SHA-1, count 1): D1 = H(pw||salt), D2 = H(D1||pw||salt).
    let d1 = Sha1::new().chain_update(password).chain_update(&salt).finalize();
    let d2 = Sha1::new().chain_update(d1).chain_update(password).chain_update(&salt).finalize();
    let mut km = d1.to_vec();
    km.extend_from_slice(&d2);
    assert_eq!(crypto::hex_upper(&km[..16]).to_lowercase(), a["derived_key_hex"].as_str().unwrap());
    assert_eq!(crypto::hex_upper(&km[16..32]).to_lowercase(), a["derived_iv_hex"].as_str().unwrap());
    let blob = B64.decode(a["e_authen_key_base64"].as_str().unwrap()).unwrap();
    assert_eq!(&blob[..8], &salt[..]);
    let plain = cbc::Decryptor::<aes::Aes128>::new_from_slices(&km[..16], &km[16..32])
        .unwrap()
        .decrypt_padded_vec_mut::<Pkcs7>(&blob[8..])
        .unwrap();
    assert_eq!(plain, a["plaintext_authen_key"].as_str().unwrap().as_bytes());
}
