"""Actions register here by name; each takes the checked parameters and returns the answer's
fields (without RequestId). Parameters are read through `Params`, which checks types the way
Tencent does and refuses parameters the action does not know."""
from collections.abc import Callable
from typing import Any

from localcloud.api.errors import CloudError, invalid, invalid_value, missing

ACTIONS: dict[str, Callable[["Params"], dict[str, Any]]] = {}
# Actions that only read: the dispatcher runs them without a transaction, which on PostgreSQL
# saves the BEGIN and COMMIT round trips on every call (each of their queries is consistent on
# its own, and they change nothing that would need undoing).
READ_ONLY: set[str] = set()

_MISSING = object()


def action(name: str, *, read_only: bool = False):
    def register(func):
        ACTIONS[name] = func
        if read_only:
            READ_ONLY.add(name)
        return func

    return register


class Params:
    """Typed access to a request body. Call `finish()` after reading every parameter so that
    unknown ones are refused with UnknownParameter."""

    def __init__(self, body: dict[str, Any]):
        if not isinstance(body, dict):
            raise CloudError("InvalidParameter", "The request body must be a JSON object.")
        self.body = body
        self.read: set[str] = set()

    def _get(self, name: str, default):
        self.read.add(name)
        value = self.body.get(name, _MISSING)
        if value is _MISSING or value is None:
            if default is _MISSING:
                raise missing(name)
            return default
        return value

    def str(self, name: str, default=_MISSING, *, max_length: int = 1024) -> str:
        value = self._get(name, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str):
            raise invalid(name, "must be a string")
        if len(value) > max_length:
            raise invalid(name, f"must be at most {max_length} characters")
        return value

    def int(self, name: str, default=_MISSING, *, min_value: int | None = None,
            max_value: int | None = None) -> int:
        value = self._get(name, default)
        if value is default and default is not _MISSING:
            return value
        # JSON has one number type: accept 5 and 5.0 but not 5.5, "5" or true.
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or (isinstance(value, float) and not value.is_integer())):
            raise invalid(name, "must be an integer")
        # Beyond 64 bits no column can hold it; say so instead of failing in the database.
        if not -(2**63) <= value < 2**63:
            raise invalid_value(name, "is out of range")
        value = int(value)
        # Right type, value out of range: Tencent answers InvalidParameterValue.
        if min_value is not None and value < min_value:
            raise invalid_value(name, f"must be at least {min_value}")
        if max_value is not None and value > max_value:
            raise invalid_value(name, f"must be at most {max_value}")
        return value

    def str_list(self, name: str, default=_MISSING, *, max_items: int = 100) -> list[str]:
        value = self._get(name, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid(name, "must be a list of strings")
        if len(value) > max_items:
            raise invalid(name, f"must hold at most {max_items} items")
        return value

    def finish(self) -> None:
        unknown = sorted(set(self.body) - self.read)
        if unknown:
            raise CloudError(
                "UnknownParameter",
                f"The parameter `{unknown[0]}` is not recognized by this action.",
            )
