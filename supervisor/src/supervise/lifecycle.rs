//! State transitions of the supervisor: signals, child exits, restarts, timers and starts.
//! Every change of [`State`] happens in this file.

use super::{State, Supervisor, Then};
use crate::args::OnExit;
use crate::child::{self, Command};
use crate::signals;
use crate::sys::{self, Pid};
use crate::{ctl, reaper};
use std::time::{Duration, Instant};

/// How often a tree that survived SIGKILL is re-scanned (processes forked during teardown).
const REKILL: Duration = Duration::from_millis(100);

impl Supervisor {
    /// One signal from the signalfd: reap, stop, restart, start (`--wait-for`) or forward.
    pub(super) fn on_signal(&mut self, r: signals::Received) {
        let waiting = matches!(self.state, State::Starting { at: None, hook: None }) && self.generation == 0;
        match r.signo {
            libc::SIGCHLD => self.on_sigchld(),
            libc::SIGTERM | libc::SIGINT => self.shutdown(),
            libc::SIGHUP => self.restart("SIGHUP"),
            s if Some(s) == self.cfg.wait_for && waiting => self.begin_start(),
            libc::SIGPIPE if r.sender == sys::getpid() => {} // our own write to a closed pipe
            s => {
                if let Some(g) = self.live_group() {
                    let _ = sys::kill(-g, s);
                }
            }
        }
    }

    fn live_group(&self) -> Option<Pid> {
        match self.state {
            State::Running { .. } | State::Stopping { .. } | State::Starting { hook: Some(_), .. } => {
                self.pgid
            }
            _ => None,
        }
    }

    fn on_sigchld(&mut self) {
        let mut exits = Vec::new();
        let alive = loop {
            let alive = reaper::reap(|pid, st| exits.push((pid, st)));
            if exits.is_empty() {
                break alive;
            }
            for (pid, st) in exits.drain(..) {
                self.on_exit(pid, st);
            }
        };
        match &mut self.state {
            State::Stopping { main: None, then, .. } if !alive => {
                let then = *then;
                self.settle(then);
            }
            State::Stopping {
                sent: sent @ false, ..
            } => {
                *sent = true;
                reaper::signal_tree(self.pgid, self.cfg.stop_signal);
            }
            _ => {}
        }
    }

    /// A child of ours exited: the command, a pre-start hook, or an adopted orphan.
    fn on_exit(&mut self, pid: Pid, status: libc::c_int) {
        match &mut self.state {
            State::Running { pid: p, since } if *p == pid => {
                let since = *since;
                self.record_exit(status);
                let then = self.after_exit(Some(since));
                let deadline = Instant::now() + self.cfg.stop_timeout;
                self.state = State::Stopping {
                    main: None,
                    deadline,
                    killed: false,
                    sent: false,
                    then,
                };
            }
            State::Stopping {
                main: main @ Some(_), ..
            } if *main == Some(pid) => {
                *main = None;
                self.record_exit(status);
            }
            State::Starting {
                hook: Some((p, i)), ..
            } if *p == pid => {
                let i = *i;
                if self.rerun_hooks {
                    // A restart was asked for while the hooks worked on older inputs.
                    self.rerun_hooks = false;
                    crate::warn(
                        "restart requested while a pre-start hook ran; running the pre-start hooks again",
                    );
                    self.begin_start();
                } else if status == 0 {
                    self.run_hook(i + 1);
                } else {
                    let hook = self.cfg.pre_start[i][0].to_string_lossy().into_owned();
                    let why = format!(
                        "pre-start hook `{hook}` failed with {}",
                        child::describe_status(status)
                    );
                    self.start_failed(child::exit_code(status), why);
                }
            }
            _ => {}
        }
    }

    fn record_exit(&mut self, status: libc::c_int) {
        self.last_exit = Some(status);
        self.exit_code = child::exit_code(status);
    }

    /// The on-exit policy for a command that ended by itself (`ran`: since when it ran).
    fn after_exit(&mut self, ran: Option<Instant>) -> Then {
        let what = match self.last_exit {
            Some(st) => child::describe_status(st),
            None => format!("exit code {}", self.exit_code),
        };
        match self.cfg.on_exit {
            OnExit::Exit => Then::Exit,
            OnExit::Wait => {
                crate::warn(&format!(
                    "`{}` ended ({what}); waiting for a restart trigger",
                    self.program()
                ));
                Then::Start(None)
            }
            OnExit::Restart => {
                if ran.is_some_and(|t| t.elapsed() >= self.cfg.backoff_max) {
                    self.backoff = self.cfg.backoff_min;
                }
                let delay = self.backoff;
                self.backoff = (self.backoff * 2).min(self.cfg.backoff_max);
                crate::warn(&format!(
                    "`{}` ended ({what}); restarting in {delay:?}",
                    self.program()
                ));
                Then::Start(Some(Instant::now() + delay))
            }
        }
    }

    fn settle(&mut self, then: Then) {
        self.state = match then {
            Then::Exit => State::Exited(self.exit_code),
            Then::Start(at) => State::Starting { at, hook: None },
        };
    }

