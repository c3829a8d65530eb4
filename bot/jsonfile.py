"""JSON result files (build.json, boot.json): written early, replaced atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write(path: Path, data: dict[str, Any]) -> None:
    """Replace `path` with `data` atomically: readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
