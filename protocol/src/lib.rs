//! The Cloud Pay HTTPS wire protocol as Rust types, shared by the SDK and the sandbox.
//!
//! Pure code: no HTTP, no clock, no globals. One place describes every endpoint
//! ([`endpoint::Endpoint`]), the envelope ([`envelope`]), the authentication codes
//! ([`crypto`]), the status classification ([`status`]) and the request/result
//! structures ([`types`]). The protocol is described in `docs/wire-protocol.md`; comments
//! cite its sections by title.

pub mod calendar;
pub mod crypto;
pub mod endpoint;
pub mod envelope;
pub mod status;
pub mod types;
pub mod wire;

pub use endpoint::{Api, AuthMode, Endpoint};
pub use envelope::{AuthCheck, Authenticator, RequestEnvelope, Response, ResponseEnvelope};
pub use status::{StatusClass, classify};
