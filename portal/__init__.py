"""The portal project package: settings, tenancy, accounts, audit log and the cloud client."""
from .celery import app as celery_app

__all__ = ["celery_app"]
