"""Kernel builds through tuxmake (`--runtime null`: the host's own gcc, make and ccache).

tuxmake gives us: tinyconfig + fragment merged with the tree's scripts/kconfig/merge_config.sh
and olddefconfig, per-target PASS/FAIL, metadata.json (durations, compiler, ccache hits,
warning counts), build.log and reproducer.sh in its output directory.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import defaults, proc
from bot.build import ledger

# `default` is plain `make`, which on x86 builds vmlinux and bzImage; tuxmake's `kernel` target
# would run a second `make bzImage` over the whole tree (about 5-10 s of directory walking on a
# busy 2-core host) only to copy the same image, so the stage copies it itself (copy_image)
BUILD_TARGETS = ("config", "default")
KERNEL_IMAGE = "arch/x86/boot/bzImage"


@dataclass(frozen=True)
class Spec:
    source: Path           # the kernel source tree (a clean checkout)
    build_dir: Path        # O= directory, kept for incremental builds
    output_dir: Path       # tuxmake's artefacts: build.log, config, bzImage, metadata.json
    fragment: Path
    targets: tuple[str, ...] = BUILD_TARGETS
    jobs: int = defaults.BUILD_JOBS
    base_config: str = defaults.BUILD_BASE_CONFIG
    tree_fragments: tuple[Path, ...] = ()   # per-tree settings (bot/build/settings.py), merged last
    recorder: Path | None = None   # a dir whose `ccache` keeps each object's warnings (ledger.py)


def argv(spec: Spec, python: str = sys.executable) -> list[str]:
    """The tuxmake command line of one build (KCFLAGS pinned empty: tuxmake's default names the
    build dir, which would make the base and patched command lines differ and defeat both
    incremental builds and ccache)."""
    return [
        python, "-m", "tuxmake", "--runtime", "null",
        "--directory", str(spec.source), "--build-dir", str(spec.build_dir),
        "--output-dir", str(spec.output_dir),
        "--target-arch", defaults.BUILD_ARCH, "--toolchain", defaults.BUILD_TOOLCHAIN,
        "--wrapper", "ccache", "--jobs", str(spec.jobs),
        "--kconfig", spec.base_config, "--kconfig-add", str(spec.fragment),
        *(arg for extra in spec.tree_fragments for arg in ("--kconfig-add", str(extra))),
        "--environment", "KCFLAGS=",
        *defaults.BUILD_MAKE_VARIABLES,
        *spec.targets,
    ]


def env(recorder: Path | None = None, compiled: Path | None = None) -> dict[str, str]:
    """ccache in depend mode: a miss costs the compile alone, not a preprocessor run first to
    compute the key (kernel objects are mostly headers: the extra run made an empty-cache build
    about a third slower than a plain one); the key comes from the -MMD dependency file the
    kernel's own flags ask gcc for, so hits are as before."""
    found = {"CCACHE_DIR": str(defaults.ccache_dir()), "CCACHE_DEPEND": "1"}
    if recorder is not None:    # its `ccache` first on PATH: tuxmake's wrapper runs it
        found["PATH"] = f"{recorder}{os.pathsep}{os.environ.get('PATH', os.defpath)}"
    if compiled is not None:    # the recorder lists every object it compiles there
        found["COCCI_BOT_COMPILED"] = str(compiled)
    return found


def run(spec: Spec, log_path: Path) -> proc.Result:
    spec.output_dir.mkdir(parents=True, exist_ok=True)
    compiled = spec.output_dir / ledger.COMPILED if spec.recorder else None
    if compiled is not None:
        compiled.unlink(missing_ok=True)
    return proc.run(argv(spec), timeout=defaults.TIMEOUT_BUILD, env=env(spec.recorder, compiled),
                    check=False, log_path=log_path)


def metadata(output_dir: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((output_dir / "metadata.json").read_text()))
    except (OSError, ValueError):
        return {}


def copy_image(spec: Spec) -> bool:
    """The built kernel image into the output dir (as tuxmake's `kernel` target would)."""
    image = spec.build_dir / KERNEL_IMAGE
    if not image.is_file():
        return False
    shutil.copy2(image, spec.output_dir / "bzImage")
    return True


def status(meta: dict[str, Any], target: str = "kernel") -> str:
    """PASS or FAIL of one target (tuxmake's WARNING counts as PASS: warnings are compared
    separately)."""
    value = meta.get("results", {}).get("targets", {}).get(target, {}).get("status")
    return "PASS" if value in ("PASS", "WARNING") else "FAIL"
