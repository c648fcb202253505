"""Files the server writes at run time that hold something private (a mail, the demo
agent's key): readable and writable by their owner only from the moment they exist, not
created with the umask's mode and narrowed afterwards."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIRECTORY = 0o700


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` (replacing it), mode 0600; a missing folder is made 0700."""
    path.parent.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags, PRIVATE_FILE)
    with os.fdopen(descriptor, "wb") as file:
        os.fchmod(descriptor, PRIVATE_FILE)  # a file that was already there keeps its mode
        file.write(data)
