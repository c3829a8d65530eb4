"""Our review queue against Patchwork, read endpoint by read endpoint, on the same data.

Both servers get the same series (mails made by `git format-patch`, threaded, stored in ours
through the bot's API and in Patchwork by its own `parsearchive`), the same checks (two per
patch), the same gunicorn settings (gthread, --workers x --threads) and SQLite. Each endpoint a
Patchwork client reads (patch and series list and detail, events, patch and series mbox, a
patch's checks and one check) is loaded by ApacheBench with --clients concurrent keep-alive
connections, --clients x --requests requests, in interleaved rounds (ours then theirs, then
theirs then ours, ...) so that other load on the machine falls on both alike; /proc/loadavg is
recorded around each run.

Patchwork is not part of the product: give its source tree (e.g. `git archive v3.2.1`) and a
Python whose environment has its dependencies (Django, djangorestframework, django-filter and
the same gunicorn as ours):

    .venv/bin/python bench/review_vs_patchwork.py --patchwork-src /tmp/pw \\
        --patchwork-python /tmp/pw-venv/bin/python [--rounds 3 --out result.json]

Prints one line per endpoint (requests/s ours and theirs, ratio, p50/p99 of ours) and exits 1
when an endpoint is under --min-ratio times Patchwork's requests/s or its p99 is over
--max-tail times its p50, 2 on bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import json
import os
import re
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "review"))

from bot import proc  # noqa: E402
from bot.errors import UserError  # noqa: E402
from bot.post import outdir as od  # noqa: E402
from bot.post.client import QueueClient  # noqa: E402

PROJECT = "debian-linux"
LIST_ID = "debian-linux.cocci-bot.invalid"
CHECKS = (("build", "success", "built"), ("boot", "warning", "booted with warnings"))
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PW_SETTINGS = """\
from patchwork.settings.base import *  # noqa: F401,F403
SECRET_KEY = "bench-only-" + "0" * 40
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ENABLE_REST_API = True
ENABLE_XMLRPC = True
"""
PW_SETUP = """\
from django.contrib.auth.models import User
from patchwork.models import Project
Project.objects.create(linkname={project!r}, name={project!r}, listid={listid!r},
                       listemail="list@cocci-bot.invalid")
User.objects.create_user("bench", "bench@cocci-bot.invalid", "bench-password")
"""
PW_CHECKS = """\
from django.contrib.auth.models import User
from patchwork.models import Check, Patch
user = User.objects.get(username="bench")
states = {{"success": Check.STATE_SUCCESS, "warning": Check.STATE_WARNING}}
for patch in Patch.objects.order_by("id"):
    for context, state, description in {checks!r}:
        Check.objects.create(patch=patch, user=user, context=context, state=states[state],
                             description=description)
