//! The message envelope (docs/wire-protocol.md, "Envelope"): `{request_content, authen_info}` and
//! `{response_content, authen_info}`.
//!
//! The inner JSON travels as a *string*; authen codes and signatures cover that exact
//! string, so it is hashed as received and never re-serialised before verification.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::crypto::{self, SigningKey};
use crate::endpoint::{Api, Endpoint};
use crate::status::{self, StatusClass};
use crate::wire;

/// `authen_type` 1: HMAC-SHA256.
pub const AUTHEN_TYPE_HMAC_SHA256: i32 = 1;
/// `sign_type` 1: RSASSA-PSS-2048-SHA256.
pub const SIGN_TYPE_RSA_PSS_SHA256: i32 = 1;

/// `authen_info` (docs/wire-protocol.md, "Request envelope"): exactly one of `a` or `s`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct AuthenInfo {
    /// HMAC authen code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a: Option<Authen>,
    /// RSA signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s: Option<Signature>,
}

/// `authen_info.a`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct Authen {
    /// AuthenType (1 = HMAC-SHA256).
    pub authen_type: i32,
    /// 64 upper-case hex characters.
    pub authen_code: String,
}

/// `authen_info.s`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct Signature {
    /// SignType (1 = RSASSA-PSS-2048-SHA256).
    pub sign_type: i32,
    /// Base64 signature.
    pub sign: String,
}

/// How to authenticate an outgoing request.
#[derive(Clone, Copy, Debug)]
pub enum Authenticator<'a> {
    /// HMAC-SHA256 with the merchant's authen_key.
    Hmac(&'a [u8]),
    /// RSASSA-PSS with the merchant's private key.
    Sign(&'a SigningKey),
    /// No authen_info at all (security-login bootstrap before a key is known).
    None,
}

/// Why an envelope could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeError(pub String);

impl std::fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for EnvelopeError {}

/// The request body.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct RequestEnvelope {
    /// The inner request as JSON text.
    pub request_content: String,
    /// Authentication over exactly `request_content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authen_info: Option<AuthenInfo>,
}

impl RequestEnvelope {
    /// Wraps inner JSON text and authenticates it.
    pub fn seal(request_content: String, auth: Authenticator<'_>) -> Self {
        let authen_info = match auth {
            Authenticator::Hmac(key) => Some(AuthenInfo {
                a: Some(Authen {
                    authen_type: AUTHEN_TYPE_HMAC_SHA256,
                    authen_code: crypto::authen_code(key, request_content.as_bytes()),
                }),
                s: None,
            }),
            Authenticator::Sign(key) => Some(AuthenInfo {
                a: None,
                s: Some(Signature {
                    sign_type: SIGN_TYPE_RSA_PSS_SHA256,
                    sign: key.sign_pss(request_content.as_bytes()),
                }),
            }),
            Authenticator::None => None,
        };
        RequestEnvelope { request_content, authen_info }
    }

    /// The HTTP body.
    pub fn to_body(&self) -> String {
        // Room for the escaped content and the authen info: one allocation.
        wire::to_text_with_nulls(self, self.request_content.len() + self.request_content.len() / 4 + 400)
    }

    /// Reads a request body (server side). Unknown top-level keys are ignored.
    pub fn parse(body: &[u8]) -> Result<Self, EnvelopeError> {
        let v: Value = serde_json::from_slice(body).map_err(|e| EnvelopeError(format!("body is not JSON: {e}")))?;
        let Value::Object(mut m) = v else { return Err(EnvelopeError("body is not a JSON object".into())) };
        let request_content = match m.remove("request_content") {
            Some(Value::String(s)) => s,
            Some(_) => return Err(EnvelopeError("request_content must be a JSON string".into())),
            None => return Err(EnvelopeError("request_content is missing".into())),
        };
        let authen_info = match m.remove("authen_info") {
            None | Some(Value::Null) => None,
            Some(v) => Some(serde_json::from_value(v).map_err(|e| EnvelopeError(format!("authen_info: {e}")))?),
        };
        Ok(RequestEnvelope { request_content, authen_info })
    }
}

/// The response body.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ResponseEnvelope {
    /// The inner response as JSON text.
    pub response_content: String,
    /// HMAC over exactly `response_content`; absent for status 3 and 101.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authen_info: Option<AuthenInfo>,
}

/// Result of checking a response's authen code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthCheck {
    /// The HMAC over the exact response_content matches.
    Verified,
    /// No `authen_info.a` in the reply.
    Missing,
    /// An authen code is present but does not match (forged, corrupted or another key).
    Mismatch,
}

impl ResponseEnvelope {
    /// Wraps inner JSON text; with a key, adds the HMAC over exactly that text.
    pub fn seal(response_content: String, key: Option<&[u8]>) -> Self {
        let authen_info = key.map(|k| AuthenInfo {
            a: Some(Authen {
                authen_type: AUTHEN_TYPE_HMAC_SHA256,
                authen_code: crypto::authen_code(k, response_content.as_bytes()),
            }),
            s: None,
        });
        ResponseEnvelope { response_content, authen_info }
    }

