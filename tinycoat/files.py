"""Files written whole or not at all: checkpoints, metrics, reports, downloads, image caches.

``atomic_write`` fills a temporary file in the destination's folder, flushes it to disk, and
only then renames it over the destination (``os.replace`` is atomic on POSIX and Windows): a
reader sees the old file or the new one, never a part, and a crash or Ctrl-C mid-write leaves
the old file as it was. A writer killed mid-write (SIGKILL, power loss) leaves its temporary
file, named after its process id and machine; ``remove_stale_temporaries`` deletes those whose
process no longer runs on this machine. A folder may be shared between machines (NFS), where a
process id says nothing: another machine's temporary is left alone unless untouched for a week
(as is any: no write takes that long).
"""
from __future__ import annotations

import os
import re
import socket
import tempfile
import time

TEMP_PREFIX = ".tinycoat-"          # + "<pid>@<host>-<random>.tmp": a file being written
_OLD_TEMP = (".checkpoint-", ".npz.tmp")   # what an earlier release named its temporary files
STALE_ELSEWHERE_S = 7 * 24 * 3600   # no writer leaves its temporary untouched this long


def _host() -> str:
    """This machine's name as it goes into a file name (letters, digits, '.' and '_' only)."""
    return re.sub(r"[^A-Za-z0-9._]", "_", socket.gethostname()) or "localhost"


def atomic_write(path, write, binary=True, check=None) -> str:
    """Replace ``path`` all at once with what ``write(file)`` writes; return the path.

    ``check(temporary_path)``, if given, runs on the complete temporary file before the rename and
    may raise to refuse it (a download whose checksum is wrong): the old file then stays too.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}@{_host()}-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if check is not None:
            check(tmp)
        # mkstemp makes the file private (0600): give it the mode a plain open() would, or keep the
        # mode of the file it replaces, so others who could read the old file still can.
        os.chmod(tmp, os.stat(path).st_mode & 0o7777 if os.path.exists(path) else new_file_mode())
        os.replace(tmp, path)
    except BaseException:  # also KeyboardInterrupt: never leave the temporary file behind
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def new_file_mode() -> int:
    """The mode ``open()`` gives a new file under this process's umask: 0666 & ~umask."""
    try:                                # Linux says the umask without changing it
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    umask = os.umask(0)                 # elsewhere reading it means setting it: put it straight back
    os.umask(umask)
    return 0o666 & ~umask


def remove_stale_temporaries(folder) -> list:
    """Delete the temporary files that writers killed mid-write left in ``folder`` (this machine's
    whose process no longer runs; any untouched for a week; an earlier release's); return their names."""
    removed = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.startswith(TEMP_PREFIX) and name.endswith(".tmp"):
            pid, _, host = name[len(TEMP_PREFIX):].split("-", 1)[0].partition("@")
            # (a week untouched is stale whoever wrote it: a process id may have been reused, a
            # container's host name changes at every start)
            if not _untouched_for(path, STALE_ELSEWHERE_S) and not (
                    host == _host() and pid.isdigit() and not _running(int(pid))):
                continue
        elif not (name.startswith(_OLD_TEMP[0]) and name.endswith(_OLD_TEMP[1])):
            continue
        try:
            os.remove(path)
            removed.append(name)
        except FileNotFoundError:   # another cleaner was first
            pass
    return removed


def _untouched_for(path, seconds) -> bool:
    try:
        return time.time() - os.stat(path).st_mtime > seconds
    except FileNotFoundError:
        return False


def _running(pid) -> bool:
    """Whether process ``pid`` exists (when that cannot be told, assume it does: keep its file)."""
    if pid == os.getpid() or os.name != "posix":
        return True                 # (on Windows os.kill would end the process, not ask about it)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:                 # e.g. PermissionError: it exists, owned by someone else
        return True
    return True
