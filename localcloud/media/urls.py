"""Placeholder until the lc-media helper fills it in."""
urlpatterns = []