print(Patch.objects.count(), Check.objects.count())
"""


# -- the data: N threaded series, one mbox -------------------------------------------------

def _headers(mail: str, msgid: str, parent: str | None, date: datetime,
             subject: str | None) -> str:
    head, sep, body = mail.partition("\n\n")
    head = re.sub(r"(?m)^Date: .*$", f"Date: {email.utils.format_datetime(date)}", head)
    if subject:
        head = re.sub(r"(?m)^Subject: .*$", f"Subject: {subject}", head)
    head += f"\nMessage-Id: <{msgid}>"
    if parent:
        head += f"\nIn-Reply-To: <{parent}>\nReferences: <{parent}>"
    return head + sep + body


def make_series(fixture: Path, count: int) -> list[dict[str, Any]]:
    """`count` payloads for our API, each a cover letter + 2 patches with their own
    Message-Ids, threaded to the cover as `git send-email` sends them."""
    from review_fixtures import make_outdir

    base = od.series_payload(make_outdir(fixture), PROJECT)
    out = []
    for i in range(count):
        date = START + timedelta(minutes=10 * i)
        cover_id = f"bench-{i:03d}-0@cocci-bot.invalid"
        cover = _headers(base["cover"], cover_id, None, date,
                         f"[PATCH 0/2] kvm-refcounted-pfn: release {i:03d}")
        patches = [_headers(p, f"bench-{i:03d}-{n}@cocci-bot.invalid", cover_id,
                            date + timedelta(seconds=n), None)
                   for n, p in enumerate(base["patches"], 1)]
        out.append({**base, "cover": cover, "patches": patches, "dedupe_key": f"bench-{i:03d}"})
    return out


def write_mbox(series: list[dict[str, Any]], path: Path) -> None:
    mails = [m for s in series for m in [s["cover"], *s["patches"]]]
    path.write_text("".join(m if m.endswith("\n") else m + "\n" for m in mails))


# -- the two servers -----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, server: Any, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log.read_text(errors="replace")[-1500:]
            raise SystemExit(f"server for {url} exited with {server.returncode}:\n{tail}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within 60 s")


def gunicorn_options(args: argparse.Namespace) -> list[str]:
    """The settings `cocci-bot serve` gives gunicorn (bot/review/server.py), for Patchwork."""
    return ["--workers", str(args.workers), "--threads", str(args.threads),
            "--worker-class", "gthread", "--timeout", "60", "--graceful-timeout", "5",
            "--backlog", "512", "--log-level", "warning", "--no-control-socket"]


@contextlib.contextmanager
def ours(args: argparse.Namespace, tmp: Path, series: list[dict[str, Any]]) -> Iterator[str]:
    data = tmp / "ours"
    cli = [sys.executable, "-m", "bot", "serve", "--data-dir", str(data)]
    proc.run([*cli, "--create-project", PROJECT], cwd=ROOT)
    token = proc.run([*cli, "--create-token", "bot", "bench"], cwd=ROOT).stdout.strip()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [*cli, "--port", str(port), "--workers", str(args.workers),
            "--threads", str(args.threads)]
    with proc.spawn(argv, cwd=ROOT, stdout=tmp / "ours.log") as server:
        wait_ready(base + "/api/1.2/", server, tmp / "ours.log")
        client = QueueClient(base, token)
        for payload in series:
            stored, _ = client.post_series(payload)
            for patch in stored["patches"]:
                for context, state, description in CHECKS:
                    client.post_patch_check(patch["id"], {"context": context, "state": state,
                                                          "description": description})
        yield base


@contextlib.contextmanager
def patchwork(args: argparse.Namespace, tmp: Path, mbox: Path) -> Iterator[str]:
    site = tmp / "pw-site"
    site.mkdir()
    (site / "bench_pw_settings.py").write_text(PW_SETTINGS)
    env = {"DJANGO_SETTINGS_MODULE": "bench_pw_settings", "DATABASE_TYPE": "sqlite3",
           "DATABASE_NAME": str(tmp / "pw.sqlite3"),
           "PYTHONPATH": os.pathsep.join([str(site), str(args.patchwork_src)])}
    manage = [str(args.patchwork_python), str(args.patchwork_src / "manage.py")]
    timeout = 600
    proc.run([*manage, "migrate", "-v0"], env=env, timeout=timeout)
    proc.run([*manage, "loaddata", "default_tags", "default_states"], env=env, timeout=timeout)
    proc.run([*manage, "shell", "-c", PW_SETUP.format(project=PROJECT, listid=LIST_ID)],
             env=env, timeout=timeout)
    proc.run([*manage, "parsearchive", "--list-id", LIST_ID, str(mbox)], env=env,
             timeout=timeout)
    proc.run([*manage, "shell", "-c", PW_CHECKS.format(checks=CHECKS)], env=env,
             timeout=timeout)
    port = free_port()
    argv = [str(args.patchwork_python), "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
            *gunicorn_options(args),
            # patchwork.wsgi forces its production settings: the bench's are in the env
            "django.core.wsgi:get_wsgi_application()"]
    with proc.spawn(argv, cwd=args.patchwork_src, env=env, stdout=tmp / "pw.log") as server:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base + "/api/1.2/", server, tmp / "pw.log")
        yield base


# -- what a client reads -------------------------------------------------------------------

def _json(url: str) -> Any:
    rsp = requests.get(url, timeout=30)
    if rsp.status_code != 200:
        raise SystemExit(f"GET {url}: {rsp.status_code} {rsp.text[:200]}")
    return rsp.json()


def endpoints(base: str, count: int) -> dict[str, str]:
    """The URLs a client reads, as each server's own API links them: the middle series and
    its first patch, so that both sides serve the same mails."""
    api = f"{base}/api/1.2"
    every = _json(f"{api}/series/?per_page=250&order=id")
    if len(every) != count:
        raise SystemExit(f"{base} holds {len(every)} series, {count} were loaded")
    series = _json(every[count // 2]["url"])
    patch = _json(series["patches"][0]["url"])
    checks = _json(patch["checks"])
    if len(checks) != len(CHECKS):
        raise SystemExit(f"{patch['checks']} lists {len(checks)} checks, not {len(CHECKS)}")
    return {"patch-list": f"{api}/patches/", "patch-detail": patch["url"],
            "patch-mbox": patch["mbox"], "patch-checks": patch["checks"],
            "check-detail": checks[0]["url"], "series-list": f"{api}/series/",
            "series-detail": series["url"], "series-mbox": series["mbox"],
            "events": f"{api}/events/"}


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


AB_FIELDS = {"rps": r"Requests per second:\s+([\d.]+)", "done": r"Complete requests:\s+(\d+)",
             "failed": r"Failed requests:\s+(\d+)", "non2xx": r"Non-2xx responses:\s+(\d+)",
             "p50": r"\n\s+50%\s+(\d+)", "p99": r"\n\s+99%\s+(\d+)"}


def ab(url: str, clients: int, total: int) -> dict[str, float]:
    """One ApacheBench run: keep-alive connections, as requests.Session and git-pw use."""
    before = loadavg()
    out = proc.run(["ab", "-k", "-q", "-l", "-s", "60", "-c", str(clients), "-n", str(total),
                    url], timeout=600).stdout
    found = {k: re.search(rx, out) for k, rx in AB_FIELDS.items()}
    res = {k: float(m.group(1)) if m else 0.0 for k, m in found.items()}
    if not found["rps"] or res["done"] != total or res["failed"] or res["non2xx"]:
        raise SystemExit(f"ab {url}: {int(res['done'])} done, {int(res['failed'])} failed, "
                         f"{int(res['non2xx'])} non-2xx of {total}:\n{out[-800:]}")
    return {**res, "load_before": before, "load_after": loadavg()}


def warm(urls: dict[str, str]) -> dict[str, int]:
    """Every URL read a few times (workers import, templates compile); returns body sizes."""
    sizes = {}
    with requests.Session() as s:
        for name, url in urls.items():
            for _ in range(10):
                rsp = s.get(url, timeout=30)
                if rsp.status_code != 200:
                    raise SystemExit(f"GET {url}: {rsp.status_code}")
            sizes[name] = len(rsp.content)
    return sizes


def measure(args: argparse.Namespace, sides: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    runs = []
    total = args.clients * args.requests
    for rnd in range(args.rounds):
        order = ["ours", "patchwork"] if rnd % 2 == 0 else ["patchwork", "ours"]
        for name in sides["ours"]:
            for side in order:
                res = ab(sides[side][name], args.clients, total)
                runs.append({"round": rnd, "endpoint": name, "side": side, **res})
                print(f"  round {rnd} {name:13} {side:9} {res['rps']:8.1f} req/s p50 "
                      f"{res['p50']:5.0f} ms p99 {res['p99']:5.0f} ms load "
                      f"{res['load_before']:.2f}->{res['load_after']:.2f}", flush=True)
    return runs


def summary(args: argparse.Namespace, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for name in dict.fromkeys(r["endpoint"] for r in runs):
        def med(side: str, key: str, name: str = name) -> float:
            return statistics.median(r[key] for r in runs
                                     if r["endpoint"] == name and r["side"] == side)
        row = {"endpoint": name, "ours_rps": med("ours", "rps"),
               "patchwork_rps": med("patchwork", "rps"),
               "ours_p50_ms": med("ours", "p50"), "ours_p99_ms": med("ours", "p99"),
               "patchwork_p50_ms": med("patchwork", "p50"),
               "patchwork_p99_ms": med("patchwork", "p99")}
        row["ratio"] = round(row["ours_rps"] / row["patchwork_rps"], 2)
        row["tail"] = round(row["ours_p99_ms"] / max(row["ours_p50_ms"], 1), 2)
        row["ok"] = row["ratio"] >= args.min_ratio and row["tail"] <= args.max_tail
        rows.append(row)
    return rows


# -- the command ---------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--patchwork-src", type=Path, required=True,
                   help="Patchwork's source tree (manage.py, patchwork/)")
    p.add_argument("--patchwork-python", type=Path, required=True,
                   help="a python with Patchwork's dependencies and gunicorn")
    p.add_argument("--series", type=int, default=51, help="series loaded into both")
    p.add_argument("--clients", type=int, default=200, help="concurrent connections")
    p.add_argument("--requests", type=int, default=5, help="requests per client per run")
    p.add_argument("--rounds", type=int, default=3, help="interleaved runs per side")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers, both sides")
    p.add_argument("--threads", type=int, default=8, help="gunicorn threads, both sides")
    p.add_argument("--only", action="append", default=[], help="endpoint names to run")
    p.add_argument("--min-ratio", type=float, default=2.0)
    p.add_argument("--max-tail", type=float, default=1.5, help="p99 / p50 limit, ours")
    p.add_argument("--out", type=Path, help="write every run and the summary as JSON")
    p.add_argument("--keep", type=Path, help="a new directory to keep both sites' data in")
    args = p.parse_args(argv)
    if not (args.patchwork_src / "manage.py").is_file():
        raise UserError(f"{args.patchwork_src} has no manage.py: give --patchwork-src a "
                        "Patchwork source tree (git archive v3.2.1 | tar -x -C DIR)")
    if not os.access(args.patchwork_python, os.X_OK):
        raise UserError(f"{args.patchwork_python} is not executable: give --patchwork-python "
                        "the python of a venv with Patchwork's requirements-prod.txt + gunicorn")
    if not proc.which("ab"):
        raise UserError("ab (ApacheBench) is not installed: apt-get install apache2-utils")
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        if args.keep:
            args.keep.mkdir(parents=True)
            tmp = args.keep.resolve()
        else:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cocci-vs-pw-")))
        series = make_series(tmp / "fixture", args.series)
        write_mbox(series, tmp / "series.mbox")
        with ours(args, tmp, series) as our_base, \
                patchwork(args, tmp, tmp / "series.mbox") as pw_base:
            sides = {"ours": endpoints(our_base, args.series),
                     "patchwork": endpoints(pw_base, args.series)}
            if args.only:
                sides = {k: {n: u for n, u in v.items() if n in args.only}
                         for k, v in sides.items()}
            sizes = {side: warm(urls) for side, urls in sides.items()}
            runs = measure(args, sides)
    return {"settings": {k: str(v) for k, v in vars(args).items()}, "sizes": sizes,
            "runs": runs, "summary": summary(args, runs)}


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except UserError as exc:
        print(f"review_vs_patchwork: {exc}", file=sys.stderr)
        return 2
    result = run(args)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    for row in result["summary"]:
        print(f"{row['endpoint']:13} ours {row['ours_rps']:8.1f} req/s  patchwork "
              f"{row['patchwork_rps']:8.1f} req/s  x{row['ratio']:<5} ours p50 "
              f"{row['ours_p50_ms']:.0f} p99 {row['ours_p99_ms']:.0f} ms (p99/p50 "
              f"{row['tail']})  patchwork p50 {row['patchwork_p50_ms']:.0f} p99 "
              f"{row['patchwork_p99_ms']:.0f} ms  {'ok' if row['ok'] else 'SHORT'}")
    return 0 if all(r["ok"] for r in result["summary"]) else 1


if __name__ == "__main__":
    sys.exit(main())
