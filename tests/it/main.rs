//! The integration tests, as one test binary: one link of the SDK and its dependencies instead
//! of one per file, which was most of the time `cargo test` spent on a fresh build.
//!
//! Each file is a module; `cargo test --test it <file>::` runs one of them. All modules share
//! one process, so the SDK's one runtime, the environment and the security login's key folder
//! are shared too: every test that inits the SDK or sets an environment variable holds
//! `common::serial()` while it does (and `common::EnvVar` restores what it set). Tests that need
//! a process of their own (a till that is SIGKILLed, a second writer on one journal) re-run
//! this binary with one child test selected: `common::child_test`.

mod common;

mod abi;
mod adaptive_polling;
mod cashier_outputs;
mod config_safety;
mod crash_recovery;
mod fail_fast;
mod fault_matrix;
mod header;
mod hostile_server;
mod integration_doc;
mod merchant;
mod model;
mod money_rules;
mod money_safety;
mod monitor_failover;
mod proxy;
mod readme;
mod sdk_log;
mod security;
mod self_contained;
mod system_roots;
mod trade_flow;
mod transport;
mod weak_link;
