"""A seeded, realistic feed of demo events: issued invoices, later status changes, and labelled checks.

`DemoFeed` keeps a small register of what it issued so its checks can be genuine, tampered, of voided or
red-flushed invoices, or of invoices that never existed. The label of a check travels only on
`DemoEvent.label`, never inside the event, so nothing downstream can learn from it.

All times are Asia/Shanghai (+08:00). The feed has its own clock: it starts at `start`, batch methods
(`issue`, `status_changes`, `checks`) write history before it, and `stream` moves it forward.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import random
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Literal, get_args

from pydantic import BaseModel

from fapiao import topics
from fapiao.demo.entities import Buyer, Directory, Item, Profile, Seller, build_directory, district_name
from fapiao.demo.rhythm import OFFICE_HOURS, Rhythm
from fapiao.domain.invoice_codes import make_invoice_code
from fapiao.domain.invoice_numbers import make_digital_number
from fapiao.domain.invoice_types import FourthField, invoice_key, invoice_type
from fapiao.domain.verification import expected_amount
from schemas.events import CheckRequested, InvoiceIssued, InvoiceLine, InvoiceStatus, InvoiceStatusChanged

CST = timezone(timedelta(hours=8), "Asia/Shanghai")  # China has no DST: the fixed offset is exact
HISTORY_DAYS = 60  # batch-issued invoices fall in the last HISTORY_DAYS days before the clock
CENT = Decimal("0.01")
PROVINCE = "11"  # 北京
REGION = "1100"
SPECIAL_TYPES = frozenset({"01", "08", "31"})  # 专票: the buyer must be a company with a tax id
PAPER_TYPES = frozenset({"01", "03", "04", "11", "15"})  # only paper invoices can be voided (same month)

Label = Literal[
    "genuine",
    "tampered_amount",
    "tampered_date",
    "tampered_check_code",
    "voided",
    "red_flushed",
    "fake",
    "duplicate_reimbursement",
    "repeated_tampering",
]
LABELS: tuple[Label, ...] = get_args(Label)
# Target share of check *events* per label. Multi-event cases (duplicates: 1-2 extra requesters;
# repeated tampering: 3-5 attempts) are drawn less often so that their events land near these shares.
LABEL_SHARES: dict[Label, float] = {
    "genuine": 0.75,
    "tampered_amount": 0.04,
    "tampered_date": 0.03,
    "tampered_check_code": 0.03,
    "voided": 0.02,
    "red_flushed": 0.03,
    "fake": 0.04,
    "duplicate_reimbursement": 0.03,
    "repeated_tampering": 0.03,
}
_EVENTS_PER_CASE: dict[Label, float] = {"duplicate_reimbursement": 1.5, "repeated_tampering": 4.0}
_CASE_WEIGHTS = [LABEL_SHARES[label] / _EVENTS_PER_CASE.get(label, 1.0) for label in LABELS]
# Live stream mix: a week's shares of events that issue, change a status, or start a check case (about as
# many checks as issuances, as in the backlog).
_STREAM_MIX = (0.5, 0.03, 0.47)
# The flat stream (`stream(rhythm=False)`, the live demo's): one rate round the clock.
_FLAT_MIX = (0.42, 0.03, 0.55)
_MAX_RECORDS = 100_000  # the live stream forgets its oldest invoices beyond this
_OFFICE_HOURS = OFFICE_HOURS  # when reimbursement clerks check and accountants red-flush
_CHECK_DELAY_DAYS = 2.0  # median days from an invoice's last event to its check (log-normal, sigma 1)
_NEAR = 2000  # a live check looks this many invoices either side of its target issue time


_VOID_REASONS = ("开票有误", "购买方信息填写错误", "购买方拒收")
_RED_REASONS = ("开票有误", "销货退回", "服务中止")
_PARTIAL_REASONS = ("销售折让", "部分退货", "开票有误")
_CITIES = ("天津市滨海新区", "河北省廊坊市", "河北省保定市", "上海市浦东新区", "山东省济南市", "江苏省苏州市")
_PROJECTS = ("办公楼改造", "道路养护", "厂房建设", "地下管网维修", "学校教学楼装修", "产业园配套")
_PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
_SITE_DISTRICTS = ("110105", "110108", "110111", "110112", "110113", "110114", "110115")
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # no I, O, Q
_VIN_VALUES = dict(zip(_VIN_CHARS, map(int, "123456781234579234567890123456789"), strict=True))
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_YEARS = "ABCDEFGHJKLMNPRSTVWXY123456789"  # model-year codes from 2010


@dataclass(frozen=True)
class DemoEvent:
    """One event to publish: the logical topic, the invoice key, the payload, and (checks only) its label."""

    topic: str  # 'invoices.issued' | 'invoices.status' | 'checks.requested'
    key: str  # invoice_key(code, number)
    value: BaseModel
    label: str | None = None  # only on check requests: one of LABELS

    @property
    def at(self) -> datetime:
        """When it happened: issued_at, changed_at or requested_at."""
        v = self.value
        if isinstance(v, InvoiceIssued):
            return v.issued_at
        if isinstance(v, InvoiceStatusChanged):
            return v.changed_at
        if isinstance(v, CheckRequested):
            return v.requested_at
        raise TypeError(f"not a demo event value: {type(v).__name__}")


@dataclass
class _Record:
    """What the feed remembers of one issued invoice."""

    invoice: InvoiceIssued
    seller: Seller
    buyer: Buyer
    status: InvoiceStatus = InvoiceStatus.NORMAL
    changed_at: datetime | None = None
    last_check_at: datetime | None = None  # a later status change must come after every check
    checked_by: list[str] = field(default_factory=list)  # requesters of its consistent checks

    @property
    def key(self) -> str:
        return invoice_key(self.invoice.invoice_code, self.invoice.invoice_number)

    @property
    def fourth(self) -> FourthField:
        return invoice_type(self.invoice.fplx).fourth_field

    @property
    def busy_until(self) -> datetime:
        """The latest of its issue, its status change and its checks."""
        return max(t for t in (self.invoice.issued_at, self.changed_at, self.last_check_at) if t is not None)


def money(value: Decimal | float) -> Decimal:
    """Rounded half-up to the cent, as invoices round."""
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def fourth_field_value(invoice: InvoiceIssued) -> tuple[Decimal | None, str | None]:
    """The (amount, check_code) a correct check of this invoice gives: exactly one is set."""
    fourth = invoice_type(invoice.fplx).fourth_field
    if fourth is FourthField.CHECK_CODE_LAST6:
        return None, invoice.check_code[-6:]
    return expected_amount(invoice, fourth), None


def _local(moment: datetime) -> datetime:
    """In Asia/Shanghai; a naive datetime is taken to be Asia/Shanghai already."""
    return moment.replace(tzinfo=CST) if moment.tzinfo is None else moment.astimezone(CST)


class DemoFeed:
    """Deterministic demo events for one seed: the same seed and start give the same events.

    Call `issue` first, then `status_changes` and `checks` (or `history` for all three), and `stream` for a
    live feed after that.
    """

    def __init__(self, seed: int, start: datetime, directory: Directory | None = None) -> None:
        self._rng = random.Random(seed)
        self._clock = _local(start)
        self.directory = directory or build_directory()
        self._sellers = self.directory.sellers
        self._seller_weights = [s.profile.activity for s in self._sellers]
        companies = self.directory.companies
        # A few large buyers do most of the buying (Zipf-like), in an order that depends on the seed.
        self._companies = self._rng.sample(companies, len(companies))
        self._company_weights = [1 / (i + 1) ** 0.8 for i in range(len(companies))]
        self._individuals = self.directory.individuals
        self._records: list[_Record] = []
        self._unchecked: list[_Record] = []  # never checked yet (lazily cleaned)
        self._by_key: dict[str, _Record] = {}
        self._changed: dict[InvoiceStatus, list[_Record]] = {s: [] for s in InvoiceStatus}
        self._keys: set[str] = set()  # issued and fake keys: a fake never collides with an issued invoice
        # (seller tax id, fplx, year) -> (invoice code, next number): one batch per seller, type and year
        self._codes: dict[tuple[str, str, int], tuple[str, int]] = {}
        self._sequences: dict[int, int] = {}  # year -> last 数电 sequence in Beijing
        self._live = False  # streaming: a check's invoice is one issued a reimbursement delay ago

    # -- state ---------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The feed's clock: batch history ends here, the stream goes on from here."""
        return self._clock

    @property
    def invoices(self) -> Mapping[str, InvoiceIssued]:
        """Issued invoices by key (the stream forgets the oldest beyond 100,000)."""
        return MappingProxyType({k: r.invoice for k, r in self._by_key.items()})

    def status(self, key: str) -> InvoiceStatus | None:
        """Current status of an issued invoice; None for a key never issued."""
        record = self._by_key.get(key)
        return record.status if record else None

    # -- batch history -------------------------------------------------------------------------------

    def issue(self, n: int) -> list[DemoEvent]:
        """`n` invoices issued during the last 60 days before the clock, in time order."""
        rng = self._rng
        sellers = rng.choices(self._sellers, self._seller_weights, k=n)
        timed = sorted(((self._business_time(s), i, s) for i, s in enumerate(sellers)), key=lambda t: t[:2])
        return [self._issue_event(self._new_invoice(seller, at)) for at, _, seller in timed]

    def status_changes(self, fraction: float) -> list[DemoEvent]:
        """Void or red-flush about `fraction` of the normal invoices, before the clock, in time order."""
        normal = [r for r in self._records if r.status is InvoiceStatus.NORMAL]
        chosen = self._rng.sample(normal, min(len(normal), round(fraction * len(normal))))
        events = [e for r in chosen if (e := self._change_status(r, None)) is not None]
        return sorted(events, key=lambda e: e.at)

    def checks(self, n: int) -> list[DemoEvent]:
        """`n` labelled check requests before the clock, in time order (see LABEL_SHARES)."""
        if not any(r.status is InvoiceStatus.NORMAL for r in self._records):
            raise ValueError("issue some invoices before asking for checks")
        events: list[DemoEvent] = []
        while len(events) < n:
            events.extend(self._check_case(self._pick_label(), None, n - len(events)))
        return sorted(events, key=lambda e: e.at)

    def history(self, invoices: int, checks: int, status_fraction: float = 0.04) -> list[DemoEvent]:
        """Issuances, then status changes, then checks, merged in time order: a backlog to publish first."""
        events = self.issue(invoices) + self.status_changes(status_fraction) + self.checks(checks)
        return sorted(events, key=lambda e: e.at)

    # -- live stream ---------------------------------------------------------------------------------

    def stream(self, rate: float = 20.0, *, rhythm: bool = True) -> Iterator[DemoEvent]:
        """Endless live events from the clock on, in time order, about `rate` per simulated second.

        With `rhythm` (the evaluation's stream) the rate is a week's average with the backlog's rhythm
        (`fapiao.demo.rhythm`): each seller issues at its own rate of the hour (so the few sellers open
        at night do not issue everything then), checks and status changes come in office hours, and a
        check's invoice is one issued about a reimbursement delay earlier (median 2 days), as in the
        backlog. Without it (the live demo's) events come at one rate round the clock, from the sellers
        open at that hour: a simulated second stays a wall second, so the stream's clock never runs
        ahead of the real one (the rhythm's nights pass in minutes, and checks stamped hours ahead
        are refused as a producer's clock bug). New invoices, status changes and check cases
        interleave; a case's later checks (duplicates, repeated attempts) are held back until their
        time comes.
        """
        if rate <= 0:
            raise ValueError("rate must be positive")
        rng = self._rng
        rates = Rhythm(self._sellers, rate, _STREAM_MIX) if rhythm else None
        peak = rates.peak if rates else rate
        pending: list[tuple[datetime, int, DemoEvent]] = []
        order = itertools.count()
        self._live = rhythm
        while True:
            gap = rng.expovariate(peak)
            self._clock = self._clock + timedelta(microseconds=round(gap * 1e6) // 1000 * 1000)
            if rates:
                issue, status, check, weights = rates.at(self._clock)
                sellers = rates.sellers
            else:
                issue, status, check = (share * rate for share in _FLAT_MIX)
                sellers, weights = self._open_sellers()
            draw = rng.random() * peak  # thinning: nothing happens with the rest of the peak
            new: list[DemoEvent] = []
            if draw < issue:
                seller = rng.choices(sellers, weights)[0]
                new = [self._issue_event(self._new_invoice(seller, self._clock))]
            elif draw < issue + status and self._records:
                record = rng.choice(self._records)
                change = (
                    self._change_status(record, self._clock)
                    if record.status is InvoiceStatus.NORMAL
                    else None
                )
                new = [change] if change else []
            elif draw < issue + status + check and self._records:
                new = self._check_case(self._pick_label(), self._clock, 5)
            for event in new:
                heapq.heappush(pending, (event.at, next(order), event))
            while pending and pending[0][0] <= self._clock:
                yield heapq.heappop(pending)[2]
            if len(self._records) > _MAX_RECORDS:
                self._forget(len(self._records) // 2)

    # -- invoices ------------------------------------------------------------------------------------

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self._rng.getrandbits(128), version=4)

    def _digits(self, n: int) -> str:
        return "".join(self._rng.choice("0123456789") for _ in range(n))

    def _business_time(self, seller: Seller) -> datetime:
        """A moment in the seller's opening hours during the last HISTORY_DAYS days before the clock."""
        rng, profile = self._rng, seller.profile
        opening, closing = profile.hours
        for _ in range(200):
            day = self._clock.date() - timedelta(days=rng.randrange(HISTORY_DAYS))
            if profile.weekdays_only and day.weekday() >= 5:
                continue
            hour = rng.triangular(opening, closing, (opening + closing) / 2 + 1)
            moment = datetime.combine(day, time(), CST) + timedelta(seconds=int(hour * 3600))
            if moment < self._clock:
                return moment
        return self._clock - timedelta(minutes=rng.randint(1, 600))

    def _open_sellers(self) -> tuple[list[Seller], list[float]]:
        """The sellers open at the clock's hour and their activity (every seller when none is)."""
        hour, weekday = self._clock.hour, self._clock.weekday()
        open_now = [(s, s.profile.activity) for s in self._sellers if s.profile.open_at(hour, weekday)]
        if not open_now:
            return list(self._sellers), self._seller_weights
        return [s for s, _ in open_now], [w for _, w in open_now]

    def _new_invoice(self, seller: Seller, at: datetime) -> _Record:
        rng, profile = self._rng, seller.profile
        fplx = rng.choices([t for t, _ in profile.types], [w for _, w in profile.types])[0]
        buyer = self._pick_buyer(profile, fplx)
        lines = self._lines(profile, fplx)
        amount = sum((line.amount for line in lines), Decimal("0.00"))
        tax = sum((line.tax for line in lines), Decimal("0.00"))
        code, number = self._identify(seller, fplx, at.year)
        digital = invoice_type(fplx).digital
        invoice = InvoiceIssued(
            event_id=self._uuid(),
            fplx=fplx,
            invoice_code=code,
            invoice_number=number,
            issue_date=at.date(),
            issued_at=at,
            seller=seller.party(full=not digital or rng.random() < 0.5),
            buyer=buyer.party(full=fplx in SPECIAL_TYPES or rng.random() < 0.3),
            lines=lines,
            amount=amount,
            tax=tax,
            total=amount + tax,
            check_code="" if digital else self._digits(20),
            remarks=self._remarks(seller, fplx, lines, at),
        )
        record = _Record(invoice, seller, buyer)
        self._records.append(record)
        self._unchecked.append(record)
        self._by_key[record.key] = record
        return record

    def _issue_event(self, record: _Record) -> DemoEvent:
        return DemoEvent(topics.INVOICES_ISSUED.name, record.key, record.invoice)

    def _pick_buyer(self, profile: Profile, fplx: str) -> Buyer:
        rng = self._rng
        if fplx not in SPECIAL_TYPES and rng.random() < profile.individual_share:
            return rng.choice(self._individuals)
        return rng.choices(self._companies, self._company_weights)[0]

    def _lines(self, profile: Profile, fplx: str) -> tuple[InvoiceLine, ...]:
        """Lines summing to a log-normal amount; tax per line = round(amount × rate, 2)."""
        rng = self._rng
        low, high = profile.amount_bounds
        target = min(max(rng.lognormvariate(profile.amount_mu, profile.amount_sigma), low), high)
        items = profile.items_for(fplx)
        count = min(rng.randint(*profile.lines), len(items))
        chosen: list[Item] = []
        while len(chosen) < count:
            item = rng.choices(items, [i.weight for i in items])[0]
            if item not in chosen:
                chosen.append(item)
        shares = [rng.random() + 0.3 for _ in chosen]
        lines = []
        for item, share in zip(chosen, shares, strict=True):
            part = target * share / sum(shares)
            if item.price is None:
                quantity = unit_price = None
                amount = max(money(part), CENT)
            else:
                unit_price = money(rng.uniform(*item.price))
                quantity = Decimal(max(1, min(9_999, round(part / float(unit_price)))))
                amount = money(unit_price * quantity)
            tax = money(amount * item.rate)
            lines.append(
                InvoiceLine(
                    item=item.name,
                    quantity=quantity,
                    unit_price=unit_price,
                    amount=amount,
                    tax_rate=item.rate,
                    tax=tax,
                )
            )
        return tuple(lines)

    def _identify(self, seller: Seller, fplx: str, year: int) -> tuple[str, str]:
        """(code, number) for a new invoice: sequential numbers per seller, type and year."""
        rng = self._rng
        while True:
            if invoice_type(fplx).digital:
                sequence = self._sequences.get(year) or rng.randrange(10**11, 10**12)
                self._sequences[year] = sequence + rng.randint(1, 3_000)
                code, number = "", make_digital_number(year, PROVINCE, rng, self._sequences[year])
            else:
                code, next_number = self._codes.get((seller.tax_id, fplx, year), ("", 10**8))
                if next_number >= 10**8:
                    code, next_number = (
                        make_invoice_code(fplx, REGION, year, rng),
                        rng.randrange(1, 60_000_000),
                    )
                self._codes[seller.tax_id, fplx, year] = (code, next_number + 1)
                number = f"{next_number:08d}"
            key = invoice_key(code, number)
            if key not in self._keys:
                self._keys.add(key)
                return code, number

    def _plate(self) -> str:
        return "京" + self._rng.choice("ABCEFGHJKLMNPQ") + "".join(self._rng.choices(_PLATE_CHARS, k=5))

    def _vin(self, year: int) -> str:
        """A 17-character VIN of a Chinese-built car, with its ISO 3779 check digit."""
        rng = self._rng
        body = (
            rng.choice(("LSV", "LFV", "LVG", "LGX", "LHG"))  # WMI of cars built in China
            + "".join(rng.choices(_VIN_CHARS, k=5))
            + "0"  # the check digit's place (weight 0)
            + _VIN_YEARS[(year - 2010) % len(_VIN_YEARS)]
            + rng.choice(_VIN_CHARS)
            + self._digits(6)
        )
        check = sum(_VIN_VALUES[c] * w for c, w in zip(body, _VIN_WEIGHTS, strict=True)) % 11
        return body[:8] + ("X" if check == 10 else str(check)) + body[9:]

    def _remarks(self, seller: Seller, fplx: str, lines: tuple[InvoiceLine, ...], at: datetime) -> str:
        """What the type or industry prints in 备注: vehicle data, toll trips, transport, building sites."""
        rng, industry = self._rng, seller.profile.industry
        if fplx == "03":
            engine = "".join(rng.choices(_PLATE_CHARS, k=8))
            return f"车辆识别代号/车架号码:{self._vin(at.year)} 发动机号码:{engine}"
        if fplx == "15":
            return (
                f"车牌照号:{self._plate()} 登记证号:110{self._digits(9)} "
                f"车辆识别代号:{self._vin(at.year - 5)} "
                "转入地车辆管理所名称:北京市公安局公安交通管理局"
            )
        if fplx == "14":
            passed = at - timedelta(minutes=rng.randint(5, 24 * 60))
            entered = passed - timedelta(minutes=rng.randint(10, 90))
            return f"车牌号:{self._plate()} 通行日期起:{entered:%Y%m%d%H%M} 通行日期止:{passed:%Y%m%d%H%M}"
        if industry.startswith("construction") and any(line.item.startswith("*建筑服务*") for line in lines):
            site = district_name(rng.choice(_SITE_DISTRICTS))
            return f"建筑服务发生地:北京市{site} 建筑项目名称:{rng.choice(_PROJECTS)}"
        if industry.startswith("logistics") and any(line.item.startswith("*运输服务*") for line in lines):
            return (
                f"起运地:北京市{district_name(seller.district)} 到达地:{rng.choice(_CITIES)} "
                f"运输工具种类:公路运输 运输工具牌号:{self._plate()}"
            )
        return ""

    # -- status changes ------------------------------------------------------------------------------

    def _change_status(self, record: _Record, at: datetime | None) -> DemoEvent | None:
        """Void (paper, same month) or red-flush (fully or partly) a normal invoice; at `at`, or some time
        after issue and before the clock; None when that is not possible."""
        rng, invoice = self._rng, record.invoice
        earliest = record.busy_until + timedelta(minutes=5)
        if earliest >= self._clock:
            return None
        next_month = (invoice.issued_at.replace(day=1) + timedelta(days=32)).replace(
            day=1, hour=0, minute=0, second=0, microsecond=0
        )
        if invoice.fplx in PAPER_TYPES and rng.random() < 0.45:
            latest = min(
                next_month - timedelta(seconds=1), invoice.issued_at + timedelta(days=3), self._clock
            )
            when = at if at is not None else self._between(earliest, latest)
            if earliest <= when <= latest:
                status, amount, reasons = InvoiceStatus.VOIDED, None, _VOID_REASONS
                return self._apply_status(record, status, when, amount, rng.choice(reasons))
        when = at if at is not None else self._later(earliest, days=10)
        if rng.random() < 0.4:
            status, reasons = InvoiceStatus.RED_FLUSHED_PARTIAL, _PARTIAL_REASONS
            if len(invoice.lines) > 1:
                line = rng.choice(invoice.lines)
                amount = line.amount + line.tax
            else:
                amount = max(money(invoice.total * Decimal(str(rng.uniform(0.1, 0.6)))), CENT)
        else:
            status, amount, reasons = InvoiceStatus.RED_FLUSHED_FULL, invoice.total, _RED_REASONS
        return self._apply_status(record, status, when, amount, rng.choice(reasons))

    def _apply_status(
        self, record: _Record, status: InvoiceStatus, when: datetime, amount: Decimal | None, reason: str
    ) -> DemoEvent:
        record.status, record.changed_at = status, when
        self._changed[status].append(record)
        event = InvoiceStatusChanged(
            event_id=self._uuid(),
            invoice_code=record.invoice.invoice_code,
            invoice_number=record.invoice.invoice_number,
            status=status,
            changed_at=when,
            red_flush_amount=amount,  # 价税合计 of the red invoice, as a positive amount
            reason=reason,
        )
        return DemoEvent(topics.INVOICES_STATUS.name, record.key, event)

    def _between(self, low: datetime, high: datetime) -> datetime:
        """A moment in [low, high], in office hours (08-21) when the span allows; `high` if it is empty."""
        if high <= low:
            return high
        span = (high - low).total_seconds()
        for _ in range(20):
            moment = low + timedelta(seconds=int(self._rng.uniform(0, span)))
            if _OFFICE_HOURS[0] <= moment.hour < _OFFICE_HOURS[1]:
                break
        return moment

    def _later(self, after: datetime, days: float) -> datetime:
        """A log-normal delay (median `days`) after `after`, before the clock, in office hours if possible."""
        rng = self._rng
        for _ in range(20):
            moment = after + timedelta(seconds=int(rng.lognormvariate(math.log(days * 86_400), 1.0)))
            if moment <= self._clock and _OFFICE_HOURS[0] <= moment.hour < _OFFICE_HOURS[1]:
                return moment
        return self._between(after, self._clock)

    # -- checks --------------------------------------------------------------------------------------

    def _pick_label(self) -> Label:
        return self._rng.choices(LABELS, _CASE_WEIGHTS)[0]

    def _find(
        self,
        status: InvoiceStatus,
        want: FourthField | None = None,
        amount: bool = False,
        *,
        fresh: bool = True,
    ) -> _Record | None:
        """A random invoice in `status` (optionally of a fourth field) with nothing after the clock.

        Normal invoices mostly (85%) come from those never checked yet: most invoices are reimbursed once.
        """
        rng = self._rng

        def fits(record: _Record) -> bool:
            return (
                record.status is status
                and (want is None or record.fourth is want)
                and (not amount or record.fourth.is_amount)
                and record.busy_until < self._clock
            )

        if status is InvoiceStatus.NORMAL and self._live:
            near = self._near_delay(fits, fresh=fresh and rng.random() < 0.85)
            if near is not None:
                return near
        if status is InvoiceStatus.NORMAL and fresh and rng.random() < 0.85:
            unchecked = self._unchecked
            for _ in range(60):
                if not unchecked:
                    break
                i = rng.randrange(len(unchecked))
                record = unchecked[i]
                if record.last_check_at is not None or record.status is not status:
                    unchecked[i] = unchecked[-1]  # checked or changed since: drop it
                    unchecked.pop()
                elif fits(record):
                    return record
        pool = self._records if status is InvoiceStatus.NORMAL else self._changed[status]
        for _ in range(60):
            if not pool:
                return None
            record = rng.choice(pool)
            if fits(record):
                return record
        return None

    def _near_delay(self, fits: Callable[[_Record], bool], *, fresh: bool) -> _Record | None:
        """A live check's invoice: one issued a reimbursement delay (the backlog's) before the clock.

        Records are kept in issue order, so the nearest ones to the target time are found by bisection
        and the closest fitting one (never checked, when `fresh`) within `_NEAR` either side is taken.
        """
        delay = timedelta(seconds=self._rng.lognormvariate(math.log(_CHECK_DELAY_DAYS * 86_400), 1.0))
        target = self._clock - delay
        records = self._records
        middle = bisect.bisect_left(records, target, key=lambda r: r.invoice.issued_at)
        for step in range(_NEAR):
            for i in (middle - 1 - step, middle + step):
                if 0 <= i < len(records):
                    record = records[i]
                    if (not fresh or record.last_check_at is None) and fits(record):
                        return record
        return None

    def _check_case(self, label: Label, at: datetime | None, room: int) -> list[DemoEvent]:
        """The checks of one labelled case (several for duplicates and repeated tampering), at most `room`.

        With `at` the first check is at that moment (live); without, some time before the clock (history).
        A case that cannot be made (no voided invoice yet …) becomes a genuine check.
        """
        normal = InvoiceStatus.NORMAL
        if label == "fake":
            return [self._fake_check(at)]
        if label in ("voided", "red_flushed"):
            if label == "voided":
                record = self._find(InvoiceStatus.VOIDED)
            else:
                status = self._rng.choice((InvoiceStatus.RED_FLUSHED_FULL, InvoiceStatus.RED_FLUSHED_PARTIAL))
                record = self._find(status) or self._find(
                    InvoiceStatus.RED_FLUSHED_FULL
                    if status is InvoiceStatus.RED_FLUSHED_PARTIAL
                    else InvoiceStatus.RED_FLUSHED_PARTIAL
                )
            if record is not None:
                return [self._check(record, self._when(record, at), label)]
        elif label == "tampered_amount" and (record := self._find(normal, amount=True)):
            return [self._check(record, self._when(record, at), label, amount=self._tamper_amount(record))]
        elif label == "tampered_check_code" and (record := self._find(normal, FourthField.CHECK_CODE_LAST6)):
            wrong = self._tamper_code(record.invoice.check_code[-6:])
            return [self._check(record, self._when(record, at), label, check_code=wrong)]
        elif label == "tampered_date" and (record := self._find(normal)):
            when = self._when(record, at)
            return [self._check(record, when, label, issue_date=self._tamper_date(record, when))]
        elif label == "duplicate_reimbursement" and room >= 2:
            return self._duplicate_case(at, room)
        elif label == "repeated_tampering" and room >= 3:
            return self._repeated_case(at, room)
        record = self._find(normal)
        if record is None:  # every invoice is busy or changed: nothing to check but a fake
            return [self._fake_check(at)]
        return [self._check(record, self._when(record, at), "genuine")]

    def _when(self, record: _Record, at: datetime | None) -> datetime:
        """A check's time: `at` live, else a reimbursement delay (median 2 days) after the last event."""
        if at is not None:
            return at
        return self._later(record.busy_until + timedelta(minutes=2), days=2)

    def _check(
        self,
        record: _Record,
        when: datetime,
        label: Label,
        *,
        requester: str | None = None,
        issue_date: date | None = None,
        amount: Decimal | None = None,
        check_code: str | None = None,
    ) -> DemoEvent:
        """A check of an issued invoice; the true fields unless one is given (tampered)."""
        true_amount, true_code = fourth_field_value(record.invoice)
        requester = requester or record.buyer.requester
        record.last_check_at = max(record.last_check_at or when, when)
        if label in ("genuine", "duplicate_reimbursement"):
            record.checked_by.append(requester)
        event = self._request(
            record.invoice.invoice_code,
            record.invoice.invoice_number,
            issue_date or record.invoice.issue_date,
            amount if amount is not None else true_amount,
            check_code if check_code is not None else true_code,
            requester,
            when,
        )
        return DemoEvent(topics.CHECKS_REQUESTED.name, record.key, event, label)

    def _request(
        self,
        code: str,
        number: str,
        issue_date: date,
        amount: Decimal | None,
        check_code: str | None,
        requester: str,
        when: datetime,
    ) -> CheckRequested:
        at = when.replace(microsecond=when.microsecond // 1000 * 1000)
        fields = {
            "check_id": self._uuid(),
            "requested_at": at,
            "requester": requester,
            "channel": "demo",
            "invoice_code": code,
            "invoice_number": number,
            "issue_date": issue_date,
            "amount": amount,
            "check_code": check_code,
        }
        # Built when scheduled (a case's later checks), sent at its time: the stream yields it then.
        return CheckRequested.model_validate(fields, context={"sent_at": at})

    def _tamper_amount(self, record: _Record, avoid: set[Decimal] | None = None) -> Decimal:
        """A plausibly edited amount: an extra digit, a changed leading digit, a round sum added …"""
        rng = self._rng
        true, _ = fourth_field_value(record.invoice)
        assert true is not None
        avoid = (avoid or set()) | {true}
        for _ in range(50):
            kind = rng.randrange(4)
            if kind == 0:
                wrong = true * 10
            elif kind == 1:
                text = f"{true:.2f}"
                wrong = Decimal(str(rng.choice([d for d in "123456789" if d != text[0]])) + text[1:])
            elif kind == 2:
                wrong = true + rng.choice((100, 200, 500, 1_000, 5_000, 10_000))
            else:
                wrong = money(true * Decimal(str(rng.uniform(1.05, 3.0))))
            if wrong not in avoid and wrong < Decimal("99999999999"):
                return money(wrong)
        return true + rng.randint(1, 10**6)

    def _tamper_date(self, record: _Record, when: datetime) -> date:
        """Another day: moved earlier, or later (never past the day of the check)."""
        true = record.invoice.issue_date
        for _ in range(50):
            shift = self._rng.choice((*range(-30, 0), *range(1, 8)))
            wrong = true + timedelta(days=shift)
            if wrong <= when.date():
                return wrong
        return true - timedelta(days=1)

    def _tamper_code(self, last6: str, avoid: set[str] | None = None) -> str:
        """The last 6 check-code digits with one or two of them changed."""
        rng = self._rng
        avoid = (avoid or set()) | {last6}
        while True:
            digits = list(last6)
            for pos in rng.sample(range(6), rng.choice((1, 1, 2))):
                digits[pos] = rng.choice([d for d in "0123456789" if d != digits[pos]])
            wrong = "".join(digits)
            if wrong not in avoid:
                return wrong

    def _other_company(self, exclude: list[str]) -> Buyer:
        candidates = [b for b in self._companies if b.requester not in exclude]
        return self._rng.choice(candidates)

    def _duplicate_case(self, at: datetime | None, room: int) -> list[DemoEvent]:
        """A genuine invoice reimbursed again elsewhere: 1-2 other requesters check it after a first check."""

        rng = self._rng
        events: list[DemoEvent] = []
        record = None
        for _ in range(30):
            candidate = self._find(InvoiceStatus.NORMAL, fresh=False)
            settled = candidate is not None and candidate.busy_until < self._clock - timedelta(minutes=30)
            if candidate is not None and candidate.checked_by and settled:
                record = candidate
                break
        if record is None:
            record = self._find(InvoiceStatus.NORMAL)
            if record is None:
                return [self._fake_check(at)]
            events.append(self._check(record, self._when(record, at), "genuine"))
        for i in range(min(rng.choice((1, 1, 2)), room - len(events))):
            first = i == 0 and not events
            when = self._when(record, at) if first else self._after(record.busy_until, at, minutes=(10, 180))
            requester = self._other_company(record.checked_by).requester
            events.append(self._check(record, when, "duplicate_reimbursement", requester=requester))
        return events

    def _repeated_case(self, at: datetime | None, room: int) -> list[DemoEvent]:
        """Several inconsistent checks of one invoice within minutes: someone trying values until one fits."""
        rng = self._rng
        record = self._find(InvoiceStatus.NORMAL)
        if record is None:
            return [self._fake_check(at)]
        when = self._when(record, at)
        requester = record.buyer.requester if rng.random() < 0.7 else self._other_company([]).requester
        tried_amounts: set[Decimal] = set()
        tried_codes: set[str] = set()
        events = []
        for attempt in range(min(rng.randint(3, 5), room)):
            if attempt:
                when = self._after(when, at, minutes=(0.5, 12))
            if rng.random() < 0.2:
                wrong_date = self._tamper_date(record, when)
                events.append(
                    self._check(
                        record, when, "repeated_tampering", requester=requester, issue_date=wrong_date
                    )
                )
            elif record.fourth.is_amount:
                amount = self._tamper_amount(record, tried_amounts)
                tried_amounts.add(amount)
                events.append(
                    self._check(record, when, "repeated_tampering", requester=requester, amount=amount)
                )
            else:
                code = self._tamper_code(record.invoice.check_code[-6:], tried_codes)
                tried_codes.add(code)
                events.append(
                    self._check(record, when, "repeated_tampering", requester=requester, check_code=code)
                )
        return events

    def _after(self, moment: datetime, live: datetime | None, minutes: tuple[float, float]) -> datetime:
        """A little later than `moment`; in history never past the clock (live cases may run ahead)."""
        later = moment + timedelta(seconds=int(self._rng.uniform(*minutes) * 60))
        return later if live is not None else min(later, self._clock)

    def _fake_check(self, at: datetime | None) -> DemoEvent:
        """A check of an invoice never issued: a valid-looking code and number, plausible amount and date."""
        rng = self._rng
        seller = rng.choices(self._sellers, self._seller_weights)[0]
        types = seller.profile.types
        fplx = rng.choices([t for t, _ in types], [w for _, w in types])[0]
        when = (
            at if at is not None else self._between(self._clock - timedelta(days=HISTORY_DAYS), self._clock)
        )
        issued = when.date() - timedelta(days=rng.randrange(0, 20))
        while True:
            if invoice_type(fplx).digital:
                base = self._sequences.get(issued.year) or rng.randrange(10**11, 10**12)
                sequence = max(1, base + rng.randint(-200_000, 200_000))
                code, number = "", make_digital_number(issued.year, PROVINCE, rng, sequence)
            else:
                state = self._codes.get((seller.tax_id, fplx, issued.year))
                code = (
                    state[0]
                    if state and rng.random() < 0.5
                    else make_invoice_code(fplx, REGION, issued.year, rng)
                )
                number = f"{rng.randrange(1, 100_000_000):08d}"
            key = invoice_key(code, number)
            if key not in self._keys:
                self._keys.add(key)
                break
        fourth = invoice_type(fplx).fourth_field
        amount = check_code = None
        if fourth is FourthField.CHECK_CODE_LAST6:
            check_code = self._digits(6)
        else:
            lines = self._lines(seller.profile, fplx)
            amount = sum((line.amount for line in lines), Decimal("0.00"))
            if fourth in (FourthField.TOTAL_WITH_TAX, FourthField.USED_CAR_TOTAL):
                amount += sum((line.tax for line in lines), Decimal("0.00"))
        requester = rng.choices(self._companies, self._company_weights)[0].requester
        event = self._request(code, number, issued, amount, check_code, requester, when)
        return DemoEvent(topics.CHECKS_REQUESTED.name, key, event, "fake")

    def _forget(self, count: int) -> None:
        """Drop the oldest `count` invoices (their keys stay reserved, so fakes still never collide)."""
        dropped, self._records = self._records[:count], self._records[count:]
        for record in dropped:
            self._by_key.pop(record.key, None)
        gone = {id(r) for r in dropped}
        self._unchecked = [r for r in self._unchecked if id(r) not in gone]

        for status, records in self._changed.items():
            self._changed[status] = [r for r in records if id(r) not in gone]
