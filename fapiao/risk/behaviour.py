"""How far a presented check's behaviour is from its parties' profiles, with readable reasons (pure).

`deviations(check, profiles)` compares one check (an invoice face a requester was shown: 一致 or a
status) with the profiles of its seller, buyer, requester and seller→buyer pair **as they were before
this invoice and this check** (the issuance already folded into the seller and pair profiles is taken
out again: its amount from the samples, its hour from the histograms, itself from the counts), and with
the population where a profile is still young. Each `Deviation` carries a surprise `d` ≥ 0 (about nats:
0 = ordinary, 3 = one in twenty, capped at `CAP`) and a sentence in Chinese and English naming the
value and the range of the profile it was compared with ("金额 9,980.00；该销售方通常 120.00–860.00").
`vector` lays the surprises out in `DEVIATION_CODES` order for the behaviour score
(`fapiao.risk.behaviour_model`).

`observe_issued` / `observe_checked` fold what was observed into the profiles afterwards; the store is
any mutable mapping of key → profile, keyed as `profile_keys` says (the worker's batch of its table,
or the replay's). A store that owns its profiles (an `owned(key)` method: `BatchProfiles`,
`OwnedProfiles`) has them folded in place; any other mapping gets a folded copy per observation.
"""

from __future__ import annotations

import functools
import math
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from fapiao.risk import profiles as pf
from fapiao.risk.profiles import Observed, Profile
from schemas.events import CheckContext, CheckResult, SellerActivity, Verdict

CST = timezone(timedelta(hours=8), "Asia/Shanghai")
CAP = 8.0
PRESENTED = frozenset(
    {
        Verdict.CONSISTENT,
        Verdict.VOIDED,
        Verdict.RED_FLUSHED_PARTIAL,
        Verdict.RED_FLUSHED_FULL,
        Verdict.ABNORMAL,
    }
)
MIN_AMOUNTS = 12  # samples before a profile's amounts are its own yardstick (else the population's)
MIN_HOURS = 20  # issuances / checks before an hour histogram means anything
MIN_ITEMS = 15  # lines before an unseen item is news
MIN_DELAYS = 8
MIN_RECORDS = 20  # invoices before "more than it ever billed" means anything
RECORDS = 3  # … compared with this many largest others
YOUNG_HOURS = 120.0

DEVIATION_CODES: tuple[str, ...] = (
    "amount_seller",  # 价税合计 against the seller's recent invoices (population when young)
    "amount_pair",  # … against what this seller billed this buyer
    "amount_requester",  # … against what this requester presented
    "amount_shape",  # just under a round limit / a round sum, where this seller rarely has one
    "issue_hour",  # hour of issue against the seller's hours
    "issue_day",  # weekday of issue against the seller's weekdays
    "new_buyer",  # first invoice to this buyer from a seller with few regular buyers
    "unrelated_requester",  # presented by someone who is not the buyer and never presented its invoices
    "new_seller_for_requester",  # a seller this requester never presented, though it keeps to few
    "check_burst",  # the requester's checks in the last hour against its own rate (population when young)
    "pair_burst",  # invoices seller→buyer in the last hour against the population of pairs
    "seller_burst",  # the seller's invoices in the last hour against its own rate / the population
    "young_seller",  # a seller first seen hours ago
    "late_check",  # days from issue to check against the requester's usual delay
    "new_item",  # an item this seller never billed
    "new_tax_rate",  # a tax rate this seller never used
    "new_type",  # an invoice type this seller never issued
    "orgs",  # the requester acts in several organisations
)


@dataclass(frozen=True)
class Deviation:
    code: str
    d: float
    zh: str
    en: str
    profile: str  # which profile it was compared with: seller / pair / buyer / requester / population


_NOTHING = Deviation("", 0.0, "", "", "")  # no deviation (d = 0: filtered out by `deviations`)


@dataclass(frozen=True)
class Check:
    """What behaviour scoring reads of one result (built by `check_of`)."""

    check_id: str
    invoice_key: str
    seller: str
    buyer: str
    requester: str
    org: str
    at: float
    total: float | None
    issued_at: datetime | None
    check_hour: int
    items: tuple[str, ...]
    tax_rates: tuple[str, ...]
    fplx: str
    delay_days: float | None
    requester_is_buyer: bool | None


