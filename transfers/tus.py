"""The tus 1.0.0 resumable upload protocol (https://tus.io/protocols/resumable-upload), core plus the
creation, creation-with-upload, termination, checksum and expiration extensions, at /api/v1/uploads/.

Written here rather than taken from a package: django-tus and its kin have had no release for years and
read each request body into memory; the protocol's core is five headers. tus-js-client (the form's uploader)
and any tus client speak it; so does plain curl (README, "Large models")."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import reverse
from django.utils.http import http_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from transfers import selectors, services
from transfers.models import Upload
from transfers.services import Refused

TUS_VERSION = "1.0.0"
OFFSET_TYPE = "application/offset+octet-stream"


class MayUpload(BasePermission):
    """Uploads are for people who may register versions or datasets; the registry checks the model itself."""

    def has_permission(self, request, view) -> bool:
        return request.user.has_perm("registry.add_modelversion") or request.user.has_perm("registry.add_dataset")


class _Tus(APIView):
    permission_classes = [IsAuthenticated, MayUpload]

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != TUS_VERSION:
            raise Refused(f"Send the header 'Tus-Resumable: {TUS_VERSION}': this server speaks tus {TUS_VERSION}.", 412)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == 412:  # the protocol's answer to a version it does not speak
            response["Tus-Version"] = TUS_VERSION
        response["Tus-Resumable"] = TUS_VERSION
        response["Cache-Control"] = "no-store"
        return response


def _int_header(request: Request, name: str) -> int:
    raw = request.headers.get(name, "")
    if not raw.isdigit():
        raise Refused(f"The header {name} must be a whole number of bytes (it is {raw[:40]!r}).")
    return int(raw)


def _expires(upload: Upload) -> str:
    return http_date((upload.touched_at + dt.timedelta(hours=settings.GATEHOUSE_RESUMABLE_EXPIRE_H)).timestamp())


def _state(upload: Upload, response: Response) -> Response:
    response["Upload-Offset"] = str(upload.offset)
    response["Upload-Length"] = str(upload.length)
    response["Upload-Expires"] = _expires(upload)
    if upload.complete:
        response["X-Checksum-SHA256"] = upload.sha256
    return response


def _body(request: Request) -> tuple[object, int | None]:
    if (request.content_type or "").split(";")[0].strip() != OFFSET_TYPE:
        raise Refused(f"Send the bytes with 'Content-Type: {OFFSET_TYPE}'.", status=415)
    length = request.headers.get("Content-Length")
    if not (length and length.isdigit()):  # Django reads no body without one (a chunked PATCH would add nothing)
        raise Refused("Send Content-Length with the bytes (curl -T FILE does; a pipe is sent chunked).", status=411)
    return request._request, int(length)


def _append(request: Request, upload: Upload, offset: int) -> Upload:
    stream, length = _body(request)
    checksum = services.parse_checksum(request.headers.get("Upload-Checksum"))
    return services.upload_append(upload=upload, offset=offset, stream=stream, length=length, checksum=checksum)


class UploadCollectionApi(_Tus):
    @extend_schema(responses={204: OpenApiResponse(description="Tus-Version, Tus-Extension, Tus-Max-Size headers")})
    def options(self, request: Request, *args, **kwargs) -> Response:
        response = Response(status=204)
        response["Tus-Version"] = TUS_VERSION
        response["Tus-Extension"] = "creation,creation-with-upload,termination,checksum,expiration"
        response["Tus-Max-Size"] = str(settings.GATEHOUSE_MAX_UPLOAD_MB * 1024 * 1024)
        response["Tus-Checksum-Algorithm"] = ",".join(services.CHECKSUMS)
        return response

    @extend_schema(
        request=OpenApiTypes.BINARY,
        responses={201: OpenApiTypes.OBJECT},
        description="tus creation: Upload-Length and Upload-Metadata (filename) headers; Location answers.",
    )
    def post(self, request: Request) -> Response:
        if "Upload-Defer-Length" in request.headers:
            raise Refused("Announce the file's size with Upload-Length; a deferred length is not taken.")
        length = _int_header(request, "Upload-Length")
        metadata = selectors.parse_metadata(request.headers.get("Upload-Metadata", ""))
        upload = services.upload_create(actor=request.user, length=length, filename=metadata.get("filename", ""))
        if request.headers.get("Content-Length", "0") not in ("", "0"):  # creation-with-upload
            upload = _append(request, upload, 0)
        url = request.build_absolute_uri(reverse("upload-detail", args=[upload.pk]))
        response = _state(upload, Response({"id": str(upload.pk), "url": url}, status=201))
        response["Location"] = url
        return response


class UploadDetailApi(_Tus):
    def _upload(self, request: Request, pk) -> Upload:
        return selectors.upload_get(actor=request.user, pk=pk)

    @extend_schema(responses={200: OpenApiResponse(description="Upload-Offset and Upload-Length headers")})
    def head(self, request: Request, pk) -> Response:
        return _state(self._upload(request, pk), Response(status=200))

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk) -> Response:
        """Where the upload stands, as JSON (tus clients ask with HEAD; this is for people and scripts)."""
        upload = self._upload(request, pk)
        body = {
            "id": str(upload.pk),
            "filename": upload.filename,
            "length": upload.length,
            "offset": upload.offset,
            "complete": upload.complete,
            "sha256": upload.sha256 or None,
        }
        return _state(upload, Response(body))

    @extend_schema(
        request=OpenApiTypes.BINARY,
        responses={204: OpenApiResponse(description="Upload-Offset: where the upload stands now")},
        description="Bytes at Upload-Offset, as application/offset+octet-stream; Upload-Checksum optional.",
    )
    def patch(self, request: Request, pk) -> Response:
        upload = self._upload(request, pk)
        upload = _append(request, upload, _int_header(request, "Upload-Offset"))
        return _state(upload, Response(status=204))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk) -> Response:
        services.upload_discard(actor=request.user, upload=self._upload(request, pk), reason="deleted by its owner")
        return Response(status=204)


class UploadDetailAliasApi(UploadDetailApi):
    """The same resource without the trailing slash (for curl -T), left out of the schema."""

    schema = None
