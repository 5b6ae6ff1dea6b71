//! `respawn probe`: the one grammar of a liveness or startup check run through the supervisor.
//!
//! The webhook rewrites a wrapped container's liveness and startup probes to
//! `exec: [/respawn/respawn, probe, WORDS…]`, rendering WORDS with [`Probe::args`]; the
//! supervisor reads them back with [`probe`]. The same code on both sides, so a probe the
//! webhook writes is one the supervisor runs:
//!
//! ```text
//! respawn probe [--grace DURATION] [--timeout DURATION] [--control-socket S] CHECK
//! CHECK:  --exec -- CMD [ARGS...]
//!         --tcp-socket PORT [--host IP]
//!         --http-get PORT [--host IP] [--path PATH] [--header 'NAME: VALUE']...
//! ```
//!
//! Options may come in any order (`--opt VALUE` or `--opt=VALUE`); `--exec` takes the command
//! after `--`, whose words are literal. Exactly one check. Ports are numbers (the webhook
//! resolves named ports); hosts are IP addresses (no resolver in PID 1).

use crate::{Kind, ValueError, duration};
use std::ffi::OsString;
use std::net::IpAddr;
use std::time::Duration;

/// The subcommand word: `respawn probe …`.
pub const PROBE: &str = "probe";
/// The variable holding the pod's IP (the webhook sets it from the downward API,
/// `status.podIP`): where network checks connect when no `--host` is given.
pub const POD_IP_ENV: &str = "RESPAWN_POD_IP";
/// The check's time limit when `--timeout` is absent: the kubelet's default `timeoutSeconds`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// A parsed `respawn probe` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// How long after a restart finished the check is still skipped (`--grace`, default 0).
    pub grace: Duration,
    /// Time limit of the check (`--timeout`, default [`DEFAULT_TIMEOUT`]).
    pub timeout: Duration,
    /// `--control-socket` (`None`: the variable or the default).
    pub control_socket: Option<String>,
    /// What to check when no restart holds the probe.
    pub check: Check,
}

/// The original check of a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Run this command (at least one word); success is exit code 0.
    Exec(Vec<OsString>),
    /// Connect to this port; success is an established connection.
    TcpSocket {
        /// 1–65535.
        port: u16,
        /// `None`: the pod's IP ([`POD_IP_ENV`]), else 127.0.0.1.
        host: Option<IpAddr>,
    },
    /// `GET` over plain HTTP; success is a status from 200 to 399.
    HttpGet {
        /// 1–65535.
        port: u16,
        /// `None`: the pod's IP ([`POD_IP_ENV`]), else 127.0.0.1.
        host: Option<IpAddr>,
        /// Request path (and query), `/` when empty.
        path: String,
        /// Extra headers in order (`Host` replaces the host header, as with the kubelet).
        headers: Vec<(String, String)>,
    },
}

impl Probe {
    /// The words after `respawn probe`, options first (the exec command last, after `--`).
    /// `$` escaping for the kubelet's `$(VAR)` expansion is the caller's business.
    pub fn args(&self) -> Vec<String> {
        let mut out = vec![
            "--grace".to_string(),
            show_duration(self.grace),
            "--timeout".into(),
            show_duration(self.timeout),
        ];
        if let Some(s) = &self.control_socket {
            out.extend(["--control-socket".into(), s.clone()]);
        }
        let host = |out: &mut Vec<String>, h: &Option<IpAddr>| {
            if let Some(h) = h {
                out.extend(["--host".into(), h.to_string()]);
            }
        };
        match &self.check {
            Check::Exec(cmd) => {
                out.extend(["--exec".into(), "--".into()]);
                out.extend(cmd.iter().map(|w| w.to_string_lossy().into_owned()));
            }
            Check::TcpSocket { port, host: h } => {
                out.extend(["--tcp-socket".into(), port.to_string()]);
                host(&mut out, h);
            }
            Check::HttpGet {
                port,
                host: h,
                path,
                headers,
            } => {
                out.extend(["--http-get".into(), port.to_string()]);
                host(&mut out, h);
                if !path.is_empty() {
                    out.extend(["--path".into(), path.clone()]);
                }
                for (n, v) in headers {
                    out.extend(["--header".into(), format!("{n}: {v}")]);
                }
            }
        }
        out
    }
}

/// A duration as the grammar writes it back: `30s`, `1500ms`, or `250us`/`7ns`.
pub fn show_duration(d: Duration) -> String {
    match (d.subsec_nanos(), d.as_secs()) {
        (0, s) => format!("{s}s"),
        (n, _) if n % 1_000_000 == 0 => format!("{}ms", d.as_millis()),
        (n, _) if n % 1_000 == 0 => format!("{}us", d.as_micros()),
        _ => format!("{}ns", d.as_nanos()),
    }
}

fn err<T>(m: impl Into<String>) -> Result<T, ValueError> {
    Err(ValueError(m.into()))
}

/// The check's kind while parsing.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Which {
    Exec,
    Tcp,
    Http,
}

impl Which {
    fn flag(self) -> &'static str {
        match self {
            Which::Exec => "--exec",
            Which::Tcp => "--tcp-socket",
            Which::Http => "--http-get",
        }
    }
}

