//! The `respawn` supervisor as a library: the binary in `main.rs` only parses and calls in.
//!
//! Flow: [`args`] → [`supervise`] (event loop) → [`child`] (spawn) → [`signals`]/[`reaper`]
//! → restart triggers ([`trigger`], [`watch`], [`ctl`]); [`install`] for the init container;
//! [`probe`] for liveness/startup probes that a restart in progress must not fail.
//! Owned split: core (args, child, signals, reaper, ctl, install, supervise, sys) and
//! live-restart helpers (env, watch, trigger, logs).

pub mod args;
pub mod child;
pub mod ctl;
pub mod env;
pub mod install;
pub mod logs;
pub mod output;
pub mod probe;
pub mod reaper;
pub mod signals;
pub mod supervise;
pub mod sys;
pub mod trigger;
pub mod watch;

use std::ffi::OsString;

/// Prints `respawn: MSG` to stderr in one write (messages of concurrent processes don't mix).
pub fn warn(msg: &str) {
    let line = format!("respawn: {msg}\n");
    let _ = sys::write_all(2, line.as_bytes());
}

/// Runs the binary with `args` (without argv\[0]); returns the process exit code.
pub fn main(args: Vec<OsString>) -> i32 {
    let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    match args::parse(args, &env) {
        Err(args::UsageError(msg)) => {
            warn(&format!("{msg}\nTry 'respawn --help' for more information."));
            2
        }
        Ok(args::Invocation::Print(text)) => {
            let _ = sys::write_all(1, text.as_bytes());
            0
        }
        Ok(args::Invocation::Install(dest)) => match install::install(&dest) {
            Ok(()) => 0,
            Err(msg) => {
                warn(&msg);
                1
            }
        },
        Ok(args::Invocation::Control(word, socket)) => ctl::client(word, socket.as_deref()),
        Ok(args::Invocation::Probe(p)) => probe::run(&p),
        Ok(args::Invocation::Run(cfg)) => match supervise::Supervisor::new(*cfg) {
            Ok(s) => s.run(),
            Err(e) => {
                warn(&format!("cannot set up signal handling: {e}"));
                1
            }
        },
    }
}