def check_of(result: CheckResult, context: CheckContext) -> Check | None:
    """The check as behaviour scoring reads it; None unless the requester was shown a face."""
    face = result.invoice
    if result.verdict not in PRESENTED or face is None:
        return None
    buyer = context.buyer_tax_id or face.buyer.tax_id or face.buyer.ref or ""
    seller = context.seller_tax_id or face.seller.tax_id or face.seller.ref or ""
    requester = result.requester or result.requester_ref
    issued = context.issued_at
    delay = (result.requested_at - issued).total_seconds() / 86_400 if issued else None
    return Check(
        check_id=str(result.check_id),
        invoice_key=result.invoice_key,
        seller=seller,
        buyer=buyer,
        requester=requester,
        org=result.org_id,
        at=result.requested_at.timestamp(),
        total=float(face.total) if face.total > 0 else None,
        issued_at=issued,
        check_hour=result.requested_at.astimezone(CST).hour,
        items=tuple(line.item for line in face.lines),
        tax_rates=tuple(f"{line.tax_rate.normalize():f}" for line in face.lines),
        fplx=face.fplx,
        delay_days=delay,
        requester_is_buyer=(requester == buyer) if buyer and requester else None,
    )


# -- keys of the profile store ---------------------------------------------------------------------


def profile_keys(seller: str, buyer: str, requester: str) -> dict[str, str]:
    """Store keys of a check's profiles. seller, pair and the populations live where the seller's
    events are (the risk agent's partition); buyer and requester are keyed by themselves."""
    return {
        "seller": f"s|{seller}" if seller else "",
        "pair": f"p|{seller}|{buyer}" if seller and buyer else "",
        "buyer": f"b|{buyer}" if buyer else "",
        "requester": f"r|{requester}" if requester else "",
        "issued": "*|issued",
        "pairs": "*|pairs",
        "checked": "*|checked",
    }


Store = MutableMapping[str, Profile]


def owned(store: Store, key: str) -> Profile | None:
    """The profile at `key` to fold in place: the store's own where it owns its values (a batch's
    `BatchProfiles`, the replay's `OwnedProfiles`: an `owned(key)` method), else a copy (any other
    mapping keeps the values it holds as they were)."""
    own = getattr(store, "owned", None)
    if own is not None:
        value: Profile | None = own(key)
        return value
    found = store.get(key)
    return pf.copy_profile(found) if found is not None else None


def observe_issued(store: Store, activity: SellerActivity) -> None:
    """Fold an issuance (`sellers.activity`, kind issued) into the seller, pair and populations."""
    if activity.kind != "issued":
        return
    issued = activity.issued_at.astimezone(CST)
    keys = profile_keys(activity.seller_tax_id, activity.buyer_tax_id, "")
    at = activity.issued_at.timestamp()
    base = Observed(
        marker=f"issued:{activity.invoice_key}",
        kind="issued",
        at=at,
        total=float(activity.amount),
        issue_hour=issued.hour,
        issue_day=issued.weekday(),
    )
    seller = owned(store, keys["seller"])
    seller_fast = pf.decayed(seller["issue_rate"], at)[0] if seller else 0.0
    issued_pop = pf.fold_population_into(owned(store, keys["issued"]), base, seller_fast)
    store[keys["issued"]] = issued_pop
    store[keys["seller"]] = _noting(seller, _with(base, party=activity.buyer_tax_id), issued_pop)
    if keys["pair"]:
        pair = owned(store, keys["pair"])
        pair_fast = pf.decayed(pair["issue_rate"], at)[0] if pair else 0.0
        pairs_pop = pf.fold_population_into(owned(store, keys["pairs"]), base, pair_fast)
        store[keys["pairs"]] = pairs_pop
        store[keys["pair"]] = _noting(pair, base, pairs_pop)


def _noting(profile: Profile | None, obs: Observed, population: Profile) -> Profile:
    """`profile` with the issuance folded and, when it counted (not a redelivery), its rate and the
    population's at that moment logged: bursts are read as they were at the issuance."""
    counted = profile is None or obs.marker not in profile["recent"]
    out = pf.fold_into(profile, obs)
    if counted:
        pf.log_issue_into(out, population["rate"], obs.at)
    return out


