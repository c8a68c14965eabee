"""Products, batches and devices of the local cloud: creation (random ids and PSKs), lookup and
the online state derived from the device's last heartbeat."""
import base64
import secrets
import string
from functools import cache

from django.db import IntegrityError, transaction

from localcloud import clock, sql
from localcloud.api.errors import CloudError, invalid_value, not_found
from localcloud.models import Batch, Device, Product
from localcloud.storage import media_delete_tree

PRODUCT_ID_ALPHABET = string.ascii_uppercase + string.digits
# A device counts as online when its last heartbeat is this recent (devices beat every ~30 s).
ONLINE_WINDOW_SECONDS = 90
MAX_BATCH_SIZE = 1000

# DescribeDevice's Online values.
OFFLINE, ONLINE, NOT_ACTIVATED = 0, 1, 3


def product_create(*, name: str, device_type: int = 1, category_id: int = 0,
                   features: list[str] | None = None, chip_os: str = "",
                   chip_manufacture_id: str = "", chip_id: str = "", description: str = "",
                   encryption_type: int = 2, net_type: str = "",
                   valid_years: int = 1) -> Product:
    now = clock.now()
    # Ten random uppercase alphanumerics, as Tencent's ids look; retry on the rare clash.
    for _ in range(5):
        product_id = "".join(secrets.choice(PRODUCT_ID_ALPHABET) for _ in range(10))
        try:
            with transaction.atomic():
                return Product.objects.create(
                    product_id=product_id, product_name=name, device_type=device_type,
                    category_id=category_id, features=features or [], chip_os=chip_os,
                    chip_manufacture_id=chip_manufacture_id, chip_id=chip_id,
                    product_description=description, encryption_type=encryption_type,
                    net_type=net_type, product_vaild_years=valid_years,
                    created_at=now, updated_at=now,
                )
        except IntegrityError:
            continue
    raise CloudError("InternalError", "Could not allocate a product id; retry.")


def product_get(*, product_id: str) -> Product:
    product = Product.objects.filter(product_id=product_id).first()
    if product is None:
        raise not_found(f"Product `{product_id}`")
    return product


# The product columns the device API and the recording reads use; any other loads when used.
_PRODUCT_FIELDS = ["id", "product_id", "product_name", "device_type", "category_id"]


def device_by_name_sql(joins: str = "") -> str:
    """`FROM … WHERE …` of a device found by product id and device name (aliases d and p), with
    `joins` (ending in a space) joined to it: the start of every hand-written read that names a
    device. The two parameters of the WHERE come after any of `joins`."""
    return (f"FROM {sql.table(Device)} d JOIN {sql.table(Product)} p ON p.id = d.product_id "
            f"{joins}WHERE p.product_id = %s AND d.device_name = %s")


@cache
def _device_find_sql() -> str:
    return (f"SELECT {sql.columns(Device, alias='d')}, "  # noqa: S608 (names)
            f"{sql.columns(Product, _PRODUCT_FIELDS, alias='p')} {device_by_name_sql()}")


def device_find(*, product_id: str, device_name: str) -> Device | None:
    """The device with its product, or None. Every device request and recording read starts
    here, so it is one hand-written query (see localcloud.sql)."""
    row = sql.fetch_one(_device_find_sql(), [product_id, device_name])
    if row is None:
        return None
    names = sql.field_names(Device)
    device = sql.instance(Device, names, row[:len(names)])
    device.product = sql.instance(Product, sql.field_names(Product, _PRODUCT_FIELDS),
                                  row[len(names):])
    return device


def device_get(*, product_id: str, device_name: str) -> Device:
    device = (Device.objects.select_related("product")
              .filter(product__product_id=product_id, device_name=device_name).first())
    if device is None:
        # Say which of the two is wrong: the caller's fix differs.
        if not Product.objects.filter(product_id=product_id).exists():
            raise not_found(f"Product `{product_id}`")
        raise not_found(f"Device `{device_name}` of product `{product_id}`")
    return device


def new_psk() -> str:
    # 16 random bytes, base64 like Tencent's device keys (24 characters).
    return base64.b64encode(secrets.token_bytes(16)).decode()


def batch_create(*, product: Product, count: int, prefix: str) -> Batch:
    """Create `count` devices named prefix + a 4-digit sequence that continues after the
    highest number already used with that prefix in the product."""
    if not 1 <= count <= MAX_BATCH_SIZE:
        raise invalid_value("DevNum", f"must be between 1 and {MAX_BATCH_SIZE}")
    now = clock.now()
    # Lock the product row so two batches with the same prefix do not pick the same numbers.
    Product.objects.select_for_update().filter(pk=product.pk).first()
    used = Device.objects.filter(product=product, device_name__startswith=prefix).values_list(
        "device_name", flat=True)
    highest = max((int(name[len(prefix):]) for name in used if name[len(prefix):].isdigit()),
                  default=0)
    batch_id = _new_batch_id()
    batch = Batch.objects.create(batch_id=batch_id, product=product, dev_num=count,
                                 dev_pre=prefix, created_at=now)
    Device.objects.bulk_create([
        Device(product=product, device_name=f"{prefix}{highest + i:04d}", psk=new_psk(),
               batch=batch, created_at=now)
        for i in range(1, count + 1)
    ])
    return batch


def _new_batch_id() -> int:
    for _ in range(5):
        batch_id = secrets.randbelow(9 * 10**8) + 10**8  # nine digits, like Tencent's
        if not Batch.objects.filter(batch_id=batch_id).exists():
            return batch_id
    raise CloudError("InternalError", "Could not allocate a batch id; retry.")


def batch_get(*, batch_id: int) -> Batch:
    batch = Batch.objects.select_related("product").filter(batch_id=batch_id).first()
    if batch is None:
        raise not_found(f"Batch `{batch_id}`")
    return batch


def device_online_state(device: Device, *, at: int | None = None) -> int:
    if not device.login_time:
        return NOT_ACTIVATED
    at = clock.now() if at is None else at
    return ONLINE if at - device.login_time <= ONLINE_WINDOW_SECONDS else OFFLINE


def device_set_enabled(*, device: Device, enabled: bool) -> None:
    Device.objects.filter(pk=device.pk).update(enable_state=1 if enabled else 0)


def device_delete(*, device: Device) -> None:
    """The device with its packages, index and media: rows first, files once that committed
    (a crash in between leaves unindexed files, never an index row pointing at nothing)."""
    folder = device_media_folder(device)
    device.delete()
    transaction.on_commit(lambda: media_delete_tree(folder))


def device_media_folder(device: Device) -> str:
    """Where all of a device's media is stored (segments, thumbnails, MJPEG, AAC)."""
    return f"d{device.pk}"
