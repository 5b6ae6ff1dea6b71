//! The supervisor's one synchronous event loop: signalfd, control socket and restart triggers
//! polled together, with the child's lifecycle kept in one explicit [`State`].
//!
//! Every state change happens in the `on_*` methods of [`Supervisor`]; nothing runs
//! concurrently, and `poll` sleeps without a timeout unless a deadline is pending.

use crate::args::{Config, OnExit};
use crate::child::{self, Command};
use crate::signals::{self, SignalFd};
use crate::sys::{self, Pid};
use crate::{ctl, reaper};
use std::ffi::OsString;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// How often a tree that survived SIGKILL is re-scanned (processes forked during teardown).
const REKILL: Duration = Duration::from_millis(100);

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
    pgid: Option<Pid>,
    generation: u64,
    last_exit: Option<libc::c_int>,
    exit_code: i32,
    backoff: Duration,
    born: Instant,
    waiters: Vec<UnixStream>,
    base_env: Vec<(OsString, OsString)>,
    file_env: Vec<(OsString, OsString)>,
}

impl Supervisor {
    /// Sets up signals, orphan adoption and the control socket. Must run before any thread or
    /// child exists.
    pub fn new(cfg: Config) -> std::io::Result<Supervisor> {
        let sigfd = SignalFd::new()?;
        reaper::adopt_orphans();
        let ctl = cfg.control_socket.as_deref().and_then(|spec| {
            let name = ctl::resolve(spec);
            ctl::Server::bind(&name)
                .map_err(|e| crate::warn(&format!("control socket {name} unavailable ({e}); `respawn restart` will not reach this supervisor")))
                .ok()
        });
        let base_env = std::env::vars_os()
            .filter(|(k, _)| !k.to_string_lossy().starts_with("RESPAWN_"))
            .collect();
        let at = cfg.wait_for.is_none().then(Instant::now);
        if let Some(sig) = cfg.wait_for {
            crate::warn(&format!(
                "waiting for {} before starting",
                signals::name(sig)
            ));
        }
        Ok(Supervisor {
            backoff: cfg.backoff_min,
            cfg,
            state: State::Starting { at, hook: None },
            sigfd,
            ctl,
            pgid: None,
            generation: 0,
            last_exit: None,
            exit_code: 0,
            born: Instant::now(),
            waiters: Vec::new(),
            base_env,
            file_env: Vec::new(),
        })
    }

    /// Runs until the supervisor should exit; returns the exit code.
    pub fn run(mut self) -> i32 {
        let mut fds = Vec::new();
        let mut sigs = Vec::new();
        loop {
            self.on_timer(Instant::now());
            if let State::Exited(code) = self.state {
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
            if fds[1..].iter().any(|f| f.revents != 0) {
                let reqs = self.ctl.as_mut().map(|c| c.handle()).unwrap_or_default();
                for r in reqs {
                    self.on_request(r);
                }
            }
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match self.state {
            State::Starting {
                at: Some(t),
                hook: None,
            } => Some(t),
            State::Stopping { deadline, .. } => Some(deadline),
            _ => None,
        }
    }

    fn on_signal(&mut self, r: signals::Received) {
        let waiting = matches!(
            self.state,
            State::Starting {
                at: None,
                hook: None
            }
        ) && self.generation == 0;
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
            State::Running { .. }
            | State::Stopping { .. }
            | State::Starting { hook: Some(_), .. } => self.pgid,
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
            State::Stopping {
                main: None, then, ..
            } if !alive => {
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
                main: main @ Some(_),
                ..
            } if *main == Some(pid) => {
                *main = None;
                self.record_exit(status);
            }
            State::Starting {
                hook: Some((p, i)), ..
            } if *p == pid => {
                let i = *i;
                if status == 0 {
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

    fn shutdown(&mut self) {
        match &mut self.state {
            State::Starting {
                hook: Some((pid, _)),
                ..
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
    fn restart(&mut self, why: &str) {
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
            _ => {}
        }
    }

    fn on_timer(&mut self, now: Instant) {
        match &mut self.state {
            State::Starting {
                at: Some(t),
                hook: None,
            } if *t <= now => self.begin_start(),
            State::Stopping {
                deadline, killed, ..
            } if *deadline <= now => {
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

    fn on_request(&mut self, req: ctl::Request) {
        match req.word.as_str() {
            "status" => ctl::reply(req.conn, true, &self.status()),
            "restart" => match self.state {
                State::Stopping {
                    then: Then::Exit, ..
                }
                | State::Exited(_) => {
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

    fn status(&self) -> String {
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
        let last = self
            .last_exit
            .map_or("none".to_string(), child::describe_status);
        format!(
            "state: {state}\npid: {pid}\ngeneration: {}\nrestarts: {}\nlast exit: {last}\nuptime: {up}\nsupervisor uptime: {:.3}s\ncommand: {}\n",
            self.generation,
            self.generation.saturating_sub(1),
            self.born.elapsed().as_secs_f64(),
            self.program()
        )
    }

    fn program(&self) -> String {
        self.cfg.command[0].to_string_lossy().into_owned()
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
                let (msg, code) = spawn_error(&cmd, e);
                self.start_failed(code, format!("pre-start hook: {msg}"));
            }
        }
    }

    fn spawn_main(&mut self) {
        let cmd = Command::new(&self.cfg.command, &self.child_env());
        match cmd.spawn(child::Stdio::default()) {
            Ok(pid) => {
                self.pgid = Some(pid);
                self.generation += 1;
                self.state = State::Running {
                    pid,
                    since: Instant::now(),
                };
                for w in self.waiters.drain(..) {
                    ctl::reply(w, true, &pid.to_string());
                }
            }
            Err(e) => {
                let (msg, code) = spawn_error(&cmd, e);
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

    fn reload_env(&mut self) {
        let Some(path) = &self.cfg.env_file else {
            return;
        };
        match crate::env::load_env_file(path) {
            Ok(Some(vars)) => {
                self.file_env = vars
                    .into_iter()
                    .filter(|(k, _)| !k.starts_with("RESPAWN_"))
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect()
            }
            Ok(None) => self.file_env.clear(),
            Err(e) => crate::warn(&format!(
                "{}: {e}; keeping the previous environment",
                path.display()
            )),
        }
    }

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

fn spawn_error(cmd: &Command, e: child::SpawnError) -> (String, i32) {
    match e {
        child::SpawnError::Exec(errno) => cmd.describe_failure(errno),
        child::SpawnError::Os(e) => (format!("cannot start `{}`: {e}", cmd.program), 126),
    }
}
