"""POST / — the cloud API endpoint: verify the TC3 signature, dispatch X-TC-Action, and always
answer HTTP 200 with Tencent's JSON envelope (the SDK raises only for such answers)."""
import importlib
import json
import logging
import pkgutil
import uuid

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from localcloud.api import auth, faults
from localcloud.api.errors import CloudError
from localcloud.api.registry import ACTIONS, READ_ONLY, Params

logger = logging.getLogger(__name__)

API_VERSION = "2021-11-25"


_PLUMBING = {"auth", "errors", "faults", "registry", "urls", "views"}


def _load_actions() -> None:
    """Import every module of localcloud.api so their @action handlers register (products,
    packages, recordings, ... — a new module needs no wiring)."""
    import localcloud.api as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in _PLUMBING:
            importlib.import_module(f"{package.__name__}.{module.name}")


_load_actions()


# Parsed once at start: a typo in LOCALCLOUD_FAULTS stops the server instead of every call.
FAULTS = faults.parse(settings.LOCALCLOUD_FAULTS)


def _answer(payload: dict) -> HttpResponse:
    # Exactly "application/json" (no charset): the SDK compares the header byte for byte.
    return HttpResponse(json.dumps({"Response": payload}, ensure_ascii=False),
                        content_type="application/json")


def _error(code: str, message: str, request_id: str) -> HttpResponse:
    return _answer({"Error": {"Code": code, "Message": message}, "RequestId": request_id})


def _handle(request: HttpRequest) -> dict:
    if request.method != "POST":
        raise CloudError("UnsupportedProtocol",
                         f"HTTP method {request.method} is not supported; POST a JSON body.")
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        body = request.body
    except RequestDataTooBig:
        raise CloudError("RequestSizeLimitExceeded",
                         f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")
    signed = auth.SignedRequest(
        method=request.method,
        path=request.path,
        query=request.META.get("QUERY_STRING", ""),
        headers=headers,
        body=body,
    )
    auth.verify(signed)

    action_name = headers.get("x-tc-action", "")
    if not action_name:
        raise CloudError("MissingParameter",
                         "The request is missing a required parameter `X-TC-Action`.")
    version = headers.get("x-tc-version", "")
    if not version:
        raise CloudError("MissingParameter",
                         "The request is missing a required parameter `X-TC-Version`.")
    if version != API_VERSION:
        raise CloudError("NoSuchVersion",
                         f"The API version `{version}` does not exist; iotvideo speaks {API_VERSION}.")
    handler = ACTIONS.get(action_name)
    if handler is None:
        raise CloudError("InvalidAction", f"The action `{action_name}` does not exist.")

    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise CloudError("InvalidParameter",
                         f"Content-Type must be application/json, not `{content_type or 'missing'}`.")
    try:
        params_json = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise CloudError("InvalidParameter", f"The request body is not valid JSON: {exc}.")
    params = Params(params_json)

    faults.apply(FAULTS)
    if action_name in READ_ONLY:
        return handler(params)
    # An action either completes or leaves nothing behind.
    with transaction.atomic():
        result = handler(params)
    return result


@csrf_exempt  # signed with the caller's SecretKey, not a browser session
def api(request: HttpRequest) -> HttpResponse:
    request_id = str(uuid.uuid4())
    try:
        result = _handle(request)
    except CloudError as exc:
        return _error(exc.code, exc.message, request_id)
    except Exception:
        logger.exception("localcloud API action failed (RequestId %s)", request_id)
        return _error("InternalError",
                      f"An internal error occurred; quote RequestId {request_id} when reporting it.",
                      request_id)
    return _answer({**result, "RequestId": request_id})
