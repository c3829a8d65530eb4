"""`cocci-bot serve`: the review queue on gunicorn (never Django's runserver).

    cocci-bot serve [--host 127.0.0.1 --port 8000]      create/upgrade the schema, then serve
    cocci-bot serve --create-token {maintainer|bot} NAME  account if needed, print a new token
    cocci-bot serve --create-project NAME [--scm-url URL] a project (one per watched tree)
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from pathlib import Path

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
    p.add_argument("--password-stdin", action="store_true",
                   help="with --create-token: read the account's web password from stdin")
    p.add_argument("--create-project", metavar="NAME",
                   help="create the project NAME (a watched tree) if needed and exit")
    p.add_argument("--scm-url", default="", help="with --create-project: the tree's git URL")
    p.set_defaults(func=run)


def review_dir(data_dir: Path) -> Path:
    return data_dir / "review"


def setup_django(data_dir: Path) -> None:
    """Point Django at the data dir (secret key made once, kept there), then set it up."""
    directory = review_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    key_file = directory / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50) + "\n")
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
    setup_django(args.data_dir)
    migrate()
    if args.create_token:
        return _create_token(args)
    if args.create_project:
        return _create_project(args.create_project, args.scm_url)
    return _serve(args)


def _create_token(args: argparse.Namespace) -> int:
    from bot.review.auth import create_token

    role, name = args.create_token
    token = create_token(role, name)
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
    from bot.review.server import serve

    return serve(args.host, args.port, args.workers, args.threads)
