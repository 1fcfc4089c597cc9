//! Drop-in Rust replacement for Tencent Cloud Pay's Windows SDK (`CloudPayAPI_SDK_CPP`).
//!
//! The C ABI (`cloud_pay_*`, see `include/cloud_pay.h`) is a thin shell ([`ffi`]) over a
//! typed core: [`trade`] holds the money rules, [`client`] and [`transport`] talk to the
//! server through the shared wire protocol ([`protocol`]), [`runtime`] owns the global
//! state and the background poll workers.
#![deny(missing_docs)]

pub mod client;
pub mod config;
pub mod domains;
pub mod error;
pub mod ffi;
pub mod files;
pub mod input;
pub mod machine;
pub mod merchant;
pub mod monitor;
pub mod nonce;
pub mod outcome;
pub mod paycode;
pub mod platform;
pub mod runtime;
pub mod schedule;
pub mod sdklog;
pub mod secret;
pub mod security;
pub mod trade;
pub mod transport;

#[cfg(test)]
mod layers;

pub use cloud_pay_protocol as protocol;
pub use ffi::codes::*;
pub use ffi::merchant::*;
pub use ffi::security::*;
pub use ffi::trade::*;
