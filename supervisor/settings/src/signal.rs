//! Signals by name or number: `TERM`, `SIGTERM`, `sigterm`, `15`, `RTMIN`, `SIGRTMIN+3`.
//! The numbers are Linux's on every architecture respawn ships for (x86_64 and aarch64 share
//! them). Real-time signals stay relative to RTMIN: the C library decides where they start
//! (the static musl supervisor: 35), so the supervisor resolves them itself.

use std::fmt;

use crate::ValueError;

/// Linux signal names (without `SIG`) and numbers, x86_64 and aarch64.
pub const NAMES: &[(&str, i32)] = &[
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("PWR", 30),
    ("SYS", 31),
];

/// The largest `RTMIN+N` accepted: musl's RTMIN is 35 and the last signal 64.
pub const RT_OFFSET_MAX: i32 = 29;

/// A parsed signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// A classic signal by name, or any signal by number (1–64).
    Number(i32),
    /// `RTMIN+offset`.
    RtMin(i32),
}

impl Signal {
    /// The signal's number; real-time signals count from the C library's `rtmin`.
    pub fn number(self, rtmin: i32) -> i32 {
        match self {
            Signal::Number(n) => n,
            Signal::RtMin(off) => rtmin + off,
        }
    }

    /// KILL and STOP: neither can be caught, blocked or waited for.
    pub fn is_uncatchable(self) -> bool {
        matches!(self, Signal::Number(9 | 19))
    }
}

impl fmt::Display for Signal {
    /// `SIGTERM` for named signals, the number for others, `SIGRTMIN+3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Signal::Number(n) => match NAMES.iter().find(|(_, s)| *s == n) {
                Some((name, _)) => write!(f, "SIG{name}"),
                None => write!(f, "{n}"),
            },
            Signal::RtMin(0) => f.write_str("SIGRTMIN"),
            Signal::RtMin(off) => write!(f, "SIGRTMIN+{off}"),
        }
    }
}

/// Parses a signal name (any case, with or without `SIG`), a number 1–64, or `RTMIN[+N]`.
pub fn signal(text: &str) -> Result<Signal, ValueError> {
    let t = text.trim();
    let bad = || ValueError(format!("expected a signal like TERM, SIGUSR1 or 15, got {t:?}"));
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return match t.parse::<i32>() {
            Ok(n @ 1..=64) => Ok(Signal::Number(n)),
            _ => Err(ValueError(format!("signal number {t} is out of range (1-64)"))),
        };
    }
    let upper = t.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(off) = name.strip_prefix("RTMIN") {
        let off = match off {
            "" => 0,
            _ => off
                .strip_prefix('+')
                .filter(|d| !d.is_empty() && d.len() <= 2 && d.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|d| d.parse().ok())
                .ok_or_else(bad)?,
        };
        if off > RT_OFFSET_MAX {
            return Err(ValueError(format!(
                "{t} is past the last signal (RTMIN+{RT_OFFSET_MAX})"
            )));
        }
        return Ok(Signal::RtMin(off));
    }
    NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, s)| Signal::Number(s))
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_realtime() {
        assert_eq!(signal("TERM"), Ok(Signal::Number(15)));
        assert_eq!(signal("sigusr1"), Ok(Signal::Number(10)));
        assert_eq!(signal(" 9 "), Ok(Signal::Number(9)));
        assert_eq!(signal("64"), Ok(Signal::Number(64)));
        assert_eq!(signal("RTMIN"), Ok(Signal::RtMin(0)));
        assert_eq!(signal("SIGRTMIN+3"), Ok(Signal::RtMin(3)));
        assert_eq!(Signal::RtMin(3).number(35), 38);
        assert_eq!(signal("int").unwrap().to_string(), "SIGINT");
        assert_eq!(signal("40").unwrap().to_string(), "40");
        assert_eq!(signal("rtmin+2").unwrap().to_string(), "SIGRTMIN+2");
        assert!(signal("KILL").unwrap().is_uncatchable() && signal("STOP").unwrap().is_uncatchable());
        assert!(!signal("TERM").unwrap().is_uncatchable());
    }

    #[test]
    fn bad_signals() {
        for bad in [
            "",
            "0",
            "65",
            "99999999999999999999",
            "SIGFOO",
            "RTMIN+",
            "RTMIN+30",
            "RTMIN-1",
            "RTMIN+999",
            "-1",
            "1.5",
        ] {
            assert!(signal(bad).is_err(), "{bad:?}");
        }
    }
}
