//! Command line and `RESPAWN_*` environment parsing (hand-written: no parser crate in PID 1).
//!
//! Every supervisor option has a long flag and an environment variable; the flag wins.
//! The option table below is also the source of `--help`.

pub use crate::logs::LogFormat;
use respawn_settings::{self as settings, OPTIONS, Platform};
pub use text::help;

pub mod platform;
mod text;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// What the binary was asked to do.
pub enum Invocation {
    /// Supervise a command.
    Run(Box<Config>),
    /// `respawn install DEST`.
    Install(PathBuf),
    /// `respawn restart` / `respawn status` (the request word) via the control socket.
    Control(&'static str, Option<String>),
    /// `respawn probe …`: a liveness/startup check that a restart in progress holds.
    Probe(Box<settings::Probe>),
    /// Print this text to stdout and exit 0 (`--help`, `--version`).
    Print(String),
}

/// What to do when the child exits on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnExit {
    /// Exit with the child's code (Kubernetes' restart policy applies).
    Exit,
    /// Start it again after an exponential backoff.
    Restart,
    /// Stay up; the next restart trigger starts it again.
    Wait,
}

/// The supervisor's settings.
#[derive(Debug)]
pub struct Config {
    /// The command and its arguments: the `--argv-for` entry of this binary's platform, else
    /// the command after `--`.
    pub command: Vec<OsString>,
    /// The platform whose `--argv-for` entry is `command` (`None`: the command after `--`).
    pub argv_for: Option<Platform>,
    /// Signal that asks the child to stop.
    pub stop_signal: libc::c_int,
    /// Grace period between the stop signal and SIGKILL.
    pub stop_timeout: Duration,
    /// Policy when the child exits on its own.
    pub on_exit: OnExit,
    /// First restart delay of `--on-exit restart`.
    pub backoff_min: Duration,
    /// Longest restart delay; a run this long resets the backoff.
    pub backoff_max: Duration,
    /// Dotenv file reloaded before every start (`None`: disabled).
    pub env_file: Option<PathBuf>,
    /// Commands run (exec form) before every start.
    pub pre_start: Vec<Vec<OsString>>,
    /// Signal to wait for before the first start.
    pub wait_for: Option<libc::c_int>,
    /// Log framing.
    pub log_format: LogFormat,
    /// Trigger file (`None`: disabled).
    pub trigger_file: Option<PathBuf>,
    /// Watched paths (recursive).
    pub watch: Vec<PathBuf>,
    /// Ignore globs for the watch.
    pub ignore: Vec<String>,
    /// Quiet period that groups file changes into one restart.
    pub debounce: Duration,
    /// Control socket: `@name` (abstract) or a path; `None` disables it.
    pub control_socket: Option<String>,
}

/// A usage error: the message names the problem; exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

fn usage(msg: impl Into<String>) -> UsageError {
    UsageError(msg.into())
}

