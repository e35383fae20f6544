"""Keep ai-decision warm while the New York Stock Exchange (XNYS) is open.

Run by the CronJobs of market-hours.yaml in the orchestrator's image (it has exchange_calendars)
under the ServiceAccount ai-decision-scaler, which may patch exactly one object: the Knative
Service ai-decision. ``open`` (shortly before 09:30 New York time, weekdays) sets its
``autoscaling.knative.dev/min-scale`` to 1 when the day is an XNYS session; ``close`` (13:05 and
16:05, weekdays) sets it back to 0 once the day's session has closed, so early closes (13:00)
are covered and holidays never warm it up. Setting the value it already has is a no-op for
Knative (no new Revision); a change makes one new Revision, twice a day.

    python market_hours.py open|close [--dry-run]
"""

from __future__ import annotations

import json
import ssl
import sys
import urllib.request
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

SERVICE = "ai-decision"
ANNOTATION = "autoscaling.knative.dev/min-scale"
EXCHANGE = "XNYS"
NEW_YORK = ZoneInfo("America/New_York")
ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
API_SERVER = "https://kubernetes.default.svc"


class SessionCalendar(Protocol):
    """The part of an exchange_calendars ExchangeCalendar this needs."""

    def is_session(self, session: Any) -> bool: ...

    def session_close(self, session: Any) -> Any: ...


def desired_min_scale(action: str, now: datetime, calendar: SessionCalendar) -> str | None:
    """The min-scale ai-decision should get now, or None to leave it as it is."""
    if action not in ("open", "close"):
        raise ValueError(f"action must be open or close, not {action!r}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today: date = now.astimezone(NEW_YORK).date()
    label = today.isoformat()
    if not calendar.is_session(label):
        return None if action == "open" else "0"
    closes = calendar.session_close(label).to_pydatetime()
    if action == "open":
        return "1" if now < closes else None
    return "0" if now >= closes else None


def patch_body(min_scale: str) -> bytes:
    """A JSON merge patch of the revision template's min-scale annotation."""
    patch = {"spec": {"template": {"metadata": {"annotations": {ANNOTATION: min_scale}}}}}
    return json.dumps(patch).encode()


def service_url(namespace: str) -> str:
    return f"{API_SERVER}/apis/serving.knative.dev/v1/namespaces/{namespace}/services/{SERVICE}"


def patch_service(min_scale: str) -> int:
    namespace = (ACCOUNT / "namespace").read_text().strip()
    token = (ACCOUNT / "token").read_text().strip()
    request = urllib.request.Request(
        service_url(namespace),
        data=patch_body(min_scale),
        method="PATCH",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/merge-patch+json",
            "Accept": "application/json",
        },
    )
    context = ssl.create_default_context(cafile=str(ACCOUNT / "ca.crt"))
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        return int(response.status)


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--dry-run"]
    if len(args) != 1 or args[0] not in ("open", "close"):
        print("usage: market_hours.py open|close [--dry-run]", file=sys.stderr)
        return 2
    import exchange_calendars

    calendar = exchange_calendars.get_calendar(EXCHANGE)
    now = datetime.now(UTC)
    wanted = desired_min_scale(args[0], now, calendar)
    if wanted is None:
        print(f"{now.isoformat()} {args[0]}: nothing to change for {SERVICE}")
        return 0
    if "--dry-run" in argv:
        print(f"{now.isoformat()} {args[0]}: would set {ANNOTATION}={wanted} on {SERVICE}")
        return 0
    status = patch_service(wanted)
    print(f"{now.isoformat()} {args[0]}: set {ANNOTATION}={wanted} on {SERVICE} (HTTP {status})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
