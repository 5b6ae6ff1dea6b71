//! The child's output with `--log-format prefix|json`: one pipe pair per generation, read by
//! the event loop and framed line by line (`logs.rs`) onto our stdout/stderr. With `inherit`
//! (the default) nothing here is used and the child writes to our descriptors directly.

use crate::child::Stdio;
use crate::logs::{Framer, LogFormat, Stream};
use crate::sys;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

struct Source {
    fd: OwnedFd,
    stream: Stream,
    generation: u64,
}

/// Open read ends of the children's output pipes and the two framers (kept across generations).
pub struct Output {
    framers: [Framer; 2],
    sources: Vec<Source>,
    buf: Vec<u8>,
    out: Vec<u8>,
}

/// Write ends for one generation; dropped by the supervisor once the child has them.
pub struct Ends {
    _out: OwnedFd,
    _err: OwnedFd,
    /// The descriptors to hand to the child.
    pub stdio: Stdio,
}

impl Output {
    /// `None` for `inherit`: the child gets our descriptors.
    pub fn new(format: LogFormat) -> Option<Output> {
        (format != LogFormat::Inherit).then(|| Output {
            framers: [
                Framer::new(Stream::Stdout, format),
                Framer::new(Stream::Stderr, format),
            ],
            sources: Vec::new(),
            buf: vec![0; 64 * 1024],
            out: Vec::new(),
        })
    }

    /// New pipes for `generation`; the read ends join the poll set.
    pub fn open(&mut self, generation: u64) -> io::Result<Ends> {
        let (r1, w1) = sys::pipe(0)?;
        let (r2, w2) = sys::pipe(0)?;
        sys::set_nonblocking(r1.as_raw_fd())?;
        sys::set_nonblocking(r2.as_raw_fd())?;
        self.sources.push(Source {
            fd: r1,
            stream: Stream::Stdout,
            generation,
        });
        self.sources.push(Source {
            fd: r2,
            stream: Stream::Stderr,
            generation,
        });
        let stdio = Stdio {
            stdout: Some(w1.as_raw_fd()),
            stderr: Some(w2.as_raw_fd()),
        };
        Ok(Ends {
            _out: w1,
            _err: w2,
            stdio,
        })
    }

    /// Descriptors to poll.
    pub fn pollfds(&self, out: &mut Vec<libc::pollfd>) {
        out.extend(self.sources.iter().map(|s| sys::pollin(&s.fd)));
    }

    /// Reads whatever is ready on the sources that `polled` (from [`Output::pollfds`]) reports
    /// readable. Matched by descriptor: sources may have changed since the poll.
    pub fn handle(&mut self, polled: &[libc::pollfd]) {
        // Walk backwards so closing a source does not shift the ones still to visit.
        for idx in (0..self.sources.len()).rev() {
            let fd = self.sources[idx].fd.as_raw_fd();
            let ready = polled.iter().any(|p| p.fd == fd && p.revents != 0);
            if ready && !self.pump(idx, false) {
                self.close(idx);
            }
        }
    }

    /// Reads everything left of generations before `generation` until end of file. Their
    /// writers are gone (the tree was stopped), so this never blocks for long.
    pub fn drain_before(&mut self, generation: u64) {
        let mut idx = 0;
        while idx < self.sources.len() {
            if self.sources[idx].generation < generation {
                while self.pump(idx, true) {}
                self.close(idx);
            } else {
                idx += 1;
            }
        }
    }

    /// One read from source `idx`; false at end of file (or error). With `block`, waits for
    /// data instead of returning on EAGAIN.
    fn pump(&mut self, idx: usize, block: bool) -> bool {
        let (fd, stream, generation) = {
            let s = &self.sources[idx];
            (s.fd.as_raw_fd(), s.stream, s.generation)
        };
        match sys::read(fd, &mut self.buf) {
            Ok(0) => false,
            Ok(n) => {
                self.framers[stream as usize].push(generation, &self.buf[..n], &mut self.out);
                self.flush(stream);
                true
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !block {
                    return true; // nothing yet; still open
                }
                // Bounded: a writer that escaped the tree must not hang the supervisor.
                let mut p = [libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                }];
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
                matches!(sys::poll(&mut p, Some(deadline)), Ok(1))
            }
            Err(_) => false,
        }
    }

    fn close(&mut self, idx: usize) {
        let s = self.sources.remove(idx);
        self.framers[s.stream as usize].finish(s.generation, &mut self.out);
        self.flush(s.stream);
    }

    fn flush(&mut self, stream: Stream) {
        if !self.out.is_empty() {
            let fd = if stream == Stream::Stdout { 1 } else { 2 };
            let _ = sys::write_all(fd, &self.out);
            self.out.clear();
        }
    }
}
