//! The supervisor's one synchronous event loop: signalfd, control socket, trigger file, file
//! watcher and log pipes polled together, with the child's lifecycle kept in one explicit
//! [`State`] (transitions in `supervise/lifecycle.rs`).
//!
//! Nothing runs concurrently, and `poll` sleeps without a timeout unless a deadline (start
//! backoff, stop grace, watcher debounce) is pending: an idle supervisor never wakes up.

mod lifecycle;
mod report;

use crate::args::{Config, platform};
use crate::output::Output;
use crate::signals::{self, SignalFd};
use crate::sys::{self, Pid};
use crate::trigger::TriggerFile;
use crate::watch::Watcher;
use crate::{ctl, reaper};
use std::ffi::OsString;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant, SystemTime};

/// The trigger file used when none is configured; silently skipped when unusable.
const DEFAULT_TRIGGER: &str = "/tmp/.restart-proc";

/// The trigger-file watch is armed this long after start. Tearing an inotify instance down
/// waits for an SRCU grace period (milliseconds), which would dominate the run time of a
/// short-lived command; a one-time mtime check covers the gap.
const TRIGGER_ARM_DELAY: Duration = Duration::from_millis(50);

/// The child's lifecycle.
#[derive(Clone, Copy, Debug)]
enum State {
    /// Nothing runs yet: start at `at` (`None`: on the next trigger), or a pre-start hook
    /// (`hook`: pid, index) is running.
    Starting {
        at: Option<Instant>,
        hook: Option<(Pid, usize)>,
    },
    /// The command runs as `pid` (leader of its process group) since `since`.
    Running { pid: Pid, since: Instant },
    /// The tree is being stopped; `main` while the command itself is alive. At `deadline` the
    /// tree gets SIGKILL (`killed`). `sent`: the stop signal went out.
    Stopping {
        main: Option<Pid>,
        deadline: Instant,
        killed: bool,
        sent: bool,
        then: Then,
    },
    /// Done: the supervisor exits with this code.
    Exited(i32),
}

/// What follows once a stopping tree is gone.
#[derive(Clone, Copy, Debug)]
enum Then {
    /// Exit with the recorded code.
    Exit,
    /// Start again at this instant (`None`: on the next trigger).
    Start(Option<Instant>),
}

/// The supervisor: configuration, state and the event sources.
pub struct Supervisor {
    cfg: Config,
    state: State,
    sigfd: SignalFd,
    ctl: Option<ctl::Server>,
    trigger: Option<TriggerFile>,
    trigger_arm: Option<Instant>,
    /// While an action on the trigger file is settling: when it will have settled.
    trigger_settles: Option<Instant>,
    born_wall: SystemTime,
    watcher: Option<Watcher>,
    output: Option<Output>,
    pgid: Option<Pid>,
    generation: u64,
    last_exit: Option<libc::c_int>,
    exit_code: i32,
    backoff: Duration,
    born: Instant,
    waiters: Vec<UnixStream>,
    /// A restart was requested while a pre-start hook ran: run the hooks again after it.
    rerun_hooks: bool,
    base_env: Vec<(OsString, OsString)>,
    file_env: Vec<(OsString, OsString)>,
}

