//! respawn-settings: the one grammar of the supervisor's settings.
//!
//! The supervisor reads its options from flags and `RESPAWN_*` variables; the webhook reads the
//! same settings from `respawn.dev/*` pod annotations and hands them to the supervisor as those
//! variables. Both sides check values with this crate, so a value the webhook accepts is one the
//! supervisor accepts, and the reverse: [`OPTIONS`] is the table (flag, variable, annotation,
//! value kind, help), [`Kind::check`] the grammar, [`duration`], [`signal`] and [`split_words`]
//! the parsers. [`platform`] and [`argv_for_args`] are the contract of `--argv-for`, the per-platform
//! argv the webhook hands the supervisor. [`probe`] and [`Probe::args`] are the grammar of
//! `respawn probe`, the check a rewritten liveness or startup probe runs. No dependencies: it is compiled into the ≤ 700 KiB
//! static supervisor.
#![forbid(unsafe_code)]

mod duration;
mod platform;
mod probe;
mod signal;
mod words;

pub use duration::{MAX_DURATION, duration};
pub use platform::{ARGV_FOR, Platform, argv_for_args, platform};
pub use probe::{Check, DEFAULT_TIMEOUT, POD_IP_ENV, PROBE, Probe, probe, show_duration};
pub use signal::{NAMES as SIGNAL_NAMES, RT_OFFSET_MAX, Signal, signal};
pub use words::split_words;

use std::fmt;

/// A value that does not fit its setting's grammar. The message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError(pub String);

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ValueError {}

/// The grammar of one setting's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A duration ([`duration`]): `10s`, `500ms`, `1m30s`, `1.5s`, or plain seconds.
    Duration,
    /// A signal ([`signal`]): `TERM`, `SIGTERM`, `15`, `RTMIN+3`.
    Signal,
    /// A signal the supervisor can wait for: any [`Kind::Signal`] but KILL and STOP.
    CatchableSignal,
    /// One of the listed words.
    OneOf(&'static [&'static str]),
    /// A path, or `none` to turn the feature off (an empty value also means off).
    PathOrNone,
    /// One entry of a list (a path or a glob); the variable holds several, comma- or
    /// newline-separated ([`list`]).
    ListItem,
    /// A command line in exec form ([`split_words`]); the variable holds one per line.
    Command,
    /// `@NAME` (abstract socket), a path, or `none`.
    Socket,
}

impl Kind {
    /// Checks `value` (already split from its list, see [`list`]) and returns the canonical
    /// text the supervisor reads the same way (signals as `SIGNAME` or a number, everything
    /// else trimmed but unchanged).
    pub fn check(self, value: &str) -> Result<String, ValueError> {
        let v = value.trim();
        let err = |m: String| Err(ValueError(m));
        match self {
            Kind::Duration => duration(v).map(|_| v.to_string()),
            Kind::Signal => signal(v).map(|s| s.to_string()),
            Kind::CatchableSignal => {
                let s = signal(v)?;
                if s.is_uncatchable() {
                    return err(format!("{s} cannot be caught, so it cannot be waited for"));
                }
                Ok(s.to_string())
            }
            Kind::OneOf(words) if words.contains(&v) => Ok(v.to_string()),
            Kind::OneOf(words) => err(format!("expected one of {}, got {v:?}", words.join(", "))),
            Kind::PathOrNone if v.is_empty() || v == "none" || v.starts_with('/') => Ok(v.to_string()),
            Kind::PathOrNone => err(format!("expected an absolute path or `none`, got {v:?}")),
            Kind::ListItem if v.is_empty() => err("empty entry in a list".to_string()),
            Kind::ListItem => Ok(v.to_string()),
            Kind::Command => match split_words(v) {
                None => err(format!("unbalanced quote or trailing backslash in {v:?}")),
                Some(w) if w.is_empty() => err("empty command".to_string()),
                Some(_) => Ok(v.to_string()),
            },
            Kind::Socket if v == "none" || v.starts_with('@') || v.starts_with('/') => Ok(v.to_string()),
            Kind::Socket => err(format!("expected @NAME, an absolute path or `none`, got {v:?}")),
        }
    }

    /// True when the variable holds a list ([`list`] splits it).
    pub fn is_list(self) -> bool {
        matches!(self, Kind::ListItem | Kind::Command)
    }
}