    /// The HTTP body.
    pub fn to_body(&self) -> String {
        serde_json::to_string(self).expect("envelope always serialises")
    }

    /// Reads a response body (client side).
    pub fn parse(body: &[u8]) -> Result<Self, EnvelopeError> {
        // Straight into its two members when it can; anything unusual (a member of the wrong
        // type, a malformed authen_info, duplicates) takes the tree below, which words the
        // error or tolerates what it tolerates. serde reads the literal as fast as a
        // hand-written reader did (BENCHMARKS.md, "Fast paths").
        #[derive(Deserialize)]
        struct Shape {
            response_content: Option<String>,
            authen_info: Option<AuthenInfo>,
        }
        if let Ok(Shape { response_content: Some(response_content), authen_info }) =
            serde_json::from_slice::<Shape>(body)
        {
            return Ok(ResponseEnvelope { response_content, authen_info });
        }
        let v: Value = serde_json::from_slice(body).map_err(|e| EnvelopeError(format!("reply is not JSON: {e}")))?;
        let Value::Object(mut m) = v else { return Err(EnvelopeError("reply is not a JSON object".into())) };
        let response_content = match m.remove("response_content") {
            Some(Value::String(s)) => s,
            Some(_) => return Err(EnvelopeError("response_content is not a string".into())),
            None => return Err(EnvelopeError("reply has no response_content".into())),
        };
        // A malformed authen_info is treated like a wrong one: the reply is not trusted.
        let authen_info = m.remove("authen_info").and_then(|v| serde_json::from_value(v).ok());
        Ok(ResponseEnvelope { response_content, authen_info })
    }

    /// Verifies the HMAC over the exact `response_content` string.
    pub fn check(&self, key: &[u8]) -> AuthCheck {
        match self.authen_info.as_ref().and_then(|i| i.a.as_ref()) {
            None => AuthCheck::Missing,
            Some(a)
                if a.authen_type == AUTHEN_TYPE_HMAC_SHA256
                    && crypto::verify_authen_code(key, self.response_content.as_bytes(), &a.authen_code, false) =>
            {
                AuthCheck::Verified
            }
            Some(_) => AuthCheck::Mismatch,
        }
    }
}

/// A decoded `response_content` (docs/wire-protocol.md, "Response envelope"): the common members
/// plus the endpoint's result object.
#[derive(Debug, Clone)]
pub struct Response<T> {
    /// Status code (docs/wire-protocol.md, "Status codes").
    pub status: i32,
    /// Human-readable message.
    pub description: String,
    /// Server log id (may exceed 2^31).
    pub log_id: i64,
    /// Detailed sub-code (docs/wire-protocol.md, "internal_status values").
    pub internal_status: i32,
    /// The result object, when present.
    pub result: Option<T>,
    /// The result object's text as received (for pass-through outputs); compact text of
    /// the normalised tree when the reply needed normalising.
    pub raw_result: Option<Box<RawValue>>,
}

/// Equal when every member is, the raw result compared as text.
impl<T: PartialEq> PartialEq for Response<T> {
    fn eq(&self, o: &Self) -> bool {
        (self.status, &self.description, self.log_id, self.internal_status, &self.result)
            == (o.status, &o.description, o.log_id, o.internal_status, &o.result)
            && self.raw_result.as_deref().map(RawValue::get) == o.raw_result.as_deref().map(RawValue::get)
    }
}

impl<T: Serialize + serde::de::DeserializeOwned> Response<T> {
    /// A reply with status and text and no result object.
    pub fn status_only(status: i32, internal_status: i32, description: impl Into<String>, log_id: i64) -> Self {
        Response { status, description: description.into(), log_id, internal_status, result: None, raw_result: None }
    }

