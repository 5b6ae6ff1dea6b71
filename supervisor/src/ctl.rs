//! The control channel behind `respawn restart` and `respawn status`.
//!
//! It needs no writable filesystem: by default it is an *abstract* unix socket named
//! `respawn-<mount namespace inode>`. A `kubectl exec`'d process shares the mount namespace of
//! the container's PID 1 (and the pod's network namespace, which scopes abstract sockets), so
//! client and supervisor derive the same name; another container of the same pod has its own
//! mount namespace and therefore its own name. `--control-socket @NAME|PATH` overrides it.
//! Only root or our own uid may connect (checked with SO_PEERCRED).
//!
//! Protocol: one request line, one reply (`ok ...` / `error ...`). Requests: `restart` (the
//! reply is the new pid), `status` (the text `respawn status` prints), and `probe` (for
//! `respawn probe`: `STATE AGE`, see `supervise/report.rs`). An older supervisor answers
//! `probe` with `error unknown request`, which `respawn probe` takes as "nothing to hold".

use crate::sys;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};

/// A request from a client, with the connection to answer on.
pub struct Request {
    /// `restart` or `status`.
    pub word: String,
    /// Where the reply goes.
    pub conn: UnixStream,
}

struct Pending {
    stream: UnixStream,
    buf: Vec<u8>,
}

/// The listening side, polled by the supervisor's event loop.
pub struct Server {
    listener: UnixListener,
    pending: Vec<Pending>,
}

/// Where the socket lives: `@name` is abstract, anything else a path; empty is the default.
pub fn resolve(spec: &str) -> String {
    if !spec.is_empty() {
        return spec.to_string();
    }
    let inode = std::fs::read_link("/proc/self/ns/mnt").ok().and_then(|l| {
        l.to_str()
            .and_then(|s| s.strip_prefix("mnt:[")?.strip_suffix(']').map(String::from))
    });
    match inode {
        Some(i) => format!("@respawn-{i}"),
        None => "@respawn".to_string(),
    }
}

fn addr(name: &str) -> io::Result<SocketAddr> {
    match name.strip_prefix('@') {
        Some(abs) => SocketAddr::from_abstract_name(abs.as_bytes()),
        None => SocketAddr::from_pathname(name),
    }
}

impl Server {
    /// Binds the socket `name` (as returned by [`resolve`]).
    pub fn bind(name: &str) -> io::Result<Server> {
        let a = addr(name)?;
        let listener = match UnixListener::bind_addr(&a) {
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && !name.starts_with('@') => {
                // A stale socket file from an earlier run: replace it if nobody answers.
                if UnixStream::connect_addr(&a).is_ok() {
                    return Err(e);
                }
                std::fs::remove_file(name)?;
                UnixListener::bind_addr(&a)?
            }
            other => other?,
        };
        listener.set_nonblocking(true)?;
        Ok(Server {
            listener,
            pending: Vec::new(),
        })
    }

    /// Descriptors to poll: the listener and connections whose request is incomplete.
    pub fn pollfds(&self, out: &mut Vec<libc::pollfd>) {
        out.push(sys::pollin(&self.listener));
        out.extend(self.pending.iter().map(|p| sys::pollin(&p.stream)));
    }

    /// Accepts new connections and reads requests; returns the complete ones.
    pub fn handle(&mut self) -> Vec<Request> {
        while let Ok((stream, _)) = self.listener.accept() {
            if !peer_allowed(&stream) {
                let mut s = stream;
                let _ = s.write_all(
                    b"error permission denied: only root or the supervisor's user may control it\n",
                );
                continue;
            }
            let _ = stream.set_nonblocking(true);
            if self.pending.len() >= 16 {
                self.pending.remove(0);
            }
            self.pending.push(Pending {
                stream,
                buf: Vec::new(),
            });
        }
        let mut done = Vec::new();
        self.pending.retain_mut(|p| {
            let mut chunk = [0u8; 64];
            loop {
                match p.stream.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => p.buf.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        if p.buf.len() < 256 && !p.buf.contains(&b'\n') {
                            return true;
                        }
                        break;
                    }
                    Err(_) => return false,
                }
            }
            let line = String::from_utf8_lossy(&p.buf);
            let word = line.lines().next().unwrap_or("").trim().to_string();
            if let Ok(conn) = p.stream.try_clone() {
                done.push(Request { word, conn });
            }
            false
        });
        done
    }
}

/// Sends the reply and closes the connection.
pub fn reply(mut conn: UnixStream, ok: bool, text: &str) {
    let _ = conn.set_nonblocking(false);
    let nl = if text.ends_with('\n') { "" } else { "\n" };
    let _ = conn.write_all(format!("{} {text}{nl}", if ok { "ok" } else { "error" }).as_bytes());
}

fn peer_allowed(s: &UnixStream) -> bool {
    let mut cred = libc::ucred {
        pid: 0,
        uid: u32::MAX,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred and len are valid out pointers sized for SO_PEERCRED.
    let r = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    // SAFETY: geteuid has no preconditions.
    r == 0 && (cred.uid == 0 || cred.uid == unsafe { libc::geteuid() })
}

/// Why a request got no `ok` answer.
#[derive(Debug)]
pub enum AskError {
    /// Nothing listens on the socket (the message names it).
    NoSupervisor(String),
    /// The supervisor answered `error TEXT`.
    Refused(String),
    /// The exchange failed half-way, or the answer was not understood.
    Broken(String),
}

impl AskError {
    /// The message for the user.
    pub fn message(&self) -> &str {
        match self {
            AskError::NoSupervisor(m) | AskError::Refused(m) | AskError::Broken(m) => m,
        }
    }
}

/// Sends `word` to the supervisor on `spec` (see [`resolve`]) and returns the text after
/// `ok `. `limit` bounds each read and write (`None`: wait as long as it takes).
pub fn ask(word: &str, spec: Option<&str>, limit: Option<std::time::Duration>) -> Result<String, AskError> {
    let name = resolve(spec.unwrap_or(""));
    let mut stream = addr(&name).and_then(|a| UnixStream::connect_addr(&a)).map_err(|e| {
        AskError::NoSupervisor(format!(
            "no respawn supervisor is listening on {name} ({e}); run this inside a container started by `respawn -- CMD`, or pass --control-socket"
        ))
    })?;
    let mut answer = String::new();
    let res = stream
        .set_read_timeout(limit)
        .and_then(|()| stream.set_write_timeout(limit))
        .and_then(|()| stream.write_all(format!("{word}\n").as_bytes()))
        .and_then(|()| stream.shutdown(std::net::Shutdown::Write))
        .and_then(|_| stream.read_to_string(&mut answer));
    if let Err(e) = res {
        return Err(AskError::Broken(format!("control socket {name}: {e}")));
    }
    match answer.split_once(' ') {
        Some(("ok", rest)) => Ok(rest.to_string()),
        Some(("error", rest)) => Err(AskError::Refused(rest.trim_end().to_string())),
        _ => Err(AskError::Broken(format!(
            "unexpected answer from the supervisor: {answer:?}"
        ))),
    }
}

/// Client side of `respawn restart`/`status`: sends `word`, prints the answer, returns the exit
/// code (0 ok, 1 error).
pub fn client(word: &str, spec: Option<&str>) -> i32 {
    match ask(word, spec, None) {
        Ok(rest) => {
            print!("{rest}");
            0
        }
        Err(e) => {
            crate::warn(e.message());
            1
        }
    }
}
