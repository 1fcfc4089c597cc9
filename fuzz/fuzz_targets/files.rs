//! Files the SDK reads back: the order journal and the encrypted security-mode files.
#![no_main]

use cloud_pay_sdk::security::store::{self, Key, Kind};
use cloud_pay_sdk::trade::journal;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let r = journal::read(data);
    assert!(r.corrupt_bytes <= data.len());
    let key = Key::new([7u8; 16]);
    let _ = store::open(Kind::Configuration, Some("sz01TESTSUBMCH000001"), &key, data);
    let _ = store::open(Kind::Login, None, &key, data);
});
