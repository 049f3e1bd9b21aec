"""Plan rules: daily limits, what each plan may use, and the UTC day a count belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from exif_service.domain.accounts import Account, Plan
from exif_service.domain.errors import PlanRequired

UPGRADE_URL = "/pricing"


@dataclass(frozen=True)
class Limits:
    free: int
    pro: int

    def for_plan(self, plan: Plan) -> int:
        return self.pro if plan is Plan.PRO else self.free


def usage_day(now: datetime | None = None) -> str:
    """The UTC date a use counts towards; counters roll over at 00:00 UTC."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d")


def limit_message(limit: int) -> str:
    return f"Daily limit of {limit} images reached. Upgrade your plan for more."


def require_api_access(account: Account) -> None:
    """API keys work only while their owner is on the Pro plan."""
    if account.plan is not Plan.PRO:
        raise PlanRequired("API access requires the Pro plan. Upgrade your plan to use API keys.")
