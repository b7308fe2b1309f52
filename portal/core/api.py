"""API-wide conventions: the error shape (``{"detail": ...}`` or ``{field: [messages]}`` with the right status
code) and pagination."""

from __future__ import annotations

import copy

import orjson
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, parsers, renderers, serializers, status
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils import encoders
from rest_framework.views import exception_handler as drf_exception_handler

from portal.core.errors import ApplicationError, Conflict
from portal.core.pagination import CountSparingPaginator


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
    elif isinstance(exc, Conflict):
        return Response(exc.as_dict() if exc.field else {"detail": exc.message}, status=status.HTTP_409_CONFLICT)
    elif isinstance(exc, ApplicationError):
        if getattr(exc, "status", None):  # a refusal that names its own status (transfers: 409, 411, 413, 460…)
            return Response({"detail": exc.message}, status=exc.status)
        if exc.field is None:  # a refusal about the request as a whole: {"detail": "..."}
            return Response({"detail": exc.message}, status=status.HTTP_400_BAD_REQUEST)
        exc = exceptions.ValidationError(exc.as_dict())
    return drf_exception_handler(exc, context)


class InputSerializer(serializers.Serializer):
    """An API input: a field it does not take (unknown, read-only, misspelt) is refused with its name, never
    ignored, so a client that sends ``owner`` or ``stage`` learns at once that it changed nothing. Its declared
    fields are copied as OutputSerializer copies them (below), not deeply."""

    IGNORED = frozenset({"csrfmiddlewaretoken"})  # sent by the browsable API's forms

    def get_fields(self):
        return _copies(self._declared_fields)

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields) - self.IGNORED)
            if unknown:
                raise exceptions.ValidationError(
                    {
                        "detail": [
                            f"These fields cannot be set here: {', '.join(unknown)}. The fields you may send: "
                            f"{', '.join(self.fields)}."
                        ]
                    }
                )
        return super().to_internal_value(data)


class OutputSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose fields are built from the model once per class, and copied for each instance:
    building them took two thirds of rendering one version (bench/README.md). Only for serializers whose fields
    do not depend on the instance or the context.

    A field is copied shallowly: DRF's deep copy constructs the field again from its arguments, most of a
    small response's serialising (§9), while binding a field to its serializer only sets attributes of its
    own. A field with fields inside it (a nested serializer, a list's child, a many-relation) is bound with
    them, so it is still copied deeply."""

    def get_fields(self):
        built = type(self).__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()
            type(self)._built_fields = built
        return _copies(built)


def _copies(fields) -> dict:
    return {name: copy.deepcopy(field) if _nests(field) else copy.copy(field) for name, field in fields.items()}


def _nests(field) -> bool:
    return isinstance(field, serializers.BaseSerializer) or hasattr(field, "child") or hasattr(field, "child_relation")


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON, written by orjson (bench/README.md §9): compact UTF-8 with U+2028/U+2029 escaped as DRF escapes
    them, the same bytes as DRF's except that a float below 1e-4 in magnitude is written in an equal, shorter
    notation (``0.00001`` where DRF writes ``1e-05``, ``1e-7`` for ``1e-07``): the same number to every JSON
    parser. What orjson would write differently otherwise goes through DRF's encoder as before: datetimes
    (DRF's format, milliseconds and ``Z``), Decimal, lazy strings, querysets (``default``), integers past 64
    bits (the fallback), and an indented response the client asked for. A float NaN or infinity, which the
    services refuse to store, comes out as ``null`` rather than an error."""

    OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
    _default = staticmethod(encoders.JSONEncoder().default)

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None or self.get_indent(accepted_media_type or "", renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            out = orjson.dumps(data, default=self._default, option=self.OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        if b"\xe2\x80\xa8" in out or b"\xe2\x80\xa9" in out:  # as DRF: safe inside a <script> block
            out = out.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
        return out


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

    django_paginator_class = CountSparingPaginator
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
