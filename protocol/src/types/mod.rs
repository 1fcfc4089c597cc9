//! Request and result structures for every endpoint (docs/wire-protocol.md, "Endpoints") and the
//! shared structures (docs/wire-protocol.md, "Shared structures").
//!
//! Conventions: required request fields are plain types, optional ones `Option`; unset
//! options are omitted on the wire ([`crate::wire::to_text`]). Response structures keep
//! members they do not model in `extra`, so pass-through outputs lose nothing.

pub mod client;
pub mod common;
pub mod enums;
pub mod listing;
pub mod monitor;
pub mod shop;
pub mod trade;

pub use client::*;
pub use common::*;
pub use enums::*;
pub use listing::*;
pub use monitor::*;
pub use shop::*;
pub use trade::*;

/// Declares a wire structure with the common derives and `#[serde(default)]`.
macro_rules! wire {
    ($(#[$m:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $(#[$m])*
        #[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Default, PartialEq)]
        #[serde(default)]
        pub struct $name { $($body)* }
    };
}
pub(crate) use wire;

/// Declares the marker type binding an endpoint to its request and result.
macro_rules! api {
    ($(#[$m:meta])* $marker:ident = $endpoint:ident, $req:ty => $res:ty) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy)]
        pub struct $marker;
        impl crate::endpoint::Api for $marker {
            const ENDPOINT: crate::endpoint::Endpoint = crate::endpoint::Endpoint::$endpoint;
            type Request = $req;
            type Result = $res;
        }
    };
}
pub(crate) use api;
