"""The API's JSON parser: DRF's, plus the limits every database can honour, each refused with a
400 naming it: nesting deeper than REVIEW_MAX_JSON_DEPTH (Python's parser would otherwise blow
its stack), and numbers no float can hold (`1e999` would be stored as Infinity, which is not
JSON and which PostgreSQL refuses)."""

from __future__ import annotations

import codecs
import json
import math
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from bot import defaults


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range for a float")
    return value


def _constant(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON number")


def depth(value: Any) -> int:
    """How deeply lists and objects nest in `value` (no recursion: any depth is measured)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def loads(text: str) -> Any:
    try:
        data = json.loads(text, parse_float=_finite, parse_constant=_constant)
    except RecursionError as exc:
        raise ParseError(f"JSON nested too deeply: at most {defaults.REVIEW_MAX_JSON_DEPTH} "
                         "levels of lists and objects") from exc
    except ValueError as exc:
        raise ParseError(f"JSON parse error - {exc}") from exc
    if depth(data) > defaults.REVIEW_MAX_JSON_DEPTH:
        raise ParseError(f"JSON nested too deeply: at most {defaults.REVIEW_MAX_JSON_DEPTH} "
                         "levels of lists and objects")
    return data


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
        except (UnicodeError, LookupError) as exc:
            raise ParseError(f"request body is not {encoding} text: {exc}") from exc
        return loads(text)
