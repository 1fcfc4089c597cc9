//! Fresh `nonce_str` values for requests: the random state lives here, not in the protocol
//! crate, which only turns a seed and a number into a nonce.

/// A fresh `nonce_str`: 32 upper-case hex characters, unpredictable and never repeated.
///
/// A per-thread 32-byte seed from the OS CSPRNG and a counter, reseeded every 1024 nonces: one
/// system call per thousand requests instead of one per request.
pub fn nonce_str() -> String {
    const RESEED_EVERY: u64 = 1024;
    thread_local! {
        static STATE: std::cell::Cell<([u8; 32], u64)> = const { std::cell::Cell::new(([0; 32], 0)) };
    }
    let (seed, n) = STATE.with(|s| {
        let (mut seed, n) = s.get();
        if n % RESEED_EVERY == 0 {
            getrandom::getrandom(&mut seed).expect("OS random source unavailable");
        }
        s.set((seed, n + 1));
        (seed, n)
    });
    cloud_pay_protocol::crypto::nonce_from(&seed, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_32_upper_hex_and_never_repeat_across_threads() {
        let per_thread: Vec<Vec<String>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4).map(|_| s.spawn(|| (0..5000).map(|_| nonce_str()).collect::<Vec<_>>())).collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let all: std::collections::HashSet<&String> = per_thread.iter().flatten().collect();
        assert_eq!(all.len(), 20_000, "a nonce repeated");
        assert!(
            all.iter().all(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)))
        );
    }
}
