//! Defaults for `machine_no` and `spbill_create_ip` (docs/c-api.md, "Terminal defaults").

/// The first non-loopback MAC address as `AA-BB-CC-DD-EE-FF`, or zeros when none can be read.
pub fn machine_no() -> String {
    #[cfg(windows)]
    if let Some((mac, _)) = windows_adapter() {
        return mac.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join("-");
    }
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
/// table of local addresses (on Windows: that of the adapter `machine_no` names); no packet
/// is sent and no name is resolved.
pub fn local_ipv4() -> String {
    #[cfg(windows)]
    if let Some((_, Some(ip))) = windows_adapter() {
        return ip.to_string();
    }
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

/// The first adapter that is up, not loopback and has a 6-byte MAC, with its first IPv4
/// address, as Windows' IP helper lists them (the vendor DLL reads the same table).
#[cfg(windows)]
fn windows_adapter() -> Option<([u8; 6], Option<std::net::Ipv4Addr>)> {
    use windows_sys::Win32::Foundation::ERROR_BUFFER_OVERFLOW;
    use windows_sys::Win32::NetworkManagement::IpHelper::{
        GAA_FLAG_SKIP_ANYCAST, GAA_FLAG_SKIP_DNS_SERVER, GAA_FLAG_SKIP_MULTICAST, GetAdaptersAddresses,
        IF_TYPE_SOFTWARE_LOOPBACK, IP_ADAPTER_ADDRESSES_LH,
    };
    use windows_sys::Win32::NetworkManagement::Ndis::IfOperStatusUp;
    use windows_sys::Win32::Networking::WinSock::{AF_INET, SOCKADDR_IN};

    let flags = GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST | GAA_FLAG_SKIP_DNS_SERVER;
    let mut size: u32 = 16 * 1024;
    for _ in 0..3 {
        // u64 elements: the list holds pointers and u64 fields, so it needs 8-byte alignment.
        let mut buf = vec![0u64; (size as usize).div_ceil(8)];
        let head = buf.as_mut_ptr().cast::<IP_ADAPTER_ADDRESSES_LH>();
        // SAFETY: `buf` has `size` writable bytes; Windows fills it with a linked list that
        // points only into `buf`, which outlives every read below.
        let rc = unsafe { GetAdaptersAddresses(u32::from(AF_INET), flags, std::ptr::null(), head, &mut size) };
        if rc == ERROR_BUFFER_OVERFLOW {
            continue; // an adapter appeared between the two calls; `size` is the new need
        }
        if rc != 0 {
            return None;
        }
        let mut p = head.cast_const();
        while !p.is_null() {
            // SAFETY: a node of the list written above.
            let a = unsafe { &*p };
            let mac: [u8; 6] = a.PhysicalAddress[..6].try_into().ok()?;
            if a.OperStatus == IfOperStatusUp
                && a.IfType != IF_TYPE_SOFTWARE_LOOPBACK
                && a.PhysicalAddressLength == 6
                && mac != [0; 6]
            {
                let mut ip = None;
                let mut u = a.FirstUnicastAddress.cast_const();
                while !u.is_null() && ip.is_none() {
                    // SAFETY: list nodes and their sockaddr live in `buf`; the family is read
                    // before the sockaddr is taken as an IPv4 one.
                    unsafe {
                        let sa = (*u).Address.lpSockaddr;
                        if !sa.is_null() && (*sa).sa_family == AF_INET {
                            let sin = &*sa.cast::<SOCKADDR_IN>();
                            ip = Some(std::net::Ipv4Addr::from(sin.sin_addr.S_un.S_addr.to_ne_bytes()));
                        }
                        u = (*u).Next;
                    }
                }
                return Some((mac, ip));
            }
            p = a.Next;
        }
        return None;
    }
    None
}