impl Supervisor {
    /// Sets up signals, orphan adoption and the event sources. Must run before any thread or
    /// child exists.
    pub fn new(cfg: Config) -> std::io::Result<Supervisor> {
        signals::record_ignored();
        let sigfd = SignalFd::new()?;
        reaper::adopt_orphans();
        let ctl = cfg.control_socket.as_deref().and_then(|spec| {
            let name = ctl::resolve(spec);
            ctl::Server::bind(&name)
                .map_err(|e| crate::warn(&format!("control socket {name} unavailable ({e}); `respawn restart` will not reach this supervisor")))
                .ok()
        });
        let watcher = (!cfg.watch.is_empty())
            .then(|| Watcher::new(&cfg.watch, &cfg.ignore, cfg.debounce))
            .and_then(|r| {
                r.map_err(|e| crate::warn(&format!("{e}; continuing without --watch")))
                    .ok()
            })
            .map(|mut w| {
                // A fallback to polling decided at start-up is explained here; later ones are
                // reported from the event loop.
                if let Some(m) = w.take_message() {
                    crate::warn(&m);
                }
                w
            });
        let base_env = crate::env::inherited();
        let at = cfg.wait_for.is_none().then(Instant::now);
        if let Some(p) = &cfg.argv_for {
            crate::warn(&format!(
                "platform {p}: running its --argv-for entry: {}",
                platform::show(&cfg.command)
            ));
        }
        if let Some(sig) = cfg.wait_for {
            crate::warn(&format!("waiting for {} before starting", signals::name(sig)));
        }
        let trigger_arm = cfg
            .trigger_file
            .is_some()
            .then(|| Instant::now() + TRIGGER_ARM_DELAY);
        Ok(Supervisor {
            backoff: cfg.backoff_min,
            output: Output::new(cfg.log_format),
            cfg,
            state: State::Starting { at, hook: None },
            sigfd,
            ctl,
            trigger: None,
            trigger_arm,
            trigger_settles: None,
            born_wall: SystemTime::now(),
            watcher,
            pgid: None,
            generation: 0,
            last_exit: None,
            exit_code: 0,
            born: Instant::now(),
            waiters: Vec::new(),
            rerun_hooks: false,
            base_env,
            file_env: Vec::new(),
        })
    }

