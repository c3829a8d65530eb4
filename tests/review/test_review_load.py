"""The load test, small and bounded: 200 concurrent readers and a bot posting, 0 errors.
(Latency figures come from the full run: .venv/bin/python bench/review_load.py.)"""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "review_load.py"


def test_200_readers_and_a_posting_bot_see_no_errors(capsys):
    spec = importlib.util.spec_from_file_location("review_load", BENCH)
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rc = bench.main(["--readers", "200", "--requests", "2", "--posts", "5", "--seed", "2",
                     "--deadline", "90"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "review-load: PASS 200 readers, 400 reads" in out and "5 posts" in out
    assert "list p50" in out and "detail p99" in out