def observe_checked(store: Store, check: Check) -> None:
    """Fold a presented check into the seller, pair, buyer and requester profiles and the population."""
    keys = profile_keys(check.seller, check.buyer, check.requester)
    issued = check.issued_at.astimezone(CST) if check.issued_at else None
    base = Observed(
        marker=f"checked:{check.check_id}",
        kind="checked",
        at=check.at,
        check_hour=check.check_hour,
        requester=check.requester,
        items=check.items,
        tax_rates=check.tax_rates,
        fplx=check.fplx,
        delay_days=check.delay_days,
        requester_is_buyer=check.requester_is_buyer,
        org=check.org,
    )
    with_face = _with(
        base,
        total=check.total,
        issue_hour=issued.hour if issued else -1,
        issue_day=issued.weekday() if issued else -1,
    )
    if keys["seller"]:
        store[keys["seller"]] = pf.fold_into(owned(store, keys["seller"]), base)
    if keys["pair"]:
        store[keys["pair"]] = pf.fold_into(owned(store, keys["pair"]), _with(base, items=(), tax_rates=()))
    if keys["buyer"]:
        store[keys["buyer"]] = pf.fold_into(owned(store, keys["buyer"]), _with(with_face, party=check.seller))
    if keys["requester"]:
        requester = owned(store, keys["requester"])
        fast = pf.decayed(requester["rate"], check.at)[0] if requester else 0.0
        store[keys["requester"]] = pf.fold_into(requester, _with(with_face, party=check.seller))
        store[keys["checked"]] = pf.fold_population_into(owned(store, keys["checked"]), with_face, fast)


def _with(obs: Observed, **changes: Any) -> Observed:
    values = {**obs.__dict__, **changes}
    return Observed(**values)


# -- deviations ------------------------------------------------------------------------------------


def deviations(check: Check, store: Store) -> list[Deviation]:
    """Every deviation of the check from its profiles (d > 0 only), strongest first."""
    keys = profile_keys(check.seller, check.buyer, check.requester)
    own = f"issued:{check.invoice_key}"
    seller = _before(store.get(keys["seller"]), own, check)
    pair = _before(store.get(keys["pair"]), own, check)
    buyer = store.get(keys["buyer"])
    requester = store.get(keys["requester"])
    issued_pop, pairs_pop, checked_pop = (store.get(keys[k]) for k in ("issued", "pairs", "checked"))
    found = [
        *_amounts(check, seller, pair, requester, issued_pop, checked_pop),
        *_timing(check, seller, requester, issued_pop, checked_pop),
        *_relations(check, seller, pair, buyer, requester, checked_pop),
        *_bursts(check, seller, pair, requester, issued_pop, pairs_pop, checked_pop),
        *_billing(check, seller),
    ]
    found = [dev for dev in found if dev.d > 0]
    return sorted(found, key=lambda dev: -dev.d)


def vector(found: list[Deviation]) -> tuple[float, ...]:
    """Surprises in DEVIATION_CODES order (the strongest of a code; 0 for a code not found)."""
    best = dict.fromkeys(DEVIATION_CODES, 0.0)
    for dev in found:
        best[dev.code] = max(best[dev.code], dev.d)
    return tuple(best.values())


def _before(profile: Profile | None, own: str, check: Check) -> Profile | None:
    """The seller or pair profile without this invoice's own issuance, if it was folded in: its marker
    is among the recent ones, or (a busy profile forgets markers before the check comes) the invoice
    was issued while the profile existed, and its issuance reaches the worker before any check of it."""
    if not profile:
        return profile
    folded = own in profile["recent"] or (
        check.issued_at is not None
        and profile["first"] is not None
        and profile["issued"] > 0
        and check.issued_at.timestamp() >= profile["first"]
    )
    if not folded:
        return profile
    out = dict(profile)
    out["issued"] = max(0, out["issued"] - 1)
    out["n"] = max(0, out["n"] - 1)
    if check.total is not None and check.total > 0:
        x, amounts = math.log(check.total), list(out["amounts"])
        if x in amounts:
            amounts.remove(x)
        out["amounts"] = amounts
        if x in out["top"]:
            out["top"] = [v for i, v in enumerate(out["top"]) if i != out["top"].index(x)]
        near, round_, all_ = out["shapes"]
        out["shapes"] = [
            max(0, near - pf.near_limit(check.total)),
            max(0, round_ - pf.round_sum(check.total)),
            max(0, all_ - 1),
        ]
    if check.issued_at is not None:
        local = check.issued_at.astimezone(CST)
        out["issue_hours"] = _less(out["issue_hours"], local.hour)
        out["issue_days"] = _less(out["issue_days"], local.weekday())
        at = check.issued_at.timestamp()
        for key in ("rate", "issue_rate"):
            fast, slow = pf.decayed(out[key], at)
            last = out[key][2]
            out[key] = [max(0.0, fast - 1), max(0.0, slow - 1), at if last is None else max(at, last)]
    return out


