//! The option table (the source of `--help`) and the small text parsers: durations and
//! exec-form command words.

use std::time::Duration;

/// One option: flag, environment variable, value name, help line.
pub(super) struct Opt {
    pub(super) long: &'static str,
    pub(super) env: &'static str,
    pub(super) arg: &'static str,
    pub(super) help: &'static str,
}

pub(super) const OPTS: &[Opt] = &[
    Opt {
        long: "stop-signal",
        env: "RESPAWN_STOP_SIGNAL",
        arg: "SIGNAL",
        help: "signal that asks the child to stop [default: TERM]",
    },
    Opt {
        long: "stop-timeout",
        env: "RESPAWN_STOP_TIMEOUT",
        arg: "DURATION",
        help: "grace before SIGKILL of the whole tree [default: 10s]",
    },
    Opt {
        long: "on-exit",
        env: "RESPAWN_ON_EXIT",
        arg: "exit|restart|wait",
        help: "when the child exits by itself: exit with its code, restart it with backoff, or wait for a trigger [default: exit]",
    },
    Opt {
        long: "backoff-min",
        env: "RESPAWN_BACKOFF_MIN",
        arg: "DURATION",
        help: "first delay of --on-exit restart, doubled per crash [default: 100ms]",
    },
    Opt {
        long: "backoff-max",
        env: "RESPAWN_BACKOFF_MAX",
        arg: "DURATION",
        help: "longest delay; a run this long resets the backoff [default: 10s]",
    },
    Opt {
        long: "env-file",
        env: "RESPAWN_ENV_FILE",
        arg: "PATH|none",
        help: "dotenv file reloaded before every start, if present [default: /tmp/.env]",
    },
    Opt {
        long: "pre-start",
        env: "RESPAWN_PRE_START",
        arg: "CMD",
        help: "command run before every start, exec form (words, quotes allowed; no shell); repeatable (env: one per line)",
    },
    Opt {
        long: "wait-for",
        env: "RESPAWN_WAIT_FOR",
        arg: "SIGNAL",
        help: "do not start until this signal arrives (e.g. USR1, to attach a debugger); a restart trigger also starts it",
    },
    Opt {
        long: "log-format",
        env: "RESPAWN_LOG_FORMAT",
        arg: "inherit|prefix|json",
        help: "child output: inherited as is, or framed per line with generation and stream [default: inherit]",
    },
    Opt {
        long: "trigger-file",
        env: "RESPAWN_TRIGGER_FILE",
        arg: "PATH|none",
        help: "restart when this file is written or touched (Tilt restart_process) [default: /tmp/.restart-proc]",
    },
    Opt {
        long: "watch",
        env: "RESPAWN_WATCH",
        arg: "PATH",
        help: "restart when files under PATH change; repeatable (env: comma-separated)",
    },
    Opt {
        long: "ignore",
        env: "RESPAWN_IGNORE",
        arg: "GLOB",
        help: "ignore matching changes under --watch; repeatable (env: comma-separated)",
    },
    Opt {
        long: "debounce",
        env: "RESPAWN_DEBOUNCE",
        arg: "DURATION",
        help: "quiet period that turns a burst of changes, or one copy of the trigger file, into one restart [default: 15ms]",
    },
    Opt {
        long: "control-socket",
        env: "RESPAWN_CONTROL_SOCKET",
        arg: "@NAME|PATH|none",
        help: "socket for `respawn restart`/`status` [default: abstract, named after the mount namespace]",
    },
];

/// Parses `10s`, `500ms`, `1m30s`, `1.5s`, `2h`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        return (secs >= 0.0 && secs.is_finite()).then(|| Duration::from_secs_f64(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let num: f64 = rest[..num_end].parse().ok()?;
        let unit_end = rest[num_end..]
            .find(|c: char| c.is_ascii_digit())
            .map_or(rest.len(), |i| num_end + i);
        let scale = match &rest[num_end..unit_end] {
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += Duration::from_secs_f64(num * scale);
        rest = &rest[unit_end..];
    }
    (!t.is_empty()).then_some(total)
}

/// Splits a command line into words: whitespace separates, '…' is literal, "…" and \ escape.
pub fn split_words(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(cur.take()),
            '\'' => loop {
                match chars.next()? {
                    '\'' => break,
                    ch => cur.get_or_insert_with(String::new).push(ch),
                }
            },
            '"' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => w.push(chars.next()?),
                        ch => w.push(ch),
                    }
                }
            }
            '\\' => cur.get_or_insert_with(String::new).push(chars.next()?),
            ch => cur.get_or_insert_with(String::new).push(ch),
        }
    }
    words.extend(cur);
    Some(words)
}

/// The `--help` text, generated from the option table.
pub fn help() -> String {
    let mut s = String::from(concat!(
        "respawn ",
        env!("CARGO_PKG_VERSION"),
        ": a tiny PID 1 that supervises and restarts a process in place\n\n",
        "Usage:\n  respawn [OPTIONS] -- CMD [ARGS...]   run CMD; forward signals, reap zombies, keep its exit code\n",
        "  respawn install DEST                copy this executable to DEST (mode 0755, atomically)\n",
        "  respawn restart                     restart the supervised command; prints the new pid\n",
        "  respawn status                      print pid, generation, restarts, last exit, uptime\n\n",
        "Restart triggers: SIGHUP, the trigger file, --watch, `respawn restart`.\n",
        "SIGTERM/SIGINT stop the child (stop signal, then SIGKILL after the stop timeout) and exit\n",
        "with its code (128+N when killed by signal N). Other signals go to the child's process group.\n\n",
        "Options (each also from the environment variable shown; flags win):\n",
    ));
    for o in OPTS {
        s.push_str(&format!(
            "  --{} {}\n      {}\n      env: {}\n",
            o.long, o.arg, o.help, o.env
        ));
    }
    s.push_str("  -h, --help       print this help\n  -V, --version    print the version\n\n");
    s.push_str("DURATION: 10s, 500ms, 1m30s or plain seconds. SIGNAL: TERM, SIGTERM or 15.\n");
    s.push_str(
        "Exit codes: the child's; 2 usage error; 126 command not executable; 127 command not found.\n",
    );
    s
}