    /// Runs until the supervisor should exit; returns the exit code.
    pub fn run(mut self) -> i32 {
        let mut fds = Vec::new();
        let mut sigs = Vec::new();
        loop {
            self.arm_trigger(Instant::now());
            self.on_timer(Instant::now());
            if let State::Exited(code) = self.state {
                if let Some(o) = &mut self.output {
                    o.drain_before(u64::MAX);
                }
                for w in self.waiters.drain(..) {
                    ctl::reply(w, false, "the supervisor is exiting");
                }
                return code;
            }
            fds.clear();
            fds.push(sys::pollin(&self.sigfd));
            if let Some(c) = &self.ctl {
                c.pollfds(&mut fds);
            }
            let ctl_end = fds.len();
            let trigger_fd = self.trigger.as_ref().map(|t| t.fd());
            let watch_fd = self.watcher.as_ref().and_then(|w| w.fd());
            for fd in [trigger_fd, watch_fd].into_iter().flatten() {
                fds.push(libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
            let out_start = fds.len();
            if let Some(o) = &self.output {
                o.pollfds(&mut fds);
            }
            if let Err(e) = sys::poll(&mut fds, self.deadline()) {
                crate::warn(&format!("poll: {e}"));
            }
            if fds[0].revents != 0 {
                sigs.clear();
                if let Err(e) = self.sigfd.read(&mut sigs) {
                    crate::warn(&format!("signalfd: {e}"));
                }
                for r in sigs.drain(..) {
                    self.on_signal(r);
                }
            }
            if fds[1..ctl_end].iter().any(|f| f.revents != 0) {
                let reqs = self.ctl.as_mut().map(|c| c.handle()).unwrap_or_default();
                for r in reqs {
                    self.on_request(r);
                }
            }
            let ready = |fd: Option<i32>| {
                fds[ctl_end..out_start]
                    .iter()
                    .any(|p| Some(p.fd) == fd && p.revents != 0)
            };
            let (trigger_ready, watch_ready) = (ready(trigger_fd), ready(watch_fd));
            self.on_sources(trigger_ready, watch_ready);
            if let Some(o) = &mut self.output {
                o.handle(&fds[out_start..]);
            }
        }
    }

    /// Arms the trigger-file watch once its delay has passed; a write or touch since our start
    /// counts as a trigger.
    fn arm_trigger(&mut self, now: Instant) {
        if self.trigger_arm.is_none_or(|t| t > now) {
            return;
        }
        self.trigger_arm = None;
        let Some(path) = self.cfg.trigger_file.clone() else {
            return;
        };
        match TriggerFile::new(&path, self.cfg.debounce) {
            Ok(t) => self.trigger = Some(t),
            Err(e) if path.as_os_str() != DEFAULT_TRIGGER => {
                crate::warn(&format!("{e}; continuing without it"))
            }
            Err(_) => {}
        }
        // File times are clock-tick coarse: allow one tick of slack.
        let since = self.born_wall - Duration::from_millis(5);
        if std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|m| m > since)
        {
            self.restart("trigger file");
        }
    }

    /// The trigger file and the watcher.
    fn on_sources(&mut self, trigger_ready: bool, watch_ready: bool) {
        if let Some(t) = self.trigger.as_mut().filter(|_| trigger_ready) {
            let fired = t.handle_readable(Instant::now());
            if let Some(m) = t.take_message() {
                crate::warn(&m);
            }
            if fired {
                self.restart("trigger file");
            }
        }
        if let Some(w) = self.watcher.as_mut().filter(|_| watch_ready) {
            w.handle_readable(Instant::now());
            if let Some(m) = w.take_message() {
                crate::warn(&m);
            }
        }
    }

    fn deadline(&self) -> Option<Instant> {
        let own = match self.state {
            // A start waits for the trigger file to settle too (`trigger_settled`).
            State::Starting {
                at: Some(t),
                hook: None,
            } => Some(t.max(self.trigger_settles.unwrap_or(t))),
            State::Stopping { deadline, .. } => Some(deadline),
            _ => None,
        };
        let watch = self.watcher.as_ref().and_then(|w| w.next_deadline());
        [own, watch, self.trigger_arm].into_iter().flatten().min()
    }

    /// Whether a start may happen now as far as the trigger file is concerned: no action on it
    /// is in progress, or its events stopped long enough ago ([`TriggerFile::pending`]). Events
    /// still queued are read first: they belong to the action being coalesced into this start.
    fn trigger_settled(&mut self, now: Instant) -> bool {
        let Some(t) = self.trigger.as_mut() else {
            return true;
        };
        if t.pending(now).is_none() {
            t.handle_readable(now);
            if let Some(m) = t.take_message() {
                crate::warn(&m);
            }
        }
        self.trigger_settles = t.pending(now);
        self.trigger_settles.is_none()
    }

    fn on_request(&mut self, req: ctl::Request) {
        match req.word.as_str() {
            "status" => ctl::reply(req.conn, true, &self.status()),
            "probe" => ctl::reply(req.conn, true, &self.probe_answer()),
            "restart" => match self.state {
                State::Stopping { then: Then::Exit, .. } | State::Exited(_) => {
                    ctl::reply(req.conn, false, "the supervisor is shutting down")
                }
                _ => {
                    self.waiters.push(req.conn);
                    self.restart("respawn restart");
                }
            },
            other => ctl::reply(req.conn, false, &format!("unknown request {other:?}")),
        }
    }

    fn program(&self) -> String {
        self.cfg.command[0].to_string_lossy().into_owned()
    }

    /// Re-reads the env file; a malformed file is reported and the previous values are kept.
    fn reload_env(&mut self) {
        let Some(path) = &self.cfg.env_file else { return };
        match crate::env::load_env_file(path) {
            Ok(Some(vars)) => {
                self.file_env = vars
                    .into_iter()
                    .filter(|(k, _)| !k.starts_with("RESPAWN_"))
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect()
            }
            Ok(None) => self.file_env.clear(),
            Err(e) => crate::warn(&format!("env file {e}; keeping the previous environment")),
        }
    }

    /// Our environment without `RESPAWN_*`, overlaid with the env file.
    fn child_env(&self) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> = self
            .base_env
            .iter()
            .filter(|(k, _)| !self.file_env.iter().any(|(f, _)| f == k))
            .cloned()
            .collect();
        env.extend(self.file_env.iter().cloned());
        env
    }
}