def _as_issued(
    profile: Profile | None, population: Profile | None, at: float
) -> tuple[Profile | None, Profile | None, float]:
    """The seller's or pair's profile (already without this invoice, `_before`) and its population with
    their rates as they were at the peak of the burst this invoice is part of (its issuance or one in
    the hour after, logged when issued; this invoice taken out of both), and that moment: checks come
    hours or days after the issuances, when the traffic may be many times denser and the seller may
    have issued again. A profile with nothing logged there (an invoice older than its log, a profile
    stored before the log was kept) is read as before: its rates now, the population's less one."""
    peak = pf.issue_peak(profile, at)
    if profile is None or population is None or peak is None:
        return profile, _minus_one(population, at), at
    t, fast, slow, pop_fast, pop_slow = peak
    sub = 1.0  # this invoice, in both (decayed a little when the peak came after it)
    return (
        {**profile, "issue_rate": [max(0.0, fast - sub), max(0.0, slow - sub), t]},
        {**population, "rate": [max(0.0, pop_fast - sub), max(0.0, pop_slow - sub), t]},
        t,
    )


def _minus_one(population: Profile | None, at: float) -> Profile | None:
    """A population profile's rate without one event at `at` (this invoice's issuance)."""
    if population is None:
        return None
    fast, slow = pf.decayed(population["rate"], at)
    last = population["rate"][2]
    return {
        **population,
        "rate": [max(0.0, fast - 1), max(0.0, slow - 1), at if last is None else max(at, last)],
    }


def _less(histogram: list[int], slot: int) -> list[int]:
    out = list(histogram)
    out[slot] = max(0, out[slot] - 1)
    return out


def _clip(d: float) -> float:
    return max(0.0, min(CAP, d)) if math.isfinite(d) else 0.0


_WHO = {
    "seller": ("该销售方", "this seller"),
    "pair": ("该销售方开给该购买方的发票", "this seller's invoices to this buyer"),
    "buyer": ("该购买方", "this buyer"),
    "requester": ("该查验人", "this requester"),
    "issued": ("全体销售方", "all sellers"),
    "checked": ("全体查验", "all checks"),
    "pairs": ("全体购销双方", "all seller-buyer pairs"),
}


def profile_names() -> tuple[str, ...]:
    """Every profile a deviation can name (`Deviation.profile`, the evidence's `profiles`)."""
    return tuple(_WHO)


def _money(log_value: float) -> str:
    return f"{math.exp(log_value):,.2f}"


def _amount(
    code: str,
    check: Check,
    profile: Profile | None,
    who: str,
    fallback: Profile | None,
    fallback_who: str,
    slack: float,
) -> list[Deviation]:
    if check.total is None:
        return []
    x = math.log(check.total)
    samples, name = (
        (profile["amounts"], who) if profile and len(profile["amounts"]) >= MIN_AMOUNTS else (None, "")
    )
    if samples is None:
        if fallback is None or len(fallback["amounts"]) < MIN_AMOUNTS:
            return []
        samples, name = fallback["amounts"], fallback_who
    ordered = sorted(samples)  # once for the range and the spread
    # outside the usual range (the 10th–90th percentiles the reason quotes), in units of its spread;
    # `slack` is in robust-z units (a normal's |z| beyond the range is z + Z90), so a one-mode profile
    # is judged as before and a profile of several modes by all of them (docs/risk-model.md)
    z, q10, q90 = pf.beyond_range_sorted(ordered, x, floor=0.3)
    zh, en = _WHO[name]
    out = []
    if (d := _clip(z - (slack - pf.Z90))) > 0:  # the sentence only for a deviation that counts
        low, high = _money(q10), _money(q90)
        out.append(
            Deviation(
                code,
                d,
                f"金额 {check.total:,.2f}；{zh}通常 {low}–{high}",
                f"amount {check.total:,.2f}; {en} usually {low}–{high}",
                name,
            )
        )
    # more than the seller ever billed: a record is news in proportion to the invoices it beats (one
    # in (n + 1) / 3 beats the three largest), so a young or small profile's records count little
    top = (profile or {}).get("top", []) if name == who and code == "amount_seller" else []
    top = _records(top, ordered, slack)  # `_before` took this invoice out: the largest others
    n = (profile or {}).get("issued", 0)
    if len(top) == RECORDS and x > top[-2] and n >= MIN_RECORDS:
        # how far past the largest but one (a new record by a hair is what a growing seller does; one
        # earlier record, perhaps the very anomaly looked for, does not raise the bar), worth at most
        # what beating n invoices is
        out.append(
            Deviation(
                code,
                _clip(min(3.0 * (x - top[-2]), 1.5 * math.log((n + 1) / RECORDS))),
                f"金额 {check.total:,.2f}；超过{zh}开过的最大几张（{_money(top[0])}–{_money(top[-1])}）",
                f"amount {check.total:,.2f}; above {en}'s largest ever ({_money(top[0])}–{_money(top[-1])})",
                name,
            )
        )
    return out