/// The entries of a list-valued variable: `watch`/`ignore` split at commas and newlines,
/// `pre-start` at newlines; entries trimmed, empty ones dropped. Other kinds: the value itself.
pub fn list(kind: Kind, value: &str) -> Vec<&str> {
    let parts: Vec<&str> = match kind {
        Kind::ListItem => value.split([',', '\n']).collect(),
        Kind::Command => value.lines().collect(),
        _ => return vec![value],
    };
    parts
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// One supervisor option.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    /// The flag without `--`; also the annotation's name after `respawn.dev/`.
    pub name: &'static str,
    /// The environment variable.
    pub env: &'static str,
    /// The value's grammar.
    pub kind: Kind,
    /// True when pods may set it with the annotation `respawn.dev/<name>`.
    pub annotation: bool,
    /// The value's placeholder in `--help`.
    pub arg: &'static str,
    /// One line of `--help`.
    pub help: &'static str,
}

/// Words of `--on-exit`.
pub const ON_EXIT: &[&str] = &["exit", "restart", "wait"];
/// Words of `--log-format`.
pub const LOG_FORMATS: &[&str] = &["inherit", "prefix", "json"];

/// Every option of `respawn [OPTIONS] -- CMD`, in `--help` order.
pub const OPTIONS: &[Opt] = &[
    Opt {
        name: "stop-signal",
        env: "RESPAWN_STOP_SIGNAL",
        kind: Kind::Signal,
        annotation: true,
        arg: "SIGNAL",
        help: "signal that asks the child to stop [default: TERM]",
    },
    Opt {
        name: "stop-timeout",
        env: "RESPAWN_STOP_TIMEOUT",
        kind: Kind::Duration,
        annotation: true,
        arg: "DURATION",
        help: "grace before SIGKILL of the whole tree [default: 10s]",
    },
    Opt {
        name: "on-exit",
        env: "RESPAWN_ON_EXIT",
        kind: Kind::OneOf(ON_EXIT),
        annotation: true,
        arg: "exit|restart|wait",
        help: "when the child exits by itself: exit with its code, restart it with backoff, or wait for a trigger [default: exit]",
    },
    Opt {
        name: "backoff-min",
        env: "RESPAWN_BACKOFF_MIN",
        kind: Kind::Duration,
        annotation: true,
        arg: "DURATION",
        help: "first delay of --on-exit restart, doubled per crash [default: 100ms]",
    },
    Opt {
        name: "backoff-max",
        env: "RESPAWN_BACKOFF_MAX",
        kind: Kind::Duration,
        annotation: true,
        arg: "DURATION",
        help: "longest delay; a run this long resets the backoff [default: 10s]",
    },
    Opt {
        name: "env-file",
        env: "RESPAWN_ENV_FILE",
        kind: Kind::PathOrNone,
        annotation: true,
        arg: "PATH|none",
        help: "dotenv file reloaded before every start, if present [default: /tmp/.env]",
    },
    Opt {
        name: "pre-start",
        env: "RESPAWN_PRE_START",
        kind: Kind::Command,
        annotation: true,
        arg: "CMD",
        help: "command run before every start, exec form (words, quotes allowed; no shell); repeatable (env: one per line)",
    },
    Opt {
        name: "wait-for",
        env: "RESPAWN_WAIT_FOR",
        kind: Kind::CatchableSignal,
        annotation: true,
        arg: "SIGNAL",
        help: "do not start until this signal arrives (e.g. USR1, to attach a debugger); a restart trigger also starts it",
    },
    Opt {
        name: "log-format",
        env: "RESPAWN_LOG_FORMAT",
        kind: Kind::OneOf(LOG_FORMATS),
        annotation: true,
        arg: "inherit|prefix|json",
        help: "child output: inherited as is, or framed per line with generation and stream [default: inherit]",
    },
    Opt {
        name: "trigger-file",
        env: "RESPAWN_TRIGGER_FILE",
        kind: Kind::PathOrNone,
        annotation: true,
        arg: "PATH|none",
        help: "restart when this file is written or touched (Tilt restart_process) [default: /tmp/.restart-proc]",
    },
    Opt {
        name: "watch",
        env: "RESPAWN_WATCH",
        kind: Kind::ListItem,
        annotation: true,
        arg: "PATH",
        help: "restart when files under PATH change; repeatable (env: comma-separated)",
    },
    Opt {
        name: "ignore",
        env: "RESPAWN_IGNORE",
        kind: Kind::ListItem,
        annotation: true,
        arg: "GLOB",
        help: "ignore matching changes under --watch; repeatable (env: comma-separated)",
    },
    Opt {
        name: "debounce",
        env: "RESPAWN_DEBOUNCE",
        kind: Kind::Duration,
        annotation: true,
        arg: "DURATION",
        help: "quiet period that turns a burst of changes, or one copy of the trigger file, into one restart [default: 15ms]",
    },
    Opt {
        name: "control-socket",
        env: "RESPAWN_CONTROL_SOCKET",
        kind: Kind::Socket,
        annotation: false,
        arg: "@NAME|PATH|none",
        help: "socket for `respawn restart`/`status` [default: abstract, named after the mount namespace]",
    },
];

