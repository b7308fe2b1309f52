"""Direct uploads to the bucket (transfers.direct), as JSON: start one and get a presigned URL per part, PUT
the parts to the bucket, then complete it with their ETags; the server computes the digest from the object."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.core.api import InputSerializer
from transfers import direct, selectors, services
from transfers.tus import MayUpload


class DirectCreateInput(InputSerializer):
    filename = serializers.CharField(max_length=1024, help_text="Its path in the version, e.g. model.onnx.data.")
    length = serializers.IntegerField(min_value=1, help_text="The file's size in bytes.")


class DirectCompleteInput(InputSerializer):
    parts = serializers.ListField(child=serializers.DictField(), help_text='[{"number": 1, "etag": "…"}, …]')


def _body(request: Request, upload) -> dict:
    body = {
        "id": str(upload.pk),
        "filename": upload.filename,
        "length": upload.length,
        "part_size": upload.part_size,
        "complete": upload.complete,
        "sha256": upload.sha256 or None,
        "complete_url": request.build_absolute_uri(reverse("upload-direct-complete", args=[upload.pk])),
    }
    if not upload.complete:
        body["parts"] = direct.part_urls(upload)
    return body


class _Direct(APIView):
    permission_classes = [IsAuthenticated, MayUpload]


class DirectUploadListApi(_Direct):
    @extend_schema(request=DirectCreateInput, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        data = DirectCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = direct.direct_upload_create(actor=request.user, **data.validated_data)
        return Response(_body(request, upload), status=201)


class DirectUploadDetailApi(_Direct):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk) -> Response:
        """Where it stands, with fresh part URLs while it is unfinished."""
        return Response(_body(request, selectors.upload_get(actor=request.user, pk=pk)))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk) -> Response:
        upload = selectors.upload_get(actor=request.user, pk=pk)
        services.upload_discard(actor=request.user, upload=upload, reason="deleted by its owner")
        return Response(status=204)


class DirectUploadCompleteApi(_Direct):
    @extend_schema(request=DirectCompleteInput, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk) -> Response:
        data = DirectCompleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = direct.direct_upload_complete(
            upload=selectors.upload_get(actor=request.user, pk=pk), parts=data.validated_data["parts"]
        )
        return Response(_body(request, upload))
