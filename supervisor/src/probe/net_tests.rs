//! The HTTP request the probe writes and the status line it reads, and both checks against
//! real listeners on 127.0.0.1.

use super::*;
use std::net::TcpListener;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn request_follows_the_kubelets_header_rules() {
    let plain = request(addr("10.1.2.3:8080"), "/healthz", &[]);
    assert_eq!(
        plain,
        "GET /healthz HTTP/1.1\r\nHost: 10.1.2.3:8080\r\nUser-Agent: kube-probe/respawn\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    let h = |n: &str, v: &str| (n.to_string(), v.to_string());
    let custom = request(
        addr("[::1]:80"),
        "/",
        &[
            h("host", "app.test"),
            h("X-Token", "t"),
            h("user-agent", "mine"),
            h("ACCEPT", "text/plain"),
        ],
    );
    assert_eq!(
        custom,
        "GET / HTTP/1.1\r\nHost: app.test\r\nX-Token: t\r\nuser-agent: mine\r\nACCEPT: text/plain\r\nConnection: close\r\n\r\n"
    );
    assert!(request(addr("[::1]:80"), "/", &[]).contains("Host: [::1]:80\r\n"));
    assert!(request(addr("127.0.0.1:80"), "/", &[h("Host", "")]).contains("Host: 127.0.0.1:80\r\n"));
}

#[test]
fn request_target_is_a_valid_path() {
    assert_eq!(request_target(""), "/");
    assert_eq!(request_target("healthz"), "/healthz");
    assert_eq!(request_target("/a?b=c&d=%20"), "/a?b=c&d=%20");
    assert_eq!(request_target("/a b#frag"), "/a%20b");
    assert_eq!(request_target("/é\"{"), "/%C3%A9%22%7B");
}

#[test]
fn status_lines() {
    assert_eq!(status_code(b"HTTP/1.1 200 OK\r\n"), Some(200));
    assert_eq!(status_code(b"HTTP/1.0 302 Found\r\nLocation: /x\r\n"), Some(302));
    assert_eq!(status_code(b"HTTP/1.1 503"), Some(503));
    for bad in [
        &b""[..],
        b"SSH-2.0-OpenSSH\r\n",
        b"HTTP/1.1 20 OK\r\n",
        b"HTTP/2 200\r\n",
        b"HTTP/1.1 abc\r\n",
    ] {
        assert_eq!(status_code(bad), None, "{:?}", String::from_utf8_lossy(bad));
    }
}

/// A server answering one request with `status`; returns its address and the request it read.
fn serve_once(status: &'static str) -> (SocketAddr, std::thread::JoinHandle<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        let mut req = Vec::new();
        let mut buf = [0u8; 512];
        while !req.ends_with(b"\r\n\r\n") {
            let n = c.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            req.extend_from_slice(&buf[..n]);
        }
        c.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes())
            .unwrap();
        String::from_utf8(req).unwrap()
    });
    (a, t)
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

#[test]
fn http_success_is_200_to_399() {
    for (status, ok) in [
        ("200 OK", true),
        ("399 X", true),
        ("301 Moved", true),
        ("400 Bad", false),
        ("500 Oops", false),
        ("199 X", false),
    ] {
        let (a, t) = serve_once(status);
        let r = http(
            a,
            "/healthz",
            &[("X-A".into(), "1".into())],
            soon(),
            Duration::from_secs(10),
        );
        assert_eq!(r.is_ok(), ok, "{status}: {r:?}");
        let req = t.join().unwrap();
        assert!(
            req.starts_with("GET /healthz HTTP/1.1\r\n") && req.contains("X-A: 1\r\n"),
            "{req}"
        );
        if !ok {
            let code = &status[..3];
            assert!(r.unwrap_err().msg.contains(&format!("statuscode: {code}")));
        }
    }
}

#[test]
fn tcp_connects_or_says_why() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    assert!(tcp(a, soon(), Duration::from_secs(10)).is_ok());
    drop(l);
    let e = tcp(a, soon(), Duration::from_secs(10)).unwrap_err();
    assert_eq!(e.code, 1);
    assert!(
        e.msg.contains(&format!("dial tcp {a}")) && e.msg.contains("refused"),
        "{}",
        e.msg
    );
}

#[test]
fn a_server_that_never_answers_times_out() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    let t = Duration::from_millis(200);
    let e = http(a, "/", &[], Instant::now() + t, t).unwrap_err();
    assert!(
        e.msg.contains("no answer within the timeout (200ms)"),
        "{}",
        e.msg
    );
    drop(l);
}

#[test]
fn the_address_is_the_host_else_loopback() {
    assert_eq!(
        address(Some("10.0.0.9".parse().unwrap()), 80),
        addr("10.0.0.9:80")
    );
    assert_eq!(address(None, 81), addr("127.0.0.1:81"));
}
