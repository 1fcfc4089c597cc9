//! A local Cloud Pay server (`https://pay.qcloud.com/cpay/<endpoint>` look-alike) for building
//! and testing cashier integrations without a merchant account. See `sandbox/README.md`.
//!
//! Its behaviour is what the SDK's tests treat as the truth: envelope and HMAC rules, order
//! and refund state machines scripted by the payment code, idempotency, and injectable faults.

mod bootstrap;
pub mod config;
mod console;
mod control;
mod dashboard;
mod endpoint;
pub mod faults;
mod handlers;
mod http;
mod listing;
mod message;
mod pay;
mod refund;
pub mod relay;
mod scenario;
mod shared;
mod shops;
mod state;
mod tls;
mod util;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

pub use config::{DeviceConfig, MerchantConfig, REPLY_STYLE_ENV, ReplyStyle, SandboxConfig, ShopConfig, StaffConfig};
pub use control::Control;
pub use dashboard::{CustomerAction, RefundOutcome};
pub use faults::{FaultKind, FaultPhase, FaultRule};
pub use pay::ScanAction;
pub use refund::FAIL_MARKER;
pub use relay::{LinkProfile, Relay};

use http::{Connections, Router};
use shared::Shared;
use state::Store;

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Merchants and knobs.
    pub config: SandboxConfig,
    /// `None` = a fresh temporary directory (deleted on stop; the state stays in memory only);
    /// `Some` = load state from there if present, and save it there after every change.
    pub state_dir: Option<PathBuf>,
    /// Plain HTTP listener; default 127.0.0.1:0.
    pub http_addr: Option<SocketAddr>,
    /// HTTPS listener; default 127.0.0.1:0.
    pub https_addr: Option<SocketAddr>,
    /// `Some((cert_chain_pem, key_pem))` to load; `None` = generated CA + server certificate.
    pub tls: Option<(PathBuf, PathBuf)>,
}

impl SandboxOptions {
    /// The demo merchant, ephemeral ports, a temporary state directory.
    pub fn demo() -> Self {
        SandboxOptions { config: SandboxConfig::demo(), state_dir: None, http_addr: None, https_addr: None, tls: None }
    }
}

/// A running sandbox. Stops on `stop()` or drop.
pub struct Sandbox {
    shared: Arc<Shared>,
    conns: Arc<Connections>,
    control: Control,
    http: SocketAddr,
    https: SocketAddr,
    ca_pem: String,
    threads: Vec<JoinHandle<()>>,
    temp_dir: Option<PathBuf>,
}

fn loopback(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() { SocketAddr::from(([127, 0, 0, 1], addr.port())) } else { addr }
}

impl Sandbox {
    /// Binds both listeners, loads state, and starts serving.
    ///
    /// `CLOUDPAY_SANDBOX_REPLY_STYLE=raw|escaped` in the environment overrides the config's
    /// `reply_style` (so one variable switches every sandbox a test suite starts, in-process or
    /// as the binary); any other value is an error.
    pub fn start(mut opts: SandboxOptions) -> io::Result<Sandbox> {
        if let Some(v) = std::env::var_os(REPLY_STYLE_ENV) {
            let v = v.to_string_lossy();
            opts.config.reply_style = ReplyStyle::parse(&v).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("{REPLY_STYLE_ENV}={v}: expected raw or escaped"))
            })?;
        }
        let (dir, temp_dir) = match opts.state_dir {
            Some(d) => (d, None),
            None => {
                let d = std::env::temp_dir().join(format!(
                    "cloud-pay-sandbox-{}-{}",
                    std::process::id(),
                    util::random_alnum(10)
                ));
                (d.clone(), Some(d))
            }
        };
        std::fs::create_dir_all(&dir)?;
        let store = Store::load(&dir, &opts.config)?;
        let default = SocketAddr::from(([127, 0, 0, 1], 0));
        let http_l = TcpListener::bind(opts.http_addr.unwrap_or(default))?;
        let https_l = TcpListener::bind(opts.https_addr.unwrap_or(default))?;
        let tls = match &opts.tls {
            Some((cert, key)) => tls::load(cert, key)?,
            None => tls::generate(&dir)?,
        };
        let http = loopback(http_l.local_addr()?);
        let https = loopback(https_l.local_addr()?);
        let shared = Arc::new(Shared::new(opts.config, store, dir, temp_dir.is_none()));
        *shared.base.write() = format!("http://{http}/");
        shared.persist(&shared.store.lock());
        let conns = Arc::new(Connections::default());
        let control = Control::new(shared.clone(), conns.clone());
        let router: Arc<Router> = {
            let control = control.clone();
            Arc::new(move |req: &message::Request| control::route(&control, req))
        };
        let threads = vec![
            http::spawn_listener(conns.clone(), router.clone(), http_l, None)?,
            http::spawn_listener(conns.clone(), router, https_l, Some(tls.config))?,
        ];
        Ok(Sandbox { control, shared, conns, http, https, ca_pem: tls.ca_pem, threads, temp_dir })
    }

    /// `http://127.0.0.1:PORT/cpay/`.
    pub fn http_base_url(&self) -> String {
        format!("http://{}/cpay/", self.http)
    }

    /// `https://127.0.0.1:PORT/cpay/` (certificate valid for 127.0.0.1 and localhost).
    pub fn https_base_url(&self) -> String {
        format!("https://{}/cpay/", self.https)
    }

    /// PEM of the CA that signed the server certificate (empty for loaded certificates).
    pub fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// The CA PEM on disk (`<state_dir>/ca.pem`).
    pub fn ca_file(&self) -> PathBuf {
        self.shared.state_dir.join("ca.pem")
    }

    /// Where state.json lives.
    pub fn state_dir(&self) -> PathBuf {
        self.shared.state_dir.clone()
    }

    /// The control handle.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Stops the listeners and closes live connections (keep-alive ones too).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if self.conns.stop() {
            return;
        }
        self.conns.close_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        // Connections accepted in the last instant are closed too.
        self.conns.close_all();
        if let Some(d) = self.temp_dir.take() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.shutdown();
    }
}
