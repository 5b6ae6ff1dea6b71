//! OCI platforms as `--argv-for` names them: `OS/ARCH[/VARIANT]`, in the spelling of an image
//! index's `platform` (`linux/amd64`, `linux/arm64/v8`, `linux/arm/v7`).
//!
//! A platform is kept normalised: the default variant of an architecture is dropped, so
//! `linux/arm64/v8` is `linux/arm64` and `linux/amd64/v1` is `linux/amd64`. Other variants stay
//! and are compared as written (`linux/amd64/v3` is not `linux/amd64`). Names are lowercase
//! OCI names; the kernel's spellings (`aarch64`, `x86_64`) are refused with the OCI name to use,
//! so an entry never silently fails to match.

use crate::ValueError;
use std::fmt;

/// The flag that hands the supervisor one platform's argv: `--argv-for PLATFORM COUNT ARGS…`.
pub const ARGV_FOR: &str = "--argv-for";

/// A normalised OCI platform.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Platform {
    /// `linux`, `windows`, …
    pub os: String,
    /// `amd64`, `arm64`, `arm`, …
    pub architecture: String,
    /// `v7`, `v3`, …; `None` for the architecture's default.
    pub variant: Option<String>,
}

/// Architectures' default variants, dropped when normalising (as containerd does).
const DEFAULT_VARIANTS: &[(&str, &str)] = &[("arm64", "v8"), ("amd64", "v1")];

/// Kernel and toolchain spellings with the OCI name to use instead.
const NOT_OCI: &[(&str, &str)] = &[("aarch64", "arm64"), ("x86_64", "amd64"), ("x86-64", "amd64")];

impl Platform {
    /// The platform from its parts, normalised; `variant` may be empty.
    pub fn new(os: &str, architecture: &str, variant: &str) -> Result<Platform, ValueError> {
        let text = || {
            let v = if variant.is_empty() {
                String::new()
            } else {
                format!("/{variant}")
            };
            format!("{os}/{architecture}{v}")
        };
        let word = |w: &str| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        if !word(os) || !word(architecture) || !(variant.is_empty() || word(variant)) {
            return Err(ValueError(format!(
                "invalid platform {:?}: expected OS/ARCH[/VARIANT] in lowercase letters, digits and `_`, e.g. linux/arm64",
                text()
            )));
        }
        if let Some((_, oci)) = NOT_OCI.iter().find(|(k, _)| *k == architecture) {
            return Err(ValueError(format!(
                "invalid platform {:?}: `{architecture}` is not an OCI architecture name, use `{oci}`",
                text()
            )));
        }
        let default = DEFAULT_VARIANTS
            .iter()
            .any(|&(a, v)| a == architecture && v == variant);
        Ok(Platform {
            os: os.to_string(),
            architecture: architecture.to_string(),
            variant: (!variant.is_empty() && !default).then(|| variant.to_string()),
        })
    }
}

/// Parses `OS/ARCH[/VARIANT]` (e.g. `linux/arm64`, `linux/arm64/v8`, `linux/arm/v7`).
pub fn platform(text: &str) -> Result<Platform, ValueError> {
    let mut parts = text.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(os), Some(arch), variant, None) if variant != Some("") => {
            Platform::new(os, arch, variant.unwrap_or(""))
        }
        _ => Err(ValueError(format!(
            "invalid platform {text:?}: expected OS/ARCH[/VARIANT], e.g. linux/arm64"
        ))),
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        match &self.variant {
            Some(v) => write!(f, "/{v}"),
            None => Ok(()),
        }
    }
}

/// The supervisor arguments that give `platform` the command `argv`:
/// `["--argv-for", "linux/arm64", "2", argv…]`. `None` for an empty argv (COUNT must be ≥ 1).
/// The words of `argv` are copied as they are (`$` escaping is the caller's business).
pub fn argv_for_args<S: AsRef<str>>(platform: &Platform, argv: &[S]) -> Option<Vec<String>> {
    if argv.is_empty() {
        return None;
    }
    let head = [ARGV_FOR.to_string(), platform.to_string(), argv.len().to_string()];
    Some(
        head.into_iter()
            .chain(argv.iter().map(|a| a.as_ref().to_string()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_are_parsed_and_normalised() {
        let ok = |t: &str| platform(t).map(|p| p.to_string());
        for (text, want) in [
            ("linux/amd64", "linux/amd64"),
            ("linux/arm64", "linux/arm64"),
            ("linux/arm64/v8", "linux/arm64"),
            ("linux/amd64/v1", "linux/amd64"),
            ("linux/amd64/v3", "linux/amd64/v3"),
            ("linux/arm/v7", "linux/arm/v7"),
            ("linux/arm/v8", "linux/arm/v8"),
            ("linux/386", "linux/386"),
            ("linux/ppc64le", "linux/ppc64le"),
            ("windows/amd64", "windows/amd64"),
        ] {
            assert_eq!(ok(text), Ok(want.to_string()), "{text}");
        }
        assert_eq!(platform("linux/arm64/v8"), platform("linux/arm64"));
        assert_ne!(platform("linux/amd64/v3"), platform("linux/amd64"));
    }

    #[test]
    fn bad_platform_text_is_refused_with_a_reason() {
        for bad in [
            "",
            "linux",
            "linux/",
            "/amd64",
            "linux//v8",
            "linux/arm64/",
            "linux/arm64/v8/x",
            "Linux/amd64",
            "linux/AMD64",
            "linux/amd 64",
            " linux/amd64",
            "linux/amd64\n",
            "linux/arm-64",
        ] {
            let e = platform(bad).unwrap_err().0;
            assert!(
                e.contains("invalid platform") && e.contains("OS/ARCH"),
                "{bad:?}: {e}"
            );
        }
        for (bad, use_) in [("linux/aarch64", "arm64"), ("linux/x86_64", "amd64")] {
            let e = platform(bad).unwrap_err().0;
            assert!(e.contains(&format!("use `{use_}`")), "{bad:?}: {e}");
        }
    }

    #[test]
    fn argv_for_args_are_what_the_supervisor_reads() {
        let p = platform("linux/arm64/v8").unwrap();
        assert_eq!(
            argv_for_args(&p, &["/app", "--port", "$$HOME"]).unwrap(),
            ["--argv-for", "linux/arm64", "3", "/app", "--port", "$$HOME"]
        );
        assert_eq!(argv_for_args::<&str>(&p, &[]), None);
    }
}
