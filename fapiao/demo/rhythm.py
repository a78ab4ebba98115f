"""When the demo's live stream has its events: the backlog's daily rhythm, as rates (issue 20).

The backlog spreads each seller's invoices over its opening hours (a triangular distribution peaking
an hour after midday of its day, weekdays only for some) in proportion to its activity, and its
checks and status changes over office hours (08-21). The live stream used to run at one constant
rate round the clock, choosing among the sellers open at that moment: the few sellers open at night
then issued a third of all invoices, and checks came at any hour, so its per-entity rates and hours
looked nothing like the backlog's and behaviour scoring read the shift as the anomaly. `Rhythm` gives
the stream the backlog's shape instead: at a moment, each seller issues at its own rate of that hour
and checks happen only in office hours, averaging `rate` events per simulated second over a week.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fapiao.demo.entities import Profile, Seller

OFFICE_HOURS = (8, 21)  # when reimbursement clerks check and accountants red-flush
_WEEK = 7


def issue_density(profile: Profile, hour: float, weekday: int) -> float:
    """Share of a seller's average day of invoices issued per hour at `hour` (0-24) of `weekday`.

    The density of `DemoFeed._business_time`'s draw: triangular over the opening hours with its mode
    an hour after their middle; a weekdays-only seller issues a week's invoices in five days.
    """
    low, high = (float(h) for h in profile.hours)
    if not low <= hour < high or high <= low:
        return 0.0
    if profile.weekdays_only and weekday >= 5:
        return 0.0
    mode = min(max((low + high) / 2 + 1, low), high)
    if hour < mode:
        density = 2 * (hour - low) / ((high - low) * (mode - low)) if mode > low else 2 / (high - low)
    else:
        density = 2 * (high - hour) / ((high - low) * (high - mode)) if high > mode else 2 / (high - low)
    return density * (_WEEK / 5 if profile.weekdays_only else 1.0)


def office_density(hour: float) -> float:
    """Share of a day's checks per hour at `hour`: uniform over office hours."""
    low, high = OFFICE_HOURS
    return 1 / (high - low) if low <= hour < high else 0.0


class Rhythm:
    """Per-second rates of the stream's issuances, status changes and checks at a moment.

    `mix` is the week's share of each (issue, status, check); the rates average `rate` events per
    simulated second over a week. `peak` bounds their sum, for drawing by thinning.
    """

    def __init__(self, sellers: Sequence[Seller], rate: float, mix: tuple[float, float, float]) -> None:
        self.sellers = list(sellers)
        total = sum(s.profile.activity for s in self.sellers)
        self._shares = [s.profile.activity / total for s in self.sellers]
        self._rate = rate
        self._mix = mix
        kinks = {float(h) for h in OFFICE_HOURS}
        for seller in self.sellers:
            low, high = seller.profile.hours
            kinks |= {float(low), float(high), min(max((low + high) / 2 + 1, low), high)}
        # every density here is linear between these hours, so the largest sum is at one of them
        points = [min(max(k + d, 0.0), 24 - 1e-9) for k in kinks for d in (-1e-9, 0.0, 1e-9)]
        self.peak = max(sum(self._rates(h, w)[:3]) for w in range(_WEEK) for h in points) * 1.000001

    def _rates(self, hour: float, weekday: int) -> tuple[float, float, float, list[float]]:
        weights = [
            share * issue_density(s.profile, hour, weekday)
            for share, s in zip(self._shares, self.sellers, strict=True)
        ]
        issue_mix, status_mix, check_mix = self._mix
        per_hour = self._rate * 24  # a density of 1/24 per hour is the day's average
        office = office_density(hour)
        return (
            per_hour * issue_mix * sum(weights),
            per_hour * status_mix * office,
            per_hour * check_mix * office,
            weights,
        )

    def at(self, moment: datetime) -> tuple[float, float, float, list[float]]:
        """(issue, status, check) events per second at `moment` (local time), and each seller's weight."""
        hour = moment.hour + moment.minute / 60 + moment.second / 3600
        return self._rates(hour, moment.weekday())
