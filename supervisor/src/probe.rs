//! `respawn probe`: a liveness or startup check that a restart in progress does not fail.
//!
//! The webhook rewrites a wrapped container's liveness and startup probes to
//! `/respawn/respawn probe [--grace D] [--timeout D] CHECK` (grammar: `respawn_settings::probe`).
//! The kubelet runs it in the container like any exec probe. It first asks the supervisor on
//! the control socket (request `probe`) what it is doing: while a restart is in progress, or
//! for `--grace` after one finished, the probe succeeds at once; otherwise it runs the original
//! check itself — a command ([`exec`]), a TCP connect or an HTTP GET ([`net`]) — within
//! `--timeout`, and its result is the probe's. A supervisor that cannot be asked (none
//! listening, or an older one that does not know `probe`) holds nothing: the check runs.
//!
//! Exit codes: 0 success (checked or held), the command's code for a failed `--exec` check
//! (126/127 when it cannot run), 1 for any other failed check, 2 for a usage error.

mod exec;
pub mod net;

use crate::ctl::{self, AskError};
use respawn_settings::{Check, Probe, show_duration};
use std::time::{Duration, Instant};

/// A failed check: the exit code and what to tell the kubelet (it shows it in the pod's
/// events, `kubectl describe pod`).
#[derive(Debug)]
pub struct Failure {
    /// The probe's exit code.
    pub code: i32,
    /// The message.
    pub msg: String,
}

impl Failure {
    /// A failure with exit code 1.
    pub fn new(msg: String) -> Failure {
        Failure { code: 1, msg }
    }
}

/// Runs the probe; returns the exit code.
pub fn run(p: &Probe) -> i32 {
    let deadline = Instant::now() + p.timeout;
    if let Some(why) = held(p, deadline) {
        println!("respawn: probe: check skipped: {why}");
        return 0;
    }
    let result = match &p.check {
        Check::Exec(cmd) => exec::check(cmd, deadline, p.timeout),
        Check::TcpSocket { port, host } => net::tcp(net::address(*host, *port), deadline, p.timeout),
        Check::HttpGet {
            port,
            host,
            path,
            headers,
        } => net::http(net::address(*host, *port), path, headers, deadline, p.timeout),
    };
    match result {
        Ok(()) => 0,
        Err(f) => {
            crate::warn(&format!("probe failed: {}", f.msg));
            f.code
        }
    }
}

/// Asks the supervisor; `Some(why)` when a restart holds the probe.
fn held(p: &Probe, deadline: Instant) -> Option<String> {
    let limit = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    match ctl::ask("probe", p.control_socket.as_deref(), Some(limit)) {
        Ok(answer) => hold(&answer, p.grace),
        Err(AskError::Refused(m)) => {
            crate::warn(&format!(
                "probe: the supervisor cannot tell whether it is restarting ({m}); checking anyway"
            ));
            None
        }
        Err(e) => {
            crate::warn(&format!("probe: {}; checking anyway", e.message()));
            None
        }
    }
}

/// Whether the supervisor's answer to `probe` (`STATE AGE`, see `supervise/report.rs`) holds
/// the probe with this grace; `Some(why)` when it does.
pub fn hold(answer: &str, grace: Duration) -> Option<String> {
    let mut words = answer.split_whitespace();
    let state = words.next()?;
    let age = words.next()?;
    match state {
        "stopping" => Some("a restart is in progress (stopping the old process tree)".into()),
        "starting" => Some("a restart is in progress (starting the command)".into()),
        "waiting" => Some("the supervisor is waiting for a restart trigger".into()),
        "running" => {
            let ago = Duration::from_millis(age.parse().ok()?);
            (ago < grace).then(|| {
                format!(
                    "the last restart finished {:.3}s ago, within the grace of {}",
                    ago.as_secs_f64(),
                    show_duration(grace)
                )
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_in_progress_or_within_the_grace_holds_the_probe() {
        let g = Duration::from_secs(30);
        for answer in ["stopping 5", "starting -", "waiting -", "starting 100\n"] {
            assert!(hold(answer, g).is_some(), "{answer}");
        }
        assert!(
            hold("running 29999\n", g)
                .unwrap()
                .contains("finished 29.999s ago, within the grace of 30s")
        );
        for answer in [
            "running 30000",
            "running -",
            "exiting 1",
            "running",
            "",
            "running x",
            "new-state 1",
        ] {
            assert_eq!(hold(answer, g), None, "{answer}");
        }
        assert_eq!(
            hold("running 0", Duration::ZERO),
            None,
            "no grace: only restarts in progress"
        );
    }
}