    /// Decodes response_content text for an endpoint.
    ///
    /// The usual reply (nothing for [`wire::normalize`] to rewrite, well-typed common members)
    /// is read in one pass: the common members in place, the result object straight into `T`
    /// and kept as raw text. Anything else takes the tree path, which words the errors.
    pub fn from_content(endpoint: Endpoint, text: &str) -> Result<Self, EnvelopeError> {
        if !wire::may_need_normalizing(text)
            && let Some(r) = Self::from_normal_content(endpoint, text)
        {
            return Ok(r);
        }
        let mut m = wire::object_from_text(text)
            .map_err(|e| EnvelopeError(format!("response_content is not a JSON object: {e}")))?;
        let int = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_i64);
        let status = int(&m, "status").ok_or_else(|| EnvelopeError("response_content has no integer status".into()))?;
        // Compact text of a tree cannot fail to be a raw value.
        let raw_result = m.remove(endpoint.result_key()).and_then(|v| RawValue::from_string(v.to_string()).ok());
        // `T` is read from that text, as the one-pass read does: the library then holds one
        // instance of each result type's reader, not one for text and one for trees, 214 KB
        // less (BENCHMARKS.md, "Footprint"). serde_json's `float_roundtrip` keeps every number
        // of the tree exact through that text.
        let result = match &raw_result {
            Some(r) if r.get() != "null" => Some(
                serde_json::from_str::<T>(r.get())
                    .map_err(|e| EnvelopeError(format!("{} result object: {e}", endpoint.result_key())))?,
            ),
            _ => None,
        };
        Ok(Response {
            status: i32::try_from(status).unwrap_or(i32::MIN),
            description: m.get("description").and_then(Value::as_str).unwrap_or_default().to_owned(),
            log_id: int(&m, "log_id")
                .or_else(|| m.get("log_id").and_then(Value::as_u64).map(|u| u as i64))
                .unwrap_or(0),
            internal_status: int(&m, "internal_status").and_then(|x| i32::try_from(x).ok()).unwrap_or(0),
            result,
            raw_result,
        })
    }

    /// The one-pass read of normalised text; `None` for anything the tree path must judge
    /// (a member of another type, a duplicate, a result `T` rejects).
    fn from_normal_content(endpoint: Endpoint, text: &str) -> Option<Self> {
        let top = serde_json::from_str::<wire::RawMembers<'_>>(text).ok()?.0;
        let mut seen = [None::<&RawValue>; 5];
        let names = ["status", "description", "log_id", "internal_status", endpoint.result_key()];
        for (k, v) in top {
            if let Some(i) = names.iter().position(|n| *n == k.as_ref())
                && seen[i].replace(v).is_some()
            {
                return None;
            }
        }
        let [status, description, log_id, internal_status, raw] = seen;
        let int = |v: Option<&RawValue>| v.map_or(Some(0), |v| serde_json::from_str::<i64>(v.get()).ok());
        let status = serde_json::from_str::<i64>(status?.get()).ok()?;
        let description = match description {
            Some(d) => serde_json::from_str::<String>(d.get()).ok()?,
            None => String::new(),
        };
        let result = match raw {
            Some(r) if r.get() != "null" => Some(serde_json::from_str::<T>(r.get()).ok()?),
            _ => None,
        };
        Some(Response {
            status: i32::try_from(status).unwrap_or(i32::MIN),
            description,
            log_id: int(log_id)?,
            internal_status: int(internal_status).map(|x| i32::try_from(x).unwrap_or(0))?,
            result,
            raw_result: raw.map(RawValue::to_owned),
        })
    }

    /// Encodes response_content text for an endpoint (server side).
    pub fn to_content(&self, endpoint: Endpoint) -> String {
        let mut m = Map::new();
        m.insert("status".into(), self.status.into());
        m.insert("description".into(), self.description.clone().into());
        m.insert("log_id".into(), self.log_id.into());
        m.insert("internal_status".into(), self.internal_status.into());
        if let Some(r) = &self.result {
            m.insert(endpoint.result_key().into(), wire::to_value(r));
        }
        Value::Object(m).to_string()
    }
}

/// A reply as a client sees it, after envelope parsing, authen check and classification.
#[derive(Debug, Clone)]
pub struct Reply<T> {
    /// What the reply means (trust already taken into account).
    pub class: StatusClass,
    /// The authen-code check.
    pub auth: AuthCheck,
    /// The decoded response, when the body could be read.
    pub response: Option<Response<T>>,
    /// Why the reply could not be read or trusted, for the error message.
    pub problem: Option<String>,
}

/// Opens a reply body for endpoint `A`: parse, verify the HMAC over the exact
/// response_content, decode, classify. Anything unreadable or untrusted is `Unknown`.
pub fn open_reply<A: Api>(body: &[u8], key: &[u8]) -> Reply<A::Result> {
    open_reply_with::<A>(body, Some(key))
}

/// Opens a reply when the client holds no key yet (the security-login bootstrap,
/// docs/c-api.md, "Login before a key is known"): the status is taken as sent, the reply's authen
/// code cannot be checked. Callers must only use it where TLS alone protects the exchange.
pub fn open_reply_unverified<A: Api>(body: &[u8]) -> Reply<A::Result> {
    open_reply_with::<A>(body, None)
}

fn open_reply_with<A: Api>(body: &[u8], key: Option<&[u8]>) -> Reply<A::Result> {
    let unknown =
        |auth, problem: String| Reply { class: StatusClass::Unknown, auth, response: None, problem: Some(problem) };
    let env = match ResponseEnvelope::parse(body) {
        Ok(e) => e,
        Err(e) => return unknown(AuthCheck::Missing, e.0),
    };
    let auth = key.map_or(AuthCheck::Missing, |k| env.check(k));
    let resp = match Response::<A::Result>::from_content(A::ENDPOINT, &env.response_content) {
        Ok(r) => r,
        Err(e) => return unknown(auth, e.0),
    };
    let trusted = match auth {
        _ if key.is_none() => true,
        AuthCheck::Verified => true,
        AuthCheck::Missing => !status::carries_authen(resp.status),
        AuthCheck::Mismatch => false,
    };
    let class = status::classify(A::ENDPOINT, resp.status, resp.internal_status, trusted);
    let problem = match (auth, trusted) {
        (AuthCheck::Mismatch, _) => Some("reply authen_code does not match (reply not trusted)".to_owned()),
        (AuthCheck::Missing, false) => {
            Some(format!("status {} reply carries no authen_info (reply not trusted)", resp.status))
        }
        _ => None,
    };
    Reply { class, auth, response: Some(resp), problem }
}