    /// SIGTERM/SIGINT: stop the tree, then exit with the child's code.
    fn shutdown(&mut self) {
        match &mut self.state {
            State::Starting {
                hook: Some((pid, _)), ..
            }
            | State::Running { pid, .. } => {
                let main = Some(*pid);
                let deadline = Instant::now() + self.cfg.stop_timeout;
                self.state = State::Stopping {
                    main,
                    deadline,
                    killed: false,
                    sent: true,
                    then: Then::Exit,
                };
                reaper::signal_tree(self.pgid, self.cfg.stop_signal);
            }
            State::Starting { .. } => self.state = State::Exited(self.exit_code),
            State::Stopping { then, .. } => *then = Then::Exit,
            State::Exited(_) => {}
        }
    }

    /// A restart trigger fired. Requests during a restart coalesce into it.
    pub(super) fn restart(&mut self, why: &str) {
        let program = self.program();
        match &mut self.state {
            State::Starting { hook: None, .. } => {
                self.state = State::Starting {
                    at: Some(Instant::now()),
                    hook: None,
                }
            }
            State::Running { pid, .. } => {
                crate::warn(&format!("restarting `{program}` ({why})"));
                let main = Some(*pid);
                let deadline = Instant::now() + self.cfg.stop_timeout;
                let then = Then::Start(Some(Instant::now()));
                self.state = State::Stopping {
                    main,
                    deadline,
                    killed: false,
                    sent: true,
                    then,
                };
                reaper::signal_tree(self.pgid, self.cfg.stop_signal);
            }
            State::Stopping {
                then: then @ Then::Start(_),
                ..
            } => *then = Then::Start(Some(Instant::now())),
            // A hook is never killed mid-way (it may be a migration); the sequence runs again
            // once it has finished, so the command starts from the newest inputs.
            State::Starting { hook: Some(_), .. } => self.rerun_hooks = true,
            _ => {}
        }
    }

    /// Deadlines: the watcher's debounce, a delayed start (held back while the trigger file
    /// settles), the stop grace and the re-kill.
    pub(super) fn on_timer(&mut self, now: Instant) {
        if self
            .watcher
            .as_mut()
            .is_some_and(|w| w.next_deadline().is_some_and(|d| d <= now) && w.on_timer(now))
        {
            self.restart("file change");
        }
        let start_due = matches!(self.state, State::Starting { at: Some(t), hook: None } if t <= now);
        // One copy of the trigger file is several events: all of them precede the start.
        if start_due && self.trigger_settled(now) {
            return self.begin_start();
        }
        match &mut self.state {
            State::Stopping { deadline, killed, .. } if *deadline <= now => {
                if !*killed {
                    crate::warn(&format!(
                        "`{}` did not stop within {:?} of {}; sending SIGKILL",
                        self.cfg.command[0].to_string_lossy(),
                        self.cfg.stop_timeout,
                        signals::name(self.cfg.stop_signal)
                    ));
                }
                *killed = true;
                *deadline = now + REKILL;
                reaper::signal_tree(self.pgid, libc::SIGKILL);
            }
            _ => {}
        }
    }

    /// Reloads the env file and runs the pre-start hooks, then the command.
    fn begin_start(&mut self) {
        self.reload_env();
        self.run_hook(0);
    }

    fn run_hook(&mut self, i: usize) {
        let Some(argv) = self.cfg.pre_start.get(i) else {
            return self.spawn_main();
        };
        let cmd = Command::new(argv, &self.child_env());
        match cmd.spawn(child::Stdio::default()) {
            Ok(pid) => {
                self.pgid = Some(pid);
                self.state = State::Starting {
                    at: None,
                    hook: Some((pid, i)),
                };
            }
            Err(e) => {
                let (msg, code) = cmd.spawn_failure(e);
                self.start_failed(code, format!("pre-start hook: {msg}"));
            }
        }
    }

    fn spawn_main(&mut self) {
        let cmd = Command::new(&self.cfg.command, &self.child_env());
        let next = self.generation + 1;
        let ends = match self.output.as_mut().map(|o| {
            o.drain_before(next);
            o.open(next)
        }) {
            Some(Err(e)) => return self.start_failed(1, format!("cannot create log pipes: {e}")),
            Some(Ok(ends)) => Some(ends),
            None => None,
        };
        let spawned = cmd.spawn(ends.as_ref().map(|e| e.stdio).unwrap_or_default());
        drop(ends);
        match spawned {
            Ok(pid) => {
                self.pgid = Some(pid);
                self.generation = next;
                self.state = State::Running {
                    pid,
                    since: Instant::now(),
                };
                for w in self.waiters.drain(..) {
                    ctl::reply(w, true, &format!("{pid}\n"));
                }
            }
            Err(e) => {
                let (msg, code) = cmd.spawn_failure(e);
                self.start_failed(code, msg);
            }
        }
    }

    fn start_failed(&mut self, code: i32, msg: String) {
        crate::warn(&msg);
        for w in self.waiters.drain(..) {
            ctl::reply(w, false, &msg);
        }
        self.last_exit = None;
        self.exit_code = code;
        let then = self.after_exit(None);
        self.settle(then);
    }
}
