"""Playback pages (My cameras, a device's recordings), the JSON and partials their scripts use,
clip downloads and share links. Every view that names a device fetches it through
device_get_for_user first, so no URL of a device is ever built for someone who may not see it."""
from __future__ import annotations

import calendar as pycalendar
import json
import logging
from datetime import UTC, date, datetime, time, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import (
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from devices.models import StreamKind
from devices.selectors import device_get_for_user, device_list_visible
from playback import clips, selectors, services
from playback.models import ShareLink
from portal.iotvideo.errors import CloudError
from portal.models import Role
from portal.permissions import member_required

log = logging.getLogger(__name__)


class BadInput(Exception):
    """A parameter the user (or a script) sent is not usable; the message says why."""


class EventGone(BadInput):
    """The event named in the URL is not (or no longer) in the cloud."""


# --- parsing ---------------------------------------------------------------------------------

def _parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(_("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": value})


def _parse_month(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    try:
        d = date.fromisoformat(f"{value}-01")
    except ValueError:
        raise BadInput(_("“%(value)s” is not a month (YYYY-MM).") % {"value": value})
    return d.year, d.month


def _parse_epoch(value: str | None, name: str) -> datetime:
    try:
        seconds = int(value or "")
    except ValueError:
        raise BadInput(_("%(name)s must be a Unix time in seconds.") % {"name": name})
    if not 0 < seconds < 2**32:
        raise BadInput(_("%(name)s is out of range.") % {"name": name})
    return datetime.fromtimestamp(seconds, tz=UTC)


def _parse_clock(value: str | None, name: str) -> time | None:
    if not value:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise BadInput(_("%(name)s must be a time of day (HH:MM or HH:MM:SS).") % {"name": name})


def _at(day: date, clock: time, tz) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def _range_from(params, tz) -> tuple[datetime, datetime]:
    """start/end as Unix seconds, or day + from/to as times of that day in the viewer's zone."""
    if params.get("start") or params.get("end"):
        return _parse_epoch(params.get("start"), "start"), _parse_epoch(params.get("end"), "end")
    day = _parse_day(params.get("day"))
    start_t, end_t = _parse_clock(params.get("from"), _("From")), _parse_clock(params.get("to"), _("To"))
    if day is None or start_t is None or end_t is None:
        raise BadInput(_("Choose a day and the start and end times of the clip."))
    return _at(day, start_t, tz), _at(day, end_t, tz)


def _epoch(dt: datetime | None) -> int | None:
    return int(dt.timestamp()) if dt else None


def _json_error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": str(message)}, status=status)


def _purchase_url(request, device) -> str | None:
    """The purchase page for staff and admins, if the devices app serves one."""
    if request.role not in (Role.ADMIN, Role.STAFF):
        return None
    try:
        return reverse("devices:purchase_new") + "?" + urlencode({"device": device.pk})
    except NoReverseMatch:
        return None


# --- My cameras ------------------------------------------------------------------------------

@member_required
@require_GET
def cameras(request):
    devices = device_list_visible(tenant=request.tenant, user=request.user,
                                  role=request.role).order_by("nickname", "name", "pk")
    page = Paginator(devices, 24).get_page(request.GET.get("page"))
    return render(request, "playback/cameras.html", {"page": page})


@member_required
@require_GET
def camera_thumb(request, device_id: int):
    """The grid card's picture: the newest event's thumbnail (loaded when the card shows)."""
    device = device_get_for_user(request, device_id)
    event, error = None, None
    try:
        event = services.latest_event(device=device)
    except CloudError as exc:
        error = exc.message
    return render(request, "playback/cameras.html#thumb",
                  {"device": device, "event": event, "error": error})


# --- the device page -------------------------------------------------------------------------

def _month_grid(year: int, month: int, marked: set[date]) -> list[list[dict | None]]:
    weeks = []
    for week in pycalendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        weeks.append([
            {"day": d, "marked": d in marked} if d.month == month else None for d in week
        ])
    return weeks


def _shift_month(year: int, month: int, delta: int) -> str:
    index = year * 12 + month - 1 + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@member_required
@require_GET
def device_page(request, device_id: int):
    device = device_get_for_user(request, device_id)
    tz = timezone.get_current_timezone()
    try:
        day = _parse_day(request.GET.get("day")) or timezone.localdate()
        year, month = _parse_month(request.GET.get("month")) or (day.year, day.month)
        filter_from = _parse_clock(request.GET.get("from"), _("From"))
        filter_to = _parse_clock(request.GET.get("to"), _("To"))
    except BadInput as exc:
        return HttpResponseBadRequest(str(exc))
    target = request.htmx.target if request.htmx else None
    ctx = {
        "device": device,
        "day": day,
        "year": year,
        "month": month,
        "month_first": date(year, month, 1),
        "prev_month": _shift_month(year, month, -1),
        "next_month": _shift_month(year, month, 1),
        "is_picture": device.stream_kind == StreamKind.PICTURE,
        "can_delete": request.role == Role.ADMIN,
        "filter_from": request.GET.get("from", ""),
        "filter_to": request.GET.get("to", ""),
        "tz_name": getattr(request, "time_zone_name", "UTC"),
        "cloud_error": None,
    }
    try:
        if target in (None, "calendar"):
            marked = services.recording_days(device=device, year=year, month=month, tz=tz)
            ctx["weeks"] = _month_grid(year, month, marked)
            if target == "calendar":
                return render(request, "playback/device.html#calendar", ctx)
        ctx.update(_gallery_context(device=device, day=day, tz=tz, filter_from=filter_from,
                                    filter_to=filter_to, context=request.GET.get("context", "")))
        if target in ("gallery", "gallery-more"):
            name = "gallery" if target == "gallery" else "gallery-page"
            return render(request, f"playback/device.html#{name}", ctx)
        if not ctx["is_picture"]:
            start, end = services.day_window(day, tz)
            timeline = services.day_timeline(device=device, day=day, tz=tz)
            ctx["timeline"] = timeline
            ctx["spans_json"] = json.dumps([[_epoch(s.start), _epoch(s.end)] for s in timeline.spans])
            ctx["window_start"], ctx["window_end"] = _epoch(start), _epoch(end)
    except CloudError as exc:
        ctx["cloud_error"] = exc.message
        if target:
            return HttpResponse(
                format_html('<p class="notice notice-error">{}</p>', exc.message), status=502)
    ctx.update(services.device_notices(device=device))
    ctx["purchase_url"] = _purchase_url(request, device)
    ctx["shares"] = selectors.share_list_for_device(device=device, user=request.user,
                                                    role=request.role)[:20]
    ctx["today"] = timezone.localdate()
    return render(request, "playback/device.html", ctx)


def _gallery_context(*, device, day, tz, filter_from, filter_to, context) -> dict:
    start, end = services.day_window(day, tz)
    if filter_from:
        start = max(start, _at(day, filter_from, tz))
    if filter_to:
        end = min(end, _at(day, filter_to, tz))
    if end <= start:
        return {"events": services.EventsPage(), "next_query": None}
    page = services.events_page(device=device, start=start, end=end, context=context)
    next_query = None
    if not page.listover and page.context:
        params = {"day": day.isoformat(), "context": page.context}
        if filter_from:
            params["from"] = filter_from.strftime("%H:%M")
        if filter_to:
            params["to"] = filter_to.strftime("%H:%M")
        next_query = urlencode(params)
    return {"events": page, "next_query": next_query}


# --- JSON for the page's scripts -------------------------------------------------------------

@member_required
@require_GET
def day_timeline(request, device_id: int, day: str):
    device = device_get_for_user(request, device_id)
    tz = timezone.get_current_timezone()
    try:
        the_day = _parse_day(day)
        timeline = services.day_timeline(device=device, day=the_day, tz=tz)
        markers = services.event_markers(device=device, start=timeline.window_start,
                                         end=timeline.window_end)
    except BadInput as exc:
        return _json_error(str(exc), 400)
    except CloudError as exc:
        return _json_error(exc.message, 502)
    return JsonResponse({
        "day": the_day.isoformat(),
        "window": [_epoch(timeline.window_start), _epoch(timeline.window_end)],
        "spans": [[_epoch(s.start), _epoch(s.end)] for s in timeline.spans],
        "events": [[e.event_id, _epoch(e.start), _epoch(e.end)] for e in markers],
    })


def _source_json(source: services.PlayerSource) -> dict:
    return {
        "url": source.url,
        "expires_at": _epoch(source.expires_at),
        "start": _epoch(source.start),
        "end": _epoch(source.end),
        "spans": [[_epoch(s.start), _epoch(s.end)] for s in source.spans],
    }


@member_required
@require_GET
def signed_url(request, device_id: int):
    device = device_get_for_user(request, device_id)
    try:
        start, end = _range_from(request.GET, timezone.get_current_timezone())
        source = services.signed_source(device=device, start=start, end=end)
    except BadInput as exc:
        return _json_error(str(exc), 400)
    except ValidationError as exc:
        return _json_error(" ".join(exc.messages), 400)
    except CloudError as exc:
        return _json_error(exc.message, 502)
    if source is None:
        return _json_error(_("Nothing was recorded in this range."), 404)
    return JsonResponse(_source_json(source))


def _event_from(request, device, event_id: str) -> services.EventItem:
    start = _parse_epoch(request.GET.get("start") or request.POST.get("start"), "start")
    event = services.event_get(device=device, event_id=event_id, at=start)
    if event is None:
        raise EventGone(_("This event no longer exists."))
    return event


def _stream_json(stream: services.PictureStream) -> dict:
    return {"video_url": stream.video_url, "audio_url": stream.audio_url,
            "start": _epoch(stream.start), "end": _epoch(stream.end)}


@member_required
@require_GET
def event_stream(request, device_id: int, event_id: str):
    """The MJPEG + AAC addresses of a picture-stream event."""
    device = device_get_for_user(request, device_id)
    try:
        event = _event_from(request, device, event_id)
        stream = services.picture_stream(device=device, event=event)
    except BadInput as exc:
        return _json_error(str(exc), 404 if isinstance(exc, EventGone) else 400)
    except CloudError as exc:
        return _json_error(exc.message, 502)
    return JsonResponse(_stream_json(stream))


@member_required
@require_POST
def event_delete(request, device_id: int, event_id: str):
    device = device_get_for_user(request, device_id)
    if request.role != Role.ADMIN:
        raise PermissionDenied
    back = reverse("playback:device", args=[device.pk])
    try:
        event = _event_from(request, device, event_id)
        services.event_delete(device=device, event=event, actor=request.user)
    except (BadInput, CloudError) as exc:
        message = exc.message if isinstance(exc, CloudError) else str(exc)
        if request.htmx:
            return HttpResponse(format_html('<p class="notice notice-error">{}</p>', message),
                                status=409)
        messages.error(request, message)
        return redirect(back)
    if request.htmx:
        resp = HttpResponse("")
        resp["HX-Trigger"] = "event-deleted"
        return resp
    messages.success(request, _("The event was deleted."))
    day = timezone.localtime(event.start).date().isoformat()
    return redirect(f"{back}?day={day}")


# --- downloads -------------------------------------------------------------------------------

def _mp4_response(chunks, filename: str) -> StreamingHttpResponse:
    resp = StreamingHttpResponse(chunks, content_type="video/mp4")
    resp["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp["Cache-Control"] = "no-store"
    return resp


def _clip_response(device, start: datetime, end: datetime):
    try:
        source = services.signed_source(device=device, start=start, end=end,
                                        limit=services.MAX_CLIP)
    except ValidationError as exc:
        return HttpResponseBadRequest(" ".join(exc.messages))
    if source is None:
        return HttpResponse(_("Nothing was recorded in this range."), status=404,
                            content_type="text/plain; charset=utf-8")
    try:
        chunks = clips.remux_hls_to_mp4(source.url)
    except clips.MediaFetchError:
        log.exception("clip fetch failed for device %s", device.pk)
        return HttpResponse(_("The recordings could not be fetched from the cloud. Try again."),
                            status=502, content_type="text/plain; charset=utf-8")
    local = timezone.localtime(source.start)
    return _mp4_response(chunks, f"{device.name}-{local:%Y%m%d-%H%M%S}.mp4")


@member_required
@require_GET
def clip_download(request, device_id: int):
    device = device_get_for_user(request, device_id)
    try:
        start, end = _range_from(request.GET, timezone.get_current_timezone())
        return _clip_response(device, start, end)
    except BadInput as exc:
        return HttpResponseBadRequest(str(exc))
    except CloudError as exc:
        return HttpResponse(exc.message, status=502, content_type="text/plain; charset=utf-8")


def _event_download(device, event: services.EventItem):
    if device.stream_kind != StreamKind.PICTURE:
        return _clip_response(device, event.start, max(event.end, event.start + timedelta(seconds=1)))
    stream = services.picture_stream(device=device, event=event)
    try:
        data = clips.picture_event_mp4(video_url=stream.video_url, audio_url=stream.audio_url,
                                       seconds=event.seconds)
    except clips.MediaFetchError:
        log.exception("picture event fetch failed for device %s", device.pk)
        return HttpResponse(_("The event could not be fetched from the cloud. Try again."),
                            status=502, content_type="text/plain; charset=utf-8")
    local = timezone.localtime(event.start)
    resp = HttpResponse(data, content_type="video/mp4")
    resp["Content-Disposition"] = f'attachment; filename="{device.name}-{local:%Y%m%d-%H%M%S}.mp4"'
    return resp


@member_required
@require_GET
def event_download(request, device_id: int, event_id: str):
    device = device_get_for_user(request, device_id)
    try:
        return _event_download(device, _event_from(request, device, event_id))
    except BadInput as exc:
        return HttpResponse(str(exc), status=404 if isinstance(exc, EventGone) else 400,
                            content_type="text/plain; charset=utf-8")
    except CloudError as exc:
        return HttpResponse(exc.message, status=502, content_type="text/plain; charset=utf-8")


# --- share links -----------------------------------------------------------------------------

@member_required
@require_POST
def share_create(request, device_id: int):
    device = device_get_for_user(request, device_id)
    back = reverse("playback:device", args=[device.pk])
    try:
        event_id = request.POST.get("event_id", "")
        if event_id:
            event = _event_from(request, device, event_id)
            start, end = event.start, max(event.end, event.start + timedelta(seconds=1))
        else:
            start, end = _range_from(request.POST, timezone.get_current_timezone())
        try:
            hours = int(request.POST.get("hours", "24"))
        except ValueError:
            raise BadInput(_("Choose how long the link works, in hours."))
        link = services.share_create(device=device, user=request.user, start=start, end=end,
                                     valid_for=timedelta(hours=hours), event_id=event_id)
    except BadInput as exc:
        messages.error(request, str(exc))
        return redirect(back)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    except CloudError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    url = request.build_absolute_uri(reverse("playback_share:page", args=[link.token]))
    messages.success(request, _("Share link created: %(url)s") % {"url": url})
    day = timezone.localtime(start).date().isoformat()
    return redirect(f"{back}?day={day}#shares")


@member_required
@require_POST
def share_revoke(request, device_id: int, pk: int):
    device = device_get_for_user(request, device_id)
    link = selectors.share_get_for_user(device=device, user=request.user, role=request.role,
                                        pk=pk)
    services.share_revoke(link=link, user=request.user)
    messages.success(request, _("The share link was revoked."))
    return redirect(reverse("playback:device", args=[device.pk]) + "#shares")


# --- the anonymous share page ----------------------------------------------------------------

def _usable_link(request, token: str) -> tuple[ShareLink, HttpResponse | None]:
    link = selectors.share_get_by_token(token)
    timezone.activate(link.tenant.time_zone)
    if not link.is_usable:
        resp = render(request, "playback/share.html", {"link": link, "gone": True}, status=410)
        return link, resp
    return link, None


@require_GET
def share_page(request, token: str):
    link, gone = _usable_link(request, token)
    if gone:
        return gone
    services.share_view_record(link=link, request=request, what="page")
    return render(request, "playback/share.html", {
        "link": link, "gone": False,
        "is_picture": link.device.stream_kind == StreamKind.PICTURE,
        "tz_name": link.tenant.time_zone,
    })


@require_GET
def share_source(request, token: str):
    """The signed address of exactly the shared range, nothing around it."""
    link, gone = _usable_link(request, token)
    if gone:
        return _json_error(_("This link has expired or was revoked."), 410)
    services.share_view_record(link=link, request=request, what="signed-url")
    try:
        if link.device.stream_kind == StreamKind.PICTURE:
            event = services.EventItem(event_id=link.event_id, start=link.start, end=link.end,
                                       thumbnail_url="", upload_status="")
            return JsonResponse(_stream_json(services.picture_stream(device=link.device,
                                                                     event=event)))
        source = services.signed_source(device=link.device, start=link.start, end=link.end,
                                        limit=services.MAX_CLIP)
    except CloudError as exc:
        return _json_error(exc.message, 502)
    if source is None:
        return _json_error(_("These recordings are no longer stored."), 404)
    return JsonResponse(_source_json(source))


@require_GET
def share_download(request, token: str):
    link, gone = _usable_link(request, token)
    if gone:
        return gone
    services.share_view_record(link=link, request=request, what="download")
    try:
        if link.device.stream_kind == StreamKind.PICTURE:
            event = services.EventItem(event_id=link.event_id, start=link.start, end=link.end,
                                       thumbnail_url="", upload_status="")
            return _event_download(link.device, event)
        return _clip_response(link.device, link.start, link.end)
    except CloudError as exc:
        return HttpResponse(exc.message, status=502, content_type="text/plain; charset=utf-8")
