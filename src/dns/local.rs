//! DNSCHOICE `local`: a hosts file served by a real DNS server (dnsmasq, reloaded with SIGHUP),
//! for the local cloud and the demo. Not a legacy provider.

use super::{Provider, Record};
use crate::error::{Error, Result};
use crate::fsutil;
use std::net::IpAddr;
use std::path::PathBuf;

pub struct Local {
    pub dir: PathBuf,
}

impl Local {
    fn hosts(&self) -> PathBuf {
        self.dir.join("hosts")
    }

    fn lines(&self) -> Result<Vec<(IpAddr, String)>> {
        let text = match std::fs::read_to_string(self.hosts()) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io(self.hosts().display(), e)),
        };
        Ok(text
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                Some((w.next()?.parse().ok()?, w.next()?.to_string()))
            })
            .collect())
    }

    /// Read, change and write the hosts file under a lock: concurrent builds (threads or
    /// autoscalers) adding records must not lose each other's.
    fn edit(&self, f: impl FnOnce(&mut Vec<(IpAddr, String)>)) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(self.dir.display(), e))?;
        let _lock = fsutil::Lock::exclusive(&self.dir.join("hosts.lock"))?;
        let mut l = self.lines()?;
        f(&mut l);
        self.write(&l)
    }

    fn write(&self, lines: &[(IpAddr, String)]) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(self.dir.display(), e))?;
        let text: String = lines.iter().map(|(ip, n)| format!("{ip} {n}\n")).collect();
        fsutil::write_atomic(&self.hosts(), text.as_bytes(), None)?;
        // Tell the DNS server (if one serves this zone) to re-read it.
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("dnsmasq.pid")) {
            // A process id, never a group or "every process" (-1).
            if let Ok(pid) = pid.trim().parse::<i32>() {
                crate::process::signal(pid, nix::sys::signal::Signal::SIGHUP);
            }
        }
        Ok(())
    }
}

impl Provider for Local {
    fn list(&mut self, name: &str) -> Result<Vec<Record>> {
        Ok(self
            .lines()?
            .into_iter()
            .filter(|(_, n)| n == name)
            .map(|(ip, _)| Record {
                id: ip.to_string(),
                ip,
            })
            .collect())
    }
    fn add(&mut self, name: &str, ip: IpAddr) -> Result<()> {
        self.edit(|l| {
            if !l.iter().any(|(i, n)| *i == ip && n == name) {
                l.push((ip, name.to_string()));
            }
        })
    }
    fn delete(&mut self, name: &str, record: &Record) -> Result<()> {
        self.edit(|l| l.retain(|(ip, n)| !(n == name && *ip == record.ip)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_local_adds_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::thread::scope(|s| {
            for i in 0..16u8 {
                let d = dir.path().to_path_buf();
                s.spawn(move || {
                    let mut p = Local { dir: d };
                    let ip: IpAddr = format!("10.9.0.{i}").parse().unwrap();
                    p.add("www.example.com", ip).unwrap();
                    p.add("www.example.com", ip).unwrap();
                });
            }
        });
        let mut p = Local {
            dir: dir.path().to_path_buf(),
        };
        let got = p.list("www.example.com").unwrap();
        assert_eq!(got.len(), 16, "{got:?}");
    }
}
