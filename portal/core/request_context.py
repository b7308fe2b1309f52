"""Stamps each request with an id and keeps it, with the client address, for the audit log."""

from __future__ import annotations

import contextvars
import ipaddress
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.ipv6 import clean_ipv6_address


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    ip: str | None


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("gatehouse_request", default=None)


def current_request_context() -> RequestContext | None:
    return _current.get()


def _canonical_ip(address: str | None) -> str | None:
    """The form the database returns, so the audit hash computed before saving still matches after."""
    if not address:
        return None
    try:
        if ":" in address:
            return clean_ipv6_address(address)  # exactly what GenericIPAddressField stores
        return str(ipaddress.IPv4Address(address))
    except (ValueError, ValidationError):
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address. Behind GATEHOUSE_TRUSTED_PROXIES proxies (each appending to X-Forwarded-For),
    the address the outermost trusted proxy saw; the header's other entries are the client's to forge."""
    hops = settings.GATEHOUSE_TRUSTED_PROXIES
    if hops:
        forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
        if len(forwarded) >= hops:
            return _canonical_ip(forwarded[-hops])
    return _canonical_ip(request.META.get("REMOTE_ADDR"))


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        # Accept a caller's id only if it looks like one; never let a header inject arbitrary text.
        request_id = incoming if 8 <= len(incoming) <= 64 and incoming.replace("-", "").isalnum() else ""
        request.id = request_id or uuid.uuid4().hex
        token = _current.set(RequestContext(request_id=request.id, ip=client_ip(request)))
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response["X-Request-ID"] = request.id
        return response
