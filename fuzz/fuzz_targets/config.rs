//! CloudPayConf parsing (without starting a runtime).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        // Nothing here may touch the network; the base URL is only parsed.
        let _ = cloud_pay_sdk::config::Config::parse(text);
    }
});
