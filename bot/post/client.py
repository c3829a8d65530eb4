"""The bot's side of the review queue API: token auth, timeouts, retries on transient failures,
errors that say which side is wrong."""

from __future__ import annotations

import logging
import time
from typing import Any

import requests

from bot import defaults
from bot.errors import InfraError, QueueRefused, QueueUnreachable, UserError

log = logging.getLogger(__name__)

_RETRY_STATUS = {502, 503, 504}


class QueueClient:
    def __init__(self, base_url: str, token: str, *, timeout: float = defaults.TIMEOUT_HTTP,
                 retries: int | None = None):
        if not base_url.startswith(("http://", "https://")):
            raise UserError(f"--queue {base_url!r} is not an http(s) URL")
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = defaults.HTTP_RETRIES if retries is None else retries
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Token {token}",
                                     "User-Agent": "cocci-bot"})

    def post_series(self, payload: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create the series; returns (series, created). A re-post returns the stored one."""
        rsp = self._request("POST", "/api/cocci/series/", payload)
        return rsp.json(), rsp.status_code == 201

    def post_series_check(self, series_id: int, check: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", f"/api/1.2/series/{series_id}/checks/", check).json()

    def post_series_comment(self, series_id: int, content: str) -> dict[str, Any]:
        """A comment on the whole series (shown on its page); the same text posted again by
        this account returns the stored one."""
        return self._request("POST", f"/api/cocci/series/{series_id}/comments/",
                             {"content": content}).json()

    def mail_stop(self) -> dict[str, Any]:
        """The queue's mail stop switch: {"stopped", "by", "at", "reason"} (bot.drafts)."""
        data: dict[str, Any] = self._request("GET", "/api/cocci/mail-stop/", None).json()
        return data

    def series(self, series_id: int) -> dict[str, Any]:
        return self._request("GET", f"/api/1.2/series/{series_id}/", None).json()

    def get_series(self, series_id: int) -> dict[str, Any]:
        """The series as the queue has it now (its review state included)."""
        return self._request("GET", f"/api/1.2/series/{series_id}/", None).json()

    def absorbed(self, project: str, campaign: str, release: str, comment: str) -> list[int]:
        """Upstream absorbed the campaign in `release`: the queue marks this bot's open older
        versions Not Applicable with `comment`; returns the series it changed."""
        rsp = self._request("POST", f"/api/cocci/projects/{project}/campaigns/{campaign}/"
                            "absorbed/", {"release": release, "comment": comment})
        return [int(i) for i in rsp.json().get("series", [])]

    def _request(self, method: str, path: str,
                 body: dict[str, Any] | None) -> requests.Response:
        url = self.base + path
        for attempt in range(1, self.retries + 1):
            try:
                rsp = self.session.request(method, url, json=body, timeout=self.timeout)
            except requests.RequestException as exc:
                if attempt == self.retries:
                    raise QueueUnreachable(f"review queue at {self.base} unreachable: {exc}") from exc
            else:
                if rsp.status_code not in _RETRY_STATUS or attempt == self.retries:
                    return _checked(rsp, method, path)
            log.info("post: %s %s failed (attempt %d/%d), retrying", method, path, attempt,
                     self.retries)
            time.sleep(min(2 ** attempt, 10))
        raise AssertionError("unreachable")


def _checked(rsp: requests.Response, method: str, path: str) -> requests.Response:
    if rsp.status_code < 400:
        return rsp
    try:
        detail = rsp.json()
        detail = detail.get("detail", detail) if isinstance(detail, dict) else detail
    except ValueError:
        detail = rsp.text[:300]
    if rsp.status_code in (401, 403):
        raise QueueRefused(f"review queue refused {method} {path} ({rsp.status_code}): {detail}; "
                        "check --token (a bot token from `cocci-bot serve --create-token bot`)")
    if rsp.status_code < 500:
        raise QueueRefused(f"review queue rejected {method} {path} ({rsp.status_code}): {detail}")
    raise InfraError(f"review queue failed on {method} {path} ({rsp.status_code}): {detail}")
