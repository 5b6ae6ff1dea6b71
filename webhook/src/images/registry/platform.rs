//! Choosing one manifest of an OCI index or Docker manifest list for a platform. Attestation
//! entries (`unknown/unknown`, as BuildKit writes them) and entries without a platform are never
//! chosen; when nothing matches, the error names the platforms that exist.

use crate::images::Platform;

/// One entry of an index's `manifests` array (the parts we read).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct IndexEntry {
    /// Digest of the platform manifest.
    pub digest: String,
    /// Its size in bytes, as the index says.
    #[serde(default)]
    pub size: i64,
    /// Its platform, when the index says.
    #[serde(default)]
    pub platform: Option<EntryPlatform>,
}

/// The `platform` object of an index entry.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct EntryPlatform {
    /// e.g. `linux`.
    #[serde(default)]
    pub os: String,
    /// e.g. `arm64`.
    #[serde(default)]
    pub architecture: String,
    /// e.g. `v8`.
    #[serde(default)]
    pub variant: Option<String>,
}

impl EntryPlatform {
    fn is_attestation(&self) -> bool {
        self.os == "unknown" && self.architecture == "unknown"
    }

    fn as_platform(&self) -> Platform {
        Platform {
            os: self.os.clone(),
            architecture: self.architecture.clone(),
            variant: self.variant.clone().filter(|v| !v.is_empty()),
        }
    }
}

/// arm64's only variant is v8: `linux/arm64` and `linux/arm64/v8` are the same platform.
fn variant_matches(arch: &str, wanted: Option<&str>, have: Option<&str>) -> bool {
    let norm = |v: Option<&str>| match (arch, v) {
        ("arm64", Some("v8")) => None,
        (_, v) => v.map(str::to_string),
    };
    match wanted {
        None => true,
        Some(_) => norm(wanted) == norm(have),
    }
}

/// The entry for `wanted`, or `Err(available)`: the real platforms, comma-separated.
pub fn select<'a>(entries: &'a [IndexEntry], wanted: &Platform) -> Result<&'a IndexEntry, String> {
    let real = || {
        entries
            .iter()
            .filter_map(|e| e.platform.as_ref().map(|p| (e, p)))
            .filter(|(_, p)| !p.is_attestation())
    };
    let found = real().find(|(_, p)| {
        p.os == wanted.os
            && p.architecture == wanted.architecture
            && variant_matches(&p.architecture, wanted.variant.as_deref(), p.variant.as_deref())
    });
    match found {
        Some((e, _)) => Ok(e),
        None => {
            let names: Vec<String> = real().map(|(_, p)| p.as_platform().to_string()).collect();
            Err(if names.is_empty() {
                "no platforms".to_string()
            } else {
                names.join(", ")
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(digest: &str, os: &str, arch: &str, variant: Option<&str>) -> IndexEntry {
        IndexEntry {
            digest: digest.into(),
            size: 500,
            platform: Some(EntryPlatform {
                os: os.into(),
                architecture: arch.into(),
                variant: variant.map(Into::into),
            }),
        }
    }

    fn want(arch: &str, variant: Option<&str>) -> Platform {
        Platform {
            os: "linux".into(),
            architecture: arch.into(),
            variant: variant.map(Into::into),
        }
    }

    #[test]
    fn attestations_are_skipped_and_never_listed() {
        let entries = [
            entry("att", "unknown", "unknown", None),
            entry("amd", "linux", "amd64", None),
            entry("arm", "linux", "arm64", Some("v8")),
        ];
        assert_eq!(select(&entries, &want("amd64", None)).unwrap().digest, "amd");
        assert_eq!(select(&entries, &want("arm64", None)).unwrap().digest, "arm");
        assert_eq!(
            select(&entries, &want("arm64", Some("v8"))).unwrap().digest,
            "arm"
        );
        let err = select(&entries, &want("s390x", None)).unwrap_err();
        assert_eq!(err, "linux/amd64, linux/arm64/v8");
    }

    #[test]
    fn variants_must_match_when_asked() {
        let entries = [
            entry("v6", "linux", "arm", Some("v6")),
            entry("v7", "linux", "arm", Some("v7")),
        ];
        assert_eq!(select(&entries, &want("arm", Some("v7"))).unwrap().digest, "v7");
        assert_eq!(select(&entries, &want("arm", None)).unwrap().digest, "v6");
        assert!(select(&entries, &want("arm", Some("v5"))).is_err());
        // arm64 without a variant equals arm64/v8.
        let entries = [entry("a", "linux", "arm64", None)];
        assert_eq!(select(&entries, &want("arm64", Some("v8"))).unwrap().digest, "a");
    }

    #[test]
    fn windows_does_not_match_linux() {
        let entries = [entry("w", "windows", "amd64", None)];
        assert_eq!(
            select(&entries, &want("amd64", None)).unwrap_err(),
            "windows/amd64"
        );
        assert_eq!(select(&[], &want("amd64", None)).unwrap_err(), "no platforms");
    }
}
