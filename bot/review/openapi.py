"""The served OpenAPI schema: drf-spectacular describes our views; for every Patchwork 1.2
operation the response bodies are Patchwork's own published shapes (prefixed `Pw`), so clients
and fuzzers see exactly the contract git-pw relies on."""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import yaml

PATCHWORK_SCHEMA = Path(__file__).with_name("schema") / "patchwork-api-v1.2.yaml"
PREFIX = "Pw"


@functools.cache
def patchwork() -> dict[str, Any]:
    return yaml.safe_load(PATCHWORK_SCHEMA.read_text(encoding="utf-8"))


def _renamed(node: Any) -> Any:
    if isinstance(node, dict):
        # Patchwork's schemas carry a non-standard `name: <Title>` next to `type`
        out = {k: _renamed(v) for k, v in node.items()
               if not (k == "name" and isinstance(v, str) and "type" in node)}
        ref = out.get("$ref")
        if isinstance(ref, str):
            out["$ref"] = re.sub(r"^#/components/schemas/", f"#/components/schemas/{PREFIX}", ref)
        return out
    if isinstance(node, list):
        return [_renamed(v) for v in node]
    return node


def patchwork_shapes(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular post-processing hook."""
    pw = patchwork()
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in pw["components"]["schemas"].items():
        schemas[PREFIX + name] = _renamed(copy.deepcopy(schema))
    for path, ops in result.get("paths", {}).items():
        pw_ops = pw["paths"].get(path.rstrip("/") if path != "/api/1.2/" else path)
        if not pw_ops:
            continue
        for method, op in ops.items():
            pw_op = pw_ops.get(method)
            if not isinstance(pw_op, dict):
                continue
            for status, response in pw_op.get("responses", {}).items():
                content = response.get("content", {}).get("application/json")
                if status.startswith("2") and content and status in op.get("responses", {}):
                    op["responses"][status]["content"] = {
                        "application/json": {"schema": _renamed(copy.deepcopy(
                            content["schema"]))}}
    return result


def canonical_only(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[tuple[Any, ...]]:
    """drf-spectacular pre-processing hook: the /api/, /api/1.0/... aliases serve the same views
    as /api/1.2/; the schema describes each operation once."""
    return [e for e in endpoints if e[0].startswith(("/api/1.2/", "/api/cocci/"))]