/// Parses `args` (without argv\[0]) and the environment `env` (e.g. `std::env::vars_os()`).
pub fn parse(args: Vec<OsString>, env: &[(OsString, OsString)]) -> Result<Invocation, UsageError> {
    let first = args.first().and_then(|a| a.to_str()).unwrap_or("");
    match first {
        "install" => return parse_install(&args[1..]),
        settings::PROBE => return parse_probe(&args[1..], env),
        "restart" | "status" => {
            let word = if first == "restart" { "restart" } else { "status" };
            let (mut vals, mut entries) = (Vec::new(), Vec::new());
            let rest = collect_opts(&args[1..], &mut vals, &mut entries)?;
            if !entries.is_empty() {
                return Err(usage(format!("option --argv-for does not apply to `{word}`")));
            }
            if let Some(extra) = rest.first() {
                return Err(usage(format!(
                    "unexpected argument '{}' for `{word}`",
                    extra.to_string_lossy()
                )));
            }
            let mut socket = env_value(env, "RESPAWN_CONTROL_SOCKET");
            for (name, v) in vals {
                match name {
                    "control-socket" => socket = Some(v),
                    "help" => return Ok(Invocation::Print(help())),
                    _ => return Err(usage(format!("option --{name} does not apply to `{word}`"))),
                }
            }
            return Ok(Invocation::Control(word, socket));
        }
        _ => {}
    }
    let (mut vals, mut entries) = (Vec::new(), Vec::new());
    let command = collect_opts(&args, &mut vals, &mut entries)?;
    if vals.iter().any(|(n, _)| *n == "help") {
        return Ok(Invocation::Print(help()));
    }
    if vals.iter().any(|(n, _)| *n == "version") {
        return Ok(Invocation::Print(format!(
            "respawn {}\n",
            env!("CARGO_PKG_VERSION")
        )));
    }
    if command.is_empty() {
        return Err(usage(
            "no command given: expected `respawn [OPTIONS] -- CMD [ARGS...]`",
        ));
    }
    let (command, chosen) = platform::choose(entries, &platform::own(), command);
    let mut cfg = Config::defaults(command);
    cfg.argv_for = chosen;
    for opt in OPTIONS {
        if let Some(v) = env_value(env, opt.env) {
            for item in settings::list(opt.kind, &v) {
                cfg.set(opt.name, item, opt.env)?;
            }
        }
    }
    let mut cleared: Vec<&str> = Vec::new();
    for (name, v) in vals {
        if matches!(name, "watch" | "ignore" | "pre-start") && !cleared.contains(&name) {
            cleared.push(name); // flags replace a list given in the environment
            cfg.clear_list(name);
        }
        cfg.set(name, &v, &format!("--{name}"))?;
    }
    Ok(Invocation::Run(Box::new(cfg)))
}

fn env_value(env: &[(OsString, OsString)], key: &str) -> Option<String> {
    env.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.to_string_lossy().into_owned())
}

/// Splits leading options into `(name, value)` pairs and `--argv-for` entries; returns the
/// command after them.
fn collect_opts(
    args: &[OsString],
    out: &mut Vec<(&'static str, String)>,
    entries: &mut Vec<platform::Entry>,
) -> Result<Vec<OsString>, UsageError> {
    let mut i = 0;
    while i < args.len() {
        let Some(a) = args[i].to_str() else { break };
        if a == "--" {
            return Ok(args[i + 1..].to_vec());
        }
        if a == "-h" || a == "--help" {
            out.push(("help", String::new()));
        } else if a == "-V" || a == "--version" {
            out.push(("version", String::new()));
        } else if let Some(body) = a.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            if name == "argv-for" {
                let (entry, used) = platform::read_entry(inline.as_deref(), &args[i + 1..])?;
                platform::push(entries, entry)?;
                i += 1 + used;
                continue;
            }
            let opt = settings::option(name).ok_or_else(|| usage(format!("unknown option '--{name}'")))?;
            let value = match inline {
                Some(v) => v,
                None => {
                    i += 1;
                    let v = args
                        .get(i)
                        .ok_or_else(|| usage(format!("option '--{name}' needs a value ({})", opt.arg)))?;
                    v.to_string_lossy().into_owned()
                }
            };
            out.push((opt.name, value));
        } else if a.starts_with('-') && a.len() > 1 {
            return Err(usage(format!("unknown option '{a}'")));
        } else {
            break;
        }
        i += 1;
    }
    Ok(args[i..].to_vec())
}

/// `respawn probe …` with the grammar the webhook renders it in (`respawn_settings::probe`);
/// the control socket comes from `RESPAWN_CONTROL_SOCKET` unless `--control-socket` is given,
/// and a network check's address from `RESPAWN_POD_IP` unless `--host` is given.
fn parse_probe(args: &[OsString], env: &[(OsString, OsString)]) -> Result<Invocation, UsageError> {
    let options = args.iter().take_while(|a| *a != "--");
    if options.into_iter().any(|a| a == "--help" || a == "-h") {
        return Ok(Invocation::Print(help()));
    }
    let mut p = settings::probe(args).map_err(|e| usage(format!("probe: {e}")))?;
    if p.control_socket.is_none() {
        p.control_socket = env_value(env, "RESPAWN_CONTROL_SOCKET");
    }
    if let settings::Check::TcpSocket { host, .. } | settings::Check::HttpGet { host, .. } = &mut p.check {
        if host.is_none() {
            *host = env_value(env, settings::POD_IP_ENV).and_then(|v| v.trim().parse().ok());
        }
    }
    Ok(Invocation::Probe(Box::new(p)))
}

