"""Pages of the cloud client: "Test connection" (htmx partial) and the "Cloud calls" report."""
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal.iotvideo import observe, selectors, services
from portal.permissions import admin_required

CHART_HEIGHT = 100
BAR_STEP = 10  # SVG units per hour


@require_POST
@admin_required
def cloud_test(request):
    check = services.connection_test(tenant=request.tenant)
    if request.htmx:
        return render(request, "portal/iotvideo/cloud_test_result.html", {"check": check})
    # Without JavaScript the form posts here: show the verdict on the settings page.
    (messages.success if check.ok else messages.error)(request, check.message)
    return redirect("cloud_settings")


def _chart(hours):
    """Bar geometry for the inline SVG (computed here: attributes, not inline styles, pass
    the Content-Security-Policy)."""
    peak = max([h.calls for h in hours] + [h.throttles for h in hours] + [1])
    bars = []
    for i, h in enumerate(hours):
        ok_h = round((h.calls - h.errors) * CHART_HEIGHT / peak, 2)
        err_h = round(h.errors * CHART_HEIGHT / peak, 2)
        thr_h = round(h.throttles * CHART_HEIGHT / peak, 2)
        bars.append({
            "stats": h, "x": i * BAR_STEP + 1, "x_thr": i * BAR_STEP + 7,
            "ok_y": CHART_HEIGHT - ok_h, "ok_h": ok_h,
            "err_y": CHART_HEIGHT - ok_h - err_h, "err_h": err_h,
            "thr_y": CHART_HEIGHT - thr_h, "thr_h": thr_h,
        })
    return {"bars": bars, "peak": peak, "width": len(hours) * BAR_STEP,
            "height": CHART_HEIGHT}


@require_GET
@admin_required
def cloud_calls(request):
    observe.flush()  # this process's latest counts, so an admin sees the call they just made
    since, now = selectors.cloud_call_window()
    by_action = selectors.cloud_call_stats_by_action(tenant=request.tenant, since=since)
    hours = selectors.cloud_call_stats_by_hour(tenant=request.tenant, since=since)
    totals = {
        "calls": sum(a.calls for a in by_action),
        "errors": sum(a.errors for a in by_action),
        "throttles": sum(a.throttles for a in by_action),
        "retries": sum(a.retries for a in by_action),
    }
    return render(request, "portal/iotvideo/cloud_calls.html", {
        "by_action": by_action, "chart": _chart(hours), "totals": totals,
        "since": since, "now": now, "settings_tab": "cloud",
    })
