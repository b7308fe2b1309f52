"""API-wide error shape: ``{"detail": ...}`` or ``{field: [messages]}`` with the right status code."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from portal.errors import ApplicationError


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
    elif isinstance(exc, ApplicationError):
        exc = exceptions.ValidationError(exc.as_dict())
    return drf_exception_handler(exc, context)
