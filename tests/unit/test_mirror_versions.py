from __future__ import annotations

import subprocess

import pytest

from bot.errors import UserError
from bot.mirror.versions import (
    Upstream,
    compare_debian,
    parse_request,
    tag_version,
    upstream_of,
)


def test_upstream_versions_compare_numerically_not_as_text():
    got = sorted(Upstream.parse(v) for v in ["6.1.176", "5.10.223", "5.10.46", "5.10.218", "5.9"])
    assert [str(v) for v in got] == ["5.9", "5.10.46", "5.10.218", "5.10.223", "6.1.176"]


def test_tag_and_series():
    v = Upstream.parse("5.10.223")
    assert v.tag == "v5.10.223"
    assert v.series == "5.10"
    assert tag_version("v5.10.223") == v
    assert tag_version("5.10.223") is None
    assert tag_version("v5.10-rc1") is None
    assert tag_version("debian/5.10") is None


@pytest.mark.parametrize("text, upstream, debian", [
    ("5.10.223", "5.10.223", None),
    ("v5.10.223", "5.10.223", None),
    ("5.10.223-1", "5.10.223", "5.10.223-1"),
    ("6.1.176-1~deb11u1", "6.1.176", "6.1.176-1~deb11u1"),
    (" 5.10.46 ", "5.10.46", None),
])
def test_parse_request(text, upstream, debian):
    req = parse_request(text)
    assert str(req.upstream) == upstream
    assert req.debian == debian


@pytest.mark.parametrize("text", ["5", "five", "5.10.x", "5.10.223-", "-5.10", "5.10.223 6.1", ""])
def test_parse_request_rejects_garbage_with_the_fix(text):
    with pytest.raises(UserError, match="like 5.10.223"):
        parse_request(text)


def test_upstream_of_debian_versions():
    assert str(upstream_of("5.10.46-4")) == "5.10.46"
    assert str(upstream_of("6.1.176-1~deb11u1")) == "6.1.176"
    assert str(upstream_of("1:5.10.46-4")) == "5.10.46"
    assert upstream_of("4.19+105+deb10u1") is None


PAIRS = [
    ("6.1.176-1~deb11u1", "6.1.176-1"),
    ("5.10.46-4", "5.10.218-1"),
    ("5.10.251-4", "5.10.251-5"),
    ("1.0~rc1-1", "1.0-1"),
    ("1.0-1", "1:0.9-1"),
    ("1.0a-1", "1.0b-1"),
    ("1.0-1", "1.0-1+b1"),
    ("1.0-1", "1.0.1-1"),
    ("1.0-1", "1.0-1"),
    ("2.0-10", "2.0-9"),
]


@pytest.mark.parametrize("a, b", PAIRS)
def test_compare_debian_agrees_with_dpkg(a, b):
    """The real dpkg is the reference for Debian version order."""
    def dpkg(op: str) -> bool:
        return subprocess.run(["dpkg", "--compare-versions", a, op, b]).returncode == 0

    expected = -1 if dpkg("lt") else (1 if dpkg("gt") else 0)
    assert compare_debian(a, b) == expected
    assert compare_debian(b, a) == -expected
