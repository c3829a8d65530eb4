from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import UserError
from bot.pipeline import config
from bot.pipeline.store import Store
from bot.status import Status


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bot.toml"
    p.write_text(text)
    return p


def test_tree_kind_and_post(tmp_path: Path):
    cfg = config.load(write(tmp_path, "[[tree]]\nname = 'a'\npost = 'fixes'\n[[tree]]\n"
                                      "name = 'b'\nsource = 'git'\npath = '/x'\n[[tree]]\n"
                                      "name = 'c'\nsource = 'git'\npath = '/x'\n"
                                      "kind = 'stable'\n"))
    assert [(t.tree_kind, t.post) for t in cfg.trees] == [("stable", "fixes"), (None, "all"),
                                                          ("stable", "all")]
    with pytest.raises(UserError, match="post: 'some' is not one of 'all' or 'fixes'"):
        config.load(write(tmp_path, "[[tree]]\nname = 'a'\npost = 'some'\n"))


def test_embedded_defaults_watch_one_debian_5_10_release():
    cfg = config.load(None)
    assert [t.name for t in cfg.trees] == ["debian-linux"]
    assert cfg.trees[0].releases[0].startswith("5.10.")
    assert cfg.checks.build and cfg.checks.boot and cfg.queue.url == ""


@pytest.mark.parametrize(("text", "message"), [
    ("[[tree]]\nname = 'a/b'\n", "[[tree]] 1 ('a/b') name: 'a/b' is not a valid name: use "
     "1-64 lowercase letters, digits, - and _, starting and ending with a letter or digit, "
     "e.g. 'a-b'"),
    ("[[tree]]\nname = 'x'\nsource = 'svn'\n",
     "[[tree]] 1 ('x') source: 'svn' is not one of 'debian' or 'git'"),
    ("[[tree]]\nname = 'x'\nsource = 'git'\n",
     "[[tree]] 1 ('x'): a git tree needs path = \"/path/to/repo\" or url = \"https://...\""),
    ("[trees]\n", "no [[tree]]: add at least one tree to watch"),
    ("[[tree]]\nname='x'\n[tree2]\n", "tree2: unknown key: 'tree2': did you mean 'tree'? "
     "remove it or use one of checks, identity, mail, queue, tree, workers"),
    ("[checks]\nbuild = false\n", "no [[tree]]"),
    ("[[tree]]\nname='x'\n[[tree]]\nname='x'\n",
     "two trees are named 'x': give each [[tree]] its own name"),
    ("[[tree]\n", "fix the TOML"),
    # a typo in a key no longer runs the default silently
    ("[[tree]]\nname='x'\ncampaign=['kvm-refcounted-pfn']\n",
     "[[tree]] 1 ('x') campaign: unknown key: 'campaign': did you mean 'campaigns'? remove it "
     "or use one of branches, campaigns, kind, name, path, post, releases, since, source, "
     "tags, target, url"),
    # "false" is a string, not a boolean
    ("[[tree]]\nname='x'\n[checks]\nbuild = 'false'\n",
     "[checks] build: must be true or false (no quotes), got 'false'"),
    # a string where a list belongs is refused, not split into characters
    ("[[tree]]\nname='x'\ncampaigns = 'kvm-refcounted-pfn'\n",
     "[[tree]] 1 ('x') campaigns: must be a list: campaigns = ['kvm-refcounted-pfn']"),
    ("[[tree]]\nname='x'\nsource='git'\npath='/r'\nbranches='master'\n",
     "[[tree]] 1 ('x') branches: must be a list, e.g. branches = ['master'], got 'master'"),
    ("[[tree]]\nname='x'\nreleases=['5.10.1', 5]\n",
     "[[tree]] 1 ('x') releases[1]: must be a string in quotes, got 5"),
    ("[[tree]]\nname='x'\n[mail]\nport='25'\n",
     "[mail] port: must be a whole number (no quotes), got '25'"),
    ("[[tree]]\nname='x'\n[mail]\nport=0\n", "[mail] port: Input should be greater than"),
    ("[[tree]]\nname='x'\n[mail]\ntls='yes'\n",
     "[mail] tls: 'yes' is not one of 'starttls', 'ssl' or 'none'"),
    ("[[tree]]\nname='x'\nurl='https://h/l.git'\n",
     "[[tree]] 1 ('x'): url is for source = \"git\" trees: remove it or set source = \"git\""),
    ("[[tree]]\nname='x'\nsource='git'\nurl='ftp://h/l.git'\n",
     "[[tree]] 1 ('x') url: 'ftp://h/l.git' is not a git URL: use one starting with https://"),
    ("[[tree]]\nname='x'\n[workers]\nbroker='amqp://h'\n",
     "[workers] broker: 'amqp://h' is not a Redis URL"),
    ("checks = 3\n[[tree]]\nname='x'\n", "[checks]: must be a table ([checks]), got 3"),
    ("[[tree]]\nname='x'\n[[mail.list]]\naddress='kvm list'\n",
     "[mail] list[0] address: 'kvm list' is not an address: use e.g. \"kvm@vger.kernel.org\""),
    ("[[tree]]\nname='x'\n[[mail.list]]\naddress='a@b'\nembargo=1\n",
     "[mail] list[0] embargo: unknown key: 'embargo': did you mean 'embargo_hours'?"),
    ("[[tree]]\nname='x'\n[[mail.list]]\naddress='a@b'\nreplies='me'\n",
     "[mail] list[0] replies: 'me' is not one of 'all' or 'author'"),
    ("[[tree]]\nname='x'\n[[mail.list]]\naddress='a@b'\ndaily_limit=-1\n",
     "[mail] list[0] daily_limit: Input should be greater than or equal to 0"),
    ("[[tree]]\nname='x'\n[[mail.list]]\naddress='a@b'\n[[mail.list]]\naddress='A@b'\n",
     "[mail]: two [[mail.list]] entries say address = 'a@b': keep one"),
    ("[[tree]]\nname='x'\n[mail]\ndaily_limit='5'\n",
     "[mail] daily_limit: must be a whole number (no quotes), got '5'"),
    ("[[tree]]\nname='x'\nsource='git'\npath='/r'\ntarget={url='/srv/next', branch='next'}\n",
     "[[tree]] 1 ('x') target url: '/srv/next' is not a git URL"),
    ("[[tree]]\nname='x'\nsource='git'\npath='/r'\ntarget={url='file:///n', branch='a b'}\n",
     "[[tree]] 1 ('x') target branch: 'a b' is not a branch name"),
    ("[[tree]]\nname='x'\nsource='git'\npath='/r'\ntarget={url='file:///n'}\n",
     "[[tree]] 1 ('x') target branch: missing: add branch = ..."),
    ("[[tree]]\nname='x'\n[identity]\nemail='nobody'\n",
     "[identity] email: 'nobody' is not an address anyone reads"),
    ("[[tree]]\nname='x'\n[identity]\nname='B'\nemail='bot@host.localdomain'\n",
     "[identity] email: 'bot@host.localdomain' is not an address anyone reads"),
    ("[[tree]]\nname='x'\n[identity]\nname='Jane'\n",
     "[identity]: give both name and email, or neither"),
    ("[[tree]]\nname='x'\n[workers]\ndatabase='mysql://h/db'\n",
     "[workers] broker: missing: add broker = ..."),
    ("[[tree]]\nname='x'\n[workers]\nbroker='redis://h'\ndatabase='mysql://h/db'\n",
     "[workers] database: 'mysql://h/db' is not a PostgreSQL URL"),
    ("[[tree]]\nname='x'\n[workers]\nbroker='redis://h'\nvisibility_timeout=0\n",
     "[workers] visibility_timeout: Input should be greater than 0"),
])
def test_bad_config_is_one_line_naming_file_key_and_fix(tmp_path: Path, text: str, message: str):
    path = write(tmp_path, text)
    with pytest.raises(UserError) as err:
        config.load(path)
    line = str(err.value)
    assert "\n" not in line and line.startswith(f"{path}: ")
    assert message in line