/// Parses the words after `respawn probe`. Every mistake is an error naming the option.
pub fn probe(args: &[OsString]) -> Result<Probe, ValueError> {
    let mut grace = None;
    let mut timeout = None;
    let mut control_socket = None;
    let mut which: Option<Which> = None;
    let (mut port, mut host, mut path) = (None, None, None);
    let mut headers = Vec::new();
    let mut command: Option<Vec<OsString>> = None;
    let mut i = 0;
    while i < args.len() {
        let Some(word) = args[i].to_str() else {
            return err(format!("unexpected argument {:?}", args[i]));
        };
        i += 1;
        if word == "--" {
            command = Some(args[i..].to_vec());
            break;
        }
        let Some(body) = word.strip_prefix("--") else {
            return err(format!(
                "unexpected argument {word:?} (a command to run goes after `--exec --`)"
            ));
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let check = match name {
            "exec" => Some(Which::Exec),
            "tcp-socket" => Some(Which::Tcp),
            "http-get" => Some(Which::Http),
            _ => None,
        };
        if let (Some(new), Some(old)) = (check, which) {
            if new == old {
                return err(format!("option '{}' given twice", new.flag()));
            }
            return err(format!(
                "{} and {} both given: a probe has one check",
                old.flag(),
                new.flag()
            ));
        }
        if name == "exec" {
            if inline.is_some() {
                return err("--exec takes no value: the command goes after `--exec --`");
            }
            which = Some(Which::Exec);
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => {
                let v = args
                    .get(i)
                    .and_then(|v| v.to_str())
                    .ok_or_else(|| ValueError(format!("option '--{name}' needs a value")))?;
                i += 1;
                v.to_string()
            }
        };
        let twice = || ValueError(format!("option '--{name}' given twice"));
        let bad = |e: ValueError| ValueError(format!("invalid value {value:?} for --{name}: {e}"));
        match name {
            "grace" | "timeout" => {
                let d = duration(&value).map_err(bad)?;
                let slot = if name == "grace" { &mut grace } else { &mut timeout };
                if slot.replace(d).is_some() {
                    return Err(twice());
                }
            }
            "control-socket" => {
                if control_socket
                    .replace(Kind::Socket.check(&value).map_err(bad)?)
                    .is_some()
                {
                    return Err(twice());
                }
            }
            "tcp-socket" | "http-get" => {
                which = check;
                port = Some(parse_port(&value).map_err(bad)?);
            }
            "host" => {
                let ip = value.trim().parse::<IpAddr>().map_err(|_| {
                    bad(ValueError(
                        "expected an IP address (names are not resolved)".into(),
                    ))
                })?;
                if host.replace(ip).is_some() {
                    return Err(twice());
                }
            }
            "path" => {
                check_text(&value).map_err(bad)?;
                if path.replace(value).is_some() {
                    return Err(twice());
                }
            }
            "header" => headers.push(parse_header(&value).map_err(bad)?),
            _ => return err(format!("unknown option '--{name}'")),
        }
    }
    let Some(which) = which else {
        return err("no check given: expected --exec -- CMD, --http-get PORT or --tcp-socket PORT");
    };
    let only = |given: bool, flag: &str, with: &str| {
        if given {
            err(format!("{flag} only applies to {with}"))
        } else {
            Ok(())
        }
    };
    only(
        command.is_some() && which != Which::Exec,
        "a command after `--`",
        "--exec",
    )?;
    only(
        host.is_some() && which == Which::Exec,
        "--host",
        "--http-get and --tcp-socket",
    )?;
    only(path.is_some() && which != Which::Http, "--path", "--http-get")?;
    only(
        !headers.is_empty() && which != Which::Http,
        "--header",
        "--http-get",
    )?;
    let port = port.unwrap_or(0);
    let check = match which {
        Which::Exec => match command {
            Some(c) if !c.is_empty() => Check::Exec(c),
            _ => return err("--exec needs the command after `--` (e.g. --exec -- /bin/check --quick)"),
        },
        Which::Tcp => Check::TcpSocket { port, host },
        Which::Http => Check::HttpGet {
            port,
            host,
            path: path.unwrap_or_default(),
            headers,
        },
    };
    Ok(Probe {
        grace: grace.unwrap_or(Duration::ZERO),
        timeout: timeout.unwrap_or(DEFAULT_TIMEOUT),
        control_socket,
        check,
    })
}

fn parse_port(v: &str) -> Result<u16, ValueError> {
    let v = v.trim();
    match v.parse::<u16>() {
        Ok(p) if p > 0 && v.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
        _ => err("expected a port number from 1 to 65535 (the webhook resolves named ports)"),
    }
}

/// Text that goes into the request as is: no line breaks or other control characters.
fn check_text(v: &str) -> Result<(), ValueError> {
    if v.chars().any(|c| c.is_control()) {
        return err("control characters (line breaks) are not allowed");
    }
    Ok(())
}

/// `NAME: VALUE` (the value may be empty); NAME is an HTTP token.
fn parse_header(v: &str) -> Result<(String, String), ValueError> {
    let Some((name, value)) = v.split_once(':') else {
        return err("expected NAME: VALUE");
    };
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return err(format!("{name:?} is not an HTTP header name"));
    }
    check_text(value)?;
    Ok((name.to_string(), value.trim().to_string()))
}

#[cfg(test)]
#[path = "probe_tests.rs"]
mod tests;
