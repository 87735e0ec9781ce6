"""Ensure a dataset's archive is present, verified and extracted, exactly once.

Shared by the CIFAR loaders: find the extracted folder; else find the archive (placed by
hand or downloaded earlier); else download it. Then verify and extract it atomically.
"""

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .archive import safe_extract_tar
from .download import download as download_file
from .download import verify_checksum
from .errors import DatasetError


@dataclass(frozen=True)
class Release:
    """One published archive: where it lives, what it weighs, what it hashes to."""

    name: str
    url: str
    filename: str  # archive file name, e.g. "cifar-10-binary.tar.gz"
    folder: str  # top-level folder inside the archive
    size: int  # bytes, for messages
    md5: str | None = None
    sha256: str | None = None


def ensure_extracted(release: Release, root: Path, download: bool) -> Path:
    """Return ``root/release.folder``, downloading and extracting the archive if needed."""
    folder = root / release.folder
    if folder.is_dir():
        return folder
    archive = root / release.filename
    if archive.exists():
        # Placed by hand (or left by an earlier run): a truncated copy is the common
        # failure, and the checksum catches it before extraction half-works.
        verify_checksum(archive, sha256=release.sha256, md5=release.md5)
    elif download:
        download_file(release.url, archive, sha256=release.sha256, md5=release.md5)
    else:
        raise DatasetError(
            f"{release.name} not found: neither the folder {folder} nor the archive {archive} exists, "
            f"and download=False. Download {release.url} ({release.size:,} bytes) and put it at "
            f"{archive}, or pass download=True."
        )
    _extract_atomically(archive, release.folder, root)
    return folder


def _extract_atomically(archive: Path, folder_name: str, root: Path) -> None:
    # Extract into a scratch folder next to the final one and rename at the end, so an
    # interrupted extraction never leaves a half-filled folder that the next run trusts.
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".extract-", dir=root))
    try:
        safe_extract_tar(archive, scratch)
        extracted = scratch / folder_name
        if extracted.is_symlink() or not extracted.is_dir():
            raise DatasetError(f"{archive} does not contain the expected folder {folder_name}/")
        try:
            extracted.rename(root / folder_name)
        except OSError:
            if not (root / folder_name).is_dir():  # a concurrent run finishing first is fine
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
