"""TC3-HMAC-SHA256 verification of cloud API requests, exactly as Tencent Cloud API v3 signs them."""
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache

from django.conf import settings

from localcloud import clock, sql
from localcloud.api.errors import CloudError
from localcloud.models import ApiKey

ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "iotvideo"
# Tencent refuses a request whose X-TC-Timestamp is more than 5 minutes from its own clock.
MAX_SKEW_SECONDS = 300

_AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<secret_id>[^/\s,]+)/(?P<date>\d{4}-\d{2}-\d{2})/"
    r"(?P<service>[^/\s,]+)/(?P<terminator>[^\s,]+),\s*SignedHeaders=(?P<signed_headers>[^\s,]+),"
    r"\s*Signature=(?P<signature>[0-9a-fA-F]+)$"
)


@dataclass(frozen=True)
class SignedRequest:
    """What the signature covers, taken from the HTTP request."""

    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-cased names
    body: bytes


@lru_cache(maxsize=64)
def _signing_key(secret_key: str, date: str) -> bytes:
    # Derived from the key and the UTC day only: the same for every request of a day.
    k_date = hmac.digest(("TC3" + secret_key).encode(), date.encode(), "sha256")
    k_service = hmac.digest(k_date, SERVICE.encode(), "sha256")
    return hmac.digest(k_service, b"tc3_request", "sha256")


def sign(*, secret_key: str, date: str, string_to_sign: str) -> str:
    return hmac.digest(_signing_key(secret_key, date), string_to_sign.encode(), "sha256").hex()


def canonical_request(req: SignedRequest, signed_headers: list[str]) -> str:
    # Tencent's rule: signed header names and values lower-cased and trimmed.
    canonical_headers = "".join(
        f"{name}:{req.headers.get(name, '').strip().lower()}\n" for name in signed_headers
    )
    if req.headers.get("x-tc-content-sha256") == "UNSIGNED-PAYLOAD":
        payload_hash = hashlib.sha256(b"UNSIGNED-PAYLOAD").hexdigest()
    else:
        payload_hash = hashlib.sha256(req.body).hexdigest()
    return "\n".join([req.method, req.path, req.query, canonical_headers,
                      ";".join(signed_headers), payload_hash])


@cache
def _stored_key_sql() -> str:
    # Hand-written (localcloud.sql): every call signed with a stored key runs it. Not cached
    # across requests: a revoked key must stop working at once.
    return (f"SELECT secret_key FROM {sql.table(ApiKey)} "  # noqa: S608 (names)
            "WHERE secret_id = %s AND revoked_at IS NULL")


def secret_key_for(secret_id: str) -> str | None:
    if secret_id == settings.LOCALCLOUD_SECRET_ID:
        return settings.LOCALCLOUD_SECRET_KEY
    row = sql.fetch_one(_stored_key_sql(), [secret_id])
    return row[0] if row else None


def verify(req: SignedRequest) -> str:
    """Check the request's signature; return the SecretId or raise an AuthFailure.* error."""
    header = req.headers.get("authorization", "")
    if not header:
        raise CloudError("AuthFailure.InvalidAuthorization",
                         "The request has no Authorization header; sign it with TC3-HMAC-SHA256.")
    if not header.startswith(ALGORITHM + " "):
        raise CloudError("AuthFailure.InvalidAuthorization",
                         f"The Authorization header must use {ALGORITHM}.")
    match = _AUTH_RE.match(header.strip())
    if not match:
        raise CloudError("AuthFailure.InvalidAuthorization",
                         "The Authorization header is malformed; expected "
                         "`TC3-HMAC-SHA256 Credential=<SecretId>/<date>/iotvideo/tc3_request, "
                         "SignedHeaders=content-type;host, Signature=<hex>`.")
    if match["service"] != SERVICE or match["terminator"] != "tc3_request":
        raise CloudError("AuthFailure.InvalidAuthorization",
                         f"The credential scope must be `<date>/{SERVICE}/tc3_request`.")
    signed_headers = match["signed_headers"].lower().split(";")
    if "content-type" not in signed_headers or "host" not in signed_headers:
        raise CloudError("AuthFailure.InvalidAuthorization",
                         "SignedHeaders must include content-type and host.")
    if signed_headers != sorted(signed_headers):
        raise CloudError("AuthFailure.InvalidAuthorization",
                         "SignedHeaders must be listed in lower case and sorted.")

    raw_ts = req.headers.get("x-tc-timestamp", "")
    if not raw_ts:
        raise CloudError("MissingParameter",
                         "The request is missing a required parameter `X-TC-Timestamp`.")
    if not raw_ts.isdigit():
        raise CloudError("InvalidParameter", "The parameter `X-TC-Timestamp` must be Unix seconds.")
    timestamp = int(raw_ts)
    now = clock.now()
    if abs(now - timestamp) > MAX_SKEW_SECONDS:
        raise CloudError("AuthFailure.SignatureExpire",
                         f"The request timestamp {timestamp} is more than 5 minutes away from the "
                         f"server time {now}; check the client's clock.")

    secret_key = secret_key_for(match["secret_id"])
    if secret_key is None:
        raise CloudError("AuthFailure.SecretIdNotFound",
                         f"The SecretId `{match['secret_id']}` is not known or has been revoked.")

    # The scope's date is the UTC day of the timestamp; a mismatch means a wrong key chain.
    expected_date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    if match["date"] != expected_date:
        raise CloudError("AuthFailure.SignatureFailure",
                         f"The credential date {match['date']} does not match the UTC date "
                         f"of X-TC-Timestamp ({expected_date}).")

    digest = hashlib.sha256(canonical_request(req, signed_headers).encode()).hexdigest()
    string_to_sign = "\n".join([ALGORITHM, raw_ts, f"{match['date']}/{SERVICE}/tc3_request", digest])
    expected = sign(secret_key=secret_key, date=match["date"], string_to_sign=string_to_sign)
    if not hmac.compare_digest(expected, match["signature"].lower()):
        raise CloudError("AuthFailure.SignatureFailure",
                         "The request signature does not match; check the SecretKey and that the "
                         "body, Content-Type and Host are sent as signed.")
    return match["secret_id"]
