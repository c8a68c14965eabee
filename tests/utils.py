"""Helpers for tests that start real processes (localcloud, Celery workers, simulators)."""
import os

from django.conf import settings


def subprocess_env(**overrides: str) -> dict[str, str]:
    """The environment for a child process of a test: the same database server, broker and
    cache as the test run, marked as a test process so the embedded secrets are accepted."""
    env = dict(os.environ)
    env["PORTAL_TESTING"] = "1"
    env.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    env["VAR_DIR"] = str(settings.VAR_DIR)
    env.update(overrides)
    return env