def test_bad_config_exits_2_without_a_traceback(tmp_path: Path, capsys):
    from bot import cli

    path = write(tmp_path, "[[tree]]\nname='x'\n[checks]\nboot = 'no'\n")
    assert cli.main(["run", "--config", str(path), "--data-dir", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {path}: [checks] boot: must be true or false (no quotes), got 'no'\n"
    assert not (tmp_path / "d").exists()


def test_example_config_loads_and_documents_every_key():
    example = Path(__file__).resolve().parents[2] / "examples" / "bot.toml"
    cfg = config.load(example)
    debian, stable = cfg.trees
    assert (debian.name, debian.source, debian.releases) == ("debian-linux", "debian", "5.10.*")
    assert (stable.source, stable.url, stable.tags, stable.since) == (
        "git", "file:///srv/git/linux-stable.git", "v5.10.*", "v5.10.200")
    assert stable.branches == () and stable.campaigns == ("kvm-refcounted-pfn",)
    assert cfg.identity.email == "cocci-bot@example.org"
    assert cfg.checks.build and cfg.checks.boot and cfg.checks.dax and cfg.checks.nfc
    assert (cfg.mail.send, cfg.mail.port, cfg.mail.tls, cfg.mail.from_) == (
        False, 587, "starttls", "cocci-bot <cocci-bot@example.org>")
    assert cfg.workers is not None and cfg.source == example
    assert cfg.mail.daily_limit == 20 and [(e.address, e.daily_limit, e.embargo_hours,
                                            e.replies) for e in cfg.mail.lists] == [
        ("kvm@vger.kernel.org", 8, 24.0, "all"), ("*@example.org", 10, 0.0, "author")]
    assert stable.target is not None and (stable.target.url, stable.target.branch) == (
        "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux-stable-rc.git",
        "linux-5.10.y")
    assert (cfg.workers.broker, cfg.workers.database, str(cfg.workers.run_dir)) == (
        "redis://127.0.0.1:6379/0", "postgres://cocci@127.0.0.1/cocci", "/srv/cocci-bot/runs")
    assert cfg.ident == ("cocci-bot", "cocci-bot@example.org")
    text = example.read_text()
    for section, model in config._SECTIONS.items():   # every key is shown in the example
        for key, field in model.model_fields.items():
            assert f"{field.alias or key} = " in text, f"examples/bot.toml lacks {section}.{key}"
    for section, model in config._NESTED.items():
        for key, field in model.model_fields.items():
            assert f"{field.alias or key} = " in text, f"examples/bot.toml lacks {section}.{key}"


def test_overrides_and_old_attribute_names():
    cfg = config.load(None).with_overrides(build=False, boot=None, queue_url="http://q:1")
    assert (cfg.checks.build, cfg.checks.boot, cfg.queue.url, cfg.queue.token_env) == (
        False, True, "http://q:1", "COCCI_BOT_QUEUE_TOKEN")
    assert cfg.ident is None and cfg.workers is None   # the bot authors; inline


@pytest.mark.parametrize(("name", "ok"), [
    ("debian-linux", True), ("linux_stable", True), ("a", True), ("kvm-next2", True),
    ("Debian", False), ("-x", False), ("x-", False), ("a/b", False), ("a.b", False),
    ("", False), ("x" * 65, False), ("../etc", False), ("a b", False)])
def test_one_naming_rule(name: str, ok: bool, tmp_path: Path):
    from bot import names

    assert names.is_valid(name) is ok
    path = write(tmp_path, f"[[tree]]\nname = {name!r}\n")
    if ok:
        assert config.load(path).trees[0].name == name
    else:
        with pytest.raises(UserError, match="is not a valid name"):
            config.load(path)
        assert names.is_valid(names.suggest(name))


def test_apply_default_project_name_follows_the_rule():
    from bot.apply.stage import tree_name

    assert tree_name(Path("/srv/Linux-Stable.git")) == "linux-stable"
    assert tree_name(Path("/srv/linux")) == "linux"


def test_missing_config_file(tmp_path: Path):
    with pytest.raises(UserError, match="does not exist"):
        config.load(tmp_path / "nope.toml")


def test_store_dedupes_jobs(tmp_path: Path):
    store = Store(tmp_path / "s.sqlite3")
    a = store.job("k1", tree="t", tag="v1", base="b" * 40, campaign="c", runs=tmp_path / "runs")
    b = store.job("k1", tree="t", tag="v1", base="b" * 40, campaign="c", runs=tmp_path / "runs")
    c = store.job("k2", tree="t", tag="v2", base="c" * 40, campaign="c", runs=tmp_path / "runs")
    assert a.id == b.id != c.id and a.run_dir == tmp_path / "runs" / str(a.id)
    store.update(a.id, state=Status.PASS, series_url="http://q/series/1/")
    again = store.job("k1", tree="t", tag="v1", base="b" * 40, campaign="c", runs=tmp_path / "runs")
    assert again.state is Status.PASS and again.series_url == "http://q/series/1/"
    assert [j.id for j in store.jobs()] == [a.id, c.id]
