"""Read side of early warning. Every query for alerts starts from `alerts_visible_to`."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from minqing.accounts.models import Role
from minqing.accounts.scoping import path_filter, remit_for
from minqing.alerts.models import Alert, AlertEvent, AlertState

# Who reads the alert centre: county-wide roles see their county, unit managers their township.
READER_ROLES = (Role.COUNTY_MANAGER, Role.DISPATCHER, Role.INSPECTOR, Role.UNIT_MANAGER)


def alerts_visible_to(user) -> QuerySet[Alert]:
    """Alerts whose area lies in the reach of one of the user's reader memberships."""
    if user is None or not getattr(user, "is_authenticated", False) or getattr(user, "is_citizen", False):
        return Alert.objects.none()
    paths = remit_for(user).paths_with_role(*READER_ROLES)
    return Alert.objects.filter(path_filter(paths, "area"))


def get_visible_alert(user, alert_id: int) -> Alert:
    """An alert the user may see, or Alert.DoesNotExist (shown as 404)."""
    return alerts_visible_to(user).select_related("area", "area__parent", "category", "rule").get(pk=alert_id)


def alert_list(user, *, state: str = "", kind: str = "", severity: str = "") -> QuerySet[Alert]:
    queryset = alerts_visible_to(user).select_related("area", "category")
    if state:
        queryset = queryset.filter(state=state)
    if kind:
        queryset = queryset.filter(kind=kind)
    if severity:
        queryset = queryset.filter(severity=severity)
    return queryset.order_by("-created_at", "-id")


def history(alert: Alert) -> QuerySet[AlertEvent]:
    return alert.events.select_related("actor").order_by("at", "id")


def alert_tile(user) -> dict | None:
    """The 预警 inbox tile: new alerts in the user's remit (readers only)."""
    if not remit_for(user).paths_with_role(*READER_ROLES):
        return None
    return {
        "name": "alerts",
        "label": _("预警"),
        "count": alerts_visible_to(user).filter(state=AlertState.NEW).count(),
        "url": f"{reverse('alerts:list')}?state=new",
    }
