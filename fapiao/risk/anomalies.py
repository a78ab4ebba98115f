"""Behaviour-only anomaly kinds injected into the demo feed, for the evaluation of issue 20 (test data).

Every injected invoice is genuine: it is issued (an `InvoiceIssued` event, so it is in the register)
and every injected check gives its true fields, so it verifies 一致. What is wrong is only the
behaviour — who issues, when, how much, to whom, who presents it, how often. Labels travel only on
`DemoEvent.label`, as the feed's own do, and never reach anything that is scored.

The kinds (documented in docs/risk-model.md, "Behaviour-only anomaly kinds"):

- `amount_spike`: a seller bills a regular buyer 2–5× the largest invoice it ever issued.
- `split_below_limit`: 6–10 invoices with consecutive numbers from one seller to one buyer within
  an hour or two, each just under a round limit (拆票).
- `night_issuance`: a seller keeping office hours issues at 01:00–04:59.
- `foreign_requester`: an invoice presented by a requester that is neither its buyer nor ever had
  anything to do with either party (someone else's invoice reimbursed: 买票报销).
- `requester_burst`: a small requester presents 12–25 of its invoices within an hour.
- `stale_presentation`: an invoice presented 90–360 days after issue (older than any the demo keeps).
- `unusual_item`: a seller bills an item of another trade (白酒, 购物卡, 汽油 …).
- `shell_seller`: a new taxpayer issues 15–30 large invoices to many companies within two days.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from fapiao import topics
from fapiao.demo.entities import Buyer, Directory, Seller
from fapiao.demo.generator import CST, PROVINCE, REGION, DemoEvent, fourth_field_value, money
from fapiao.domain.invoice_codes import make_invoice_code
from fapiao.domain.invoice_numbers import make_digital_number
from fapiao.domain.invoice_types import invoice_key, invoice_type
from fapiao.domain.taxpayer_id import make_uscc
from schemas.events import CheckRequested, InvoiceIssued, InvoiceLine, Party

BEHAVIOUR_KINDS: tuple[str, ...] = (
    "amount_spike",
    "split_below_limit",
    "night_issuance",
    "foreign_requester",
    "requester_burst",
    "stale_presentation",
    "unusual_item",
    "shell_seller",
)
_FOREIGN_ITEMS = (
    ("*酒*白酒", Decimal("0.13")),
    ("*预付卡*购物卡", Decimal("0")),
    ("*成品油*汽油", Decimal("0.13")),
    ("*烟草制品*卷烟", Decimal("0.13")),
    ("*珠宝首饰*黄金饰品", Decimal("0.13")),
)
_SHELL_ITEMS = (("*经纪代理服务*代理服务费", Decimal("0.06")), ("*现代服务*技术服务费", Decimal("0.06")))


@dataclass
class _Known:
    """What the feed's genuine history shows: per seller its totals and buyers; companies' requesters."""

    totals: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    buyers: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    requester_checks: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    keys: set[str] = field(default_factory=set)


class Injector:
    """Makes the cases of each kind in a time window, avoiding every key the feed used."""

    def __init__(self, seed: int, directory: Directory, events: list[DemoEvent]) -> None:
        self.rng = random.Random(seed * 7919 + 20)
        self.directory = directory
        self.sellers = {s.tax_id: s for s in directory.sellers}
        self.companies = list(directory.companies)
        self.known = _Known()
        for event in events:
            self.known.keys.add(event.key)
            value = event.value
            if isinstance(value, InvoiceIssued) and value.seller.tax_id:
                self.known.totals[value.seller.tax_id].append(float(value.total))
                if value.buyer.tax_id:
                    self.known.buyers[value.seller.tax_id].append(value.buyer.tax_id)
            elif isinstance(value, CheckRequested):
                self.known.requester_checks[value.requester] += 1

    # -- building blocks ---------------------------------------------------------------------------

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _seller(self, office_hours: bool = False) -> Seller:
        fits = [s for s in self.directory.sellers if not office_hours or s.profile.hours[0] >= 7]
        pool = [s for s in fits if len(self.known.totals[s.tax_id]) >= 30]
        if not pool:  # a short history: the busiest sellers there are
            pool = sorted(fits, key=lambda s: -len(self.known.totals[s.tax_id]))[:5]
        return self.rng.choice(pool)

    def _regular_buyer(self, seller: Seller) -> Buyer:
        buyers = self.known.buyers[seller.tax_id]
        by_id = {b.tax_id: b for b in self.companies}
        for _ in range(20):
            if buyers and (b := by_id.get(self.rng.choice(buyers))) is not None:
                return b
        return self.rng.choice(self.companies)

    def _fplx(self, seller: Seller) -> str:
        types = [(t, w) for t, w in seller.profile.types if t in ("01", "04", "08", "10", "31", "32")]
        if not types:
            return "10"
        return self.rng.choices([t for t, _ in types], [w for _, w in types])[0]

    def _identify(self, fplx: str, year: int, code: str = "", number: int | None = None) -> tuple[str, str]:
        while True:
            if invoice_type(fplx).digital:
                code, text = "", make_digital_number(year, PROVINCE, self.rng)
            else:
                code = code or make_invoice_code(fplx, REGION, year, self.rng)
                value = number if number is not None else self.rng.randrange(1, 90_000_000)
                text = f"{value:08d}"
            key = invoice_key(code, text)
            if key not in self.known.keys:
                self.known.keys.add(key)
                return code, text
            code, number = "", None

    def _invoice(
        self,
        seller: Seller | Party,
        buyer: Buyer,
        at: datetime,
        total: float,
        *,
        fplx: str,
        item: tuple[str, Decimal] | None = None,
        identity: tuple[str, str] | None = None,
    ) -> InvoiceIssued:
        if item is None:
            assert isinstance(seller, Seller)
            chosen = self.rng.choice(seller.profile.items_for(fplx) or seller.profile.items)
            item = (chosen.name, chosen.rate)
        name, rate = item
        amount = money(Decimal(str(total)) / (1 + rate))
        tax = money(amount * rate)
        code, number = identity or self._identify(fplx, at.year)
        party = seller.party(full=True) if isinstance(seller, Seller) else seller
        line = InvoiceLine(item=name, amount=amount, tax_rate=rate, tax=tax)
        return InvoiceIssued(
            event_id=self._uuid(),
            fplx=fplx,
            invoice_code=code,
            invoice_number=number,
            issue_date=at.date(),
            issued_at=at,
            seller=party,
            buyer=buyer.party(full=True),
            lines=(line,),
            amount=amount,
            tax=tax,
            total=amount + tax,
            check_code="" if invoice_type(fplx).digital else "".join(self.rng.choices("0123456789", k=20)),
        )

    def _check(self, invoice: InvoiceIssued, requester: str, when: datetime, label: str) -> list[DemoEvent]:
        amount, check_code = fourth_field_value(invoice)
        request = CheckRequested(
            check_id=self._uuid(),
            requested_at=when.replace(microsecond=0),
            requester=requester,
            channel="demo",
            invoice_code=invoice.invoice_code,
            invoice_number=invoice.invoice_number,
            issue_date=invoice.issue_date,
            amount=amount,
            check_code=check_code,
        )
        key = invoice_key(invoice.invoice_code, invoice.invoice_number)
        return [DemoEvent(topics.CHECKS_REQUESTED.name, key, request, label)]

    def _issue(self, invoice: InvoiceIssued) -> DemoEvent:
        return DemoEvent(
            topics.INVOICES_ISSUED.name, invoice_key(invoice.invoice_code, invoice.invoice_number), invoice
        )

    def _office(self, day: datetime, low: int = 9, high: int = 17) -> datetime:
        start = datetime.combine(day.astimezone(CST).date(), time(), CST)
        return start + timedelta(seconds=self.rng.randrange(low * 3600, high * 3600))

    def _usual_total(self, seller: Seller) -> float:
        return self.rng.choice(self.known.totals[seller.tax_id] or [seller.profile.amount_median])

    def _issued_and_checked(
        self, invoice: InvoiceIssued, requester: str, when: datetime, label: str
    ) -> list[DemoEvent]:
        return [self._issue(invoice), *self._check(invoice, requester, when, label)]

    def _later_office(self, after: datetime, days: float) -> datetime:
        return self._office(after + timedelta(days=days))

    # -- the kinds -----------------------------------------------------------------------------------

    def amount_spike(self, at: datetime) -> list[DemoEvent]:
        seller = self._seller()
        buyer = self._regular_buyer(seller)
        total = max(self.known.totals[seller.tax_id] or [seller.profile.amount_median]) * self.rng.uniform(
            2, 5
        )
        issued = self._office(at)
        invoice = self._invoice(seller, buyer, issued, total, fplx=self._fplx(seller))
        return self._issued_and_checked(
            invoice, buyer.requester, self._later_office(issued, self.rng.uniform(0.5, 3)), "amount_spike"
        )

    def split_below_limit(self, at: datetime) -> list[DemoEvent]:
        seller = self._seller()
        buyer = self._regular_buyer(seller)
        totals = sorted(self.known.totals[seller.tax_id] or [seller.profile.amount_median])
        usual = totals[len(totals) // 2]
        limit = 10_000 if usual < 20_000 else 100_000
        fplx = self._fplx(seller)
        year = at.year
        first = self.rng.randrange(1, 80_000_000)
        code = "" if invoice_type(fplx).digital else make_invoice_code(fplx, REGION, year, self.rng)
        issued = self._office(at, 9, 15)
        check_at = self._later_office(issued, self.rng.uniform(1, 3))
        events = []
        for i in range(self.rng.randint(6, 10)):
            moment = issued + timedelta(minutes=i * self.rng.uniform(3, 12))
            identity = self._identify(fplx, year, code, first + i) if code else None
            total = limit * self.rng.uniform(0.980, 0.999)
            invoice = self._invoice(seller, buyer, moment, total, fplx=fplx, identity=identity)
            events += self._issued_and_checked(
                invoice, buyer.requester, check_at + timedelta(minutes=i * 2), "split_below_limit"
            )
        return events

    def night_issuance(self, at: datetime) -> list[DemoEvent]:
        seller = self._seller(office_hours=True)
        buyer = self._regular_buyer(seller)
        day = datetime.combine(at.astimezone(CST).date(), time(), CST)
        issued = day + timedelta(seconds=self.rng.randrange(1 * 3600, 5 * 3600))
        invoice = self._invoice(seller, buyer, issued, self._usual_total(seller), fplx=self._fplx(seller))
        return self._issued_and_checked(
            invoice, buyer.requester, self._later_office(issued, self.rng.uniform(0.5, 3)), "night_issuance"
        )

    def foreign_requester(self, at: datetime) -> list[DemoEvent]:
        seller = self._seller()
        buyer = self._regular_buyer(seller)
        issued = self._office(at)
        invoice = self._invoice(seller, buyer, issued, self._usual_total(seller), fplx=self._fplx(seller))
        stranger = (
            make_uscc("110108", self.rng)
            if self.rng.random() < 0.5
            else f"U{self.rng.randrange(10**10, 10**11)}"
        )
        return self._issued_and_checked(
            invoice, stranger, self._later_office(issued, self.rng.uniform(0.5, 3)), "foreign_requester"
        )

    def requester_burst(self, at: datetime) -> list[DemoEvent]:
        small = [b for b in self.companies if 3 <= self.known.requester_checks.get(b.requester, 0) <= 40]
        buyer = self.rng.choice(small or self.companies)
        start = self._office(at, 10, 16)
        events = []
        for _ in range(self.rng.randint(12, 25)):
            seller = self._seller()
            issued = self._office(start - timedelta(days=self.rng.uniform(1, 20)))
            invoice = self._invoice(seller, buyer, issued, self._usual_total(seller), fplx=self._fplx(seller))
            when = start + timedelta(seconds=self.rng.randrange(0, 3_000))
            events += self._issued_and_checked(invoice, buyer.requester, when, "requester_burst")
        return events

    def stale_presentation(self, at: datetime) -> list[DemoEvent]:
        seller = self._seller()
        buyer = self._regular_buyer(seller)
        when = self._office(at)
        issued = self._office(when - timedelta(days=self.rng.uniform(90, 360)))
        invoice = self._invoice(seller, buyer, issued, self._usual_total(seller), fplx=self._fplx(seller))
        return self._issued_and_checked(invoice, buyer.requester, when, "stale_presentation")

    def unusual_item(self, at: datetime) -> list[DemoEvent]:
        seller = self._seller()
        buyer = self._regular_buyer(seller)
        own = {i.name for i in seller.profile.items}
        item = self.rng.choice([i for i in _FOREIGN_ITEMS if i[0] not in own])
        issued = self._office(at)
        invoice = self._invoice(
            seller, buyer, issued, self._usual_total(seller), fplx=self._fplx(seller), item=item
        )
        return self._issued_and_checked(
            invoice, buyer.requester, self._later_office(issued, self.rng.uniform(0.5, 3)), "unusual_item"
        )

    def shell_seller(self, at: datetime) -> list[DemoEvent]:
        tax_id = make_uscc("110105", self.rng)
        trade = self.rng.choice(("恒信", "鑫源", "华泰", "盛达", "金诚"))
        name = f"北京{trade}{self.rng.choice(('商贸', '企业管理', '科技'))}有限公司"
        party = Party(name=name, tax_id=tax_id, address_phone="北京市朝阳区建国路88号 010-65000000")
        start = self._office(at)
        events = []
        for _ in range(self.rng.randint(15, 30)):
            buyer = self.rng.choice(self.companies)
            issued = start + timedelta(hours=self.rng.uniform(0, 40))
            total = math.exp(self.rng.uniform(math.log(50_000), math.log(300_000)))
            fplx = self.rng.choice(("31", "01"))
            invoice = self._invoice(
                party, buyer, issued, total, fplx=fplx, item=self.rng.choice(_SHELL_ITEMS)
            )
            events += self._issued_and_checked(
                invoice,
                buyer.requester,
                self._later_office(issued, self.rng.uniform(0.3, 2.5)),
                "shell_seller",
            )
        return events

    def cases(self, kind: str, since: datetime, until: datetime, count: int) -> list[DemoEvent]:
        """`count` cases of a kind starting at random moments in [since, until)."""
        make: Callable[[datetime], list[DemoEvent]] = getattr(self, kind)
        span = (until - since).total_seconds()
        out = []
        for _ in range(count):
            out += make(since + timedelta(seconds=self.rng.uniform(0, span)))
        return out


def inject(
    seed: int,
    directory: Directory,
    backlog: list[DemoEvent],
    live: list[DemoEvent],
    cases: dict[str, tuple[int, int]],
    *,
    warmup_days: float = 20.0,
) -> tuple[list[DemoEvent], list[DemoEvent]]:
    """The backlog and the live stream with behaviour cases mixed in, each list in time order.

    `cases` gives, per kind, how many cases start in the backlog (after `warmup_days`, so profiles
    exist) and how many in the live period. An event of a case lands in the list of its own time, so
    a live case's invoice issued months earlier joins the backlog.
    """
    injector = Injector(seed, directory, backlog + live)
    split = live[0].at
    windows = ((backlog[0].at + timedelta(days=warmup_days), split), (split, live[-1].at))
    extra: list[DemoEvent] = []
    for kind, counts in cases.items():
        for (since, until), count in zip(windows, counts, strict=True):
            extra += injector.cases(kind, since, until, count)
    early = [e for e in extra if e.at < split]
    late = [e for e in extra if e.at >= split]
    return sorted(backlog + early, key=lambda e: e.at), sorted(live + late, key=lambda e: e.at)
