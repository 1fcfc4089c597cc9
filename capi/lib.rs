//! The shipped C library: the 19 exports of `cloud_pay_sdk::ffi`, linked into one cdylib.
//!
//! A separate crate only so that the release profile's fat LTO applies; there is no code here.
//! The `#[no_mangle]` exports of a linked crate are the cdylib's exports.
//! See docs/architecture.md, "The shipped library".
#![allow(non_snake_case)] // the library's file name is the vendor's: CloudPayAPI_SDK_CPP

extern crate cloud_pay_sdk;
