"""Where rejected provider records go: a log line each (with the reason) and a count."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..domain.normalise import Rejection

log = logging.getLogger("market_data.rejections")


@dataclass
class RejectionLog:
    counts: Counter[str] = field(default_factory=Counter)
    last_reason: dict[str, str] = field(default_factory=dict)

    def report(self, rejections: Iterable[Rejection]) -> int:
        reported = 0
        for rejection in rejections:
            reported += 1
            self.counts[rejection.provider] += 1
            self.last_reason[rejection.provider] = rejection.reason
            log.warning(
                "rejected malformed provider record; not published",
                extra={
                    "provider": rejection.provider,
                    "reason": rejection.reason,
                    "record": rejection.record,
                },
            )
        return reported

    def reject(self, provider: str, reason: str, record: object) -> None:
        self.report([Rejection.of(provider, reason, record)])
