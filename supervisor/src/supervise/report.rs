//! What the supervisor tells its clients about itself: the `status` text (`respawn status`) and
//! the `probe` answer (`respawn probe`, see `crate::probe`).

use super::{State, Supervisor, Then};
use crate::args::platform;
use crate::child;

impl Supervisor {
    /// The text `respawn status` prints.
    pub(super) fn status(&self) -> String {
        let (state, pid, up) = match self.state {
            State::Running { pid, since } => (
                "running",
                pid.to_string(),
                format!("{:.3}s", since.elapsed().as_secs_f64()),
            ),
            State::Starting { .. } => ("starting", "-".into(), "-".into()),
            State::Stopping { .. } => ("stopping", "-".into(), "-".into()),
            State::Exited(_) => ("exited", "-".into(), "-".into()),
        };
        let last = self.last_exit.map_or("none".to_string(), child::describe_status);
        let from = if self.cfg.argv_for.is_some() {
            " (its --argv-for entry)"
        } else {
            ""
        };
        format!(
            "state: {state}\npid: {pid}\ngeneration: {}\nrestarts: {}\nlast exit: {last}\nuptime: {up}\nsupervisor uptime: {:.3}s\ncommand: {}\nplatform: {}{from}\n",
            self.generation,
            self.generation.saturating_sub(1),
            self.born.elapsed().as_secs_f64(),
            platform::show(&self.cfg.command),
            platform::own(),
        )
    }

    /// The answer to `probe`: `STATE AGE`. STATE is `running`; `stopping` (a restart is
    /// stopping the old tree), `starting` (pre-start hooks, a backoff delay, or the start
    /// itself), `waiting` (for a restart trigger after `--on-exit wait`, or for the `--wait-for`
    /// signal) — a restart in progress; or `exiting` (the supervisor is shutting down). AGE is
    /// how many milliseconds ago the last restart finished (the running generation started),
    /// `-` while the first generation runs or nothing runs.
    pub(super) fn probe_answer(&self) -> String {
        let state = match self.state {
            State::Running { .. } => "running",
            State::Stopping {
                then: Then::Start(_), ..
            } => "stopping",
            State::Starting { at: None, hook: None } => "waiting",
            State::Starting { .. } => "starting",
            State::Stopping { then: Then::Exit, .. } | State::Exited(_) => "exiting",
        };
        match self.state {
            State::Running { since, .. } if self.generation > 1 => {
                format!("{state} {}\n", since.elapsed().as_millis())
            }
            _ => format!("{state} -\n"),
        }
    }
}
