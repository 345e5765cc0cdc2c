#!/usr/bin/env python3
"""Check a password against a stored application password hash, independently of adt-rs.

stdin: the password on the first line, the stored hash on the second (never argv).
Schemes: phpass portable `$P$`/`$H$` (WordPress, Joomla; MD5), Drupal's `$S$` (SHA-512,
55 characters kept), and crypt(3) hashes such as SHA-512 crypt `$6$` (Moodle; via the
system's crypt). Exit 0 and `ok` when the password matches, 1 and `mismatch` otherwise,
2 on an unknown scheme.
"""
import hashlib
import hmac
import sys

ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def encode64(data: bytes) -> str:
    out, i, n = [], 0, len(data)
    while i < n:
        v = data[i]
        i += 1
        out.append(ITOA64[v & 0x3F])
        if i < n:
            v |= data[i] << 8
        out.append(ITOA64[(v >> 6) & 0x3F])
        if i >= n:
            break
        i += 1
        if i < n:
            v |= data[i] << 16
        out.append(ITOA64[(v >> 12) & 0x3F])
        if i >= n:
            break
        i += 1
        out.append(ITOA64[(v >> 18) & 0x3F])
    return "".join(out)


def phpass(password: bytes, stored: str, algo) -> str:
    rounds = 1 << ITOA64.index(stored[3])
    salt = stored[4:12].encode()
    h = algo(salt + password).digest()
    for _ in range(rounds):
        h = algo(h + password).digest()
    return stored[:12] + encode64(h)


def system_crypt(password: bytes, stored: str):
    """The system's crypt(3): python's crypt module (gone in 3.13), else libcrypt by ctypes."""
    try:
        import crypt  # deprecated since 3.11

        return crypt.crypt(password.decode(), stored)
    except ImportError:
        import ctypes
        import ctypes.util

        lib = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
        lib.crypt.restype = ctypes.c_char_p
        r = lib.crypt(password, stored.encode())
        return r.decode() if r else None


def main() -> int:
    lines = sys.stdin.read().split("\n")
    password, stored = lines[0].encode(), lines[1].strip()
    if stored[:3] in ("$P$", "$H$"):
        made = phpass(password, stored, hashlib.md5)
    elif stored.startswith("$S$"):
        made = phpass(password, stored, hashlib.sha512)[:55]
    elif stored.startswith("$6$"):
        made = system_crypt(password, stored)
    else:
        print("unknown scheme")
        return 2
    ok = made is not None and hmac.compare_digest(made, stored)
    print("ok" if ok else "mismatch")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
