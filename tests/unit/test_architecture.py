"""The shape of the code, checked: pipeline/ never imports workers/ (workers is an executor the
CLI registers), and imports inside functions are kept to the named exceptions."""

from __future__ import annotations

import ast
from pathlib import Path

import bot

ROOT = Path(bot.__file__).parent

# Where an import inside a function is the rule, not a leftover:
#  - a subcommand's cli.py imports its stage library when it runs (`cocci-bot --help` and the
#    other subcommands never load tuxmake, elftools, requests, Django, Celery);
#  - bot/review: Django's modules import only once its settings are configured;
#  - bot/workers/app.py: Celery, a heavy dependency used only with [workers].
def allowed_local(rel: str, module: str) -> bool:
    """`rel`: the file's path under bot/."""
    return (rel.endswith("/cli.py") or rel.startswith("review/")
            or (rel == "workers/app.py" and module.split(".")[0] == "celery"))


def imports(path: Path) -> list[tuple[str, bool, int]]:
    """(module, inside a function, line) for every import statement of `path`."""
    tree = ast.parse(path.read_text(), str(path))
    local: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            local |= {id(n) for n in ast.walk(fn) if isinstance(n, ast.Import | ast.ImportFrom)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, id(node) in local, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
            out += [(n, id(node) in local, node.lineno) for n in [node.module, *names]]
    return out


def sources(root: Path) -> list[Path]:
    return [p for p in sorted(root.rglob("*.py")) if "migrations" not in p.parts]


def pipeline_imports_of_workers(root: Path) -> list[str]:
    return [f"{p}:{line}: {mod}" for p in sources(root / "pipeline")
            for mod, _local, line in imports(p)
            if mod == "bot.workers" or mod.startswith("bot.workers.")]


def stray_local_imports(root: Path) -> list[str]:
    return sorted({f"{rel}:{line}: {mod}" for p in sources(root)
                   for rel in [p.relative_to(root).as_posix()]
                   for mod, local, line in imports(p) if local and not allowed_local(rel, mod)})


def test_pipeline_never_imports_workers():
    assert pipeline_imports_of_workers(ROOT) == []


def test_imports_inside_functions_are_the_named_exceptions():
    assert stray_local_imports(ROOT) == []


def test_the_checks_see_a_violation(tmp_path: Path):
    """Both checks fail on a tree that breaks them (a lazy import hides nothing)."""
    (tmp_path / "pipeline").mkdir()
    (tmp_path / "workers").mkdir()
    (tmp_path / "pipeline" / "run.py").write_text(
        "import os\n\ndef f():\n    from bot.workers import stages\n    return stages\n")
    (tmp_path / "workers" / "app.py").write_text(
        "def make():\n    import celery\n    import json\n    return celery, json\n")
    (tmp_path / "workers" / "cli.py").write_text("def run():\n    import bot.workers.worker\n")
    assert pipeline_imports_of_workers(tmp_path) == [
        f"{tmp_path}/pipeline/run.py:4: bot.workers", f"{tmp_path}/pipeline/run.py:4: "
        "bot.workers.stages"]
    assert stray_local_imports(tmp_path) == ["pipeline/run.py:4: bot.workers",
                                             "pipeline/run.py:4: bot.workers.stages",
                                             "workers/app.py:3: json"]
