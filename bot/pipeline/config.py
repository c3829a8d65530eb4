"""bot.toml: which trees to watch, which campaigns to run, where to post, how to mail.

A strict schema (pydantic v2): an unknown key, a wrong type (`build = "false"`, a string where a
list belongs) or a bad value is a one-line error naming the file, the key and the fix (exit 2).
Everything has an embedded default, so `cocci-bot run` with no file watches one Debian 5.10
release, runs the kvm-refcounted-pfn campaign, builds, boots and posts to the embedded review
queue.  examples/bot.toml documents every key.

    [[tree]]                       # one per watched tree; `name` is the queue's project
    name, source ("debian" | "git"), campaigns (list), kind ("stable" | "mainline"),
    post ("all" | "fixes": a series that fixes nothing is not posted)
    debian: releases               (a list of versions, or a glob string like "5.10.*")
    git:    path (a local repository) or url (https/git/ssh/file), tags (glob),
            branches (list of heads to follow), since (the tag to start from)
    [identity] name, email         (the series' author; both or neither: unset, the bot
                                    authors it and the approving maintainer signs off)
    [checks]   build, boot, dax, nfc
    [queue]    url, token_env
    [mail]     send (default false), host, port, tls ("starttls" | "ssl" | "none"), user,
               password_env, from_, daily_limit (messages per 24 h, every list together)
    [[mail.list]] address (an address or a glob: who may ever get mail), daily_limit,
               embargo_hours (between approval and send), replies ("all" | "author")
    [tree.target] url, branch: the tree a series' mail is for (checked before sending)
    [workers]  broker ("redis://...", required in the section), database (a PostgreSQL URL;
               default the SQLite file in the data dir), run_dir, visibility_timeout
               (no [workers]: the run does every stage itself)
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot import defaults, names
from bot.apply.identity import usable_email
from bot.errors import ConfigError

DEFAULT_RELEASE = "5.10.223"
GIT_URL_SCHEMES = ("https://", "http://", "git://", "ssh://", "file://")

LoosePath = Annotated[Path, Field(strict=False)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


def git_url(value: str) -> str:
    if not value.startswith(GIT_URL_SCHEMES):
        raise ValueError(f"{value!r} is not a git URL: use one starting with "
                         f"{', '.join(GIT_URL_SCHEMES)}")
    return value


class Target(_Section):
    """[tree.target]: the branch a series' mail is for (e.g. the maintainer's next branch)."""

    url: str
    branch: str

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return git_url(value)

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str) -> str:
        if not value or value.startswith("-") or any(c in value for c in " ~^:?*[\\"):
            raise ValueError(f"{value!r} is not a branch name: use e.g. \"next\" or "
                             "\"kvm/next\"")
        return value


class Tree(_Section):
    name: str
    source: Literal["debian", "git"] = "debian"
    campaigns: tuple[str, ...] = Field((defaults.CAMPAIGN,), min_length=1)
    # debian: versions, or one glob over what apt offers
    releases: tuple[str, ...] | str = (DEFAULT_RELEASE,)
    # git
    path: LoosePath | None = None
    url: str | None = None
    tags: str = "v*"
    branches: tuple[str, ...] = ()
    since: str | None = None
    target: Target | None = None   # where the mail is for: checked before every send
    # what the tree is (bot/apply/framing.py); None: debian trees are stable, a git tree is
    # stable when the base is a release tag vX.Y.Z, else mainline
    kind: Literal["stable", "mainline"] | None = None
    # post every series, or only those that fix something (a cleanup-only series: SKIPPED)
    post: Literal["all", "fixes"] = "all"

    @property
    def tree_kind(self) -> str | None:
        """The kind apply is told; None lets apply read it off the base's tag."""
        return self.kind or ("stable" if self.source == "debian" else None)

    @field_validator("campaigns", "releases", "branches", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    @field_validator("campaigns", mode="before")
    @classmethod
    def _campaigns_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(f"must be a list: campaigns = [{value!r}]")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not names.is_valid(value):
            raise ValueError(f"{value!r} is not a valid name: use {names.RULE}, "
                             f"e.g. {names.suggest(value)!r}")
        return value

    @field_validator("path")
    @classmethod
    def _path(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return git_url(value) if value is not None else None

    @model_validator(mode="after")
    def _source_keys(self) -> Tree:
        git_keys = [k for k in ("path", "url", "since") if getattr(self, k) is not None]
        if self.branches:
            git_keys.append("branches")
        if self.source == "git" and not (self.path or self.url):
            raise ValueError("a git tree needs path = \"/path/to/repo\" or url = \"https://...\"")
        if self.source == "git" and self.path and self.url:
            raise ValueError("give a git tree path or url, not both")
        if self.source == "debian" and git_keys:
            raise ValueError(f"{git_keys[0]} is for source = \"git\" trees: remove it or set "
                             "source = \"git\"")
        return self



class Checks(_Section):
    build: bool = True
    boot: bool = True
    dax: bool = True    # the in-guest DAX check (boot --dax): the seed's scenario
    nfc: bool = True


class Queue(_Section):
    url: str = ""
    token_env: str = "COCCI_BOT_QUEUE_TOKEN"

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL: use e.g. "
                             "\"https://queue.example.org\", or \"\" for the embedded queue")
        return value.rstrip("/")


class Identity(_Section):
    name: str | None = None
    email: str | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not usable_email(value):
            raise ValueError(f"{value!r} is not an address anyone reads (it signs the series "
                             "off: use a real one, or leave [identity] out)")
        return value

    @model_validator(mode="after")
    def _both(self) -> Identity:
        if (self.name is None) != (self.email is None):
            raise ValueError("give both name and email, or neither (then the bot authors the "
                             "series and the maintainer who accepts it signs it off)")
        return self


class MailList(_Section):
    """[[mail.list]]: an address (or a glob over addresses) the bot may ever mail, and how."""

    address: str
    daily_limit: int = Field(defaults.MAIL_LIST_DAILY_LIMIT, ge=0)
    embargo_hours: float = Field(defaults.MAIL_EMBARGO_HOURS, ge=0, strict=False)
    replies: Literal["all", "author"] = "all"

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        value = value.strip().lower()
        if "@" not in value or any(c.isspace() or c in "<>,\"" for c in value):
            raise ValueError(f"{value!r} is not an address: use e.g. \"kvm@vger.kernel.org\" "
                             "or a glob such as \"*@example.org\"")
        return value


class Mail(_Section):
    send: bool = False
    host: str = "localhost"
    port: int = Field(587, ge=1, le=65535)
    tls: Literal["starttls", "ssl", "none"] = "starttls"
    user: str | None = None
    password_env: str | None = None
    from_: str | None = Field(None, alias="from")
    daily_limit: int = Field(defaults.MAIL_DAILY_LIMIT, ge=0)
    lists: tuple[MailList, ...] = Field((), alias="list")

    @field_validator("lists", mode="before")
    @classmethod
    def _list_of_lists(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    @model_validator(mode="after")
    def _distinct(self) -> Mail:
        addresses = [e.address for e in self.lists]
        twice = next((a for i, a in enumerate(addresses) if a in addresses[:i]), None)
        if twice is not None:
            raise ValueError(f"two [[mail.list]] entries say address = {twice!r}: keep one")
        return self


class Workers(_Section):
    """[workers]: where stages are queued and shared state lives (bot/workers)."""

    broker: str
    database: str = ""
    run_dir: LoosePath | None = None
    visibility_timeout: int = Field(defaults.WORKER_VISIBILITY_TIMEOUT, gt=0)

    @field_validator("broker")
    @classmethod
    def _broker(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://")):
            raise ValueError(f"{value!r} is not a Redis URL: use e.g. "
                             "\"redis://127.0.0.1:6379/0\"")
        return value

    @field_validator("database")
    @classmethod
    def _database(cls, value: str) -> str:
        if value and not value.startswith(("postgres://", "postgresql://")):
            raise ValueError(f"{value!r} is not a PostgreSQL URL: use postgres://user@host/db, "
                             "or leave database out for SQLite in the data dir")
        return value

    @field_validator("run_dir")
    @classmethod
    def _run_dir(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None


class Config(_Section):
    trees: tuple[Tree, ...] = Field((Tree(name="debian-linux"),), alias="tree", min_length=1)
    checks: Checks = Checks()
    queue: Queue = Queue()
    identity: Identity = Identity()
    mail: Mail = Mail()
    workers: Workers | None = None
    source: LoosePath | None = Field(None, exclude=True)   # the file it came from

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    @field_validator("trees", mode="before")
    @classmethod
    def _tree_list(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    @model_validator(mode="after")
    def _unique(self) -> Config:
        seen: set[str] = set()
        for tree in self.trees:
            if tree.name in seen:
                raise ValueError(f"two trees are named {tree.name!r}: give each [[tree]] its own "
                                 "name")
            seen.add(tree.name)
        return self

    @property
    def ident(self) -> tuple[str, str] | None:
        """[identity] as apply takes it; None: the bot authors the series (apply.identity)."""
        if self.identity.name is None or self.identity.email is None:
            return None
        return (self.identity.name, self.identity.email)

    def with_overrides(self, *, build: bool | None = None, boot: bool | None = None,
                       queue_url: str | None = None) -> Config:
        """The configuration with the command line's --no-build/--no-boot/--queue applied."""
        checks = self.checks.model_copy(update={
            k: v for k, v in (("build", build), ("boot", boot)) if v is not None})
        queue = self.queue.model_copy(update={"url": queue_url} if queue_url is not None else {})
        return self.model_copy(update={"checks": checks, "queue": queue})


def load(path: Path | None) -> Config:
    """The configuration in `path`, or the embedded defaults when path is None."""
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist: pass an existing bot.toml "
                        "or leave --config out for the embedded defaults "
                        "(examples/bot.toml shows every key)") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}: fix the TOML") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text: save it as UTF-8") from exc
    if "tree" not in data:
        raise ConfigError(f"{path}: no [[tree]]: add at least one tree to watch "
                        "(see examples/bot.toml)")
    try:
        return Config.model_validate(data).model_copy(update={"source": path})
    except ValidationError as exc:
        raise ConfigError(explain(path, data, exc)) from None


def explain(path: Path, data: dict[str, Any], exc: ValidationError) -> str:
    """One line for the first problem: the file, the key, what is wrong and the fix."""
    err = exc.errors()[0]
    loc = [p for p in err["loc"] if isinstance(p, int) or not _is_type_tag(str(p))]
    where = _where(data, loc)
    if where == "the file":
        return f"{path}: {str(err['msg']).removeprefix('Value error, ')}"
    kind, given = err["type"], err.get("input")
    if kind == "extra_forbidden":
        return f"{path}: {where}: unknown key: {_did_you_mean(loc)}"
    if kind == "missing":
        return f"{path}: {where}: missing: add {loc[-1]} = ... (see examples/bot.toml)"
    if kind in ("bool_type", "bool_parsing"):
        return f"{path}: {where}: must be true or false (no quotes), got {given!r}"
    if kind in ("tuple_type", "list_type"):
        return f"{path}: {where}: must be a list, e.g. {loc[-1]} = [{given!r}], got {given!r}"
    if kind in ("string_type",):
        return f"{path}: {where}: must be a string in quotes, got {given!r}"
    if kind in ("int_type", "int_parsing"):
        return f"{path}: {where}: must be a whole number (no quotes), got {given!r}"
    if kind == "literal_error":
        allowed = err.get("ctx", {}).get("expected", "")
        return f"{path}: {where}: {given!r} is not one of {allowed}"
    if kind in ("model_type", "dict_type"):
        return f"{path}: {where}: must be a table ([{loc[-1]}]), got {given!r}"
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{path}: {where}: {message}"


def _where(data: dict[str, Any], loc: list[Any]) -> str:
    parts: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int) and (i == 0 or loc[i - 1] != "tree"):
            parts[-1] += f"[{part}]"
        elif isinstance(part, int):
            raw = data.get("tree")
            trees: list[Any] = raw if isinstance(raw, list) else []
            name = trees[part].get("name") if part < len(trees) and \
                isinstance(trees[part], dict) else None
            parts[-1] = f"[[tree]] {part + 1}" + (f" ({name!r})" if name else "")
        elif i == 0 and part != "tree":
            parts.append(f"[{part}]" if part in _SECTIONS else part)
        else:
            parts.append(part)
    return " ".join(parts) if parts else "the file"


def _is_type_tag(part: str) -> bool:
    """pydantic names union members and validators in error locations: not keys."""
    return any(c in part for c in "[(,") or part in ("str", "int", "bool", "float")


_SECTIONS: dict[str, type[BaseModel]] = {"tree": Tree, "checks": Checks, "queue": Queue,
                                         "identity": Identity, "mail": Mail, "workers": Workers}


_NESTED: dict[str, type[BaseModel]] = {"list": MailList, "target": Target}


def _did_you_mean(loc: list[Any]) -> str:
    key = str(loc[-1])
    section = next((str(p) for p in reversed(loc[:-1]) if isinstance(p, str)), None)
    model = (_SECTIONS.get(section) or _NESTED.get(section)) if section else None
    known = sorted((f.alias or k) for k, f in model.model_fields.items()) if model \
        else sorted(_SECTIONS)
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{key!r}: {hint}remove it or use one of {', '.join(known)}"
