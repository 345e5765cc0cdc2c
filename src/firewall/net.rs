//! Addresses and networks as firewall rules use them, parsed strictly: a bad entry can never
//! turn into "anywhere".

use std::fmt;
use std::net::IpAddr;

/// An IP network (`10.0.0.5/32`, `173.245.48.0/20`, `2400:cb00::/32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Net {
    pub addr: IpAddr,
    pub len: u8,
}

impl Net {
    pub fn host(addr: IpAddr) -> Net {
        Net {
            addr,
            len: if addr.is_ipv4() { 32 } else { 128 },
        }
    }

    pub fn is_v4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// Parse `a.b.c.d[/len]` or `v6[/len]`. Rejects unspecified addresses, prefixes shorter than
    /// `min_len` (so `0.0.0.0/0`, `::/0` or an over-broad range are refused), host bits set,
    /// and anything that is not an address.
    pub fn parse(s: &str, min_len_v4: u8, min_len_v6: u8) -> Result<Net, String> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or network"))?;
        if addr.is_unspecified() {
            return Err(format!("{s:?} is the unspecified address"));
        }
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match l {
            None => max,
            Some(l) => l
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= max && l.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| format!("{s:?} has a bad prefix length"))?,
        };
        let min = if addr.is_ipv4() {
            min_len_v4
        } else {
            min_len_v6
        };
        if len < min {
            return Err(format!("{s:?} is broader than /{min}"));
        }
        let net = Net { addr, len };
        if net.masked() != addr {
            return Err(format!("{s:?} has host bits set"));
        }
        Ok(net)
    }

    fn masked(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => {
                let m = if self.len == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.len as u32)
                };
                IpAddr::V4((u32::from(a) & m).into())
            }
            IpAddr::V6(a) => {
                let m = if self.len == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.len as u32)
                };
                IpAddr::V6((u128::from(a) & m).into())
            }
        }
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_parsing() {
        assert_eq!(
            Net::parse("10.0.0.5", 8, 16).unwrap().to_string(),
            "10.0.0.5/32"
        );
        assert_eq!(Net::parse("173.245.48.0/20", 8, 16).unwrap().len, 20);
        assert_eq!(
            Net::parse("2400:cb00::/32", 8, 16).unwrap().to_string(),
            "2400:cb00::/32"
        );
        for bad in [
            "",
            "*",
            "0.0.0.0/0",
            "0.0.0.0",
            "1.2.3",
            "::/0",
            "::",
            "example.com",
            "10.0.0.0/4",
            "10.0.0.1/24",
            "10.0.0.0/33",
            "10.0.0.0/+8",
            "1.2.3.4 ",
        ] {
            assert!(Net::parse(bad, 8, 16).is_err(), "{bad:?}");
        }
    }
}
