"""`cocci-bot serve` and `cocci-bot post` as operators and the bot run them, on a real gunicorn."""

from __future__ import annotations

import json
import stat

import requests

from bot import cli


def test_create_token_prints_a_token_and_keeps_the_secret_key(live_queue):
    out = live_queue.cli("serve", "--data-dir", str(live_queue.data_dir), "--create-token",
                         "bot", "second-bot")
    token = out.stdout.strip()
    assert len(token) == 40 and out.stdout.count("\n") == 1
    key = live_queue.data_dir / "review" / "secret_key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_text()
    live_queue.cli("serve", "--data-dir", str(live_queue.data_dir), "--create-token", "bot",
                   "second-bot")
    assert key.read_text() == before
    rsp = requests.get(f"{live_queue.url}/api/1.2/series/1/checks/",
                       headers={"Authorization": f"Token {token}"}, timeout=10)
    assert rsp.status_code in (200, 404)  # the token authenticates (no 401)


def test_unknown_role_is_usage_error(tmp_path, capsys):
    assert cli.main(["serve", "--data-dir", str(tmp_path), "--create-token", "admin", "x"]) == 2
    assert "unknown role 'admin'" in capsys.readouterr().err


def test_post_prints_the_series_url_and_is_idempotent(live_queue, posted):
    url_v1, url_v2 = posted["urls"]
    assert url_v1.startswith(live_queue.url + "/series/")
    again = live_queue.cli("post", "--queue", live_queue.url, "--token", live_queue.bot_token,
                           str(posted["v1"]))
    assert again.stdout.strip() == url_v1
    assert "already had series" in again.stderr
    v1 = requests.get(f"{live_queue.url}/api/1.2/series/{posted['ids'][0]}/", timeout=10).json()
    checks = requests.get(v1["checks"], timeout=10).json()
    assert sorted(c["context"] for c in checks) == ["boot", "build", "idempotence", "kvm-smoke"]
    assert v1["state"] == "superseded"  # v2 was posted after it
    v2 = requests.get(f"{live_queue.url}/api/1.2/series/{posted['ids'][1]}/", timeout=10).json()
    assert v2["previous"]["id"] == v1["id"] and v2["check"] == "fail"  # v2's boot failed


def test_post_without_stage_dirs_posts_only_idempotence(live_queue, tmp_path):
    from review_fixtures import make_outdir

    out = make_outdir(tmp_path, extra_patch_text=" (no build)", idempotent=False)
    url = live_queue.cli("post", "--queue", live_queue.url, "--token", live_queue.bot_token,
                         str(out)).stdout.strip()
    sid = url.rstrip("/").rsplit("/", 1)[1]
    checks = requests.get(f"{live_queue.url}/api/1.2/series/{sid}/checks/", timeout=10).json()
    assert [(c["context"], c["state"]) for c in checks] == [("idempotence", "fail")]


def test_post_errors_are_one_line_with_exit_codes(live_queue, tmp_path, outdir, capsys):
    assert cli.main(["post", "--queue", live_queue.url, "--token", "wrong", str(outdir)]) == 2
    assert "check --token" in capsys.readouterr().err
    assert cli.main(["post", "--queue", live_queue.url, "--token", "t", str(tmp_path)]) == 2
    assert "report.json is missing" in capsys.readouterr().err
    report = json.loads((outdir / "report.json").read_text())
    report["tree"] = "no-such-tree"
    (outdir / "report.json").write_text(json.dumps(report))
    assert cli.main(["post", "--queue", live_queue.url, "--token", live_queue.bot_token,
                     str(outdir)]) == 2
    assert "unknown project 'no-such-tree'" in capsys.readouterr().err


def test_post_to_a_dead_queue_is_infra_error(outdir, capsys, monkeypatch):
    from conftest import free_port

    monkeypatch.setattr("bot.defaults.HTTP_RETRIES", 1)
    rc = cli.main(["post", "--queue", f"http://127.0.0.1:{free_port()}", "--token", "t",
                   str(outdir)])
    assert rc == 3 and "unreachable" in capsys.readouterr().err