def _records(top: list[float], ordered: list[float], slack: float) -> list[float]:
    """The RECORDS largest other amounts a new one is measured against (past the largest but one: a
    single earlier spike does not raise the bar). When the two largest were both outliers of the
    recent samples themselves (beyond their usual range by what `amount_seller` flags), the largest
    is left out, so two earlier spikes do not raise it either; a third does."""
    if len(top) > RECORDS:
        low, high = pf.quantile_sorted(ordered, 0.1), pf.quantile_sorted(ordered, 0.9)
        cut = high + (slack - pf.Z90) * max((high - low) / (2.0 * pf.Z90), 0.3)  # amount_seller's d > 0
        if top[-2] > cut:
            return top[-RECORDS - 1 : -1]
    return top[-RECORDS:]


def _amounts(
    check: Check,
    seller: Profile | None,
    pair: Profile | None,
    requester: Profile | None,
    issued_pop: Profile | None,
    checked_pop: Profile | None,
) -> list[Deviation]:
    out = [
        *_amount("amount_seller", check, seller, "seller", issued_pop, "issued", 3.0),
        # a pair's few samples and a requester's mixture of sellers are looser yardsticks
        *_amount("amount_pair", check, pair, "pair", None, "", 3.5),
        *_amount("amount_requester", check, requester, "requester", checked_pop, "checked", 4.0),
    ]
    near = check.total is not None and pf.near_limit(check.total)
    if check.total is not None and (near or pf.round_sum(check.total)):
        slot = 0 if near else 1
        base = seller if seller and seller["shapes"][2] >= MIN_AMOUNTS else issued_pop
        if base is not None and base["shapes"][2]:
            prior = (issued_pop or base)["shapes"]
            p0 = (prior[slot] + 0.5) / (prior[2] + 1)
            p = (base["shapes"][slot] + 2 * p0) / (base["shapes"][2] + 2)
            what = (
                ("略低于整数限额", "just under a round limit") if slot == 0 else ("整数金额", "a round sum")
            )
            name = "seller" if base is seller else "issued"
            zh, en = _WHO[name]
            out.append(
                Deviation(
                    "amount_shape",
                    _clip(-math.log(p) - 2.5),
                    f"金额 {check.total:,.2f} {what[0]}；{zh}此类金额占 {100 * p:.1f}%",
                    f"amount {check.total:,.2f} is {what[1]}; {en}: {100 * p:.1f}% of amounts",
                    name,
                )
            )
    return out


def _slots_text(slots: list[int], names: tuple[str, ...] | None) -> str:
    """'09–18' for hours (a span when more than four), '一、二、三' for weekdays."""
    if not slots:
        return "–"
    if names is not None:
        return "、".join(names[s] for s in slots)
    return "、".join(f"{s:02d}" for s in slots) if len(slots) <= 4 else f"{slots[0]:02d}–{slots[-1]:02d}"


@functools.lru_cache(maxsize=1024)
def _smoothed_prior(prior: tuple[float, ...]) -> tuple[float, ...]:
    """The population's smoothed hours: the same for every check of a batch (issuances are folded
    before its checks), so smoothed once, not per check."""
    return tuple(pf.circular_smooth(prior))


