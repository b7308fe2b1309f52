"""API-wide conventions: the error shape (``{"detail": ...}`` or ``{field: [messages]}`` with the right status
code) and pagination."""

from __future__ import annotations

import copy

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, parsers, serializers, status
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.core.errors import ApplicationError, Conflict


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
    ignored, so a client that sends ``owner`` or ``stage`` learns at once that it changed nothing."""

    IGNORED = frozenset({"csrfmiddlewaretoken"})  # sent by the browsable API's forms

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
    """A ModelSerializer whose fields are built from the model once per class, and copied for each instance
    as DRF copies declared fields: building them took two thirds of rendering one version (bench/README.md).
    Only for serializers whose fields do not depend on the instance or the context."""

    def get_fields(self):
        built = type(self).__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()
            type(self)._built_fields = built
        return copy.deepcopy(built)


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
