//! The pod's QoS class, computed as Kubernetes does, so the injected init container keeps it:
//! a Guaranteed pod must stay Guaranteed (its init container gets requests equal to limits), a
//! BestEffort pod must stay BestEffort (no resources at all), a Burstable one gets small requests
//! and limits. A pod with pod-level `resources` is governed by those: the init container gets
//! none.
//!
//! Kubernetes' rule (the core QoS helper): only cpu and memory count; ephemeral containers do
//! not. BestEffort: no container requests or limits either (non-zero). Guaranteed: every regular
//! and init container has cpu and memory limits, and the requests add up to the limits. Else
//! Burstable.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// A pod's QoS class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qos {
    /// Requests equal limits for cpu and memory in every container.
    Guaranteed,
    /// Anything between.
    Burstable,
    /// No cpu or memory requests or limits anywhere.
    BestEffort,
}

/// Requests and limits of the init container, as (cpu, memory) quantity strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallResources {
    /// `requests`.
    pub requests: (&'static str, &'static str),
    /// `limits`.
    pub limits: (&'static str, &'static str),
}

/// The init container's resources for a pod: `None` for BestEffort pods and pods with
/// pod-level resources.
pub fn install_resources(spec: &PodSpec) -> Option<InstallResources> {
    if spec
        .resources
        .as_ref()
        .is_some_and(|r| r.requests.is_some() || r.limits.is_some())
    {
        return None;
    }
    match qos(spec) {
        Qos::BestEffort => None,
        Qos::Guaranteed => Some(InstallResources {
            requests: ("100m", "32Mi"),
            limits: ("100m", "32Mi"),
        }),
        Qos::Burstable => Some(InstallResources {
            requests: ("10m", "16Mi"),
            limits: ("100m", "32Mi"),
        }),
    }
}

/// The QoS class of a pod spec (container-level resources).
pub fn qos(spec: &PodSpec) -> Qos {
    const SUPPORTED: [&str; 2] = ["cpu", "memory"];
    let mut requests: BTreeMap<&str, Exact> = BTreeMap::new();
    let mut limits: BTreeMap<&str, Exact> = BTreeMap::new();
    let mut guaranteed = true;
    let all = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten());
    for c in all {
        let res = c.resources.as_ref();
        for (name, q) in res.and_then(|r| r.requests.as_ref()).into_iter().flatten() {
            let Some(name) = SUPPORTED.iter().find(|s| **s == name) else {
                continue;
            };
            match Exact::parse(q) {
                Some(v) if v.is_zero() => {}
                Some(v) => add(&mut requests, name, v),
                None => return Qos::Burstable, // unreadable: never claim more than Burstable
            }
        }
        let found = found_limits(c);
        for (name, q) in res.and_then(|r| r.limits.as_ref()).into_iter().flatten() {
            let Some(name) = SUPPORTED.iter().find(|s| **s == name) else {
                continue;
            };
            match Exact::parse(q) {
                Some(v) if v.is_zero() => {}
                Some(v) => add(&mut limits, name, v),
                None => return Qos::Burstable,
            }
        }
        if !SUPPORTED.iter().all(|s| found.contains(s)) {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return Qos::BestEffort;
    }
    if guaranteed && requests == limits {
        return Qos::Guaranteed;
    }
    Qos::Burstable
}

fn found_limits(c: &Container) -> Vec<&str> {
    c.resources
        .as_ref()
        .and_then(|r| r.limits.as_ref())
        .map(|l| l.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn add<'a>(sums: &mut BTreeMap<&'a str, Exact>, name: &'a str, v: Exact) {
    let sum = match sums.get(name) {
        Some(old) => old.plus(v),
        None => Some(v),
    };
    // A sum too large to hold exactly is not something two sides can be equal on.
    sums.insert(name, sum.unwrap_or(Exact::OVERFLOW));
}

/// A quantity as an exact decimal: `mantissa × 10^exp`, normalized (no trailing zeros in the
/// mantissa), so equal values compare equal whatever their suffix (`1`, `1000m`, `1e3m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Exact {
    mantissa: i128,
    exp: i32,
}

impl Exact {
    const OVERFLOW: Exact = Exact {
        mantissa: i128::MAX,
        exp: i32::MAX,
    };

    fn is_zero(self) -> bool {
        self.mantissa == 0
    }

    fn normalized(mut mantissa: i128, mut exp: i32) -> Exact {
        if mantissa == 0 {
            return Exact { mantissa: 0, exp: 0 };
        }
        while mantissa % 10 == 0 {
            mantissa /= 10;
            exp += 1;
        }
        Exact { mantissa, exp }
    }

    fn plus(self, other: Exact) -> Option<Exact> {
        let exp = self.exp.min(other.exp);
        let scale = |e: Exact| -> Option<i128> {
            let shift = u32::try_from(e.exp - exp).ok()?;
            e.mantissa.checked_mul(10i128.checked_pow(shift)?)
        };
        Some(Exact::normalized(scale(self)?.checked_add(scale(other)?)?, exp))
    }

