"""Trigram indexes for the fleet search on PostgreSQL (name, nickname, tags: `icontains`, which
Django writes as UPPER(col) LIKE UPPER(%s)). Other databases scan, which is fine at their size."""
from django.db import migrations

COLUMNS = {"name": "device_trgm_name", "nickname": "device_trgm_nickname",
           "tag_index": "device_trgm_tags"}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column, name in COLUMNS.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON devices_device '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in COLUMNS.values():
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("devices", "0003_purchase_order_packageprice_and_more")]

    operations = [migrations.RunPython(create, drop)]
