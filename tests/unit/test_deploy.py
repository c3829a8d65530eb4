"""The deployment files, checked without a Docker engine: deploy/Dockerfile, deploy/compose.yaml
(+ compose.kvm.yaml and the bot.toml it mounts), the systemd units and .dockerignore.

Every command they run must be a real cocci-bot command line (parsed by cocci-bot's own parser)
or a script in the repository; every service they name must be configured; every volume must be
mounted where the code looks for it."""

from __future__ import annotations

import configparser
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from bot import defaults
from bot.cli import build_parser
from bot.pipeline import config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
IMAGE = "cocci-bot:latest"


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            instr, _, rest = pending.strip().partition(" ")
            out.append((instr.upper(), rest.strip()))
            pending = ""
    return out


def instr(name: str) -> list[str]:
    return [rest for i, rest in dockerfile() if i == name]


def json_or_words(rest: str) -> list[str]:
    return yaml.safe_load(rest) if rest.startswith("[") else shlex.split(rest)


def env() -> dict[str, str]:
    out: dict[str, str] = {}
    for rest in instr("ENV"):
        for word in shlex.split(rest):
            key, _, value = word.partition("=")
            out[key] = value
    return out


def cocci_bot_argv(argv: list[str]) -> None:
    """Parse a cocci-bot command line with the real parser: fails on an unknown command/option."""
    parser = build_parser()
    try:
        parser.parse_args(argv)
    except Exception as exc:
        pytest.fail(f"not a valid cocci-bot command line: {argv}: {exc}")


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def bot_services() -> dict[str, dict]:
    return {n: s for n, s in compose()["services"].items() if s.get("image") == IMAGE}


def mounts(service: dict) -> dict[str, str]:
    """container path -> source (named volume or host path)."""
    out = {}
    for v in service.get("volumes", []):
        src, dst, *_ = v.split(":")
        out[dst] = src
    return out


def compose_config() -> tuple[Path, config.Config]:
    """The bot.toml the compose file mounts at the --config path its services use."""
    watcher = compose()["services"]["watcher"]
    cfg_path = watcher["command"][watcher["command"].index("--config") + 1]
    src = mounts(watcher)[cfg_path]
    host = (DEPLOY / src).resolve()
    assert host.is_file(), f"compose mounts {src} at {cfg_path} but deploy/{src} does not exist"
    return host, config.load(host)


# --- Dockerfile ---------------------------------------------------------------------------------

def test_dockerfile_builds_from_the_setup_script_in_its_runtime_profile():
    assert instr("FROM") == ["debian:bookworm"]   # the Debian setup.sh targets (bookworm + bullseye sources)
    runs = " ".join(instr("RUN"))
    assert "./deploy/setup.sh --runtime" in runs
    for script in re.findall(r"\./(deploy/[\w.-]+)", runs):
        assert (ROOT / script).is_file(), f"the Dockerfile runs {script}, which is not in the repo"
    runtime = subprocess.run([str(DEPLOY / "setup.sh"), "--list", "--runtime"], check=True,
                             capture_output=True, text=True).stdout.split()
    full = subprocess.run([str(DEPLOY / "setup.sh"), "--list"], check=True,
                          capture_output=True, text=True).stdout.split()
    for needed in ("coccinelle", "qemu-system-x86", "gcc", "git", "busybox-static", "ccache"):
        assert needed in runtime
    for test_only in ("chromium", "postgresql", "redis-server"):
        assert test_only in full and test_only not in runtime
    setup = (DEPLOY / "setup.sh").read_text()
    runtime_pip = setup[setup.index('if [ "$runtime" = 1 ]; then\n      "$venv/bin/pip"'):]
    assert "[dev]" not in runtime_pip.splitlines()[1], "the runtime profile installs test tools"


