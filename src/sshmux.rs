//! A command over a kept SSH connection, without an `ssh` process: OpenSSH's connection
//! multiplexing protocol (its `PROTOCOL.mux`, version 4) spoken to the control master's socket.
//!
//! No legacy script: legacy opened a new SSH connection for every check. The health sweep keeps
//! one connection per webserver (`ssh -f -N` as control master, see [`crate::process`]); a check
//! through it with the `ssh` client still costs a process start per server per sweep (about
//! 4 ms of CPU each, 300 servers: over a second of this machine's time every sweep). Here the
//! sweep hands the master its command and the ends of two socket pairs directly, as a
//! "passenger" client does: hello, `MUX_C_NEW_SESSION`, the three standard descriptors passed
//! with `SCM_RIGHTS`, then the command's output and `MUX_S_EXIT_MESSAGE`.
//!
//! Every read and write ends by one instant. Nothing secret crosses the socket (the master
//! holds the authenticated connection; only the command goes over it).

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Instant;

const HELLO: u32 = 0x0000_0001;
const NEW_SESSION: u32 = 0x1000_0002;
const PERMISSION_DENIED: u32 = 0x8000_0002;
const FAILURE: u32 = 0x8000_0003;
const EXIT_MESSAGE: u32 = 0x8000_0004;
const SESSION_OPENED: u32 = 0x8000_0006;
const TTY_ALLOC_FAIL: u32 = 0x8000_0008;
const VERSION: u32 = 4;
/// Output kept at the most (a check's answer is a word).
const MAX_OUTPUT: usize = 64 * 1024;

/// Why a command could not be run or finished over the master.
#[derive(Debug, PartialEq, Eq)]
pub enum Failed {
    /// No master behind the socket (none, or a stale socket left by one that has gone).
    NoMaster,
    /// The time ran out.
    TimedOut,
    /// The master refused, closed, or said something unexpected.
    Master(String),
}

/// The command's exit status (None: the master closed without one, as `ssh`'s 255) and its
/// standard output.
#[derive(Debug)]
pub struct Ran {
    pub code: Option<u32>,
    pub stdout: Vec<u8>,
}

/// Run `command` on the far side of the master at `socket`, done by `until`.
pub fn run(socket: &Path, command: &str, until: Instant) -> Result<Ran, Failed> {
    let ctl = UnixStream::connect(socket).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => Failed::NoMaster,
        _ => Failed::Master(format!("control socket: {e}")),
    })?;
    let mut ctl = Timed { s: ctl, until };
    // Both sides say hello first.
    let mut hello = Vec::new();
    put_u32(&mut hello, HELLO);
    put_u32(&mut hello, VERSION);
    ctl.packet_out(&hello)?;
    let theirs = ctl.packet_in()?;
    let mut r = Reader(&theirs);
    if r.u32()? != HELLO || r.u32()? != VERSION {
        return Err(Failed::Master("not a version 4 control master".into()));
    }
    let rid = 1;
    let mut req = Vec::new();
    put_u32(&mut req, NEW_SESSION);
    put_u32(&mut req, rid);
    put_str(&mut req, b""); // reserved
    for flag in [0, 0, 0, 0] {
        // tty, X11, agent, subsystem
        put_u32(&mut req, flag);
    }
    put_u32(&mut req, 0xffff_ffff); // no escape character
    put_str(&mut req, b""); // terminal type
    put_str(&mut req, command.as_bytes());
    ctl.packet_out(&req)?;
    // stdin: nothing; stdout and stderr: socket pairs whose far ends go to the master.
    let (out, out_far) = UnixStream::pair().map_err(io)?;
    let (_err, err_far) = UnixStream::pair().map_err(io)?;
    let null = std::fs::File::open("/dev/null").map_err(io)?;
    for fd in [null.as_raw_fd(), out_far.as_raw_fd(), err_far.as_raw_fd()] {
        send_fd(&ctl.s, fd)?;
    }
    drop((null, out_far, err_far));
    let reply = ctl.packet_in()?;
    let mut r = Reader(&reply);
    let sid = match (r.u32()?, r.u32()?) {
        (SESSION_OPENED, id) if id == rid => r.u32()?,
        (PERMISSION_DENIED | FAILURE, _) => {
            return Err(Failed::Master(format!(
                "session refused: {}",
                String::from_utf8_lossy(r.string()?)
            )))
        }
        (t, _) => return Err(Failed::Master(format!("unexpected reply {t:#x}"))),
    };
    let mut out = Timed { s: out, until };
    let mut stdout = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match out.read(&mut buf)? {
            0 => break,
            n if stdout.len() < MAX_OUTPUT => stdout.extend_from_slice(&buf[..n]),
            _ => {}
        }
    }
    // The exit status, then the master closes the control connection.
    loop {
        let msg = match ctl.packet_in() {
            Ok(m) => m,
            Err(Failed::Master(_)) => return Ok(Ran { code: None, stdout }),
            Err(e) => return Err(e),
        };
        let mut r = Reader(&msg);
        match (r.u32()?, r.u32()?) {
            (EXIT_MESSAGE, s) if s == sid => {
                return Ok(Ran {
                    code: Some(r.u32()?),
                    stdout,
                })
            }
            (TTY_ALLOC_FAIL, _) => continue,
            (t, _) => return Err(Failed::Master(format!("unexpected message {t:#x}"))),
        }
    }
}

