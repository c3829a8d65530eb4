"""Executors: where the loop (bot/pipeline/runner.py) hands a due job.

    inline    every stage in this process (runner.Inline; one machine, the default)
    workers   the job's next stage onto a Celery queue for `cocci-bot worker` (bot/workers)

The pipeline knows an executor only through `Executor` and this registry of names; the package
that provides one registers it ("module:attribute" of a factory `(cfg, data_dir) -> Executor`),
imported only when bot.toml chooses it. bot/workers/cli.py registers "workers", so the
pipeline never imports bot/workers.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bot.errors import UserError

if TYPE_CHECKING:   # annotations only: this module stays light for the CLIs that register
    from bot.pipeline.config import Config
    from bot.pipeline.store import Job, Store
    from bot.pipeline.watch import TreeRelease

Line = tuple[str, int]   # one summary line and its exit code

FACTORIES: dict[str, str] = {}


class Executor(Protocol):
    """Where a due job's stages run."""

    @property
    def runs(self) -> Path:
        """Where the jobs' run dirs go."""
        ...

    @property
    def held_elsewhere(self) -> bool:
        """A RUNNING job is another process's (the workers'): the loop leaves it alone."""
        ...

    def submit(self, store: Store, job: Job, release: TreeRelease) -> Line | None:
        """Run (or hand out) the job; its summary line, or None when another holds it."""
        ...


def register(name: str, factory: str) -> None:
    FACTORIES[name] = factory


def make(name: str, cfg: Config, data_dir: Path) -> Executor:
    if name not in FACTORIES:
        raise UserError(f"no executor named {name!r} is registered (known: "
                        f"{', '.join(sorted(FACTORIES)) or 'none'}): run through `cocci-bot run`")
    module, _, attr = FACTORIES[name].partition(":")
    made: Executor = getattr(importlib.import_module(module), attr)(cfg, data_dir)
    return made
