//! A shaped link for tests and benchmarks: a TCP relay on loopback that delays what it
//! forwards, stalls some segments as a lost-and-retransmitted one would, and can forward
//! nothing for a while. `tc netem` is not available on every machine (no netem qdisc), and a
//! user-space relay needs no privileges.
//!
//! Loopback only, both ends; every thread ends when the relay is dropped.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How a link misbehaves. Each direction is shaped on its own.
#[derive(Debug, Clone)]
pub struct LinkProfile {
    /// Delay of every segment, one way (half the round trip).
    pub one_way: Duration,
    /// Up to this much more, at random, per segment (order is kept).
    pub jitter: Duration,
    /// Share of segments held back as a retransmission after a loss would be (0.0–1.0).
    pub stall_chance: f64,
    /// Shortest and longest such stall.
    pub stall: (Duration, Duration),
    /// `(every, length)`: nothing is forwarded during the last `length` of every `every`
    /// (a link that goes dead, then comes back).
    pub blackout: Option<(Duration, Duration)>,
}

impl LinkProfile {
    /// A weak mobile link: 300 ms round trip with jitter, 2 % of segments stalled 0.2–3 s.
    pub fn lossy() -> LinkProfile {
        LinkProfile {
            one_way: Duration::from_millis(150),
            jitter: Duration::from_millis(40),
            stall_chance: 0.02,
            stall: (Duration::from_millis(200), Duration::from_secs(3)),
            blackout: None,
        }
    }

    /// The lossy link that also forwards nothing for `length` once every `every`.
    pub fn stalling(every: Duration, length: Duration) -> LinkProfile {
        LinkProfile { blackout: Some((every, length)), ..LinkProfile::lossy() }
    }
}

/// A running relay: connections to [`Relay::addr`] are forwarded to the target, shaped.
pub struct Relay {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicU64>,
    accept: Option<JoinHandle<()>>,
}

impl Relay {
    /// Starts a relay on 127.0.0.1 to `target` (which must be a loopback address too);
    /// `seed` makes the jitter and the stalls repeatable.
    pub fn start(target: SocketAddr, profile: LinkProfile, seed: u64) -> io::Result<Relay> {
        if !target.ip().is_loopback() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "the relay only forwards to loopback"));
        }
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicU64::new(0));
        let (st, acc) = (stop.clone(), accepted.clone());
        let started = Instant::now();
        let accept = std::thread::Builder::new().name("relay-accept".into()).spawn(move || {
            let mut n = 0u64;
            while !st.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        n += 1;
                        acc.fetch_add(1, Ordering::SeqCst);
                        let Ok(server) = TcpStream::connect(target) else { continue };
                        let shape = Shape { profile: profile.clone(), started, stop: st.clone() };
                        let _ = link(client, server, shape, seed.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        })?;
        Ok(Relay { addr, stop, accepted, accept: Some(accept) })
    }

    /// Where to connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

#[derive(Clone)]
struct Shape {
    profile: LinkProfile,
    started: Instant,
    stop: Arc<AtomicBool>,
}

/// Small, seeded, good enough for shaping (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        lo + hi.saturating_sub(lo).mul_f64(self.next())
    }
}

impl Shape {
    /// When a segment read now may leave.
    fn release(&self, rng: &mut Rng) -> Instant {
        let now = Instant::now();
        let p = &self.profile;
        let mut at = now + p.one_way + p.jitter.mul_f64(rng.next());
        if rng.next() < p.stall_chance {
            at += rng.between(p.stall.0, p.stall.1);
        }
        if let Some((every, length)) = p.blackout {
            let every_ms = every.as_millis().max(1) as u64;
            let phase = (now - self.started).as_millis() as u64 % every_ms;
            let dark_from = every_ms.saturating_sub(length.as_millis() as u64);
            if phase >= dark_from {
                at = at.max(now + Duration::from_millis(every_ms - phase) + p.one_way);
            }
        }
        at
    }
}

fn link(client: TcpStream, server: TcpStream, shape: Shape, seed: u64) -> io::Result<()> {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    pump(client.try_clone()?, server.try_clone()?, shape.clone(), seed | 1)?;
    pump(server, client, shape, (seed ^ 0xA5A5_A5A5) | 1)
}

/// Forwards `from` to `to`: a reader that stamps each segment with its release time, and a
/// writer that waits for it. Order is kept, as TCP would.
fn pump(mut from: TcpStream, mut to: TcpStream, shape: Shape, seed: u64) -> io::Result<()> {
    from.set_read_timeout(Some(Duration::from_millis(100)))?;
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let stop = shape.stop.clone();
    std::thread::Builder::new().name("relay-read".into()).spawn(move || {
        let mut rng = Rng(seed);
        let mut last = Instant::now();
        let mut buf = vec![0u8; 16 * 1024];
        while !shape.stop.load(Ordering::SeqCst) {
            match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    last = last.max(shape.release(&mut rng));
                    if tx.send((last, buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => break,
            }
        }
        // An empty segment carries the end of stream, delayed like the data before it.
        let _ = tx.send((last.max(Instant::now()), Vec::new()));
    })?;
    std::thread::Builder::new().name("relay-write".into()).spawn(move || {
        while let Ok((at, data)) = rx.recv() {
            while Instant::now() < at {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep((at - Instant::now()).min(Duration::from_millis(50)));
            }
            if data.is_empty() || to.write_all(&data).is_err() {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
        }
    })?;
    Ok(())
}
