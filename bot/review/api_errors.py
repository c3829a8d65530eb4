"""API errors as JSON with a message naming the problem; our UserError becomes a 400."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from bot.errors import UserError


def exception_handler(exc, context):
    if isinstance(exc, UserError):
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    return drf_handler(exc, context)