def _slot(
    code: str,
    histogram: list[int],
    slot: int,
    prior: Sequence[float] | None,
    name: str,
    what: tuple[str, str],
    value: str,
    slack: float,
    names: tuple[str, ...] | None = None,
) -> Deviation:
    counts: Sequence[float] = histogram
    if names is None:  # hours are ordinal: an hour next to the usual ones is ordinary, not news
        counts = pf.circular_smooth(histogram)
        prior = _smoothed_prior(tuple(prior)) if prior else prior
    smoothed = pf.shares(counts, prior)
    p = smoothed[slot]
    # the surprise beyond the profile's own typical surprise (its entropy): a slot a seller keeping
    # eight office hours never uses is more telling than one a round-the-clock seller rarely uses
    d = _clip(-math.log(p) - pf.entropy_of(smoothed) - slack)
    if d <= 0:
        return _NOTHING  # the sentence is written only for a deviation that counts (most do not)
    usual = _slots_text(pf.usual_slots(histogram), names)
    unit_zh, unit_en = ("", "") if names is not None else (" 时", "h")
    zh, en = _WHO[name]
    return Deviation(
        code,
        d,
        f"{what[0]} {value}；{zh}通常 {usual}{unit_zh}（此时段占 {100 * p:.1f}%）",
        f"{what[1]} {value}; {en} usually {usual}{unit_en} ({100 * p:.1f}% at this time)",
        name,
    )


_WEEKDAYS = ("一", "二", "三", "四", "五", "六", "日")


def _timing(
    check: Check,
    seller: Profile | None,
    requester: Profile | None,
    issued_pop: Profile | None,
    checked_pop: Profile | None,
) -> list[Deviation]:
    out = []
    prior_hours = issued_pop["issue_hours"] if issued_pop else None
    if check.issued_at is not None and seller and seller["issued"] >= MIN_HOURS:
        local = check.issued_at.astimezone(CST)
        out.append(
            _slot(
                "issue_hour",
                seller["issue_hours"],
                local.hour,
                prior_hours,
                "seller",
                ("开具时间", "issued at"),
                local.strftime("%H:%M"),
                1.0,
            )
        )
        day = _slot(
            "issue_day",
            seller["issue_days"],
            local.weekday(),
            issued_pop["issue_days"] if issued_pop else None,
            "seller",
            ("开具于星期", "issued on weekday"),
            _WEEKDAYS[local.weekday()],
            1.0,
            _WEEKDAYS,
        )
        out.append(day)
    if check.delay_days is not None:
        x = math.log1p(max(0.0, check.delay_days))
        compared = [
            (p["delays"], name)
            for p, name in ((requester, "requester"), (checked_pop, "checked"))
            if p and len(p["delays"]) >= MIN_DELAYS
        ]
        if compared:
            # late for the requester *and* for the traffic of late: a whole period checking older
            # invoices is a shift, not one requester's anomaly
            scored = [(_late(samples, x, name == "requester"), samples, name) for samples, name in compared]
            z, samples, name = min(scored, key=lambda item: item[0])
            if _clip(z) <= 0:
                return out
            high = math.expm1(pf.quantile(samples, 0.9))
            zh, en = _WHO[name]
            out.append(
                Deviation(
                    "late_check",
                    _clip(z),
                    f"开票后 {check.delay_days:.0f} 天才查验；{zh}通常 {high:.0f} 天内",
                    f"checked {check.delay_days:.0f} days after issue; {en} usually within {high:.0f} days",
                    name,
                )
            )
    return out


LATE_FENCE = 0.98  # a delay is late past this quantile of the samples, not past their maximum: one
# earlier late check in the window (the very anomaly looked for) must not make the next one ordinary


def _late(samples: list[float], x: float, own: bool) -> float:
    """How late ln(1 + days) `x` is against delay samples: past their upper fence (a high quantile, so
    an earlier late check does not hide the next), or (a party's own delays, which are narrower than
    the traffic's mixture) past their robust spread."""
    beyond = 5.0 * (x - pf.quantile(samples, LATE_FENCE))
    return max(pf.robust_z(samples, x, floor=0.3) - 3.0, beyond) if own else beyond


def _relations(
    check: Check,
    seller: Profile | None,
    pair: Profile | None,
    buyer: Profile | None,
    requester: Profile | None,
    checked_pop: Profile | None,
) -> list[Deviation]:
    out = []
    if seller and seller["issued"] >= 30 and check.buyer and (pair is None or pair["issued"] == 0):
        p = pf.new_share(seller["parties_seen"], seller["issued"])
        out.append(
            Deviation(
                "new_buyer",
                _clip(-math.log(p) - 1.0),
                f"该销售方首次开票给该购买方；其 {seller['issued']} 张发票中新购买方占 {100 * p:.1f}%",
                f"this seller's first invoice to this buyer; new buyers are {100 * p:.1f}% "
                f"of its {seller['issued']} invoices",
                "seller",
            )
        )
    if check.requester_is_buyer is False:
        out += _unrelated(check, seller, pair, buyer, checked_pop)
    if requester and requester["checked"] >= 10 and check.seller not in requester["parties"]:
        p = pf.new_share(requester["parties_seen"], requester["checked"])
        out.append(
            Deviation(
                "new_seller_for_requester",
                _clip(-math.log(p) - 1.5),
                f"该查验人首次查验该销售方的发票；"
                f"其 {requester['checked']} 次查验中新销售方占 {100 * p:.1f}%",
                f"this requester's first invoice from this seller; new sellers are {100 * p:.1f}% "
                f"of its {requester['checked']} checks",
                "requester",
            )
        )
    if requester and len(requester["orgs"]) + (check.org not in requester["orgs"]) > 1:
        orgs = len(set(requester["orgs"]) | {check.org})
        out.append(
            Deviation(
                "orgs",
                _clip(1.5 * (orgs - 1)),
                f"该查验人在 {orgs} 个组织中查验",
                f"this requester checks in {orgs} organisations",
                "requester",
            )
        )
    return out


