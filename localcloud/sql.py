"""Hand-written SQL for the few statements that run on every device upload.

Building an ORM query costs about 1.5 ms of CPU, ten times the round trip it then makes, and an
upload runs about eight of them: at hundreds of uploads a second that was most of the server's
CPU. These statements are plain SQL that SQLite and PostgreSQL both accept, built once from the
models' own table and column names, and their rows become model instances with `from_db`."""
from functools import cache

from django.db import connection, models
from django.db.models import Model


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model: type[Model]) -> str:
    return quote(model._meta.db_table)


def columns(model: type[Model], names: list[str] | None = None, *, alias: str = "") -> str:
    """Quoted column list of `names` (attnames, e.g. "device_id"), in the model's field order,
    or of every concrete field. `from_db` expects exactly this order."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + quote(field.column)
                     for field in model._meta.concrete_fields
                     if names is None or field.attname in names)


def field_names(model: type[Model], names: list[str] | None = None) -> list[str]:
    return list(_field_names(model, None if names is None else tuple(names)))


@cache
def _field_names(model: type[Model], names: tuple[str, ...] | None) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields
                 if names is None or f.attname in names)


def fetch_one(sql: str, params: list) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def fetch_all(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def instance(model: type[Model], names: list[str], row) -> Model:
    """A model instance from a row of `columns(model, names)`; other fields stay deferred.
    Raw rows skip the ORM's converters; the one that matters here is SQLite's 0/1 booleans."""
    obj = model.from_db(connection.alias, names, row)
    for field in _boolean_fields(model):
        value = obj.__dict__.get(field)
        if value is not None:
            obj.__dict__[field] = bool(value)
    return obj


@cache
def _boolean_fields(model: type[Model]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields
                 if isinstance(f, models.BooleanField))


def for_update(*, of: str = "") -> str:
    """FOR UPDATE [OF alias]. SQLite has no row locks (its writers are serialised anyway):
    Django's select_for_update is a no-op there, and so is this."""
    features = connection.features
    if not features.has_select_for_update:
        return ""
    return f" FOR UPDATE OF {of}" if of and features.has_select_for_update_of else " FOR UPDATE"