fn parse_install(args: &[OsString]) -> Result<Invocation, UsageError> {
    match args {
        [h] if h == "--help" || h == "-h" => Ok(Invocation::Print(help())),
        [dest] if !dest.to_string_lossy().starts_with('-') => Ok(Invocation::Install(PathBuf::from(dest))),
        [] => Err(usage("install: missing DEST (usage: respawn install DEST)")),
        _ => Err(usage(
            "install: expected exactly one argument, DEST (usage: respawn install DEST)",
        )),
    }
}

impl Config {
    fn defaults(command: Vec<OsString>) -> Config {
        Config {
            command,
            argv_for: None,
            stop_signal: libc::SIGTERM,
            stop_timeout: Duration::from_secs(10),
            on_exit: OnExit::Exit,
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
            env_file: Some(PathBuf::from("/tmp/.env")),
            pre_start: Vec::new(),
            wait_for: None,
            log_format: LogFormat::Inherit,
            trigger_file: Some(PathBuf::from("/tmp/.restart-proc")),
            watch: Vec::new(),
            ignore: Vec::new(),
            debounce: crate::watch::DEFAULT_DEBOUNCE,
            control_socket: Some(String::new()),
        }
    }

    fn clear_list(&mut self, name: &str) {
        match name {
            "watch" => self.watch.clear(),
            "ignore" => self.ignore.clear(),
            _ => self.pre_start.clear(),
        }
    }

    /// Applies one option value; `src` names the flag or variable for error messages. The value
    /// is checked with the grammar the webhook also uses (`respawn_settings`).
    fn set(&mut self, name: &str, v: &str, src: &str) -> Result<(), UsageError> {
        let opt = settings::option(name).ok_or_else(|| usage(format!("unknown option '{src}'")))?;
        let v = v.trim();
        opt.kind
            .check(v)
            .map_err(|e| usage(format!("invalid value '{v}' for {src}: {e}")))?;
        // Checked above: the parsers below cannot fail.
        let dur = || settings::duration(v).unwrap_or_default();
        let sig = || settings::signal(v).map_or(libc::SIGTERM, |s| s.number(libc::SIGRTMIN()));
        let none_or = |v: &str| (v != "none" && !v.is_empty()).then(|| PathBuf::from(v));
        match name {
            "stop-signal" => self.stop_signal = sig(),
            "wait-for" => self.wait_for = Some(sig()),
            "stop-timeout" => self.stop_timeout = dur(),
            "backoff-min" => self.backoff_min = dur(),
            "backoff-max" => self.backoff_max = dur(),
            "debounce" => self.debounce = dur(),
            "on-exit" => {
                self.on_exit = match v {
                    "restart" => OnExit::Restart,
                    "wait" => OnExit::Wait,
                    _ => OnExit::Exit,
                }
            }
            "log-format" => self.log_format = v.parse().unwrap_or(LogFormat::Inherit),
            "env-file" => self.env_file = none_or(v),
            "trigger-file" => self.trigger_file = none_or(v),
            "control-socket" => self.control_socket = (v != "none").then(|| v.to_string()),
            "watch" => self.watch.push(PathBuf::from(v)),
            "ignore" => self.ignore.push(v.to_string()),
            "pre-start" => {
                let words = settings::split_words(v).unwrap_or_default();
                self.pre_start
                    .push(words.into_iter().map(OsString::from).collect());
            }
            _ => return Err(usage(format!("unknown option '{src}'"))),
        }
        Ok(())
    }
}

#[cfg(test)]
mod argv_for_tests;
#[cfg(test)]
mod tests;
