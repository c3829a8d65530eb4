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
