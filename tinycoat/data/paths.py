"""Where datasets live on disk when the caller does not say."""

import os
from pathlib import Path

# One folder for every dataset: archives, extracted folders and caches sit side by side.
DEFAULT_ROOT = "~/.cache/tinycoat"
ROOT_ENV_VAR = "TINYCOAT_DATA"


def default_root() -> Path:
    """``$TINYCOAT_DATA`` if set (e.g. a big scratch disk), else ``~/.cache/tinycoat``."""
    return Path(os.environ.get(ROOT_ENV_VAR) or DEFAULT_ROOT).expanduser()


def resolve_root(root) -> Path:
    """``root`` as a Path, or the default root when it is None."""
    return default_root() if root is None else Path(root).expanduser()
