"""Where datasets live on disk when the caller does not say."""

import os
from pathlib import Path

# One folder for every dataset: archives, extracted folders and caches sit side by side.
DEFAULT_ROOT = "~/.cache/tinycoat"
ROOT_ENV_VAR = "TINYCOAT_DATA"


def default_root() -> Path:
    """``$TINYCOAT_DATA`` if set (e.g. a big scratch disk), else ``~/.cache/tinycoat``."""
    return Path(os.environ.get(ROOT_ENV_VAR) or DEFAULT_ROOT).expanduser()


def new_file_mode() -> int:
    """The mode ``open()`` gives a new file under this process's umask (0666 & ~umask). Files
    written to a temporary name and renamed into place come from ``tempfile.mkstemp``, which makes
    them private (0600): they take this mode before the rename, so others may read them as usual."""
    umask = os.umask(0)             # (reading the umask means setting it: put it straight back)
    os.umask(umask)
    return 0o666 & ~umask


def resolve_root(root) -> Path:
    """``root`` as a Path, or the default root when it is None."""
    return default_root() if root is None else Path(root).expanduser()