def _unrelated(
    check: Check,
    seller: Profile | None,
    pair: Profile | None,
    buyer: Profile | None,
    checked_pop: Profile | None,
) -> list[Deviation]:
    """Presented by someone who is not the buyer and whom neither party's invoices ever saw: compared
    with how often this buyer meets a new requester, or how rare someone else's check is overall."""
    if any(p and check.requester in p["requesters"] for p in (seller, pair, buyer)):
        return []
    found = []
    if buyer and buyer["checked"] >= 3:
        p = pf.new_share(buyer["requesters_seen"], buyer["checked"])
        found.append(
            Deviation(
                "unrelated_requester",
                _clip(-math.log(p) - 0.5),
                f"查验人不是购买方，也从未查验过该购买方的发票；"
                f"该购买方 {buyer['checked']} 次查验中新查验人占 {100 * p:.1f}%",
                f"the requester is not the buyer and never presented its invoices; new requesters are "
                f"{100 * p:.1f}% of this buyer's {buyer['checked']} checks",
                "buyer",
            )
        )
    if checked_pop and checked_pop["buyer_requester"][1] >= 50:
        same, total = checked_pop["buyer_requester"]
        p = (total - same + 1) / (total + 2)
        found.append(
            Deviation(
                "unrelated_requester",
                _clip(-math.log(p) - 0.5),
                f"查验人不是购买方，与该发票双方无往来；全体查验中仅 {100 * p:.1f}% 由他人查验",
                f"the requester is neither the buyer nor known to either party; only {100 * p:.1f}% "
                "of all checks are made by someone else",
                "checked",
            )
        )
    return [max(found, key=lambda dev: dev.d)] if found else []


def _poisson_surprise(k: float, lam: float) -> float:
    """−ln P(X ≥ k) for Poisson(λ), by its Chernoff bound (exact enough for a surprise)."""
    if k <= lam:
        return 0.0
    return k * math.log(k / lam) - k + lam


def _burst(
    code: str,
    count_label: tuple[str, str],
    profile: Profile | None,
    population: Profile | None,
    name: str,
    at: float,
    own: float,
    slack: float = 5.0,
    rate: str = "rate",
) -> list[Deviation]:
    """Events of the entity in the last hour against its share of the traffic before that hour.

    Rates are read as shares of the population's rate (`own` = 1 when this event is already folded
    into both): the live traffic may be ten times denser than last month's, and a share does not move
    with that. A young entity is compared with the shares other entities had when they acted.
    """
    if profile is None or population is None:
        return []
    fast, slow = pf.decayed(profile[rate], at)  # `rate`: which of the profile's rates
    pop_fast, pop_slow = pf.decayed(population["rate"], at)
    fast, slow, pop_fast, pop_slow = (max(0.0, v - own) for v in (fast, slow, pop_fast, pop_slow))
    k = fast + 1.0  # this event, once
    zh, en = _WHO[name]
    out = []
    if pf.age_hours(profile, at) >= 24 and slow - fast >= 3 and pop_slow - pop_fast > 0:
        share = (slow - fast) / (pop_slow - pop_fast)
        lam = max(share * (pop_fast + 1.0), 0.01)
        out.append(
            Deviation(
                code,
                _clip((_poisson_surprise(k, lam) - slack) / 2.0),
                f"近一小时{count_label[0]} {k:.0f} 张；按{zh}以往占全体的比例约 {lam:.2f} 张",
                f"{k:.0f} {count_label[1]} in the last hour; "
                f"{en}'s usual share of the traffic gives {lam:.2f}",
                name,
            )
        )
    elif len(population["bursts"]) >= 50:
        high = pf.quantile(population["bursts"], 0.99)
        share = k / (pop_fast + 1.0)
        pname = "checked" if name == "requester" else "pairs" if name == "pair" else "issued"
        pzh, pen = _WHO[pname]
        out.append(
            Deviation(
                code,
                _clip(3.0 * math.log(share / high)) if high > 0 else 0.0,
                f"近一小时{count_label[0]} {k:.0f} 张，占全体 {100 * share:.0f}%；"
                f"{pzh}中 99% 不超过 {100 * high:.0f}%",
                f"{k:.0f} {count_label[1]} in the last hour, {100 * share:.0f}% of the traffic; "
                f"99% of {pen} stay at or under {100 * high:.0f}%",
                pname,
            )
        )
    return out


