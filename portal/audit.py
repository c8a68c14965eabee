"""The one helper that writes the audit log, and the diff the audit page shows."""
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.forms.models import model_to_dict
from django.utils.translation import gettext_lazy as _

from portal.models import AuditEntry, Tenant

# Never copied into the log, whatever model they sit on.
_SECRET_FIELDS = {"secret_key_encrypted", "secret_key", "password", "key_hash", "psk", "token"}


def snapshot(instance, fields: list[str] | None = None) -> dict[str, Any]:
    """A JSON-safe dict of a model instance's fields, without secrets."""
    data = model_to_dict(instance, fields=fields)
    return {k: _jsonable(v) for k, v in data.items() if k not in _SECRET_FIELDS}


def _jsonable(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "pk"):
        return value.pk
    return str(value)


def audit_record(*, tenant: Tenant, actor=None, action: str, obj=None, object_type: str = "",
                 object_id: str = "", object_repr: str = "", before: dict | None = None,
                 after: dict | None = None, actor_label: str = "") -> AuditEntry:
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEntry.objects.create(
        tenant=tenant, actor=actor, actor_label=actor_label, action=action,
        object_type=object_type, object_id=object_id, object_repr=object_repr[:200],
        before=before, after=after,
    )


@dataclass(frozen=True)
class Change:
    field: str
    before: Any
    after: Any


_ABSENT = object()


def audit_changes(entry: AuditEntry) -> list[Change]:
    """The fields an entry changed, for a compact before → after display: every field of a
    create or delete, only the differing ones of an update."""
    before = entry.before or {}
    after = entry.after or {}
    changes = []
    for field in sorted(set(before) | set(after)):
        old, new = before.get(field, _ABSENT), after.get(field, _ABSENT)
        if old == new:
            continue
        changes.append(Change(field, None if old is _ABSENT else old,
                              None if new is _ABSENT else new))
    return changes


_ACTION_LABELS = {
    "create": _("created"),
    "update": _("changed"),
    "delete": _("deleted"),
    "rotate": _("key re-encrypted"),
}


def action_label(action: str) -> str:
    """A person's word for an action; verbs other apps record show as they are."""
    return str(_ACTION_LABELS.get(action, action))


def object_type_label(object_type: str) -> str:
    """The model's verbose name for "app.Model" labels, else the label itself."""
    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return object_type