def test_concurrent_posts_of_one_series_store_it_once(live_queue, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from review_fixtures import make_outdir

    from bot.post import outdir as od
    from bot.post.client import QueueClient

    body = od.series_payload(make_outdir(tmp_path, extra_patch_text=" (race)"), None)
    body["dedupe_key"] = f"race-{tmp_path.name}"
    client = QueueClient(live_queue.url, live_queue.bot_token)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: client.post_series(body), range(8)))
    assert len({s["id"] for s, _ in results}) == 1
    assert sum(created for _, created in results) == 1


def test_serve_on_a_taken_port_says_so(live_queue, tmp_path, capsys):
    port = live_queue.url.rsplit(":", 1)[1]
    out = live_queue.cli("serve", "--data-dir", str(tmp_path), "--port", port, check=False)
    assert out.returncode == 3
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr and "--port" in out.stderr


def test_concurrent_new_versions_of_one_campaign_form_one_chain(live_queue, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from review_fixtures import make_outdir

    from bot.post import outdir as od
    from bot.post.client import QueueClient

    body = od.series_payload(make_outdir(tmp_path, extra_patch_text=" (chain)"), None)
    body["report"]["campaign"] = f"chain-{tmp_path.name}"
    client = QueueClient(live_queue.url, live_queue.bot_token)
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda i: client.post_series({**body, "dedupe_key": f"c-{i:06d}"}),
                                range(6)))
    assert all(created for _, created in results)
    assert sorted(s["version"] for s, _ in results) == [1, 2, 3, 4, 5, 6]
    previous = sorted((s["previous"] or {}).get("id", 0) for s, _ in results)
    assert len(set(previous)) == 6  # a chain: nobody shares a previous version


def test_tokens_are_listed_and_revoked_and_roles_kept(live_queue):
    d = str(live_queue.data_dir)
    token = live_queue.cli("serve", "--data-dir", d, "--create-token", "bot",
                           "short-lived").stdout.strip()
    listing = live_queue.cli("serve", "--data-dir", d, "--list-tokens").stdout
    row = next(li for li in listing.splitlines() if "short-lived" in li)
    assert " bot " in row and "maint" in listing and token not in listing
    refused = live_queue.cli("serve", "--data-dir", d, "--create-token", "maintainer",
                             "short-lived", check=False)
    assert refused.returncode == 2 and "is a bot account" in refused.stderr
    assert refused.stderr.count("\n") == 1
    auth = {"Authorization": f"Token {token}"}
    url = f"{live_queue.url}/api/1.2/series/1/checks/"
    assert requests.get(url, headers=auth, timeout=10).status_code != 401
    live_queue.cli("serve", "--data-dir", d, "--revoke-token", row.split()[0])
    assert requests.get(url, headers=auth, timeout=10).status_code == 401
    again = live_queue.cli("serve", "--data-dir", d, "--revoke-token", token, check=False)
    assert again.returncode == 2 and "no token" in again.stderr


def test_sqlite_database_is_private(live_queue):
    import os

    import pytest

    if os.environ.get("DATABASE_URL"):
        pytest.skip("the PostgreSQL job keeps no SQLite file")
    db = live_queue.data_dir / "review" / "db.sqlite3"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_unexpected_host_is_refused_and_forwarded_proto_ignored(live_queue):
    evil = requests.get(f"{live_queue.url}/api/1.2/", headers={"Host": "evil.example"},
                        timeout=10)
    assert evil.status_code == 400
    index = requests.get(f"{live_queue.url}/api/1.2/", headers={"X-Forwarded-Proto": "https"},
                         timeout=10).json()
    assert index["series"] == f"{live_queue.url}/api/1.2/series/"


def test_base_url_sets_the_only_host_and_the_scheme(tmp_path):
    from conftest import start_queue

    with start_queue(tmp_path, "--base-url", "https://review.example.org") as q:
        direct = requests.get(f"{q.url}/api/1.2/", timeout=10)
        assert direct.status_code == 400          # Host 127.0.0.1 is not the configured one
        index = requests.get(f"{q.url}/api/1.2/", headers={"Host": "review.example.org"},
                             timeout=10)
        assert index.status_code == 200
        assert index.json()["series"] == "https://review.example.org/api/1.2/series/"
        bad = q.cli("serve", "--data-dir", str(tmp_path), "--base-url", "ftp://x/y",
                    "--list-tokens", check=False)
        assert bad.returncode == 2 and "--base-url" in bad.stderr
