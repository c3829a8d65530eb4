"""Webhooks with a real `cocci-bot serve` and receivers on loopback: one checks every
signature and records the events; one is down for a while, then gets them all, in order."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from conftest import free_port, start_queue
from review_fixtures import add_build_boot, make_outdir

pytestmark = pytest.mark.slow
SECRET = "hook-secret-for-tests"


class Receiver:
    """A webhook receiver that checks the HMAC-SHA256 signature of each body."""

    def __init__(self, port: int = 0) -> None:
        self.events: list[dict] = []
        self.refused = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                if hmac.compare_digest(want, self.headers.get("X-Cocci-Bot-Signature", "")):
                    outer.events.append(json.loads(body))
                    self.send_response(204)
                else:
                    outer.refused += 1
                    self.send_response(401)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(what, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := what():
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s: {what.__doc__ or what}")


def test_signed_events_in_order_and_a_receiver_that_was_down_gets_them(tmp_path, monkeypatch):
    monkeypatch.setenv("COCCI_REVIEW_WEBHOOK_SECRET", SECRET)
    up = Receiver()
    assert requests.post(up.url, data=b"{}", timeout=5).status_code == 401   # it does check
    down_port = free_port()
    down_url = f"http://127.0.0.1:{down_port}/hook"
    data_dir = tmp_path / "q"
    data_dir.mkdir()
    with start_queue(data_dir, "--webhook", up.url, "--webhook", down_url) as q:
        v1, v2 = make_outdir(tmp_path), make_outdir(tmp_path, variant=" /* v2 */")
        add_build_boot(v1)
        sid1 = int(q.cli("post", "--queue", q.url, "--token", q.bot_token,
                         str(v1)).stdout.strip().rstrip("/").rsplit("/", 1)[1])
        rsp = requests.post(f"{q.url}/api/cocci/series/{sid1}/state/",
                            headers={"Authorization": f"Token {q.maintainer_token}"},
                            json={"state": "under-review"}, timeout=10)
        assert rsp.status_code == 200
        q.cli("post", "--queue", q.url, "--token", q.bot_token, str(v2))

        def all_five() -> bool:
            """series-created x2, state change, superseded, a check"""
            names = [e["event"] for e in up.events]
            return (names.count("series-created") == 2 and "series-superseded" in names
                    and "series-state-changed" in names and "check-created" in names)
        wait_for(all_five)
        assert up.refused == 1          # the unsigned probe above, nothing from the queue
        ids = [e["id"] for e in up.events]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        changed = next(e for e in up.events if e["event"] == "series-state-changed")
        assert (changed["series"]["id"], changed["previous_state"], changed["current_state"],
                changed["actor"]) == (sid1, "new", "under-review", "maint")
        superseded = next(e for e in up.events if e["event"] == "series-superseded")
        assert superseded["series"]["id"] == sid1 and superseded["series"]["state"] == \
            "superseded"
        check = next(e for e in up.events if e["event"] == "check-created")
        assert check["check"]["context"] and check["series"]["web_url"].startswith(q.url)

        ident = hashlib.sha256(down_url.encode()).hexdigest()[:12]
        log = q.data_dir / "review" / "webhooks" / f"{ident}.log"

        def failed_once() -> bool:
            """the down receiver's log shows a failed attempt"""
            return log.is_file() and '"delivered": false' in log.read_text()
        wait_for(failed_once)
        late = Receiver(down_port)
        try:
            wait_for(lambda: len(late.events) >= len(ids) and
                     [e["id"] for e in late.events] == [e["id"] for e in up.events])
        finally:
            late.close()
        lines = [json.loads(x) for x in log.read_text().splitlines()]
        first = [x for x in lines if x["event"] == ids[0]]
        assert not first[0]["delivered"] and first[-1]["delivered"] and first[-1]["attempt"] > 1
        assert all(x["status"] is None for x in first[:-1])        # connection refused
    up.close()
