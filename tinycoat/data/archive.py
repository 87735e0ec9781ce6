"""Extract a .tar.gz without letting any member land outside the target folder.

A tar member can name any path ("../../.bashrc", "/etc/passwd") or be a link to one,
so extracting an archive from the internet blindly can overwrite files anywhere.
Every member is checked *before* anything is written; one bad member rejects the
whole archive with an error that names it. So is the total size: a few megabytes of
gzip can unpack to terabytes of zeros (a "decompression bomb"), so the files' sizes,
known from the headers before any is written, must fit under a limit and in the free
space of the target's disk.
"""

import gzip
import os
import shutil
import tarfile
import zlib
from pathlib import Path, PurePosixPath

from .errors import DatasetError


MAX_EXTRACTED_BYTES = 16 * 2 ** 30   # far above any dataset archive tinycoat unpacks (CIFAR: 0.2 GB)


def safe_extract_tar(archive, target_dir, max_bytes: int = MAX_EXTRACTED_BYTES) -> Path:
    """Extract ``archive`` (tar, tar.gz, ...) into ``target_dir``; return the target path.

    Allowed: regular files, folders, and links whose target stays inside the archive.
    Rejected: absolute names, ".." anywhere, links pointing outside (or through ".."),
    device files, FIFOs and anything else that is not a plain file, folder or link;
    and archives whose files add up to more than ``max_bytes``, or to more than the
    target disk has free.
    """
    archive = Path(archive)
    target = Path(target_dir).resolve()
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            files = {}                      # normalized name -> size of the regular files met so far
            for member in members:
                _check_member(member, archive, files)
                if member.isfile():
                    files[_normal(member.name)] = member.size
            # A hard link is written as a full copy of its file, so it counts at the file's size
            # (at 0, its header's size, links to one big file would slip a bomb past the limit).
            total = sum(m.size if m.isfile() else files[_normal(m.linkname)] if m.islnk() else 0 for m in members)
            _check_size(total, archive, target, max_bytes)
            target.mkdir(parents=True, exist_ok=True)
            for member in members:
                _write_member(tar, member, target)
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise DatasetError(f"cannot extract {archive}: {err} (the archive is corrupt or truncated)") from err
    except OSError as err:          # a missing archive, a full disk, a folder it may not write in
        raise DatasetError(f"cannot extract {archive} into {target}: {err}") from err
    return target


def _check_member(member: tarfile.TarInfo, archive: Path, files_before: dict) -> None:
    def reject(why):
        raise DatasetError(f"refusing to extract {archive}: member {member.name!r} {why}")

    _check_relative(member.name, reject)
    if member.issym():
        # A symlink's target is relative to the folder that holds the link.
        if PurePosixPath(member.linkname).is_absolute():
            reject(f"is a symlink to the absolute path {member.linkname!r}")
        # Forbidding ".." in link targets (not just checking where they resolve today) is
        # what makes this safe: a link "a -> b/.." looks harmless until a later member
        # turns b into a link to ".", and then "a" points outside. Without "..", every
        # path only ever walks *down* from inside the target, so nothing can escape.
        if ".." in PurePosixPath(member.linkname).parts:
            reject(f"is a symlink through '..' ({member.linkname!r}); links must point down")
    elif member.islnk():
        # A hard link's target is another member name, relative to the archive root: a regular
        # file archived before it (where tar puts it, and where tarfile looks for it).
        _check_relative(member.linkname, lambda why: reject(f"is a hard link whose target {why}"))
        if _normal(member.linkname) not in files_before:
            reject(f"is a hard link to {member.linkname!r}, which is not a regular file earlier in the archive")
    elif not (member.isfile() or member.isdir()):
        reject("is a device file, FIFO or other special file; only files, folders and links are allowed")


def _normal(name: str) -> str:
    """A member name as tarfile matches a hard link's target: "./a//b" is "a/b"."""
    return str(PurePosixPath(name))


def _check_size(total: int, archive: Path, target: Path, max_bytes: int) -> None:
    def gib(n):
        return f"{n / 2 ** 30:.2f} GiB"
    if total > max_bytes:
        raise DatasetError(f"refusing to extract {archive}: its files add up to {gib(total)}, more than the "
                           f"limit of {gib(max_bytes)} (safe_extract_tar's max_bytes)")
    existing = next(p for p in (target, *target.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    if total > free:
        raise DatasetError(f"cannot extract {archive}: its files need {gib(total)} and {existing} has only "
                           f"{gib(free)} free")


def _check_relative(name: str, reject) -> None:
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("\\") or (len(name) > 1 and name[1] == ":"):
        reject("is an absolute path; members must be relative to the archive root")
    if ".." in path.parts:
        reject("contains '..', which would escape the target folder")


def _write_member(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    # We write members ourselves instead of tar.extract(): no owners, permissions or
    # timestamps from the archive are applied, only the bytes.
    dest = target / member.name
    if member.isdir():
        dest.mkdir(parents=True, exist_ok=True)
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_symlink() or dest.exists():
        dest.unlink()  # never write *through* an existing link
    if member.issym():
        os.symlink(member.linkname, dest)
        return
    source = tar.extractfile(member)  # for a hard link this reads the linked member's data (checked above)
    with source, open(dest, "wb") as out:
        shutil.copyfileobj(source, out)
