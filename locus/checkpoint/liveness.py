"""Whether the holder of a lease is still alive, as the store itself knows it.

A worker holds one liveness mark for as long as its process lives, and names it in every
lease it takes: the lease owner is ``"<mark>.<nonce>"``. When the mark is gone the holder
is dead, and another owner may take its lease at once instead of waiting for it to expire.

* PostgreSQL: the mark ``pg<key>`` is a session-level advisory lock on ``key``, held on a
  connection of the worker's own; the server drops it when that connection ends (the
  process died, or its host did and TCP keepalive noticed).
* SQLite: the mark ``fl<hex>`` is an ``flock`` on the file ``<db>-workers/<hex>.lock``;
  the kernel drops it when the process ends, however it ends.
* Redis (and leases taken by a plain ``execute``) have no mark: they expire.

A stopped process (``SIGSTOP``) keeps its mark; it loses its threads only when its lease
expires, and then its writes are refused (every write checks the owner: a fencing token).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re

__all__ = [
    "PG_DEAD",
    "FileMark",
    "flock_dead",
    "lock_dir",
    "mark_of",
    "pg_key",
]

_OWNER = re.compile(r"(pg[0-9]{1,19}|fl[0-9a-f]{32})\.[0-9a-f]{1,64}")

#: advisory keys (of ``%(keys)s``, a bigint array) that no session of this database holds
PG_DEAD = """
SELECT k FROM unnest(%(keys)s::bigint[]) AS k
WHERE NOT EXISTS (
    SELECT FROM pg_locks AS l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND ((l.classid::int8 << 32) | l.objid::int8) = k)
"""


def mark_of(owner: str | None) -> str | None:
    """The liveness mark a lease owner names, or ``None`` (an owner that has none)."""
    if owner is None:
        return None
    found = _OWNER.fullmatch(owner)
    return found.group(1) if found else None


def pg_key(mark: str) -> int | None:
    """The advisory lock key of a ``pg`` mark, or ``None`` for another kind."""
    return int(mark[2:]) if mark.startswith("pg") else None


def lock_dir(db_path: str) -> str:
    """The directory holding the lock files of the workers of one SQLite database."""
    return os.path.abspath(db_path) + "-workers"


def flock_dead(directory: str, mark: str) -> bool:
    """Whether the process that held the ``fl`` mark ``mark`` has ended.

    Takes the mark's lock without waiting: that succeeds only if no process holds it
    (then the file is removed). A missing file means its holder ended and was cleaned up.
    """
    if not mark.startswith("fl"):
        return False
    path = os.path.join(directory, mark[2:] + ".lock")
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        raise
    with contextlib.suppress(OSError):
        os.unlink(path)
    os.close(fd)
    return True


class FileMark:
    """A worker's ``fl`` mark: an exclusive ``flock`` held until ``release`` or exit.

    Args:
        directory: ``lock_dir`` of the database (created if missing).
    """

    __slots__ = ("_fd", "_path", "mark")

    def __init__(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        ident = os.urandom(16).hex()
        self._path = os.path.join(directory, ident + ".lock")
        self._fd: int | None = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self.mark = "fl" + ident

    def release(self) -> None:
        """Drop the mark (a clean exit): every lease naming it is then free to take."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self._path)
        os.close(fd)
