"""bot.toml: which trees to watch, which campaigns to run, where to post.

Everything has an embedded default, so `cocci-bot run` with no file watches one
Debian 5.10 release, runs the kvm-refcounted-pfn campaign, builds, boots and
posts to the embedded review queue (SQLite in the data dir).

    [[tree]]
    name = "debian-linux"          # the review queue's project
    source = "debian"              # "debian": releases from Debian's packages (cocci-bot mirror)
    releases = ["5.10.223"]        #   which releases to mirror and run
    # source = "git"               # "git": an existing repository ...
    # path = "/srv/linux.git"
    # tags = "v5.10.*"             #   ... and the tags to run (fnmatch pattern)
    campaigns = ["kvm-refcounted-pfn"]

    [checks]
    build = true
    boot = true

    [queue]
    url = ""                       # empty: the embedded queue, started on loopback to post
    token_env = "COCCI_BOT_QUEUE_TOKEN"

    [identity]                     # optional: default, the operator's git user.name/email
    name = "Jane Maintainer"
    email = "jane@example.org"

    [workers]                      # optional: scale-out on Celery (bot/workers); absent: inline
    broker = "redis://127.0.0.1:6379/0"   # `cocci-bot run` enqueues, `cocci-bot worker` runs
    database = "postgres://cocci@db/cocci"  # job store (default: SQLite in the data dir)
    run_dir = "/srv/cocci-bot/runs"         # shared by every worker (default: DATA_DIR/runs)
    visibility_timeout = 10800     # seconds before an unacknowledged stage is delivered again
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bot import defaults
from bot.errors import UserError

DEFAULT_RELEASE = "5.10.223"
DEFAULT_CAMPAIGN = "kvm-refcounted-pfn"


@dataclass(frozen=True)
class Tree:
    name: str
    source: str = "debian"
    releases: tuple[str, ...] = (DEFAULT_RELEASE,)
    path: Path | None = None
    tags: str = "v*"
    campaigns: tuple[str, ...] = (DEFAULT_CAMPAIGN,)


@dataclass(frozen=True)
class Workers:
    """[workers]: where stages are queued and shared state lives (bot/workers)."""
    broker: str
    database: str = ""
    run_dir: Path | None = None
    visibility_timeout: int = defaults.WORKER_VISIBILITY_TIMEOUT


@dataclass(frozen=True)
class Config:
    trees: tuple[Tree, ...] = (Tree(name="debian-linux"),)
    build: bool = True
    boot: bool = True
    queue_url: str = ""
    token_env: str = "COCCI_BOT_QUEUE_TOKEN"
    ident: tuple[str, str] | None = None   # None: apply uses the operator's git identity
    source: Path | None = field(default=None)
    workers: Workers | None = None


def load(path: Path | None) -> Config:
    """The configuration in `path`, or the embedded defaults when path is None."""
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise UserError(f"config file {path} does not exist: pass an existing bot.toml "
                        "or leave --config out for the embedded defaults") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: {exc}: fix the TOML") from exc
    return _config(path, data)


def _config(path: Path, data: dict) -> Config:
    known = {"tree", "checks", "queue", "identity", "workers"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise UserError(f"{path}: unknown section {unknown[0]!r}: use {', '.join(sorted(known))}")
    trees = tuple(_tree(path, i, raw) for i, raw in enumerate(data.get("tree", []), 1))
    if not trees:
        raise UserError(f"{path}: no [[tree]]: add at least one tree to watch")
    names = [t.name for t in trees]
    if len(set(names)) != len(names):
        raise UserError(f"{path}: two trees are named alike: give each [[tree]] its own name")
    checks, queue, ident = data.get("checks", {}), data.get("queue", {}), data.get("identity", {})
    return Config(trees=trees, build=bool(checks.get("build", True)),
                  boot=bool(checks.get("boot", True)), queue_url=str(queue.get("url", "")),
                  token_env=str(queue.get("token_env", "COCCI_BOT_QUEUE_TOKEN")),
                  ident=(str(ident.get("name", "")), str(ident.get("email", ""))) if ident else None,
                  source=path, workers=_workers(path, data.get("workers")))


def _workers(path: Path, raw: dict | None) -> Workers | None:
    if raw is None:
        return None
    keys = {"broker", "database", "run_dir", "visibility_timeout"}
    unknown = sorted(set(raw) - keys)
    if unknown:
        raise UserError(f"{path}: [workers] has no key {unknown[0]!r}: use {', '.join(sorted(keys))}")
    broker = raw.get("broker")
    if not isinstance(broker, str) or not broker.startswith(("redis://", "rediss://")):
        raise UserError(f"{path}: [workers] broker must be a Redis URL like "
                        "\"redis://127.0.0.1:6379/0\"")
    database = str(raw.get("database", ""))
    if database and not database.startswith(("postgres://", "postgresql://")):
        raise UserError(f"{path}: [workers] database must be a PostgreSQL URL "
                        "(postgres://user@host/db) or left out for SQLite in the data dir")
    timeout = raw.get("visibility_timeout", defaults.WORKER_VISIBILITY_TIMEOUT)
    if not isinstance(timeout, int) or timeout <= 0:
        raise UserError(f"{path}: [workers] visibility_timeout must be a positive number of seconds")
    run_dir = Path(raw["run_dir"]).expanduser() if raw.get("run_dir") else None
    return Workers(broker=broker, database=database, run_dir=run_dir, visibility_timeout=timeout)


def _tree(path: Path, index: int, raw: dict) -> Tree:
    where = f"{path}: tree {index}"
    name = raw.get("name")
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise UserError(f"{where}: name must be a plain word (it names the queue's project)")
    source = raw.get("source", "debian")
    if source not in ("debian", "git"):
        raise UserError(f"{where}: source {source!r} is not one of debian, git")
    if source == "git" and not raw.get("path"):
        raise UserError(f"{where}: a git tree needs path = \"/path/to/repo\"")
    return Tree(name=name, source=source,
                releases=tuple(raw.get("releases", [DEFAULT_RELEASE])),
                path=Path(raw["path"]).expanduser() if raw.get("path") else None,
                tags=raw.get("tags", "v*"),
                campaigns=tuple(raw.get("campaigns", [DEFAULT_CAMPAIGN])))
