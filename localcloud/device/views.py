"""The device API's HTTP edge: read and authenticate the request, call a service, answer JSON.
Bodies are read from the stream with our own size limits (uploads are larger than Django's
in-memory request-body cap, which is right for the rest of the site)."""
import hashlib
import io
import json
from functools import wraps

from django.http import HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from localcloud.device import services
from localcloud.device.auth import authenticate
from localcloud.device.services import DeviceApiError, bad_request

MiB = 1024 * 1024


def _error(exc: DeviceApiError) -> JsonResponse:
    return JsonResponse({"error": {"code": exc.code, "message": exc.message, **exc.extra}},
                        status=exc.status)


def _read_body(request: HttpRequest, limit: int) -> bytes:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise bad_request("Content-Length must be a number.") from None
    if declared > limit:
        raise DeviceApiError(413, "too_large", f"The body may hold at most {limit} bytes.")
    data = request.read(limit + 1)
    if len(data) > limit:
        raise DeviceApiError(413, "too_large", f"The body may hold at most {limit} bytes.")
    return data


def device_endpoint(*, methods: tuple[str, ...], max_body: int = 64 * 1024):
    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest):
            try:
                if request.method not in methods:
                    raise DeviceApiError(405, "method_not_allowed",
                                         f"Use {' or '.join(methods)} for this call.")
                body = _read_body(request, max_body)
                # Hashed once: the signature covers it and a segment is stored under it.
                request.body_sha256 = hashlib.sha256(body).hexdigest()
                request.device = authenticate(
                    method=request.method, path=request.path,
                    query=request.META.get("QUERY_STRING", ""),
                    headers=request.headers, body_sha256=request.body_sha256,
                )
                answer, status = view(request, body)
            except DeviceApiError as exc:
                return _error(exc)
            return JsonResponse(answer, status=status)

        return wrapper

    return decorate


def _int(source, name: str, default: int | None = None, *, required: bool = True) -> int | None:
    value = source.get(name)
    if value is None or value == "":
        if default is not None or not required:
            return default
        raise bad_request(f"{name} is required.")
    if isinstance(value, bool):
        raise bad_request(f"{name} must be an integer.")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise bad_request(f"{name} must be an integer.")


def _str(source, name: str, default: str | None = None) -> str | None:
    value = source.get(name, default)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"{name} must be a string.")
    return value


def _json(body: bytes) -> dict:
    if not body:
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("The body must be a JSON object.") from None
    if not isinstance(data, dict):
        raise bad_request("The body must be a JSON object.")
    return data


@device_endpoint(methods=("POST",))
def heartbeat(request, body):
    return services.device_heartbeat(device=request.device), 200


@device_endpoint(methods=("GET",))
def cloud_storage(request, body):
    channel = _int(request.GET, "channel", 0)
    services.check_channel(request.device, channel)
    return services.cloud_storage_state(device=request.device, channel_id=channel), 200


@device_endpoint(methods=("PUT",), max_body=16 * MiB)
def segment(request, body):
    q = request.GET
    upload = services.segment_upload(
        device=request.device, channel_id=_int(q, "channel", 0),
        start=_int(q, "start_time"), end=_int(q, "end_time"), body=body,
        body_sha256=request.body_sha256,
        event_id=_str(q, "event_id"), event_start=_int(q, "event_start", required=False),
    )
    return upload.payload, 201 if upload.created else 200


@device_endpoint(methods=("POST",))
def event_open(request, body):
    data = _json(body)
    upload = services.event_open(
        device=request.device, channel_id=_int(data, "channel", 0),
        event_id=_str(data, "event_id", ""), start=_int(data, "start_time"),
        data=_str(data, "data", ""),
    )
    return upload.payload, 201 if upload.created else 200


@device_endpoint(methods=("POST",))
def event_close(request, body):
    data = _json(body)
    answer = services.event_close(
        device=request.device, channel_id=_int(data, "channel", 0),
        event_id=_str(data, "event_id", ""), start=_int(data, "start_time"),
        end=_int(data, "end_time"),
        upload_status=_str(data, "upload_status", "Finished"), data=_str(data, "data"),
    )
    return answer, 200


@device_endpoint(methods=("PUT",), max_body=1 * MiB)
def event_thumbnail(request, body):
    q = request.GET
    answer = services.event_thumbnail(
        device=request.device, channel_id=_int(q, "channel", 0),
        event_id=_str(q, "event_id", ""), start=_int(q, "start_time"), body=body,
    )
    return answer, 200


@device_endpoint(methods=("POST",), max_body=16 * MiB)
def picture_event(request, body):
    if not request.content_type == "multipart/form-data":
        raise bad_request("The body must be multipart/form-data (see docs/device-api.md).")
    try:
        fields, files = MultiPartParser(request.META, io.BytesIO(body), request.upload_handlers,
                                        request.encoding).parse()
    except MultiPartParserError as exc:
        raise bad_request(f"The multipart body is malformed: {exc}") from None

    def part(name: str) -> bytes | None:
        upload = files.get(name)
        return upload.read() if upload is not None else None

    upload = services.picture_event_upload(
        device=request.device, channel_id=_int(fields, "channel", 0),
        event_id=fields.get("event_id", ""), start=_int(fields, "start_time"),
        end=_int(fields, "end_time"), fps=_int(fields, "fps"), data=fields.get("data", ""),
        video=part("video"), audio=part("audio"), thumbnail=part("thumbnail"),
    )
    return upload.payload, 201 if upload.created else 200
