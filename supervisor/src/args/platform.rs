//! `--argv-for PLATFORM COUNT ARG1 … ARGCOUNT`: a command per platform, chosen once at start.
//!
//! The webhook cannot know which node a pod lands on when the pod does not pin its
//! architecture, and an image index's platforms may disagree on ENTRYPOINT/CMD. It then hands
//! the supervisor each platform's argv; the supervisor runs the entry of its own platform
//! (fixed at compile time: the x86_64 build is `linux/amd64`, the aarch64 build `linux/arm64`),
//! else the command after `--`. COUNT makes every word of an argv literal, `--` included.

use super::{UsageError, usage};
use respawn_settings::{self as settings, ARGV_FOR, Platform};
use std::ffi::{OsStr, OsString};

#[cfg(target_arch = "x86_64")]
const ARCH: &str = "amd64";
#[cfg(target_arch = "aarch64")]
const ARCH: &str = "arm64";
/// Other targets: the kernel's name, which is the OCI name for riscv64 and s390x.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const ARCH: &str = std::env::consts::ARCH;

/// The platform this binary was built for: `linux/amd64` (x86_64) or `linux/arm64` (aarch64).
pub fn own() -> Platform {
    Platform {
        os: "linux".to_string(),
        architecture: ARCH.to_string(),
        variant: None,
    }
}

/// One `--argv-for` entry.
#[derive(Debug)]
pub struct Entry {
    /// The platform it is for (normalised: `linux/arm64/v8` is `linux/arm64`).
    pub platform: Platform,
    /// Its command and arguments (at least one word).
    pub argv: Vec<OsString>,
}

/// Reads the entry after `--argv-for`: `inline` is the platform of `--argv-for=PLATFORM`,
/// `rest` the words that follow. Returns the entry and how many words of `rest` it used.
pub fn read_entry(inline: Option<&str>, rest: &[OsString]) -> Result<(Entry, usize), UsageError> {
    let example = "e.g. --argv-for linux/arm64 2 /app --serve";
    let mut used = 0;
    let text = match inline {
        Some(t) => t.to_string(),
        None => {
            used += 1;
            let t = rest.first().ok_or_else(|| {
                usage(format!(
                    "option '{ARGV_FOR}' needs PLATFORM COUNT ARGS... ({example})"
                ))
            })?;
            t.to_string_lossy().into_owned()
        }
    };
    let platform = settings::platform(&text).map_err(|e| usage(format!("{ARGV_FOR}: {e}")))?;
    let what = format!("{ARGV_FOR} {text}");
    let count = rest.get(used).ok_or_else(|| {
        usage(format!(
            "{what}: missing COUNT, the number of arguments that follow ({example})"
        ))
    })?;
    used += 1;
    let count: usize = count
        .to_str()
        .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| {
            usage(format!(
                "{what}: COUNT must be a number of arguments, got '{}' ({example})",
                count.to_string_lossy()
            ))
        })?;
    if count == 0 {
        return Err(usage(format!(
            "{what}: COUNT must be at least 1 (an empty command cannot run)"
        )));
    }
    let left = rest.len() - used;
    if count > left {
        return Err(usage(format!(
            "{what}: COUNT {count} reaches past the end of the arguments (only {left} follow)"
        )));
    }
    let argv = rest[used..used + count].to_vec();
    Ok((Entry { platform, argv }, used + count))
}

/// Adds `entry`, refusing a platform that already has one.
pub fn push(entries: &mut Vec<Entry>, entry: Entry) -> Result<(), UsageError> {
    if entries.iter().any(|e| e.platform == entry.platform) {
        return Err(usage(format!(
            "{ARGV_FOR}: platform {} is given twice (linux/arm64 and linux/arm64/v8 are the same)",
            entry.platform
        )));
    }
    entries.push(entry);
    Ok(())
}

/// The command to run on `own`: its entry's argv (and the platform), else `fallback`.
pub fn choose(
    entries: Vec<Entry>,
    own: &Platform,
    fallback: Vec<OsString>,
) -> (Vec<OsString>, Option<Platform>) {
    match entries.into_iter().find(|e| e.platform == *own) {
        Some(e) => (e.argv, Some(e.platform)),
        None => (fallback, None),
    }
}

/// An argv for messages: words separated by spaces, a word with spaces, quotes or nothing
/// in single quotes.
pub fn show(argv: &[OsString]) -> String {
    let word = |w: &OsStr| {
        let w = w.to_string_lossy();
        let plain = !w.is_empty() && !w.contains(|c: char| c.is_whitespace() || "'\"\\$`".contains(c));
        if plain {
            w.into_owned()
        } else {
            format!("'{}'", w.replace('\'', r"'\''"))
        }
    };
    argv.iter().map(|w| word(w)).collect::<Vec<_>>().join(" ")
}
