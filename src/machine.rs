//! Defaults for `machine_no` and `spbill_create_ip` (sdk-c-api.md U15).

/// The first non-loopback MAC address as `AA-BB-CC-DD-EE-FF`, or zeros when none can be read.
pub fn machine_no() -> String {
    #[cfg(target_os = "linux")]
    if let Ok(dir) = std::fs::read_dir("/sys/class/net") {
        let mut names: Vec<_> = dir.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        for n in names.iter().filter(|n| n.as_str() != "lo") {
            if let Ok(mac) = std::fs::read_to_string(format!("/sys/class/net/{n}/address")) {
                let mac = mac.trim().to_ascii_uppercase().replace(':', "-");
                if mac.len() == 17 && mac != "00-00-00-00-00-00" {
                    return mac;
                }
            }
        }
    }
    "00-00-00-00-00-00".to_owned()
}

/// The first non-loopback local IPv4 address, or 127.0.0.1. Read from the kernel's
/// table of local addresses; no packet is sent and no name is resolved.
pub fn local_ipv4() -> String {
    #[cfg(target_os = "linux")]
    if let Ok(trie) = std::fs::read_to_string("/proc/net/fib_trie") {
        let mut last_ip = "";
        for line in trie.lines() {
            let t = line.trim_start().trim_start_matches(['|', '+', '-', ' ']);
            if line.contains("/32 host LOCAL") && !last_ip.starts_with("127.") && !last_ip.is_empty() {
                return last_ip.to_owned();
            }
            if let Some(ip) = t.split_whitespace().next().filter(|w| w.parse::<std::net::Ipv4Addr>().is_ok()) {
                last_ip = ip;
            }
        }
    }
    "127.0.0.1".to_owned()
}
