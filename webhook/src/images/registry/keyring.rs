//! Pull-secret parsing and registry matching, as the kubelet does it (`credentialprovider`
//! keyring): `kubernetes.io/dockerconfigjson` and `kubernetes.io/dockercfg` secrets, keys with
//! optional scheme, path and `*` globs per host label, exact port match, path prefix match, and
//! the `index.docker.io` fallback for Docker Hub images.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use k8s_openapi::api::core::v1::Secret;

/// The secret type of a `~/.docker/config.json` pull secret.
pub const DOCKER_CONFIG_JSON: &str = "kubernetes.io/dockerconfigjson";
/// The secret type of a legacy `~/.dockercfg` pull secret.
pub const DOCKER_CFG: &str = "kubernetes.io/dockercfg";
const DEFAULT_REGISTRY_KEY: &str = "index.docker.io";

/// A username/password pair for one registry. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Credential {
    /// Registry user name.
    pub username: String,
    /// Registry password or token.
    pub password: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credential({:?}, <redacted>)", self.username)
    }
}

/// Why a pull secret could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// The secret's payload is not valid docker config JSON.
    #[error("secret {name}: invalid docker config: {reason}")]
    Invalid {
        /// Secret name.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(serde::Deserialize)]
struct ConfigJson {
    #[serde(default)]
    auths: BTreeMap<String, Entry>,
}

#[derive(serde::Deserialize)]
struct Entry {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    auth: Option<String>,
}

impl Entry {
    /// `auth` (base64 `user:pass`) wins over `username`/`password`, as in the kubelet.
    fn credential(self) -> Result<Credential, String> {
        match self.auth.filter(|a| !a.is_empty()) {
            Some(auth) => {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(auth.trim())
                    .map_err(|e| format!("auth field is not base64: {e}"))?;
                let text = String::from_utf8(raw).map_err(|_| "auth field is not UTF-8".to_string())?;
                let (user, pass) = text
                    .split_once(':')
                    .ok_or("auth field has no ':' between user and password")?;
                Ok(Credential {
                    username: user.into(),
                    password: pass.into(),
                })
            }
            None => Ok(Credential {
                username: self.username.unwrap_or_default(),
                password: self.password.unwrap_or_default(),
            }),
        }
    }
}

/// The credentials of one pull secret, keyed like the kubelet's `BasicDockerKeyring`.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    /// (normalized key, credential), most specific key first.
    entries: Vec<(String, Credential)>,
}

impl Keyring {
    /// Reads a pull secret. Secrets of other types give an empty keyring (the kubelet ignores them).
    pub fn from_secret(secret: &Secret) -> Result<Keyring, KeyringError> {
        let name = secret.metadata.name.clone().unwrap_or_default();
        let data = secret.data.as_ref();
        let (bytes, nested) = match secret.type_.as_deref() {
            Some(DOCKER_CONFIG_JSON) => (data.and_then(|d| d.get(".dockerconfigjson")), true),
            Some(DOCKER_CFG) => (data.and_then(|d| d.get(".dockercfg")), false),
            _ => return Ok(Keyring::default()),
        };
        match bytes {
            Some(b) if !b.0.is_empty() => {
                Keyring::parse(&b.0, nested).map_err(|reason| KeyringError::Invalid { name, reason })
            }
            _ => Ok(Keyring::default()),
        }
    }

    /// Parses `{"auths":{KEY:ENTRY}}` (`nested`) or the legacy `{KEY:ENTRY}`.
    pub fn parse(bytes: &[u8], nested: bool) -> Result<Keyring, String> {
        let map: BTreeMap<String, Entry> = if nested {
            serde_json::from_slice::<ConfigJson>(bytes)
                .map_err(|e| e.to_string())?
                .auths
        } else {
            serde_json::from_slice(bytes).map_err(|e| e.to_string())?
        };
        let mut entries = Vec::new();
        for (key, entry) in map {
            let cred = entry.credential().map_err(|e| format!("entry {key:?}: {e}"))?;
            entries.push((normalize_key(&key), cred));
        }
        // The kubelet sorts its index in reverse, so longer (more specific) keys come first.
        entries.sort_by(|a, b| b.0.cmp(&a.0));
        Ok(Keyring { entries })
    }

    /// Credentials for `image` (`registry/repository`, normalized, without tag or digest), in
    /// the order the kubelet would try them.
    pub fn lookup(&self, image: &str) -> Vec<Credential> {
        let found: Vec<Credential> = self
            .entries
            .iter()
            .filter(|(key, _)| urls_match(key, image))
            .map(|(_, c)| c.clone())
            .collect();
        if !found.is_empty() || !is_default_registry_match(image) {
            return found;
        }
        self.entries
            .iter()
            .filter(|(key, _)| key == DEFAULT_REGISTRY_KEY)
            .map(|(_, c)| c.clone())
            .collect()
    }

    /// The keyring without entries that carry neither user name nor password (a local auth
    /// file lists the registries whose login lives in a credential helper that way): trying
    /// empty Basic credentials would only fail where anonymous access might not.
    pub fn without_empty(mut self) -> Keyring {
        self.entries
            .retain(|(_, c)| !(c.username.is_empty() && c.password.is_empty()));
        self
    }

    /// True when the keyring holds no credentials.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// `https://host:port/v1/path` → `host:port/path`; `/v1/` and `/v2/` alone mean the host.
fn normalize_key(key: &str) -> String {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let path = if path.starts_with("/v1/") || path.starts_with("/v2/") {
        &path[3..]
    } else {
        path
    };
    if path.is_empty() || path == "/" {
        host.to_string()
    } else {
        format!("{host}{path}")
    }
}

/// Docker Hub images: `busybox`, `library/busybox`, `docker.io/...`, `user/repo`.
fn is_default_registry_match(image: &str) -> bool {
    match image.split_once('/') {
        None => !image.is_empty(),
        Some(("", _)) => false,
        Some(("docker.io", _)) => true,
        Some((first, _)) => !first.contains(['.', ':']),
    }
}

/// Splits `host:port/path` into (host labels, port, path).
fn split(url: &str) -> (Vec<&str>, &str, &str) {
    let (hostport, path) = match url.find('/') {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, ""),
    };
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, ""));
    (host.split('.').collect(), port, path)
}

/// The kubelet's `URLsMatch`: same port, same number of host labels each matching its glob,
/// and the key's path a string prefix of the image's path.
fn urls_match(key: &str, image: &str) -> bool {
    let (key_host, key_port, key_path) = split(key);
    let (img_host, img_port, img_path) = split(image);
    key_port == img_port
        && key_host.len() == img_host.len()
        && key_host.iter().zip(&img_host).all(|(g, h)| glob_match(g, h))
        && img_path.starts_with(key_path)
}

/// `filepath.Match` for one host label: `*` any run, `?` one character, others literal.
fn glob_match(glob: &str, text: &str) -> bool {
    let (g, t): (Vec<char>, Vec<char>) = (glob.chars().collect(), text.chars().collect());
    let (mut gi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if gi < g.len() && (g[gi] == '?' || g[gi] == t[ti]) {
            gi += 1;
            ti += 1;
        } else if gi < g.len() && g[gi] == '*' {
            star = Some(gi);
            mark = ti;
            gi += 1;
        } else if let Some(s) = star {
            gi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    g[gi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
#[path = "keyring_tests.rs"]
mod tests;
