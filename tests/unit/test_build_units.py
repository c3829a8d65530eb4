"""Build stage, fast parts: tuxmake argv (list equality), warning normalisation, fragment
checks, base detection and bad input on a small real git repo."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bot import cli, defaults
from bot.build import fragment, tree, tuxmake, warnings


def test_tuxmake_argv():
    spec = tuxmake.Spec(Path("/w/src"), Path("/w/obj-base"), Path("/o/base"), Path("/f.config"),
                        ("config", "kernel"), 2)
    assert tuxmake.argv(spec, python="/py") == [
        "/py", "-m", "tuxmake", "--runtime", "null", "--directory", "/w/src",
        "--build-dir", "/w/obj-base", "--output-dir", "/o/base",
        "--target-arch", "x86_64", "--toolchain", "gcc", "--wrapper", "ccache", "--jobs", "2",
        "--kconfig", "tinyconfig", "--kconfig-add", "/f.config", "--environment", "KCFLAGS=",
        "WERROR=0", "config", "kernel",
    ]


BASE_LOG = """\
/w/src/kernel/fork.c:100:5: warning: unused variable 'a' [-Wunused-variable]
  100 |  int a;
/w/src/mm/gup.c:7:1: warning: no previous prototype for 'f' [-Wmissing-prototypes]
.config:1192:warning: override: UNWINDER_GUESS changes choice state
"""
PATCHED_LOG = """\
/w/src/kernel/fork.c:104:5: warning: unused variable 'a' [-Wunused-variable]
/w/src/init/main.c:9:6: warning: unused variable 'b' [-Wunused-variable]
../mm/gup.c:9:1: warning: no previous prototype for 'f' [-Wmissing-prototypes]
/w/src/mm/gup.c:30:1: warning: no previous prototype for 'f' [-Wmissing-prototypes]
"""


def test_warnings_parse_normalises_paths():
    ws = warnings.parse(BASE_LOG, ("/w/src/",))
    assert [(w.file, w.line, w.flag) for w in ws] == [
        ("kernel/fork.c", 100, "-Wunused-variable"), ("mm/gup.c", 7, "-Wmissing-prototypes")]
    assert ws[0].text == "kernel/fork.c:100:5: warning: unused variable 'a' [-Wunused-variable]"


def test_new_warnings_ignore_line_shifts_but_count_duplicates():
    new = warnings.new_warnings(warnings.parse(BASE_LOG, ("/w/src/",)),
                                warnings.parse(PATCHED_LOG, ("/w/src/",)))
    assert [(w.file, w.line) for w in new] == [("init/main.c", 9), ("mm/gup.c", 30)]


def test_fragment_mismatches():
    wanted = fragment.parse("CONFIG_KVM=y\n# CONFIG_MODULES is not set\nCONFIG_NR_CPUS=4\n"
                            "CONFIG_DRM_I915=y\n")
    final = fragment.parse("CONFIG_KVM=y\nCONFIG_NR_CPUS=8\n# CONFIG_DRM_I915 is not set\n")
    assert [str(m) for m in fragment.mismatches(wanted, final)] == [
        "CONFIG_NR_CPUS=4 (got CONFIG_NR_CPUS=8)", "CONFIG_DRM_I915=y (got CONFIG_DRM_I915=n)"]


def test_campaign_fragment_is_parseable():
    path = (defaults.project_root() / "semantic_patches" / defaults.BUILD_CAMPAIGN
            / defaults.BUILD_FRAGMENT)
    values = fragment.load(path)
    for symbol in ("CONFIG_KVM", "CONFIG_KVM_INTEL", "CONFIG_KVM_AMD", "CONFIG_64BIT",
                   "CONFIG_SERIAL_8250_CONSOLE", "CONFIG_BLK_DEV_INITRD", "CONFIG_DEVTMPFS"):
        assert values[symbol] == "y"


def _git(repo: Path, *args: str, email: str = "me@example.org") -> str:
    env = {**os.environ, "GIT_COMMITTER_EMAIL": email}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, env=env,
                          capture_output=True, text=True).stdout.strip()


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "a.c").write_text("int a;\n")
    _git(repo, "add", "a.c")
    _git(repo, "commit", "-qm", "base")
    return repo


def test_default_base_walks_past_bot_commits(tmp_path, monkeypatch):
    repo = _repo(tmp_path)
    base = _git(repo, "rev-parse", "HEAD")
    for i in range(2):
        (repo / "a.c").write_text(f"int a{i};\n")
        _git(repo, "commit", "-qam", f"step {i}", email=defaults.BOT_EMAIL)
    assert tree.default_base(repo, _git(repo, "rev-parse", "HEAD")) == base
    (repo / "b.c").write_text("int b;\n")
    _git(repo, "add", "b.c")
    _git(repo, "commit", "-qm", "a human commit")
    assert tree.default_base(repo, "HEAD") == _git(repo, "rev-parse", "HEAD^")
    assert tree.touched_c_files(repo, base, "HEAD") == ["a.c", "b.c"]


def test_build_bad_input_is_usage_error(tmp_path, capsys):
    repo = _repo(tmp_path)
    out = str(tmp_path / "out")
    assert cli.main(["build", "--tree", str(tmp_path / "none"), "--rev", "HEAD", "--out", out]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["build", "--tree", str(repo), "--rev", "nope", "--out", out]) == 2
    assert "unknown revision 'nope'" in capsys.readouterr().err
    assert cli.main(["build", "--tree", str(repo), "--rev", "HEAD", "--out", out]) == 2
    assert "no parent" in capsys.readouterr().err
    assert cli.main(["build", "--tree", str(repo), "--rev", "HEAD", "--base", "HEAD",
                     "--out", out, "--fragment", str(tmp_path / "x.config")]) == 2
    assert "same commit" in capsys.readouterr().err


def test_second_build_on_the_same_work_dir_is_refused(tmp_path):
    import pytest

    from bot.build.run import work_lock
    from bot.errors import UserError

    with work_lock(tmp_path), pytest.raises(UserError, match="--work-dir"), work_lock(tmp_path):
        pass
