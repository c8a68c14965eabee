"""With no environment, the settings choose the embedded default."""
import json
import subprocess
import sys

from tests.utils import subprocess_env

PROBE = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'db': s.DATABASES['default']['ENGINE'], 'broker': s.CELERY_BROKER_URL, "
    "'cache': s.CACHES['default']['BACKEND'], 'eager': s.CELERY_TASK_ALWAYS_EAGER}))"
)


def _settings_with(env: dict[str, str]) -> dict:
    base = {k: v for k, v in subprocess_env().items()
            if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"}}
    base.update(env)
    out = subprocess.run([sys.executable, "-c", PROBE], env=base, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def test_no_environment_means_sqlite_filesystem_broker_and_local_memory_cache():
    found = _settings_with({})
    assert found["db"] == "django.db.backends.sqlite3"
    assert found["broker"] == "filesystem://"
    assert found["cache"].endswith("LocMemCache")
    assert found["eager"] is False


def test_urls_in_the_environment_switch_to_postgres_and_redis():
    found = _settings_with({
        "DATABASE_URL": "postgres://u@127.0.0.1:5432/x",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/1",
        "REDIS_URL": "redis://127.0.0.1:6379/2",
    })
    assert found["db"] == "django.db.backends.postgresql"
    assert found["broker"] == "redis://127.0.0.1:6379/1"
    assert found["cache"].endswith("RedisCache")


def test_refuses_to_start_with_the_default_secret_when_debug_is_off():
    env = {k: v for k, v in subprocess_env().items() if k not in {"PORTAL_TESTING", "SECRET_KEY"}}
    env["DEBUG"] = "0"
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env,
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
