"""With DEBUG off (production): secure cookies, HSTS, a content security policy, whitenoise's
hashed static files, and no start without real secrets. Run in a child process because the
settings are read once at start-up."""
import json
import subprocess
import sys

import pytest

from tests.utils import subprocess_env

PROBE = r"""
import json, django
django.setup()
from django.conf import settings as s
from django.test import Client
r = Client().get("/accounts/login/", secure=True)
print(json.dumps({
    "status": r.status_code,
    "hsts": r.headers.get("Strict-Transport-Security"),
    "csp": r.headers.get("Content-Security-Policy"),
    "nosniff": r.headers.get("X-Content-Type-Options"),
    "frame": r.headers.get("X-Frame-Options"),
    "session_secure": s.SESSION_COOKIE_SECURE,
    "csrf_secure": s.CSRF_COOKIE_SECURE,
    "csrf_cookie_secure_flag": bool(r.cookies.get("csrftoken") and r.cookies["csrftoken"]["secure"]),
    "static_hashed": "/static/css/app." in r.content.decode() and "/static/css/app.css" not in r.content.decode(),
    "inline_script": "<script>" in r.content.decode(),
}))
"""


def _production_env(tmp_path, **extra):
    env = {k: v for k, v in subprocess_env().items()
           if k not in {"PORTAL_TESTING", "DEBUG", "PYTEST_CURRENT_TEST"}}
    env.update({
        "DEBUG": "0",
        "SECRET_KEY": "a-real-production-secret-for-this-test-only-0123456789",
        "FERNET_KEYS": "DnlwqjAFSzJTmSNUb8mhdVy_NP0wmuXobdAdS6FXg7k=",
        "STATIC_ROOT": str(tmp_path / "static"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "VAR_DIR": str(tmp_path / "var"),
    })
    env.update(extra)
    return env


@pytest.mark.slow
def test_debug_off_serves_hsts_csp_secure_cookies_and_hashed_static(tmp_path):
    env = _production_env(tmp_path)
    collected = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                               env=env, capture_output=True, text=True)
    assert collected.returncode == 0, collected.stderr
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["status"] == 200
    assert found["hsts"].startswith("max-age=31536000")
    assert "includeSubDomains" in found["hsts"]
    assert "default-src 'self'" in found["csp"]
    assert "script-src 'self'" in found["csp"] and "unsafe-inline" not in found["csp"]
    assert "frame-ancestors 'none'" in found["csp"]
    assert found["nosniff"] == "nosniff" and found["frame"] == "DENY"
    assert found["session_secure"] and found["csrf_secure"] and found["csrf_cookie_secure_flag"]
    assert found["static_hashed"]
    assert not found["inline_script"]


def test_debug_off_refuses_to_start_without_fernet_keys(tmp_path):
    env = _production_env(tmp_path)
    env.pop("FERNET_KEYS")
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env,
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "FERNET_KEYS" in result.stderr


def test_the_settings_load_without_deprecation_warnings(tmp_path):
    """Django 6.1 deprecates EMAIL_BACKEND for MAILERS: the settings use the new form."""
    env = _production_env(tmp_path)
    result = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c",
         "import django; django.setup(); from django.core import mail; "
         "print(type(mail.mailers.default).__module__)"],
        env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.core.mail.backends.console"
