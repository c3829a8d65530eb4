"""`cocci-bot serve`: the review queue on gunicorn (never Django's runserver).

    cocci-bot serve [--host 127.0.0.1 --port 8000]      create/upgrade the schema, then serve
    cocci-bot serve --base-url https://review.example.org --trusted-proxy   behind a proxy
    cocci-bot serve --create-token {maintainer|bot} NAME  account if needed, print a new token
        [--email ADDRESS --name 'Real Name']              the identity a maintainer signs with
    cocci-bot serve --list-tokens                         every token: id, account, role, date
    cocci-bot serve --revoke-token ID|TOKEN               revoke one token
    cocci-bot serve --create-project NAME [--scm-url URL] a project (one per watched tree)
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

from bot import defaults, names
from bot.errors import UserError

log = logging.getLogger(__name__)

ROLES = ("maintainer", "bot")  # as bot.review.models.ROLES (kept import-free for the CLI)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("serve", parents=[common], help="run the review queue web app",
                       description=__doc__)
    p.add_argument("--host", default=defaults.REVIEW_HOST)
    p.add_argument("--port", type=int, default=defaults.REVIEW_PORT)
    p.add_argument("--workers", type=int, default=defaults.REVIEW_WORKERS)
    p.add_argument("--threads", type=int, default=defaults.REVIEW_THREADS)
    p.add_argument("--create-token", nargs=2, metavar=("ROLE", "NAME"),
                   help="create account NAME (role maintainer or bot) if needed, print a new "
                        "API token and exit")
    p.add_argument("--maintainer-of", metavar="PROJECT", action="append", default=[],
                   help="with --create-token maintainer: the account decides for PROJECT only "
                        "(repeatable; an account listed for no project decides for all)")
    p.add_argument("--email", default=None,
                   help="with --create-token: the account's e-mail (also on an existing "
                        "account); a maintainer needs one, and --name, to accept a series: "
                        "the drafts carry their Signed-off-by")
    p.add_argument("--name", default=None, dest="real_name", metavar="'REAL NAME'",
                   help="with --create-token: the account holder's real name (with --email)")
    p.add_argument("--admin", action="store_true",
                   help="with --create-token maintainer: an admin maintainer, who may stop and "
                        "resume all of the bot's mail on the queue's Mail page")
    p.add_argument("--password-stdin", action="store_true",
                   help="with --create-token: read the account's web password from stdin")
    p.add_argument("--list-tokens", action="store_true",
                   help="list the API tokens (id, account, role, created) and exit")
    p.add_argument("--revoke-token", metavar="ID|TOKEN",
                   help="revoke the token with this id (see --list-tokens) or this value, exit")
    p.add_argument("--base-url", default="",
                   help="the queue's public URL (https://host[:port]): the only Host accepted, "
                        "and links use its scheme (default: the --host served)")
    p.add_argument("--trusted-proxy", action="store_true",
                   help="believe X-Forwarded-Proto/-For (only behind your own reverse proxy)")
    p.add_argument("--create-project", metavar="NAME",
                   help="create the project NAME (a watched tree) if needed and exit")
    p.add_argument("--scm-url", default="", help="with --create-project: the tree's git URL")
    p.add_argument("--webhook", metavar="URL", action="append", default=[],
                   help="POST a signed JSON event to URL when a series is created, superseded "
                        "or changes state, or a check is added (repeatable; the HMAC secret "
                        "comes from COCCI_REVIEW_WEBHOOK_SECRET)")
    p.set_defaults(func=run)


def review_dir(data_dir: Path) -> Path:
    return data_dir / "review"


def _private_file(path: Path) -> bool:
    """Create `path` readable by its owner only (0600); tighten it if it exists. True if new."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return True
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return False


def setup_django(data_dir: Path) -> None:
    """Point Django at the data dir (secret key made once, kept there, and the SQLite database
    both 0600), then set it up."""
    directory = review_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    key_file = directory / "secret_key"
    if _private_file(key_file):
        key_file.write_text(secrets.token_urlsafe(50) + "\n")
    if not os.environ.get("DATABASE_URL"):
        _private_file(directory / "db.sqlite3")   # SQLite's -wal/-shm files copy its mode
    os.environ["COCCI_REVIEW_DATA_DIR"] = str(directory)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bot.review.settings")
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command
    from django.db.utils import OperationalError

    try:
        call_command("migrate", interactive=False, verbosity=0)
    except OperationalError as exc:
        from bot.errors import InfraError

        raise InfraError(f"database not reachable: {exc} (check DATABASE_URL)") from exc


