"""Where localcloud keeps media (segments, thumbnails, MJPEG, AAC): Django's storage API, local
disk under LOCALCLOUD_MEDIA_ROOT by default, S3-compatible object storage when configured
(STORAGES["localcloud"], or the site's S3 bucket under the prefix "localcloud/").

Writes are atomic: on disk a file is written under a temporary name in the same directory and
renamed into place (rename is atomic on POSIX), so a reader never sees half a file; an S3 PUT
is atomic by nature. Names are derived from content, so writing the same bytes twice is a no-op."""
import contextlib
import os
import secrets
import shutil
from functools import cache

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages


@cache
def media_storage() -> Storage:
    if "localcloud" in settings.STORAGES:
        return storages["localcloud"]
    default = settings.STORAGES.get("default", {}).get("BACKEND", "")
    if default.startswith("storages.backends.s3"):
        from storages.backends.s3 import S3Storage

        return S3Storage(location="localcloud", file_overwrite=True)
    return FileSystemStorage(location=str(settings.LOCALCLOUD_MEDIA_ROOT))


def media_write(name: str, data: bytes) -> None:
    """Store `data` under `name`, atomically, replacing whatever was there."""
    storage = media_storage()
    if isinstance(storage, FileSystemStorage):
        path = storage.path(name)
        directory = os.path.dirname(path)
        # A unique temporary name beside the target (an upload per request: plain os calls,
        # and the directory made only when the first file of a day finds it missing).
        tmp = os.path.join(directory, f".partial-{secrets.token_hex(8)}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            fd = os.open(tmp, flags, 0o644)
        except FileNotFoundError:
            os.makedirs(directory, exist_ok=True)
            fd = os.open(tmp, flags, 0o644)
        try:
            try:
                os.fchmod(fd, 0o644)  # whatever the umask: the server reads it back
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return
    # Object stores: one PUT, visible whole or not at all; file_overwrite keeps the name.
    storage.save(name, ContentFile(data))


def media_delete(name: str) -> None:
    if name:
        media_storage().delete(name)


def media_delete_tree(prefix: str) -> None:
    """Delete everything stored under the folder `prefix` (a device's media)."""
    storage = media_storage()
    if isinstance(storage, FileSystemStorage):
        shutil.rmtree(storage.path(prefix), ignore_errors=True)
        return
    # Object stores have no folders: list the keys under the prefix and delete each.
    todo = [prefix.rstrip("/")]
    while todo:
        folder = todo.pop()
        folders, files = storage.listdir(folder)
        todo += [f"{folder}/{sub}" for sub in folders]
        for name in files:
            storage.delete(f"{folder}/{name}")


def media_open(name: str):
    """A binary file-like object of the stored media (seek, then read in chunks)."""
    storage = media_storage()
    if not isinstance(storage, FileSystemStorage):
        from storages.backends.s3 import S3Storage  # imports boto3: only when configured

        if isinstance(storage, S3Storage):
            return _ObjectReader(storage, name)
    return storage.open(name, "rb")


def media_size(name: str) -> int:
    return media_storage().size(name)


class _ObjectReader:
    """An S3 object read from where it was seeked to: one ranged GET streamed in the reader's
    chunks. django-storages' S3File downloads the whole object into memory before its first
    byte, again for every Range request a player makes."""

    def __init__(self, storage, name: str):
        # django-storages' own name -> key mapping (the storage's location prefix).
        self.key = storage._normalize_name(name)
        self.storage, self.position, self.body = storage, 0, None

    def seek(self, position: int) -> None:
        self.close()
        self.position = position

    def read(self, size: int) -> bytes:
        if self.body is None:
            from botocore.exceptions import ClientError

            try:
                answer = self.storage.connection.meta.client.get_object(
                    Bucket=self.storage.bucket_name, Key=self.key, Range=f"bytes={self.position}-")
            except ClientError as exc:
                if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                    raise FileNotFoundError(self.key) from exc
                raise
            self.body = answer["Body"]
        data = self.body.read(size)
        self.position += len(data)
        return data

    def close(self) -> None:
        if self.body is not None:
            self.body.close()
            self.body = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
