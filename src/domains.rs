//! The service domains and fail-over (`prober_dns`; docs/c-api.md, "Domain fail-over").
//!
//! With `prober_dns = 1` the domains are probed with `ping` at init and after a network
//! failure; new calls go to the first healthy one. An order stays on the domain that took its
//! micro_pay unless that domain is found down, so a payment is never split across domains
//! while its own domain answers.

use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

/// Cloud Pay's documented hosts, in preference order.
pub const DEFAULT_DOMAINS: &[&str] = &[
    "https://pay.qcloud.com/cpay/",
    "https://sz.pay.qcloud.com/cpay/",
    "https://sh.pay.qcloud.com/cpay/",
    "https://tj.pay.qcloud.com/cpay/",
];

/// The domain list and which one is in use.
pub struct Domains {
    list: Vec<String>,
    current: AtomicUsize,
    down: Mutex<Vec<bool>>,
    probing: Mutex<()>,
    prober: bool,
}

impl Domains {
    /// A list (first = preferred). `prober` enables probing and fail-over.
    pub fn new(list: Vec<String>, prober: bool) -> Domains {
        let n = list.len();
        Domains {
            list,
            current: AtomicUsize::new(0),
            down: Mutex::new(vec![false; n]),
            probing: Mutex::new(()),
            prober,
        }
    }

    /// Whether fail-over is on.
    pub fn prober(&self) -> bool {
        self.prober
    }

    /// The base URL for new calls.
    pub fn current(&self) -> String {
        self.list[self.current.load(Ordering::Acquire).min(self.list.len() - 1)].clone()
    }

    /// The base URL for a call about an order pinned to `pinned`: the pinned domain unless
    /// it was found down.
    pub fn route(&self, pinned: Option<&str>) -> String {
        match pinned.and_then(|p| self.list.iter().position(|d| d == p)) {
            Some(i) if !self.down.lock()[i] => self.list[i].clone(),
            Some(_) => self.current(),
            None => pinned.map(str::to_owned).unwrap_or_else(|| self.current()),
        }
    }

    /// Probes the domains in order with `healthy` and makes the first healthy one current.
    /// Returns whether the current domain changed. Concurrent callers do not probe twice.
    pub fn probe(&self, healthy: impl Fn(&str) -> bool) -> bool {
        if !self.prober {
            return false;
        }
        let Some(_guard) = self.probing.try_lock() else { return false };
        let before = self.current.load(Ordering::Acquire);
        let mut marks = vec![false; self.list.len()];
        let mut chosen = None;
        for (i, d) in self.list.iter().enumerate() {
            if healthy(d) {
                chosen = Some(i);
                break;
            }
            marks[i] = true;
        }
        // All down: keep the preferred one (nothing better is known) and clear no marks.
        let chosen = chosen.unwrap_or(before);
        *self.down.lock() = marks;
        self.current.store(chosen, Ordering::Release);
        chosen != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_healthy_wins_and_pinned_orders_stay_unless_down() {
        let d = Domains::new(vec!["a/".into(), "b/".into(), "c/".into()], true);
        assert_eq!(d.current(), "a/");
        assert!(d.probe(|x| x != "a/"));
        assert_eq!(d.current(), "b/");
        assert_eq!(d.route(Some("a/")), "b/", "a is down");
        assert_eq!(d.route(Some("c/")), "c/", "c was not found down: its orders stay there");
        assert!(d.probe(|_| true));
        assert_eq!(d.current(), "a/");
        assert_eq!(d.route(Some("b/")), "b/", "orders pinned to b stay on b while it is up");
        assert!(!d.probe(|_| false), "all down: keep the current one");
        let off = Domains::new(vec!["a/".into(), "b/".into()], false);
        assert!(!off.probe(|_| false));
        assert_eq!(off.current(), "a/");
    }
}
