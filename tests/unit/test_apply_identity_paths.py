"""apply's output paths, the series' identity and its final status (real spatch, real git)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bot import cli

CAMPAIGN = "kvm-refcounted-pfn"


def git(tree: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(tree), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def apply_argv(tree: Path, out: str, data: str, *extra: str) -> list[str]:
    return ["apply", "--tree", str(tree), "--campaign", CAMPAIGN, "--out", out,
            "--data-dir", data, *extra]


def froms(series: Path) -> set[str]:
    return {line for p in series.glob("*.patch") for line in p.read_text().splitlines()
            if line.startswith("From: ")}


def test_relative_out_and_data_dir_mean_the_current_directory(fake_kernel_tree: Path,
                                                              tmp_path: Path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    status = git(fake_kernel_tree, "status", "--porcelain", "--ignored")
    assert cli.main(apply_argv(fake_kernel_tree, "out", "data")) == 0
    names = sorted(p.name[:4] for p in (cwd / "out" / "series").glob("*.patch"))
    assert names == ["0000", "0001", "0002"]
    doc = json.loads((cwd / "out" / "report.json").read_text())
    assert doc["status"] == "PASS" and doc["series"][0] == "series/0000-cover-letter.patch"
    assert (cwd / "data" / "worktrees").is_dir()
    # nothing written into the user's tree
    assert git(fake_kernel_tree, "status", "--porcelain", "--ignored") == status
    assert not (fake_kernel_tree / "out").exists() and not (fake_kernel_tree / "data").exists()


def test_identity_from_flags_everywhere(fake_kernel_tree: Path, tmp_path: Path, no_identity):
    out = tmp_path / "out"
    assert cli.main(apply_argv(fake_kernel_tree, str(out), str(tmp_path / "data"),
                               "--bot-name", "Jane Maintainer",
                               "--bot-email", "jane@example.org")) == 0
    assert froms(out / "series") == {"From: Jane Maintainer <jane@example.org>"}
    first = next((out / "series").glob("0001-*.patch")).read_text()
    assert "Signed-off-by: Jane Maintainer <jane@example.org>" in first
    branch = json.loads((out / "report.json").read_text())["branch"]
    assert git(fake_kernel_tree, "log", "-1", "--format=%an <%ae>|%cn <%ce>", branch) == \
        "Jane Maintainer <jane@example.org>|Jane Maintainer <jane@example.org>"
    doc = json.loads((out / "report.json").read_text())
    assert doc["identity"] == {"name": "Jane Maintainer", "email": "jane@example.org",
                               "source": "configuration"}


def headers(series: Path, name: str) -> set[str]:
    """Every value of header `name` in the series' mails (folded lines joined)."""
    import email
    from email.policy import default as default_policy

    return {str(email.message_from_string(p.read_text(), policy=default_policy)[name])
            for p in series.glob("*.patch")}


BOT_AUTHOR = "cocci-bot (kvm-refcounted-pfn campaign) <kvm-refcounted-pfn@cocci-bot.invalid>"


def test_no_identity_anywhere_the_bot_authors_and_nobody_signs(fake_kernel_tree: Path,
                                                              tmp_path: Path, no_identity):
    """A fresh host: no GIT_AUTHOR_*/EMAIL, no git config at all. apply needs no human: the
    series is the bot's, under a name that says so and an address that cannot exist; it
    carries no Signed-off-by (the approving maintainer's comes with the drafts)."""
    assert subprocess.run(["git", "-C", str(fake_kernel_tree), "-c", "user.useConfigOnly=true",
                           "var", "GIT_AUTHOR_IDENT"], capture_output=True).returncode != 0
    out = tmp_path / "out"
    assert cli.main(apply_argv(fake_kernel_tree, str(out), str(tmp_path / "data"))) == 0
    assert headers(out / "series", "From") == {
        '"cocci-bot (kvm-refcounted-pfn campaign)" <kvm-refcounted-pfn@cocci-bot.invalid>'}
    text = "".join(p.read_text() for p in (out / "series").glob("*.patch"))
    assert "Signed-off-by:" not in text and "localhost" not in text
    doc = json.loads((out / "report.json").read_text())
    assert doc["status"] == "PASS" and doc["identity"]["source"] == "bot"
    assert git(fake_kernel_tree, "log", "-1", "--format=%an <%ae>|%cn <%ce>", doc["branch"]) == \
        f"{BOT_AUTHOR}|{BOT_AUTHOR}"


