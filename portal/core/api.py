"""API-wide conventions: the error shape (``{"detail": ...}`` or ``{field: [messages]}`` with the right status
code) and pagination."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, parsers, status
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.core.errors import ApplicationError


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
    elif isinstance(exc, ApplicationError):
        if exc.field is None:  # a refusal about the request as a whole: {"detail": "..."}
            return Response({"detail": exc.message}, status=status.HTTP_400_BAD_REQUEST)
        exc = exceptions.ValidationError(exc.as_dict())
    return drf_exception_handler(exc, context)


class JSONParser(parsers.JSONParser):
    """DRF's parser, with JSON nested past what Python's decoder follows refused as a 400 (it raises
    RecursionError, which DRF does not catch)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error: the document is nested too deeply.") from None


class Pagination(PageNumberPagination):
    """Pages of 50 unless ``?page_size=`` asks for up to 200 (a CI job syncing a list wants fewer round trips)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class RecentFirstCursorPagination(CursorPagination):
    """For logs that grow without end (jobs): newest first, ``next``/``previous`` links and no total count,
    so a page costs one indexed query at any size and rows written meanwhile neither repeat nor go missing."""

    ordering = ("-created_at", "-pk")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
