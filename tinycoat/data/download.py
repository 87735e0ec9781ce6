"""Fetch a file over HTTP(S) safely: stream to a temp file, check its digest, then rename.

The rename is the only step that makes the file appear under its real name, so an
interrupted or corrupt download never leaves a file that looks complete.
"""

import hashlib
import http.client
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from tinycoat.files import atomic_write, remove_stale_temporaries

from .errors import DatasetError

CHUNK = 1 << 20  # 1 MiB: large enough to be fast, small enough for a smooth progress bar


def file_digest(path, algorithm: str) -> str:
    """Hex digest of a file, read in chunks so a 170 MB archive never sits in memory."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_checksum(path, sha256=None, md5=None, *, shown_name=None,
                    advice="The file is corrupt or incomplete: delete it and download it again.") -> None:
    """Raise DatasetError unless the file matches every digest given.

    ``shown_name`` is the name to put in the message (the final file name when
    ``path`` is still a temporary file); ``advice`` what the message tells the user to do.
    """
    if sha256 is None and md5 is None:
        raise ValueError("verify_checksum needs sha256= or md5= (or both)")
    shown = shown_name or path
    for algorithm, expected in (("sha256", sha256), ("md5", md5)):
        if expected is None:
            continue
        actual = file_digest(path, algorithm)
        if actual != expected.lower():
            raise DatasetError(
                f"checksum mismatch for {shown}: expected {algorithm} {expected.lower()}, "
                f"got {actual}. {advice}"
            )


def download(url: str, dest_path, sha256=None, md5=None, *, timeout: float = 60,
             progress: bool = True) -> Path:
    """Download ``url`` to ``dest_path`` (verified if a digest is given) and return the path.

    Offline machines get a DatasetError that says exactly where to put the file by hand.
    """
    dest = Path(dest_path).expanduser().resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(dest.parent)       # what downloads killed mid-way left (never a live one's)

    def verified(tmp):
        if sha256 is not None or md5 is not None:
            verify_checksum(tmp, sha256=sha256, md5=md5, shown_name=f"{dest} (downloaded from {url})",
                            advice="The download was corrupt or incomplete, and was not kept: run again to "
                                   "download it again.")
    # Streamed into a temporary file beside the destination, checked, then renamed: only a
    # complete, verified file ever has the real name (tinycoat/files.py).
    atomic_write(dest, lambda out: _stream(url, out, dest, timeout, progress), check=verified)
    return dest


def _stream(url, out, dest, timeout, progress):
    """Copy the body of ``url`` into the open file ``out`` with a progress bar."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            received = 0
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                      desc=dest.name, disable=not progress) as bar:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as err:
        # URLError: DNS failure, refused, HTTP 404...; OSError: reset or timeout mid-body;
        # HTTPException: the server broke the protocol (e.g. IncompleteRead).
        raise DatasetError(_offline_message(url, dest, err)) from err
    if total is not None and received != total:
        raise DatasetError(_offline_message(
            url, dest, f"connection closed after {received} of {total} bytes"))


def _offline_message(url, dest, reason) -> str:
    return (
        f"could not download {url}: {reason}.\n"
        f"If this machine has no internet access, download that file on another machine "
        f"and copy it to\n    {dest}\n"
        f"(exactly that path and name); the loader will find it there and verify it."
    )