def test_dockerfile_runs_the_queue_as_a_non_root_user_on_0_0_0_0():
    users = instr("USER")
    assert users and users[-1] not in ("root", "0")
    assert any("useradd" in r and users[-1] in r for r in instr("RUN"))
    assert json_or_words(instr("ENTRYPOINT")[-1]) == ["cocci-bot"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "cocci-bot" in scripts
    cmd = json_or_words(instr("CMD")[-1])
    cocci_bot_argv(cmd)
    assert cmd[0] == "serve" and cmd[cmd.index("--host") + 1] == "0.0.0.0"
    assert instr("EXPOSE") == [cmd[cmd.index("--port") + 1]]


def test_dockerfile_volumes_are_where_the_code_keeps_its_data():
    e = env()
    volumes = json_or_words(instr("VOLUME")[-1])
    data = f"{e['XDG_DATA_HOME']}/cocci-bot"      # defaults.data_dir()
    cache = f"{e['XDG_CACHE_HOME']}/cocci-bot"    # defaults.cache_dir(): downloads, ccache
    assert data in volumes and cache in volumes
    assert e["PATH"].startswith("/opt/cocci-bot/.venv/bin:")   # setup.sh's venv under WORKDIR
    assert instr("WORKDIR") == ["/opt/cocci-bot"]
    _, cfg = compose_config()
    assert cfg.workers is not None and str(cfg.workers.run_dir) in volumes
    owned = " ".join(instr("RUN"))
    for v in volumes:
        assert v in owned, f"volume {v} is not created/owned for the non-root user"


def test_dockerfile_labels_the_tool_versions_and_the_build_checks_them():
    labels = " ".join(instr("LABEL"))
    runs = " ".join(instr("RUN"))
    args = dict(a.split("=", 1) for a in instr("ARG"))
    for tool, arg, probe in (("spatch", "SPATCH_VERSION", "spatch --version"),
                             ("qemu", "QEMU_VERSION", "qemu-system-x86_64 --version"),
                             ("gcc", "GCC_VERSION", "gcc -dumpfullversion")):
        assert f'org.cocci-bot.{tool}.version="${{{arg}}}"' in labels
        assert probe in runs and f"${{{arg}}}" in runs, f"the build does not verify {arg}"
        assert args[arg]
    # the labels match what this machine (the same Debian) has
    spatch = subprocess.run(["spatch", "--version"], capture_output=True, text=True).stdout
    assert f"spatch version {args['SPATCH_VERSION']} " in spatch


def test_dockerignore_keeps_local_state_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for pattern in (".venv", ".git", "**/__pycache__", "build/", "dist/", "*.egg-info", "runs/",
                    "build-work/", "deploy/.env"):
        assert pattern in ignored


# --- compose ------------------------------------------------------------------------------------

def test_compose_has_every_part_with_a_health_check():
    services = compose()["services"]
    assert {"queue", "postgres", "redis", "watcher", "worker-apply-post",
            "worker-build-boot"} <= set(services)
    for name, svc in services.items():
        assert "healthcheck" in svc, f"service {name} has no health check"
        for dep in svc.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown service {dep}"
    for svc in bot_services().values():
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (DEPLOY / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()


def test_compose_commands_are_real_cocci_bot_command_lines():
    queues: set[str] = set()
    for name, svc in bot_services().items():
        cocci_bot_argv(svc["command"])
        test = svc["healthcheck"]["test"]
        assert test[0] == "CMD"
        if test[1] == "cocci-bot":
            cocci_bot_argv(test[2:])
        else:
            assert test[1] == "python3", f"{name}: health check runs {test[1]}, not in the image"
        if svc["command"][0] == "worker":
            queues |= set(svc["command"][svc["command"].index("--queues") + 1].split(","))
    assert queues == set(defaults.WORKER_QUEUES), "some stage queue has no worker"
    queue = compose()["services"]["queue"]
    assert queue["command"][queue["command"].index("--host") + 1] == "0.0.0.0"


def test_compose_services_named_in_the_configuration_exist():
    services = compose()["services"]
    _, cfg = compose_config()
    assert cfg.workers is not None
    for url in (cfg.workers.broker, cfg.workers.database, cfg.queue.url,
                services["queue"]["environment"]["DATABASE_URL"]):
        host = urlsplit(url).hostname
        assert host in services, f"{url} names host {host}, which is no compose service"
    assert urlsplit(cfg.queue.url).port == 8000
    # the queue answers only to the Host names it is told (Django ALLOWED_HOSTS): the workers'
    allowed = services["queue"]["environment"]["COCCI_REVIEW_ALLOWED_HOSTS"].split(",")
    assert urlsplit(cfg.queue.url).hostname in allowed
    assert "127.0.0.1" in allowed     # the health check and the published port
    redis_port = urlsplit(cfg.workers.broker).port
    assert redis_port == 6379
    assert "PGPASSWORD" in services["queue"]["environment"]


def test_compose_volumes_are_mounted_where_the_code_expects_them():
    doc = compose()
    e = env()
    data = f"{e['XDG_DATA_HOME']}/cocci-bot"
    cache = f"{e['XDG_CACHE_HOME']}/cocci-bot"
    _, cfg = compose_config()
    assert cfg.workers is not None
    run_dir = str(cfg.workers.run_dir)
    run_volumes = set()
    for name, svc in bot_services().items():
        m = mounts(svc)
        assert data in m, f"{name}: no volume at the data dir {data}"
        for src in m.values():
            assert src in doc["volumes"] or (DEPLOY / src).exists(), f"{name}: {src} undeclared"
        if name == "queue":
            continue
        assert cache in m and run_dir in m, f"{name}: cache or shared run dir not mounted"
        run_volumes.add(m[run_dir])
        cmd = svc["command"]
        assert cmd[cmd.index("--config") + 1] in m
    assert len(run_volumes) == 1, "the watcher and the workers must share one run dir"
    pg = doc["services"]["postgres"]
    assert mounts(pg)["/var/lib/postgresql/data"] in doc["volumes"]


def test_compose_kvm_override_passes_dev_kvm_to_the_boot_worker():
    kvm = yaml.safe_load((DEPLOY / "compose.kvm.yaml").read_text())
    for name, svc in kvm["services"].items():
        base = compose()["services"][name]
        assert "boot" in base["command"][base["command"].index("--queues") + 1].split(",")
        assert "/dev/kvm:/dev/kvm" in svc["devices"]


# --- systemd ------------------------------------------------------------------------------------

UNITS = ("cocci-bot-review.service", "cocci-bot-run.service", "cocci-bot-worker@.service")


@pytest.mark.parametrize("unit", UNITS)
def test_systemd_units_run_real_commands_hardened(unit: str):
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / unit)
    svc = parser["Service"]
    argv = shlex.split(svc["ExecStart"].replace("%i", "apply,post"))
    assert argv[0] == "/opt/cocci-bot/.venv/bin/cocci-bot"
    cocci_bot_argv(argv[1:])
    assert svc["User"] != "root"
    for key, value in (("NoNewPrivileges", "true"), ("ProtectSystem", "strict"),
                       ("ProtectHome", "read-only"), ("PrivateTmp", "true")):
        assert svc.get(key) == value, f"{unit}: {key}={value} missing"
    writable = svc["ReadWritePaths"].split()
    assert "/home/cocci-bot/.local/share/cocci-bot" in writable   # defaults.data_dir() for the user
    if "--config" in argv:
        cfg = argv[argv.index("--config") + 1]
        assert cfg.startswith("/etc/"), "config outside /etc is not readable under ProtectSystem"