fn io(e: std::io::Error) -> Failed {
    Failed::Master(e.to_string())
}

/// One descriptor with one byte, as ssh's `mm_send_fd`.
fn send_fd(s: &UnixStream, fd: std::os::fd::RawFd) -> Result<(), Failed> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
    let fds = [fd];
    let iov = [std::io::IoSlice::new(b"\0")];
    sendmsg::<UnixAddr>(
        s.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(|e| Failed::Master(format!("passing a descriptor: {e}")))?;
    Ok(())
}

fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_be_bytes());
}

fn put_str(b: &mut Vec<u8>, s: &[u8]) {
    put_u32(b, s.len() as u32);
    b.extend_from_slice(s);
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn u32(&mut self) -> Result<u32, Failed> {
        let (head, rest) = self
            .0
            .split_first_chunk::<4>()
            .ok_or_else(|| Failed::Master("short message".into()))?;
        self.0 = rest;
        Ok(u32::from_be_bytes(*head))
    }

    fn string(&mut self) -> Result<&[u8], Failed> {
        let n = self.u32()? as usize;
        if n > self.0.len() {
            return Err(Failed::Master("short message".into()));
        }
        let (s, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(s)
    }
}

/// A stream whose every read and write ends by `until`.
struct Timed {
    s: UnixStream,
    until: Instant,
}

impl Timed {
    fn left(&self) -> Result<std::time::Duration, Failed> {
        self.until
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(Failed::TimedOut)
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Failed> {
        self.s.set_read_timeout(Some(self.left()?)).map_err(io)?;
        match self.s.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if timed_out(&e) => Err(Failed::TimedOut),
            Err(e) => Err(io(e)),
        }
    }

    fn read_exact(&mut self, mut buf: &mut [u8]) -> Result<(), Failed> {
        while !buf.is_empty() {
            match self.read(buf)? {
                0 => return Err(Failed::Master("the master closed the connection".into())),
                n => buf = &mut buf[n..],
            }
        }
        Ok(())
    }

    fn packet_in(&mut self) -> Result<Vec<u8>, Failed> {
        let mut len = [0u8; 4];
        self.read_exact(&mut len)?;
        let len = u32::from_be_bytes(len) as usize;
        if len > 256 * 1024 {
            return Err(Failed::Master("oversized message".into()));
        }
        let mut body = vec![0u8; len];
        self.read_exact(&mut body)?;
        Ok(body)
    }

    fn packet_out(&mut self, body: &[u8]) -> Result<(), Failed> {
        let mut b = Vec::with_capacity(body.len() + 4);
        put_u32(&mut b, body.len() as u32);
        b.extend_from_slice(body);
        self.s.set_write_timeout(Some(self.left()?)).map_err(io)?;
        self.s.write_all(&b).map_err(|e| {
            if timed_out(&e) {
                Failed::TimedOut
            } else {
                io(e)
            }
        })
    }
}

fn timed_out(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A stand-in master on a socket: answers hello, takes the session request and its three
    /// descriptors, writes `out` to the passed stdout, then the exit status.
    fn master(
        sock: &Path,
        out: &'static [u8],
        code: Option<u32>,
    ) -> std::thread::JoinHandle<Vec<u8>> {
        let l = std::os::unix::net::UnixListener::bind(sock).unwrap();
        std::thread::spawn(move || {
            use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};
            let (c, _) = l.accept().unwrap();
            let mut t = Timed {
                s: c.try_clone().unwrap(),
                until: Instant::now() + Duration::from_secs(5),
            };
            let mut hello = Vec::new();
            put_u32(&mut hello, HELLO);
            put_u32(&mut hello, VERSION);
            t.packet_out(&hello).unwrap();
            t.packet_in().unwrap();
            let req = t.packet_in().unwrap();
            let mut fds = Vec::new();
            for _ in 0..3 {
                let mut byte = [0u8; 1];
                let mut iov = [std::io::IoSliceMut::new(&mut byte)];
                let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
                let m = recvmsg::<UnixAddr>(
                    c.as_raw_fd(),
                    &mut iov,
                    Some(&mut space),
                    MsgFlags::empty(),
                )
                .unwrap();
                for cm in m.cmsgs().unwrap() {
                    if let ControlMessageOwned::ScmRights(f) = cm {
                        fds.extend(f);
                    }
                }
            }
            assert_eq!(fds.len(), 3);
            let mut opened = Vec::new();
            put_u32(&mut opened, SESSION_OPENED);
            put_u32(&mut opened, 1);
            put_u32(&mut opened, 7);
            t.packet_out(&opened).unwrap();
            {
                use std::os::fd::FromRawFd;
                let mut stdout = unsafe { std::fs::File::from_raw_fd(fds[1]) };
                stdout.write_all(out).unwrap();
                unsafe {
                    drop(std::fs::File::from_raw_fd(fds[0]));
                    drop(std::fs::File::from_raw_fd(fds[2]));
                }
            }
            if let Some(code) = code {
                let mut exit = Vec::new();
                put_u32(&mut exit, EXIT_MESSAGE);
                put_u32(&mut exit, 7);
                put_u32(&mut exit, code);
                t.packet_out(&exit).unwrap();
            }
            drop(c);
            req
        })
    }

    #[test]
    fn a_command_runs_through_the_master_with_its_output_and_status() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("m");
        let m = master(&sock, b"ready\n", Some(0));
        let ran = run(
            &sock,
            "[ -e /x ] && echo ready",
            Instant::now() + Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(ran.code, Some(0));
        assert_eq!(ran.stdout, b"ready\n");
        let req = m.join().unwrap();
        let mut r = Reader(&req);
        assert_eq!(r.u32().unwrap(), NEW_SESSION);
        assert_eq!(r.u32().unwrap(), 1);
        assert_eq!(r.string().unwrap(), b"");
        for _ in 0..4 {
            assert_eq!(r.u32().unwrap(), 0);
        }
        assert_eq!(r.u32().unwrap(), 0xffff_ffff);
        assert_eq!(r.string().unwrap(), b"");
        assert_eq!(r.string().unwrap(), b"[ -e /x ] && echo ready");
    }

    #[test]
    fn a_master_that_closes_without_a_status_is_no_status() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("m");
        let m = master(&sock, b"", None);
        let ran = run(&sock, "true", Instant::now() + Duration::from_secs(5)).unwrap();
        assert_eq!(ran.code, None);
        m.join().unwrap();
    }

    #[test]
    fn no_master_and_a_stale_socket_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("m");
        let until = Instant::now() + Duration::from_secs(1);
        assert_eq!(run(&sock, "true", until).unwrap_err(), Failed::NoMaster);
        drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
        assert_eq!(run(&sock, "true", until).unwrap_err(), Failed::NoMaster);
    }

    #[test]
    fn a_silent_master_times_out_by_the_instant() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("m");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let started = Instant::now();
        let e = run(&sock, "true", started + Duration::from_millis(300)).unwrap_err();
        assert_eq!(e, Failed::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
