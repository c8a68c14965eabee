from django.apps import AppConfig


class LocalcloudConfig(AppConfig):
    name = "localcloud"
    verbose_name = "localcloud"
