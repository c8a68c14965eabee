"""WSGI entry point of the localcloud server (runlocalcloud execs gunicorn on it): the same
settings as the portal, switched by LOCALCLOUD_SERVER to localcloud's own URLs and middleware."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ["LOCALCLOUD_SERVER"] = "1"
application = get_wsgi_application()

# Import the URLs (and with them every action) now: gunicorn preloads this module in its master,
# so a broken import stops the server at start and the workers share the loaded code.
import localcloud.urls  # noqa: E402, F401
