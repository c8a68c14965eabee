"""The audit log page: the tenant's entries, filterable and paginated, with compact diffs."""
from django.core.paginator import Paginator
from django.shortcuts import render

from portal import selectors
from portal.audit import action_label, audit_changes, object_type_label
from portal.forms import AuditFilterForm
from portal.permissions import admin_required

PAGE_SIZE = 25


@admin_required
def audit_log(request):
    object_types, actions = selectors.audit_filter_values(tenant=request.tenant)
    form = AuditFilterForm(request.GET or None, object_types=object_types, actions=actions)
    status = 200
    filters = {}
    if form.is_bound:
        if form.is_valid():
            filters = form.selector_filters()
        else:
            status = 400
    entries = selectors.audit_entry_list(tenant=request.tenant, filters=filters)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"entry": entry, "action": action_label(entry.action),
             "object_type": object_type_label(entry.object_type),
             "changes": audit_changes(entry)} for entry in page]
    return render(request, "portal/audit.html",
                  {"form": form, "page": page, "rows": rows}, status=status)