def test_the_operators_git_identity_is_not_taken_for_the_bots(fake_kernel_tree: Path,
                                                               tmp_path: Path, no_identity):
    """Who runs the bot is not who wrote or certified the series: only [identity] (or the
    flags) makes an operator the author."""
    subprocess.run(["git", "config", "--global", "user.name", "Olga Operator"], check=True)
    subprocess.run(["git", "config", "--global", "user.email", "olga@example.net"], check=True)
    out = tmp_path / "out"
    assert cli.main(apply_argv(fake_kernel_tree, str(out), str(tmp_path / "data"))) == 0
    text = "".join(p.read_text() for p in (out / "series").glob("*.patch"))
    assert "olga@example.net" not in text and "kvm-refcounted-pfn@cocci-bot.invalid" in text


@pytest.mark.parametrize(("flags", "message"), [
    (["--bot-name", "cocci-bot", "--bot-email", "cocci-bot@localhost"], "not an address"),
    (["--bot-name", "cocci-bot", "--bot-email", "bot@cocci-bot.invalid"], "not an address"),
    (["--bot-email", "jane@example.org"], "pass both --bot-name and --bot-email"),
    (["--bot-name", "Jane <x>", "--bot-email", "jane@example.org"], "is not usable"),
])
def test_unusable_identity_is_refused(fake_kernel_tree: Path, tmp_path: Path, capsys,
                                      flags, message):
    out = tmp_path / "out"
    assert cli.main(apply_argv(fake_kernel_tree, str(out), str(tmp_path / "data"), *flags)) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_failed_apply_ends_in_error_and_post_refuses_it(fake_kernel_tree: Path, tmp_path: Path,
                                                        shim_path, capsys):
    real = shutil.which("git")
    shim_path("git", f"""#!/bin/sh
case " $* " in *" format-patch "*) echo "fatal: disk on fire" >&2; exit 128;; esac
exec "{real}" "$@"
""")
    out = tmp_path / "out"
    assert cli.main(apply_argv(fake_kernel_tree, str(out), str(tmp_path / "data"))) == 3
    capsys.readouterr()
    doc = json.loads((out / "report.json").read_text())
    assert doc["status"] == "ERROR" and "disk on fire" in doc["error"]
    assert git(fake_kernel_tree, "worktree", "list").count("\n") == 0, "worktree left behind"
    assert cli.main(["post", "--queue", "http://127.0.0.1:9", "--token", "t", str(out)]) == 2
    err = capsys.readouterr().err
    assert "apply did not PASS (status ERROR: " in err and err.count("\n") == 1


@pytest.mark.parametrize("status", ["running", "FAIL", None])
def test_post_refuses_an_apply_that_did_not_pass(tmp_path: Path, capsys, status):
    out = tmp_path / "out"
    (out / "series").mkdir(parents=True)
    (out / "series" / "0001-x.patch").write_text("From 0 Mon Sep 17 00:00:00 2001\n")
    report = {"tree": "t", "idempotent": True, "sites": []}
    if status:
        report["status"] = status
    (out / "report.json").write_text(json.dumps(report))
    assert cli.main(["post", "--queue", "http://127.0.0.1:9", "--token", "t", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"apply did not PASS (status {status or 'missing'})" in err and err.count("\n") == 1


def test_config_identity_is_optional(tmp_path: Path):
    from bot.pipeline import config

    toml = tmp_path / "bot.toml"
    toml.write_text('[[tree]]\nname = "t"\n')
    assert config.load(toml).ident is None
    toml.write_text('[[tree]]\nname = "t"\n[identity]\nname = "J"\nemail = "j@example.org"\n')
    assert config.load(toml).ident == ("J", "j@example.org")