    /// Kubernetes quantity syntax: a decimal number, then a binary suffix (`Ki` … `Ei`), a
    /// decimal suffix (`n`, `u`, `m`, `k`, `M`, `G`, `T`, `P`, `E`) or an exponent (`e3`, `E-2`).
    fn parse(q: &Quantity) -> Option<Exact> {
        let s = q.0.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
            .unwrap_or(s.len());
        let (number, suffix) = s.split_at(split);
        let (negative, number) = match number.as_bytes().first() {
            Some(b'-') => (true, &number[1..]),
            Some(b'+') => (false, &number[1..]),
            _ => (false, number),
        };
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        let digits = format!("{whole}{frac}");
        if digits.is_empty() || digits.len() > 30 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut mantissa: i128 = digits.parse().ok()?;
        let mut exp = -i32::try_from(frac.len()).ok()?;
        let binary = |power: u32| 1i128.checked_shl(power);
        match suffix {
            "" => {}
            "Ki" => mantissa = mantissa.checked_mul(binary(10)?)?,
            "Mi" => mantissa = mantissa.checked_mul(binary(20)?)?,
            "Gi" => mantissa = mantissa.checked_mul(binary(30)?)?,
            "Ti" => mantissa = mantissa.checked_mul(binary(40)?)?,
            "Pi" => mantissa = mantissa.checked_mul(binary(50)?)?,
            "Ei" => mantissa = mantissa.checked_mul(binary(60)?)?,
            "n" => exp -= 9,
            "u" => exp -= 6,
            "m" => exp -= 3,
            "k" => exp += 3,
            "M" => exp += 6,
            "G" => exp += 9,
            "T" => exp += 12,
            "P" => exp += 15,
            "E" => exp += 18,
            e if e.starts_with(['e', 'E']) => exp += e[1..].parse::<i32>().ok().filter(|x| x.abs() < 1000)?,
            _ => return None,
        }
        if negative {
            mantissa = -mantissa;
        }
        Some(Exact::normalized(mantissa, exp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: serde_json::Value) -> PodSpec {
        serde_json::from_value(v).unwrap()
    }

    fn q(s: &str) -> Exact {
        Exact::parse(&Quantity(s.into())).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn quantities_compare_by_value() {
        assert_eq!(q("1"), q("1000m"));
        assert_eq!(q("1Ki"), q("1024"));
        assert_eq!(q("0.5"), q("500m"));
        assert_eq!(q("1e3"), q("1k"));
        assert_eq!(q("128Mi"), q("134217728"));
        assert_ne!(q("1M"), q("1Mi"));
        assert!(q("0").is_zero() && q("0m").is_zero());
        for bad in ["", "abc", "1Xi", "1e99999", "1.2.3"] {
            assert!(Exact::parse(&Quantity(bad.into())).is_none(), "{bad}");
        }
    }

    #[test]
    fn classes_like_kubernetes() {
        let res = |r: serde_json::Value| json!({"containers": [{"name": "a", "resources": r}]});
        let gua =
            json!({"requests": {"cpu": "1", "memory": "64Mi"}, "limits": {"cpu": "1000m", "memory": "64Mi"}});
        assert_eq!(qos(&spec(res(gua.clone()))), Qos::Guaranteed);
        assert_eq!(
            qos(&spec(json!({"containers": [{"name": "a"}]}))),
            Qos::BestEffort
        );
        let half =
            json!({"requests": {"cpu": "500m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "64Mi"}});
        assert_eq!(qos(&spec(res(half))), Qos::Burstable);
        let cpu_only = json!({"requests": {"cpu": "1"}, "limits": {"cpu": "1"}});
        assert_eq!(qos(&spec(res(cpu_only))), Qos::Burstable);
        let zero = json!({"requests": {"cpu": "0"}});
        assert_eq!(qos(&spec(res(zero))), Qos::BestEffort);
        let other = json!({"limits": {"nvidia.com/gpu": "1"}});
        assert_eq!(
            qos(&spec(res(other))),
            Qos::BestEffort,
            "only cpu and memory count"
        );
        // An init container without resources makes a Guaranteed pod Burstable.
        let with_init =
            json!({"containers": [{"name": "a", "resources": gua}], "initContainers": [{"name": "i"}]});
        assert_eq!(qos(&spec(with_init)), Qos::Burstable);
    }

    #[test]
    fn the_install_container_keeps_the_class() {
        let gua = json!({"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"cpu": "250m", "memory": "64Mi"}});
        for (pod, want) in [
            (
                json!({"containers": [{"name": "a", "resources": gua}]}),
                Qos::Guaranteed,
            ),
            (json!({"containers": [{"name": "a"}]}), Qos::BestEffort),
            (
                json!({"containers": [{"name": "a", "resources": {"requests": {"cpu": "1m"}}}]}),
                Qos::Burstable,
            ),
        ] {
            let mut s = spec(pod);
            let install = install_resources(&s);
            let mut init = json!({"name": "respawn-install"});
            if let Some(r) = &install {
                init["resources"] = json!({
                    "requests": {"cpu": r.requests.0, "memory": r.requests.1},
                    "limits": {"cpu": r.limits.0, "memory": r.limits.1},
                });
            }
            s.init_containers = Some(vec![serde_json::from_value(init).unwrap()]);
            assert_eq!(qos(&s), want, "{install:?}");
        }
        let pod_level =
            json!({"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}, "containers": [{"name": "a"}]});
        assert_eq!(install_resources(&spec(pod_level)), None);
    }
}
