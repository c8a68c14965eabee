"""The small family of errors the cloud client raises; views catch CloudError and show .message.

The SDK raises one exception type for everything (TencentCloudSDKException with Tencent's error
code). `from_sdk_error` sorts those codes into what the portal can act on: whether a retry can
help, whether the keys are wrong, whether the thing asked for is gone.
"""
from __future__ import annotations

from django.utils.translation import gettext as _


class CloudError(Exception):
    """Base of every error from the cloud client.

    message:    a sentence fit to show a person (translated into the active language)
    code:       Tencent's error code (e.g. "ResourceNotFound.DeviceNotExist"), or a client code
    request_id: the cloud's RequestId, to quote to support; "" when the call never got an answer
    retryable:  True when the same call may succeed later without changing anything
    detail:     the cloud's own message (English or Chinese, for logs and support)
    action:     the API action that failed
    """

    retryable = False
    default_message = ""

    def __init__(self, message: str = "", *, code: str = "", request_id: str = "",
                 detail: str = "", action: str = "", retryable: bool | None = None):
        self.message = message or self.default_message or _("The cloud could not do that.")
        self.code = code
        self.request_id = request_id or ""
        self.detail = detail or ""
        self.action = action
        if retryable is not None:
            self.retryable = retryable
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(code={self.code!r}, action={self.action!r}, "
                f"request_id={self.request_id!r}, detail={self.detail!r})")


class NotFound(CloudError):
    """The product, device, order, event or recording does not exist (or no longer does)."""


class InvalidRequest(CloudError):
    """The cloud refused the request as it stands (bad parameter, a rule of the package
    state machine, …); sending it again unchanged will fail again."""


class AuthFailed(CloudError):
    """The tenant's SecretId/SecretKey are wrong, expired, or lack permission."""


class Throttled(CloudError):
    """Too many requests: the cloud's RequestLimitExceeded or the portal's own rate limit."""

    retryable = True


class Unavailable(CloudError):
    """The cloud could not be reached or failed internally; a later retry may work."""

    retryable = True


class Unsupported(CloudError):
    """The cloud (or this region, or this kind of device) does not offer that operation."""


class NotConfigured(CloudError):
    """The tenant has no cloud connection yet."""


def _friendly(cls: type[CloudError], code: str) -> str:
    if cls is NotFound:
        return _("The cloud has no such item; it may have been deleted.")
    if cls is AuthFailed:
        if code == "AuthFailure.SignatureExpire":
            return _("The cloud refused the request because this server's clock is off. "
                     "Check the server time.")
        if code.startswith("UnauthorizedOperation") or code == "AuthFailure.UnauthorizedOperation":
            return _("The cloud keys have no permission for this operation.")
        return _("The cloud rejected the company's SecretId or SecretKey. "
                 "Check the keys in the cloud settings.")
    if cls is Throttled:
        return _("The cloud is busy with too many requests right now. Try again in a moment.")
    if cls is Unavailable:
        if code in ("ClientNetworkError", "ServerNetworkError"):
            return _("The cloud cannot be reached right now. Try again in a moment.")
        return _("The cloud had an internal problem. Try again in a moment.")
    if cls is Unsupported:
        if code == "UnsupportedRegion":
            return _("The cloud does not offer this service in the configured region.")
        return _("The cloud does not support this operation here.")
    if cls is InvalidRequest:
        return _("The cloud refused the request.")
    return _("The cloud could not do that.")


def classify(code: str) -> type[CloudError]:
    """Which domain error a Tencent error code stands for."""
    code = code or ""
    head = code.split(".", 1)[0]
    if head == "AuthFailure" or head == "UnauthorizedOperation":
        return AuthFailed
    if head == "ResourceNotFound":
        return NotFound
    if head in ("RequestLimitExceeded",):
        return Throttled
    if head in ("InternalError", "ResourceUnavailable", "ClientNetworkError",
                "ServerNetworkError", "ResourceInsufficient"):
        return Unavailable
    if head in ("UnsupportedOperation", "InvalidAction", "UnsupportedRegion",
                "UnsupportedProtocol", "NoSuchVersion", "UnsupportedProtocol"):
        return Unsupported
    if head in ("InvalidParameter", "InvalidParameterValue", "MissingParameter",
                "UnknownParameter", "FailedOperation", "LimitExceeded", "ResourceInUse",
                "OperationDenied", "InvalidRequest", "RequestSizeLimitExceeded",
                "ClientParamsError", "ClientError"):
        return InvalidRequest
    return CloudError


# Codes where the cloud's own words tell the person what to change (a parameter, a rule of the
# package queue): the friendly sentence alone would hide the reason.
_SHOW_DETAIL = (InvalidRequest, NotFound, Unsupported)


# What the SDK reports when the answer was not the cloud's JSON (a proxy's HTML page, a web
# server at the wrong address): it wraps the parsing error under the exception's class name.
UNREADABLE_ANSWER = frozenset({"JSONDecodeError", "ValueError", "KeyError", "TypeError",
                               "UnicodeDecodeError"})


def from_code(code: str, detail: str = "", request_id: str = "", *, action: str = "") -> CloudError:
    if code in UNREADABLE_ANSWER:
        return Unavailable(_("The address answered, but not as an IoT Video cloud."),
                           code=code, request_id=request_id, detail=detail, action=action,
                           retryable=False)
    cls = classify(code)
    message = _friendly(cls, code)
    if cls in _SHOW_DETAIL and detail and code not in ("InvalidAction",):
        message = f"{message} ({detail})"
    return cls(message, code=code, request_id=request_id, detail=detail, action=action)


def from_sdk_error(exc, *, action: str = "") -> CloudError:
    """A TencentCloudSDKException (duck-typed, so this module needs no SDK import) as a
    domain error."""
    code = getattr(exc, "code", None) or "ClientError"
    detail = getattr(exc, "message", None) or ""
    if isinstance(detail, bytes):  # ServerNetworkError carries the raw HTTP body
        detail = detail[:300].decode("utf-8", "replace")
    request_id = getattr(exc, "requestId", None) or ""
    return from_code(str(code), str(detail), str(request_id), action=action)
