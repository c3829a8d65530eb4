"""`cocci-bot status --config bot.toml` reads the job store the workers use: with [workers]
database, a real PostgreSQL (Debian's, throwaway, on loopback), not the data dir's SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import workers_infra as infra

from bot import cli
from bot.pipeline import record
from bot.pipeline.store import Store
from bot.status import Status

CAMPAIGN = "kvm-refcounted-pfn"


def bot_toml(path: Path, database: str, runs: Path) -> Path:
    path.write_text(f"""
[[tree]]
name = "small-linux"

[workers]
broker = "redis://127.0.0.1:1/0"
database = "{database}"
run_dir = "{runs}"
""")
    return path


def status(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["status", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_status_reads_the_workers_postgresql_store(tmp_path: Path, capsys):
    data, runs = tmp_path / "data", tmp_path / "runs"
    # the data dir's own SQLite store holds another job: not the one the workers share
    Store(data / "state.sqlite3").job("sqlite-only-job", tree="other", tag="v0.1", base="0" * 40,
                                      campaign=CAMPAIGN, runs=data / "runs")
    with infra.postgres() as database:
        pg = Store(database)
        a = pg.job("pg-job-0001", tree="small-linux", tag="v5.10.1", base="a" * 40,
                   campaign=CAMPAIGN, runs=runs)
        b = pg.job("pg-job-0002", tree="small-linux", tag="v5.10.2", base="b" * 40,
                   campaign=CAMPAIGN, runs=runs)
        pg.update(a.id, state=Status.WAITING, series_url="http://queue.invalid/series/7/")
        pg.update(b.id, state=Status.ERROR, error="build: make exited 2")
        record.write(a.run_dir, record.RunRecord(
            job=a.id, tree="small-linux", tag="v5.10.1", base="a" * 40, repo="/r",
            campaign=CAMPAIGN, stages={
                "apply": {"status": "PASS"}, "post": {"status": "PASS"},
                "drafts": {"status": "WAITING", "why": "series is 'new' in the queue"}}))
        cfg = bot_toml(tmp_path / "bot.toml", database, runs)
        code, out, _ = status(capsys, "--json", "--config", str(cfg), "--data-dir", str(data))
        assert code == 0
        doc = json.loads(out)
        assert doc["store"] == database
        assert [(j["job"], j["release"], j["status"]) for j in doc["jobs"]] == \
            [(a.id, "v5.10.1", "WAITING"), (b.id, "v5.10.2", "ERROR")]
        first, second = doc["jobs"]
        assert first["stages"] == {"apply": "PASS", "post": "PASS", "drafts": "WAITING"}
        assert first["reason"] == "series is 'new' in the queue"
        assert first["series_url"] == "http://queue.invalid/series/7/"
        assert first["run_dir"] == str(runs / str(a.id))
        assert (second["reason"], second["attempts"]) == ("build: make exited 2", 1)
        code, text, _ = status(capsys, "--config", str(cfg), "--data-dir", str(data))
        assert code == 0
        assert f"job {a.id}: small-linux v5.10.1 {CAMPAIGN}: WAITING" in text
        assert "why: build: make exited 2" in text and "v0.1" not in text
    # without the config: the data dir's SQLite store, as before
    code, out, _ = status(capsys, "--json", "--data-dir", str(data))
    assert code == 0
    assert [j["release"] for j in json.loads(out)["jobs"]] == ["v0.1"]


def test_status_on_an_unreachable_store_is_an_infrastructure_error(tmp_path: Path, capsys):
    url = f"postgres://cocci:s3cret@127.0.0.1:{infra.free_port()}/cocci"
    cfg = bot_toml(tmp_path / "bot.toml", url, tmp_path / "runs")
    code, out, err = status(capsys, "--config", str(cfg), "--data-dir", str(tmp_path / "d"))
    assert code == 3 and out == ""
    assert "job store postgres://cocci@127.0.0.1:" in err and "[workers] database" in err
    assert "s3cret" not in err
