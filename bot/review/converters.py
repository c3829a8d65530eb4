"""A path converter for database ids: ASCII digits that fit a 64-bit key; anything longer is a
404 like any other unknown id, never an overflow in the database driver."""

from __future__ import annotations

from django.urls import register_converter

from bot import defaults


class IdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > defaults.REVIEW_MAX_ID:
            raise ValueError(f"{value} is beyond the largest id")  # Django answers 404
        return number

    def to_url(self, value: int) -> str:
        return str(int(value))


register_converter(IdConverter, "id")