/// The option named `name` (flag without `--`).
pub fn option(name: &str) -> Option<&'static Opt> {
    OPTIONS.iter().find(|o| o.name == name)
}

/// Checks a whole variable's value for `opt` (every entry of a list; empty entries are dropped,
/// as the supervisor drops them) and returns the canonical text to put in the variable: list
/// entries joined by `,` (`watch`, `ignore`) or newlines (`pre-start`).
pub fn check_value(opt: &Opt, value: &str) -> Result<String, ValueError> {
    if !opt.kind.is_list() {
        return opt.kind.check(value);
    }
    let parts = list(opt.kind, value)
        .into_iter()
        .map(|p| opt.kind.check(p))
        .collect::<Result<Vec<_>, _>>()?;
    if parts.is_empty() {
        return Err(ValueError("expected at least one entry".into()));
    }
    let sep = if opt.kind == Kind::Command { "\n" } else { "," };
    Ok(parts.join(sep))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_has_a_unique_flag_and_variable() {
        for (i, a) in OPTIONS.iter().enumerate() {
            assert_eq!(
                a.env,
                format!("RESPAWN_{}", a.name.to_uppercase().replace('-', "_"))
            );
            for b in &OPTIONS[i + 1..] {
                assert_ne!(a.name, b.name);
            }
        }
        assert!(option("stop-signal").is_some() && option("nope").is_none());
    }

    #[test]
    fn values_are_checked_and_made_canonical() {
        let ok = |name: &str, v: &str| check_value(option(name).unwrap(), v);
        assert_eq!(ok("stop-signal", "int"), Ok("SIGINT".into()));
        assert_eq!(ok("stop-signal", " 15 "), Ok("SIGTERM".into()));
        assert_eq!(ok("stop-signal", "40"), Ok("40".into()));
        assert_eq!(ok("wait-for", "usr1"), Ok("SIGUSR1".into()));
        assert!(ok("wait-for", "KILL").unwrap_err().0.contains("cannot be caught"));
        assert_eq!(ok("stop-timeout", "1m30s"), Ok("1m30s".into()));
        assert!(ok("stop-timeout", "1e30").is_err());
        assert_eq!(ok("watch", "/app, /etc/app\n/x"), Ok("/app,/etc/app,/x".into()));
        assert_eq!(
            ok("watch", "/a,,/b,"),
            Ok("/a,/b".into()),
            "empty entries are dropped, as the supervisor does"
        );
        assert!(ok("watch", " ").is_err());
        assert_eq!(
            ok("pre-start", "/bin/a 'x y'\n\n  /bin/b\n"),
            Ok("/bin/a 'x y'\n/bin/b".into())
        );
        assert!(ok("pre-start", "/bin/a 'unbalanced").is_err());
        assert_eq!(
            ok("pre-start", r"/bin/echo \'"),
            Ok(r"/bin/echo \'".into()),
            "as the supervisor splits it"
        );
        assert!(ok("env-file", "x.env").is_err());
        assert_eq!(ok("env-file", "none"), Ok("none".into()));
        assert!(
            ok("on-exit", "explode")
                .unwrap_err()
                .0
                .contains("exit, restart, wait")
        );
        assert!(ok("control-socket", "relative").is_err());
    }

    #[test]
    fn lists_split_like_the_variables() {
        assert_eq!(list(Kind::ListItem, "/a, /b\n/c,"), ["/a", "/b", "/c"]);
        assert_eq!(list(Kind::Command, "a b\n\n c "), ["a b", "c"]);
        assert_eq!(list(Kind::Duration, "10s"), ["10s"]);
    }
}
