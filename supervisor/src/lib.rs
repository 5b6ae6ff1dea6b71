//! The `respawn` supervisor as a library: the binary in `main.rs` only parses and calls in.
//! Owned split: core (args, child, signals, reaper, ctl, install) and live-restart helpers
//! (env, watch, trigger, logs).

pub mod env;
pub mod logs;
pub mod trigger;
pub mod watch;