def run(args: argparse.Namespace) -> int:
    if args.create_token and args.create_token[0] not in ROLES:
        raise UserError(f"unknown role {args.create_token[0]!r}: use one of {', '.join(ROLES)}")
    _check_person(args)
    _host_settings(args)
    setup_django(args.data_dir)
    migrate()
    if args.create_token:
        return _create_token(args)
    if args.list_tokens:
        return _list_tokens()
    if args.revoke_token:
        return _revoke_token(args.revoke_token)
    if args.create_project:
        return _create_project(args.create_project, args.scm_url)
    return _serve(args)


def _check_person(args: argparse.Namespace) -> None:
    """--email/--name: together, with --create-token maintainer (checked before any set-up)."""
    if args.email is None and args.real_name is None:
        return
    if not args.create_token or args.create_token[0] != "maintainer":
        raise UserError("--email and --name go with --create-token maintainer NAME (a "
                        "maintainer signs off what they accept; a bot account signs nothing)")
    if args.email is None or args.real_name is None:
        raise UserError("--email and --name go together: a maintainer's Signed-off-by is "
                        "'Real Name <address>'")


def _host_settings(args: argparse.Namespace) -> None:
    """The hosts the queue answers to, for the settings: the base URL's, else the --host's."""
    if args.base_url:
        parts = urlsplit(args.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
            raise UserError(f"--base-url {args.base_url!r} must be http(s)://host[:port] "
                            "(the queue is served at the root)")
        os.environ["COCCI_REVIEW_BASE_URL"] = args.base_url
    host = args.host.strip("[]")
    if host in ("0.0.0.0", "::", ""):
        hosts = [socket.getfqdn(), socket.gethostname(), "localhost", "127.0.0.1", "[::1]"]
    elif host in ("127.0.0.1", "localhost", "::1"):
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    else:
        hosts = [f"[{host}]" if ":" in host else host]
    os.environ.setdefault("COCCI_REVIEW_ALLOWED_HOSTS", ",".join(hosts))
    if args.trusted_proxy:
        os.environ["COCCI_REVIEW_TRUSTED_PROXY"] = "1"


def _list_tokens() -> int:
    from bot.review.auth import list_tokens

    for row in list_tokens():
        print("{id:>5}  {username:<24} {role:<10} {created}  {prefix}".format(**row))  # noqa: T201
    return 0


def _revoke_token(which: str) -> int:
    from bot.review.auth import revoke_token

    username = revoke_token(which)
    log.info("serve: token revoked (account %s)", username)
    return 0


def _create_token(args: argparse.Namespace) -> int:
    from bot.review.auth import create_token

    role, name = args.create_token
    if args.maintainer_of and role != "maintainer":
        raise UserError("--maintainer-of goes with --create-token maintainer NAME")
    if args.admin and role != "maintainer":
        raise UserError("--admin goes with --create-token maintainer NAME")
    token = create_token(role, name, args.maintainer_of,
                         (args.real_name, args.email) if args.email is not None else None)
    if args.admin:
        from bot.review.mailstop import make_admin  # needs Django set up, as auth does

        make_admin(name)
    if args.password_stdin:
        _set_password(name, sys.stdin.readline().rstrip("\n"))
    print(token)  # noqa: T201 - the one output operators script
    return 0


def _set_password(name: str, password: str) -> None:
    from django.contrib.auth import get_user_model

    if not password:
        raise UserError("--password-stdin read an empty password")
    user = get_user_model().objects.get(username=name)
    user.set_password(password)
    user.save()


def _create_project(name: str, scm_url: str) -> int:
    from bot.review.models import Project

    link = names.check(name, "project name")
    _, created = Project.objects.get_or_create(
        link_name=link, defaults={"name": name, "list_id": f"{link}.cocci-bot",
                                  "list_email": f"{link}@cocci-bot.invalid", "scm_url": scm_url})
    log.info("serve: project %s %s", name, "created" if created else "exists")
    return 0


def _serve(args: argparse.Namespace) -> int:
    # after setup_django: these import the models
    from bot.review import webhooks
    from bot.review.server import serve

    hooks = webhooks.hooks(args.webhook, os.environ.get("COCCI_REVIEW_WEBHOOK_SECRET", ""))
    return serve(args.host, args.port, args.workers, args.threads, hooks)