def _bursts(
    check: Check,
    seller: Profile | None,
    pair: Profile | None,
    requester: Profile | None,
    issued_pop: Profile | None,
    pairs_pop: Profile | None,
    checked_pop: Profile | None,
) -> list[Deviation]:
    out = _burst("check_burst", ("查验", "checks"), requester, checked_pop, "requester", check.at, 0.0)
    if check.issued_at is not None:
        at = check.issued_at.timestamp()
        # the seller and pair profiles passed in are already without this invoice (see _before), the
        # populations still count it
        pair_then, pairs_then, pair_at = _as_issued(pair, pairs_pop, at)
        out += _burst(
            "pair_burst",
            ("开给该购买方", "invoices to this buyer"),
            pair_then,
            pairs_then,
            "pair",
            pair_at,
            0.0,
            rate="issue_rate",
        )
        # a seller's share of the traffic moves with opening hours (the live feed favours sellers open
        # at that hour): a looser slack
        seller_then, seller_pop, seller_at = _as_issued(seller, issued_pop, at)
        out += _burst(
            "seller_burst",
            ("开票", "invoices issued"),
            seller_then,
            seller_pop,
            "seller",
            seller_at,
            0.0,
            9.0,
            rate="issue_rate",
        )
        if seller and issued_pop and issued_pop["first"] is not None:
            age = pf.age_hours(seller, check.at)  # at the check: an old invoice is no young seller
            population_age = pf.age_hours(issued_pop, check.at)
            if age < YOUNG_HOURS and population_age > 14 * 24:
                out.append(
                    Deviation(
                        "young_seller",
                        _clip((1 - age / YOUNG_HOURS) * (1 + 1.5 * math.log1p(seller["issued"]))),
                        f"该销售方首张发票开具于 {age:.0f} 小时前（已开 {seller['issued']} 张）",
                        f"this seller's first invoice was {age:.0f} hours ago ({seller['issued']} since)",
                        "seller",
                    )
                )
    return out


def _billing(check: Check, seller: Profile | None) -> list[Deviation]:
    if not seller or seller["item_lines"] < MIN_ITEMS:
        return []
    out = []
    lines = seller["item_lines"]
    top = "、".join(sorted(seller["items"], key=lambda i: -seller["items"][i])[:3])
    for item in check.items:
        if item not in seller["items"]:
            p = pf.new_share(seller["items_seen"], lines)
            out.append(
                Deviation(
                    "new_item",
                    _clip(-math.log(p) - 1.0),
                    f"货物或服务“{item}”该销售方从未开具；通常为 {top}",
                    f"item “{item}” never billed by this seller; usually {top}",
                    "seller",
                )
            )
    rates = seller["tax_rates"]
    for rate in check.tax_rates:
        if rate not in rates:
            p = pf.new_share(len(rates), lines)
            usual = "、".join(sorted(rates))
            out.append(
                Deviation(
                    "new_tax_rate",
                    _clip(-math.log(p) - 1.0),
                    f"税率 {rate} 该销售方从未使用；通常 {usual}",
                    f"tax rate {rate} never used by this seller; usually {usual}",
                    "seller",
                )
            )
    if check.fplx and check.fplx not in seller["types"] and seller["checked"] >= MIN_ITEMS:
        p = pf.new_share(len(seller["types"]), seller["checked"])
        usual = "、".join(sorted(seller["types"]))
        out.append(
            Deviation(
                "new_type",
                _clip(-math.log(p) - 1.0),
                f"发票类型 {check.fplx} 该销售方从未开具；通常 {usual}",
                f"invoice type {check.fplx} never issued by this seller; usually {usual}",
                "seller",
            )
        )
    return out
