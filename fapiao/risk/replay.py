"""The worker's pipeline, replayed in memory over demo events in time order (for the evaluation).

It calls the same pure functions as the agents, in the same order: the register agent folds issuances
and status changes, re-verifies remembered checks (follow-ups) and tells the seller statistics; the
verify agent decides, counts and remembers a check and derives its context from the entry before it;
the sweep turns expired sync holds into 查无此票; the risk agent computes features and rule hits with
the seller's statistics, and the behaviour deviations against the profiles (folded afterwards, as
the worker folds them). Processing time is event time (the feed's clock), so a run is deterministic.
Demo labels are kept aside in `labels` and never reach anything that is scored.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fapiao.demo import DemoEvent
from fapiao.domain import register, steps
from fapiao.domain.check_context import check_context
from fapiao.domain.invoice_types import invoice_key
from fapiao.domain.rechecks import recheck
from fapiao.domain.results import build_result
from fapiao.domain.verification import Decision
from fapiao.risk import behaviour, seller_stats
from fapiao.risk.features import features
from fapiao.risk.profile_cache import OwnedProfiles
from fapiao.risk.rules import DEFAULT_RULES, RuleHit, evaluate_rules
from schemas.events import (
    CheckRequested,
    CheckResult,
    InvoiceIssued,
    InvoiceStatusChanged,
    RiskRules,
    Verdict,
)


@dataclass(frozen=True)
class Scored:
    """One result as the risk agent sees it, before the model: its features and rule hits."""

    check_id: str
    result: CheckResult
    features: tuple[float, ...]
    hits: tuple[RuleHit, ...]
    deviations: tuple[behaviour.Deviation, ...] = ()  # behaviour against the profiles, strongest first
    presented: bool = False  # a face was shown: behaviour scoring applies

    @property
    def behaviour(self) -> tuple[float, ...]:
        """The deviation vector (DEVIATION_CODES order) for the behaviour score."""
        return behaviour.vector(list(self.deviations))


class Replay:
    def __init__(
        self,
        rules: RiskRules = DEFAULT_RULES,
        *,
        sync_window: timedelta = timedelta(hours=24),
        timezone: str = "Asia/Shanghai",
    ) -> None:
        self.rules = rules
        self.window = sync_window
        self.tz = ZoneInfo(timezone)
        self.entries: dict[str, register.Entry] = {}
        self.sellers: dict[str, dict[str, Any]] = {}
        # behaviour profiles, keyed as behaviour.profile_keys, folded in place (the replay owns them)
        self.profiles: dict[str, dict[str, Any]] = OwnedProfiles()
        self.labels: dict[str, str] = {}  # check_id -> demo label: ground truth, never scored
        self._holds: list[tuple[datetime, int, str, str]] = []  # (deadline, order, key, check_id)
        self._order = itertools.count()
        self._steps = steps.Rules(tz=self.tz, sync_window=sync_window)

    def run(self, events: Iterable[DemoEvent]) -> Iterator[Scored]:
        for event in events:
            yield from self.feed(event)

    def feed(self, event: DemoEvent) -> list[Scored]:
        """Every result this event produces (a check's answer, follow-ups, expired holds before it)."""
        out = self._sweep(event.at)
        value = event.value
        if isinstance(value, InvoiceIssued | InvoiceStatusChanged):
            out += self._register_change(value, event.at)
        elif isinstance(value, CheckRequested):
            if event.label is not None:
                self.labels[str(value.check_id)] = event.label
            out.append(self._answer(value))
        return out

    def finish(self) -> list[Scored]:
        """Let every sync hold still open run out (the end of the replay is not the end of time)."""
        if not self._holds:
            return []
        return self._sweep(max(deadline for deadline, *_ in self._holds))

    # -- the register agent (fapiao.domain.steps.fold_register, a batch of one) ----------------------

    def _register_change(self, value: InvoiceIssued | InvoiceStatusChanged, at: datetime) -> list[Scored]:
        key = invoice_key(value.invoice_code, value.invoice_number)
        done = steps.fold_register({key: self.entries.get(key)}, [value], at, self._steps)
        for told in done.activities:
            activity, seller = told.activity(), told.seller_tax_id
            # in place: the replay owns its statistics, as the risk agent's batch owns its copies
            self.sellers[seller] = seller_stats.fold_activity_into(self.sellers.get(seller), activity)
            behaviour.observe_issued(self.profiles, activity)
        self.entries.update(done.entries)
        return [self._scored(answer, at) for answer in done.answers]

    # -- the verify agent (fapiao.domain.steps.answer_check) and its sweep ----------------------------

    def _answer(self, request: CheckRequested) -> Scored:
        key = invoice_key(request.invoice_code, request.invoice_number)
        at = request.requested_at
        entry, answer = steps.answer_check(self.entries.get(key), request, at, self._steps)
        if entry is not None:  # counted and remembered
            self.entries[key] = entry
            if answer.decision.verdict is Verdict.PENDING_SYNC:
                heapq.heappush(self._holds, (at + self.window, next(self._order), key, str(request.check_id)))
        return self._scored(answer, at)

    def _scored(self, answer: steps.Answer, at: datetime) -> Scored:
        return self._score(
            answer.entry,
            answer.request,
            answer.decision,
            number=answer.number,
            version=answer.version,
            follow_up=answer.follow_up,
            at=at,
        )

    def _sweep(self, now: datetime) -> list[Scored]:
        out = []
        while self._holds and self._holds[0][0] <= now:
            deadline, _, key, check_id = heapq.heappop(self._holds)
            entry = self.entries.get(key)
            record = register.find_check(entry, check_id)
            if record is None or record["verdict"] != Verdict.PENDING_SYNC.value:
                continue  # resolved by a late issuance meanwhile
            update = recheck(entry, record, now=deadline, tz=self.tz, sync_window=self.window)
            if update is None:
                continue
            self.entries[key] = register.remember_check(entry, update.record)
            number, version = int(update.record["number"]), int(update.record["version"])
            out.append(
                self._score(
                    entry,
                    update.request,
                    update.decision,
                    number=number,
                    version=version,
                    follow_up=True,
                    at=deadline,
                )
            )
        return out

    # -- the risk agent (before the model) -----------------------------------------------------------

    def _score(
        self,
        entry: register.Entry | None,
        request: CheckRequested,
        decision: Decision,
        *,
        number: int,
        version: int,
        follow_up: bool,
        at: datetime,
    ) -> Scored:
        result = build_result(
            request, decision, decided_at=at, check_count=number, version=version, follow_up=follow_up
        )
        context = check_context(entry, request, decision.verdict)
        seller = self.sellers.get(context.seller_tax_id) if context.seller_tax_id else None
        hits = evaluate_rules(result, context, seller, self.rules)
        check = behaviour.check_of(result, context)
        found: list[behaviour.Deviation] = []
        if check is not None:
            found = behaviour.deviations(check, self.profiles)  # the profiles before this check
            behaviour.observe_checked(self.profiles, check)
        return Scored(
            str(request.check_id),
            result,
            features(result, context, seller),
            tuple(hits),
            tuple(found),
            check is not None,
        )
