"""Production static-files storage: whitenoise's compressed, hashed files, minus source maps."""
from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(patterns):
    def keep(pattern) -> bool:
        regex = pattern if isinstance(pattern, str) else pattern[0]
        return "sourceMappingURL" not in regex

    return tuple((glob, tuple(p for p in group if keep(p))) for glob, group in patterns)


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Vendored minified builds (static/vendor/) end with a sourceMappingURL to a .map we do not
    ship; Django would try to hash that missing file and fail collectstatic. The comment is
    left as it is: a browser only asks for the map when its developer tools are open."""

    patterns = _without_source_maps(CompressedManifestStaticFilesStorage.patterns)
