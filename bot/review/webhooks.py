"""Webhooks: the operator's URLs (`cocci-bot serve --webhook URL`, the shared secret in
COCCI_REVIEW_WEBHOOK_SECRET) receive a signed JSON event when a series is created, superseded
or changes state, or a check is added.

The queue is the events table itself: a request only stores its events, as it always does, and
never waits for a hook. One delivery thread per hook (in the serving process) reads the events
after its cursor, in order, and POSTs each; a failure is retried with exponential back-off
(REVIEW_WEBHOOK_BACKOFF doubling up to REVIEW_WEBHOOK_BACKOFF_MAX), then given up after
REVIEW_WEBHOOK_ATTEMPTS. The signature is `X-Cocci-Bot-Signature: sha256=<hex>`, the
HMAC-SHA256 of the raw body with the secret (GitHub's convention). Each hook keeps its cursor
and a delivery log (JSON lines) in <data-dir>/review/webhooks/."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import multiprocessing
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from django.db import close_old_connections, connections
from django.db.models import Max, Q, QuerySet
from django.urls import reverse

from bot import defaults
from bot.errors import UserError
from bot.review.models import Event

log = logging.getLogger(__name__)
CATEGORIES = ("series-created", "series-state-changed", "check-created")
SIGNATURE = "X-Cocci-Bot-Signature"


@dataclass(frozen=True)
class Hook:
    url: str
    secret: str

    @property
    def ident(self) -> str:
        return hashlib.sha256(self.url.encode()).hexdigest()[:12]


def hooks(urls: list[str], secret: str) -> list[Hook]:
    """The configured hooks; bad configuration is a UserError naming the fix."""
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise UserError(f"--webhook {url!r} is not an http(s) URL")
    if urls and not secret:
        raise UserError("--webhook needs a shared secret: set COCCI_REVIEW_WEBHOOK_SECRET "
                        "(receivers check the X-Cocci-Bot-Signature HMAC with it)")
    return [Hook(url, secret) for url in dict.fromkeys(urls)]


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def pending(after: int) -> QuerySet:
    """The events hooks hear of, after `after`: one per check (not Patchwork's per-patch
    copies), every series creation and state change."""
    return (Event.objects.filter(id__gt=after, category__in=CATEGORIES)
            .exclude(Q(category="check-created") & Q(text=""))
            .select_related("project", "series", "series__state", "check_run",
                            "previous_state", "current_state", "actor").order_by("id"))


def payload(e: Event, base: str) -> dict[str, Any]:
    name = e.category
    if name == "series-state-changed" and e.current_state and e.current_state.slug == "superseded":
        name = "series-superseded"
    s = e.series
    out: dict[str, Any] = {
        "event": name, "id": e.id, "date": e.date.isoformat(), "project": e.project.link_name,
        "actor": e.actor.username if e.actor else None,
        "series": None if s is None else {
            "id": s.id, "name": s.name, "version": s.version, "campaign": s.campaign,
            "state": s.state.slug, "url": base + reverse("api-series-detail", args=[s.id]),
            "web_url": base + reverse("review:series", args=[s.id])}}
    if e.category == "series-state-changed":
        out["previous_state"] = e.previous_state.slug if e.previous_state else None
        out["current_state"] = e.current_state.slug if e.current_state else None
    if e.category == "check-created" and e.check_run is not None:
        c = e.check_run
        out["check"] = {"id": c.id, "context": c.context, "state": c.state,
                        "description": c.description, "target_url": c.target_url,
                        "patch": e.patch_id}
    return out


class Deliverer(threading.Thread):
    """One hook's delivery loop: in order, at least once, never inside a request."""

    def __init__(self, hook: Hook, directory: Path, base: str, stop: threading.Event):
        super().__init__(name=f"webhook-{hook.ident}", daemon=True)
        self.hook, self.base, self.stop = hook, base, stop
        directory.mkdir(parents=True, exist_ok=True)
        self.cursor_file = directory / f"{hook.ident}.cursor"
        self.log_file = directory / f"{hook.ident}.log"

    def run(self) -> None:
        cursor = self._cursor()
        while not self.stop.is_set():
            close_old_connections()
            try:
                events = list(pending(cursor)[:defaults.REVIEW_WEBHOOK_BATCH])
            except Exception as exc:  # noqa: BLE001 - a database hiccup: log, wait, retry
                log.warning("webhook %s: cannot read events: %s", self.hook.url, exc)
                events = []
            for event in events:
                if self.stop.is_set():
                    return
                self._deliver(event)
                cursor = event.id
                self.cursor_file.write_text(f"{cursor}\n")
            if not events:
                self.stop.wait(defaults.REVIEW_WEBHOOK_POLL)

    def _cursor(self) -> int:
        if self.cursor_file.is_file():
            return int(self.cursor_file.read_text().strip() or 0)
        start = Event.objects.aggregate(m=Max("id"))["m"] or 0   # a new hook: from now on
        self.cursor_file.write_text(f"{start}\n")
        return start

    def _deliver(self, event: Event) -> None:
        body = json.dumps(payload(event, self.base), sort_keys=True).encode()
        headers = {"Content-Type": "application/json", SIGNATURE: sign(self.hook.secret, body),
                   "X-Cocci-Bot-Event": json.loads(body)["event"],
                   "X-Cocci-Bot-Delivery": f"{self.hook.ident}-{event.id}"}
        delay = defaults.REVIEW_WEBHOOK_BACKOFF
        for attempt in range(1, defaults.REVIEW_WEBHOOK_ATTEMPTS + 1):
            status, error = self._post(body, headers)
            self._record(event, attempt, status, error)
            if error is None:
                return
            if attempt == defaults.REVIEW_WEBHOOK_ATTEMPTS or self.stop.wait(delay):
                break
            delay = min(delay * 2, defaults.REVIEW_WEBHOOK_BACKOFF_MAX)
        log.warning("webhook %s: gave up on event %d after %d attempts", self.hook.url,
                    event.id, attempt)

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
        try:
            rsp = requests.post(self.hook.url, data=body, headers=headers,
                                timeout=defaults.REVIEW_WEBHOOK_TIMEOUT, allow_redirects=False)
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {exc}"[:300]
        return rsp.status_code, None if 200 <= rsp.status_code < 300 else f"HTTP {rsp.status_code}"

    def _record(self, event: Event, attempt: int, status: int | None, error: str | None) -> None:
        line = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": event.id,
                "category": event.category, "attempt": attempt, "status": status,
                "delivered": error is None, "error": error}
        with self.log_file.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")


def _deliver_forever(configured: list[Hook], directory: Path, base: str, parent: int) -> None:
    stop = threading.Event()
    for hook in configured:
        Deliverer(hook, directory, base, stop).start()
        log.info("webhook %s: delivering (log %s)", hook.url, directory / f"{hook.ident}.log")
    while os.getppid() == parent and not stop.wait(1.0):   # ends with the server
        pass
    stop.set()


def start(configured: list[Hook], directory: Path, base: str) -> Any:
    """A process of its own delivers (forked before gunicorn forks its workers, so that no
    thread runs in the forking master); None without hooks. Terminate it to stop."""
    if not configured:
        return None
    connections.close_all()          # the child opens its own
    process = multiprocessing.get_context("fork").Process(
        target=_deliver_forever, args=(configured, directory, base, os.getpid()),
        name="cocci-bot-webhooks", daemon=True)
    process.start()
    return process
