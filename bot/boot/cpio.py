"""A minimal writer for the "newc" cpio format the kernel unpacks as an initramfs.

Written here rather than calling cpio(1) so that device nodes (/dev/console) can be
added without root and the archive is byte-for-byte reproducible (mtime 0, fixed inodes).
"""

from __future__ import annotations

import stat
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    name: str            # path inside the archive, without a leading slash
    mode: int            # file type and permissions, as in st_mode
    data: bytes = b""    # file contents, or the target of a symlink
    rdev: tuple[int, int] = (0, 0)


def directory(name: str) -> Entry:
    return Entry(name, stat.S_IFDIR | 0o755)


def file(name: str, data: bytes, perm: int = 0o755) -> Entry:
    return Entry(name, stat.S_IFREG | perm, data)


def symlink(name: str, target: str) -> Entry:
    return Entry(name, stat.S_IFLNK | 0o777, target.encode())


def chardev(name: str, major: int, minor: int) -> Entry:
    return Entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))


def _pad(n: int) -> bytes:
    return b"\0" * (-n % 4)


def _header(ino: int, entry: Entry, namesize: int) -> bytes:
    nlink = 2 if stat.S_ISDIR(entry.mode) else 1
    fields = (ino, entry.mode, 0, 0, nlink, 0, len(entry.data), 0, 0,
              entry.rdev[0], entry.rdev[1], namesize, 0)
    return b"070701" + b"".join(b"%08X" % f for f in fields)


def _member(ino: int, entry: Entry) -> bytes:
    name = entry.name.encode() + b"\0"
    head = _header(ino, entry, len(name)) + name
    return head + _pad(len(head)) + entry.data + _pad(len(entry.data))


def archive(entries: list[Entry]) -> bytes:
    """The newc archive of `entries` (in order), with its trailer."""
    members = [_member(i + 1, e) for i, e in enumerate(entries)]
    members.append(_member(0, Entry("TRAILER!!!", 0)))
    return b"".join(members)
