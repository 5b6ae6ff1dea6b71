//! The network checks, as the kubelet makes them but from inside the pod's network namespace:
//! `--tcp-socket` connects; `--http-get` sends one plain HTTP/1.1 `GET` and reads the status
//! line (200–399 is success). Only std's `TcpStream`: no HTTP crate in PID 1.
//!
//! The address is `--host`, else the pod's IP from `RESPAWN_POD_IP` (the webhook sets it from
//! the downward API, `status.podIP`), else 127.0.0.1. Headers follow the kubelet's rules: a
//! `Host` header replaces the host (`IP:PORT` otherwise), `User-Agent` and `Accept` have
//! defaults (`kube-probe/respawn`, `*/*`) that a header of the same name replaces, and the
//! connection is not kept alive. Redirects are not followed: a 3xx is success, as the kubelet
//! counts a redirect to another host.

use super::Failure;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Where a network check connects: `host` (`--host`, else `$RESPAWN_POD_IP`, filled in when the
/// arguments are parsed), else 127.0.0.1.
pub fn address(host: Option<IpAddr>, port: u16) -> SocketAddr {
    SocketAddr::new(host.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)), port)
}

/// Time left until `deadline`, or the timeout failure.
fn left(deadline: Instant, timeout: Duration, what: &str) -> Result<Duration, Failure> {
    let d = deadline.saturating_duration_since(Instant::now());
    if d.is_zero() {
        return Err(timed_out(what, timeout));
    }
    Ok(d)
}

fn timed_out(what: &str, timeout: Duration) -> Failure {
    Failure::new(format!("{what}: no answer within the timeout ({timeout:?})"))
}

fn connect(addr: SocketAddr, deadline: Instant, timeout: Duration, what: &str) -> Result<TcpStream, Failure> {
    let limit = left(deadline, timeout, what)?;
    TcpStream::connect_timeout(&addr, limit).map_err(|e| match e.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => timed_out(what, timeout),
        _ => Failure::new(format!("{what}: dial tcp {addr}: {e}")),
    })
}

/// `--tcp-socket`: success once a connection is established.
pub fn tcp(addr: SocketAddr, deadline: Instant, timeout: Duration) -> Result<(), Failure> {
    connect(addr, deadline, timeout, &format!("tcp {addr}")).map(drop)
}

/// `--http-get`: one `GET`, success for a status from 200 to 399.
pub fn http(
    addr: SocketAddr,
    path: &str,
    headers: &[(String, String)],
    deadline: Instant,
    timeout: Duration,
) -> Result<(), Failure> {
    let target = request_target(path);
    let what = format!("GET http://{addr}{target}");
    let mut s = connect(addr, deadline, timeout, &what)?;
    let io = |e: std::io::Error| match e.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => timed_out(&what, timeout),
        _ => Failure::new(format!("{what}: {e}")),
    };
    s.set_write_timeout(Some(left(deadline, timeout, &what)?))
        .map_err(io)?;
    s.write_all(request(addr, &target, headers).as_bytes())
        .map_err(io)?;
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 4096 {
        s.set_read_timeout(Some(left(deadline, timeout, &what)?))
            .map_err(io)?;
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    match status_code(&head) {
        Some(code) if (200..400).contains(&code) => Ok(()),
        Some(code) => Err(Failure::new(format!(
            "{what}: HTTP probe failed with statuscode: {code}"
        ))),
        None => Err(Failure::new(format!(
            "{what}: not an HTTP response: {:?}",
            String::from_utf8_lossy(&head[..head.len().min(80)])
        ))),
    }
}

/// The request line's target: the path (with its query) starting with `/` (`/` when empty),
/// without a `#fragment`, bytes outside printable ASCII and `"<>\^`{|}` and spaces
/// percent-encoded (as the kubelet's URL handling writes them).
pub fn request_target(path: &str) -> String {
    let path = path.split('#').next().unwrap_or("");
    let mut out = String::with_capacity(path.len() + 1);
    if !path.starts_with('/') {
        out.push('/');
    }
    for b in path.bytes() {
        if b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The request: `GET target HTTP/1.1`, `Host`, `User-Agent` and `Accept` unless given, the
/// probe's headers in order, `Connection: close`.
pub fn request(addr: SocketAddr, target: &str, headers: &[(String, String)]) -> String {
    let given = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let host = headers
        .iter()
        .find(|(n, v)| n.eq_ignore_ascii_case("host") && !v.is_empty())
        .map_or_else(|| addr.to_string(), |(_, v)| v.clone());
    let mut r = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n");
    if !given("user-agent") {
        r.push_str("User-Agent: kube-probe/respawn\r\n");
    }
    if !given("accept") {
        r.push_str("Accept: */*\r\n");
    }
    for (n, v) in headers.iter().filter(|(n, _)| !n.eq_ignore_ascii_case("host")) {
        r.push_str(&format!("{n}: {v}\r\n"));
    }
    r.push_str("Connection: close\r\n\r\n");
    r
}

/// The status code of a response head (`HTTP/1.x NNN …`).
pub fn status_code(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split_ascii_whitespace();
    if !words.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let code = words.next()?;
    (code.len() == 3).then(|| code.parse().ok()).flatten()
}

#[cfg(test)]
#[path = "net_tests.rs"]
mod tests;
