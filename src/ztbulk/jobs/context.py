"""What a job's stages work with: the settings, and how to open the registry for a moment."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from ztbulk.ingest import Progress
from ztbulk.registry.db import Registry
from ztbulk.settings import Settings

# Opens the registry at a path for one stage's work: the embedded runner hands back the
# registry it holds; a worker opens the file, waiting while another process holds it.
Opener = Callable[[str], AbstractContextManager[Registry]]


@dataclass(frozen=True)
class Context:
    """What the stages of this process work with."""

    settings: Settings
    opener: Opener
    say: Callable[[str], None] = lambda _text: None  # progress lines for a waiting user
    # How far the reading of the file is (embedded: this process reads it; the CLI's bar).
    progress: Progress | None = None
