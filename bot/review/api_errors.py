"""Errors as a message naming the problem, never a bare 500: our UserError becomes a 400, a
Conflict a 409, InfraError and a database that cannot write (full disk, unreachable, locked)
a 503; a value the database refuses despite validation (a backstop) a 400."""

from __future__ import annotations

from django.db import DatabaseError, DataError, IntegrityError, OperationalError
from django.http import JsonResponse
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from bot.errors import InfraError, UserError


class Conflict(UserError):
    """The request collides with what is stored (a Message-ID already taken): a 409, which a
    client must not retry."""


_FULL = ("disk is full", "database or disk is full", "no space left", "could not extend file",
         "diskfull", "disk full")


def database_problem(exc: DatabaseError) -> tuple[int, str] | None:
    """(status, message) for a database error a request can meet, None for a programming error."""
    text = f"{exc} {exc.__cause__ or ''}".lower()
    sqlstate = getattr(exc.__cause__, "sqlstate", None) or ""
    if sqlstate.startswith("53") or any(s in text for s in _FULL):
        return 503, ("the review queue's database is out of space (disk full): nothing was "
                     "stored; the operator must free space, then retry")
    if isinstance(exc, DataError):
        return 400, f"a value does not fit the database: {str(exc).splitlines()[0]}"
    if isinstance(exc, IntegrityError):
        return 409, f"conflicts with what is stored: {str(exc).splitlines()[0]}"
    if isinstance(exc, OperationalError):
        return 503, (f"the review queue's database is unavailable ({str(exc).splitlines()[0]}); "
                     "retry later")
    return None


def exception_handler(exc, context):
    if isinstance(exc, Conflict):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, UserError):
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, InfraError):
        return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    if isinstance(exc, DatabaseError) and (known := database_problem(exc)):
        return Response({"detail": known[1]}, status=known[0])
    return drf_handler(exc, context)


def as_response(exc: Exception) -> JsonResponse | None:
    """For the pages (outside DRF): the same mapping as the API's."""
    if isinstance(exc, DatabaseError) and (known := database_problem(exc)):
        return JsonResponse({"detail": known[1]}, status=known[0])
    return None
