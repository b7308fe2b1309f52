"""The compliance pack of a version: the page, the PDF and the JSON downloads, and the API (JSON, or the PDF with
``?format=pdf``). Every role that may read the model may read its pack; the builder does the reading."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from approvals.api.views import RegistryReader
from portal.compliance import pdf
from portal.compliance.mapping import SECTIONS
from portal.compliance.pack import as_json, build_pack, filename
from registry.permissions import require_view_registry


def _pack(request, name: str, number: int):
    require_view_registry(request.user)
    return build_pack(name=name, number=number, user=request.user)


def _download(response: HttpResponse, pack, extension: str) -> HttpResponse:
    name = filename(pack.identification.model, pack.identification.version, extension)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def pack_page(request: HttpRequest, name: str, number: int) -> HttpResponse:
    pack = _pack(request, name, number)
    return render(request, "compliance/pack.html", {"pack": pack, "sections": SECTIONS})


@login_required
def pack_pdf(request: HttpRequest, name: str, number: int) -> HttpResponse:
    pack = _pack(request, name, number)
    return _download(HttpResponse(pdf.render(pack), content_type="application/pdf"), pack, "pdf")


@login_required
def pack_json(request: HttpRequest, name: str, number: int) -> HttpResponse:
    """The pack as JSON: what ``manage.py audit_verify --extract`` reads."""
    pack = _pack(request, name, number)
    response = JsonResponse(as_json(pack), json_dumps_params={"ensure_ascii": False, "indent": 1})
    return _download(response, pack, "json")


class PDFRenderer(BaseRenderer):
    """``?format=pdf`` or ``Accept: application/pdf``: the view hands it the PDF's bytes."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class VersionPackApi(APIView):
    """The compliance evidence pack of a version: every section with the version's figures, its audit extract
    (verifiable with ``manage.py audit_verify --extract``), and what it answers of Annex IV and SR 11-7."""

    permission_classes = [RegistryReader]
    renderer_classes = [*api_settings.DEFAULT_RENDERER_CLASSES, PDFRenderer]

    @extend_schema(
        parameters=[OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "pdf"], description="json (default)")],
        responses={(200, "application/json"): OpenApiTypes.OBJECT, (200, "application/pdf"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, name: str, number: int) -> Response:
        pack = build_pack(name=name, number=number, user=request.user)
        if request.accepted_renderer.format == PDFRenderer.format:
            return _download(Response(pdf.render(pack), content_type=PDFRenderer.media_type), pack, "pdf")
        return Response(as_json(pack))

    def finalize_response(self, request, response, *args, **kwargs):
        # A refusal asked for as a PDF (a 401, a 404) is still said in JSON, never as bytes named a PDF.
        if response.status_code >= 400 and getattr(request, "accepted_renderer", None).__class__ is PDFRenderer:
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
