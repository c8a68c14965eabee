"""The fleet page's table rows, written straight to HTML: the page's hot loop (issue 6)."""
import html
from urllib.parse import quote

from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from devices.models import PackageState


def fleet_rows(items, *, can_staff: bool) -> SafeString:
    """The table rows of the fleet page (the markup fleet.html's row loop used to write).

    A page holds up to 200 rows of some twenty values. Through the template engine each value
    paid for a variable lookup, a time zone conversion, localisation and escaping, plus a node
    per `{% if %}`: the rows took most of the results partial's time (issue 6). format_html per
    row still cost six times what this costs. So the rows are plain f-strings in which EVERY
    value from the database or a translation goes through `esc` (the html.escape that Django's
    own escape uses); tests/devices/test_fleet_page.py checks hostile names, nicknames, tags and
    emails come out escaped."""
    esc = html.escape
    fleet_url = esc(reverse("devices:fleet"))
    tz = timezone.get_current_timezone()
    online = f'<span class="badge ok">{esc(_("online"))}</span>'
    offline = f'<span class="badge">{esc(_("offline"))}</span>'
    removed = f' <span class="badge bad">{esc(_("removed upstream"))}</span>'
    disabled = f' <span class="badge warn">{esc(_("disabled"))}</span>'
    expired = f'<span class="badge bad">{esc(_("expired"))}</span>'
    no_package = f'<span class="muted">{esc(_("none"))}</span>'
    full_time, event, days = esc(_("full-time")), esc(_("event")), esc(_("days"))
    kinds: dict[int, str] = {}  # product id -> "Video stream · low-power"
    tag_links: dict[str, str] = {}

    rows = []
    for d in items:
        kind = kinds.get(d.product_id)
        if kind is None:
            kind = esc(str(d.product.get_stream_kind_display()))
            if d.product.low_power:
                kind += f" · {esc(_('low-power'))}"
            kinds[d.product_id] = kind
        if d.package_state == PackageState.ACTIVE:
            package = (f'<span class="badge ok">{full_time if d.package_type == 1 else event} · '
                       f'{int(d.package_retention_days or 0)} {days}</span>')
        elif d.package_state == PackageState.EXPIRED:
            package = expired
        else:
            package = no_package
        tags = []
        for tag in d.tags:
            link = tag_links.get(tag)
            if link is None:
                link = tag_links[tag] = (f'<a class="badge" href="?tag={esc(quote(tag, safe="/"))}">'
                                         f"{esc(tag)}</a> ")
            tags.append(link)
        name = esc(d.name)
        seen, expires = d.last_seen_at, d.package_expires_at
        rows.append(
            ('<tr class="removed">' if d.removed_upstream else "<tr>")
            + (f'<td><input type="checkbox" name="device" value="{int(d.pk)}" aria-label="{name}"></td>'
               if can_staff else "")
            + f'<td><a href="{fleet_url}{int(d.pk)}/">{name}</a>'
            + (removed if d.removed_upstream else (disabled if not d.enabled else ""))
            + f' {"".join(tags)}</td><td>{esc(d.nickname)}</td><td>{esc(d.product.name)}</td>'
            f"<td>{kind}</td><td>{online if d.online == 1 else offline}</td>"
            f'<td>{f"{seen.astimezone(tz):%Y-%m-%d %H:%M}" if seen else "—"}</td><td>{package}</td>'
            f'<td>{f"{expires.astimezone(tz):%Y-%m-%d}" if expires else "—"}</td>'
            f"<td>{int(d.package_queued_count)}</td>"
            + (f"<td>{esc(d.owner.email if d.owner else '')}</td>" if can_staff else "")
            + "</tr>\n")
    return mark_safe("".join(rows))  # noqa: S308 (every value above is escaped; see docstring)
