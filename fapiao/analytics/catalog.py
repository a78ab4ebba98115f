"""The whitelisted vocabulary of analytics: buckets, dimensions, metrics, and the SQL each maps to.

User input never becomes SQL text: it selects one of these enum members, whose SQL is written here.
Days, weeks and months are Asia/Shanghai calendar units (the rollups' materialized views use it too).
"""

from __future__ import annotations

from enum import StrEnum

from fapiao.domain.invoice_types import INVOICE_TYPES
from fapiao.domain.regions import PLAN_CITIES, region_name
from schemas.events import Verdict

ANALYTICS_TZ = "Asia/Shanghai"

# The 4-digit region of a check, from its 发票代码 or (数电) its 20-digit number: the province + '00',
# except the 计划单列市, which keep their own code. Same rule as fapiao.domain.invoice_codes.region_of;
# the rollup migration embeds this exact text (a test keeps them equal).
_PLAN_CITIES_SQL = ", ".join(f"'{c}'" for c in sorted(PLAN_CITIES))


def region_sql(code: str, number: str) -> str:
    """The region expression over a code and a number expression (see REGION_SQL)."""
    raw = f"substring({code}, if(length({code}) = 12, 2, 1), 4)"
    return (
        f"if({code} = '', "
        f"if(length({number}) = 20, concat(substring({number}, 3, 2), '00'), ''), "
        f"if({raw} IN ({_PLAN_CITIES_SQL}), {raw}, concat(substring({raw}, 1, 2), '00')))"
    )


REGION_SQL = region_sql("invoice_code", "invoice_number")
# The same from an invoice key (`<code>-<number>`, or a bare 20-digit 数电 number), e.g. of an alert.
_DASH = "position(invoice_key, '-')"
KEY_REGION_SQL = region_sql(
    f"if({_DASH} > 0, substring(invoice_key, 1, {_DASH} - 1), '')",
    f"if({_DASH} > 0, substring(invoice_key, {_DASH} + 1), invoice_key)",
)

# Verdicts that make a seller risky: the invoice is not what the requester holds, or is no longer valid.
RISKY_VERDICTS: tuple[str, ...] = (
    Verdict.INCONSISTENT.value,
    Verdict.VOIDED.value,
    Verdict.RED_FLUSHED_PARTIAL.value,
    Verdict.RED_FLUSHED_FULL.value,
    Verdict.ABNORMAL.value,
)
PENDING = Verdict.PENDING_SYNC.value


class Bucket(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def bucket_sql(bucket: Bucket, column: str, *, is_date: bool = False) -> str:
    """A String expression naming the local bucket of `column` ('YYYY-MM-DD' or 'YYYY-MM-DD HH:00:00').

    `column` is a DateTime('UTC') column, or a Date already in local days when `is_date`.
    """
    tz = f"'{ANALYTICS_TZ}'"
    if is_date:
        if bucket is Bucket.HOUR:
            raise ValueError("a day-grained source has no hours")
        return {
            Bucket.DAY: f"toString({column})",
            Bucket.WEEK: f"toString(toMonday({column}))",
            Bucket.MONTH: f"toString(toStartOfMonth({column}))",
        }[bucket]
    return {
        Bucket.HOUR: f"toString(toStartOfHour({column}), {tz})",
        Bucket.DAY: f"toString(toDate({column}, {tz}))",
        Bucket.WEEK: f"toString(toMonday({column}, {tz}))",
        Bucket.MONTH: f"toString(toStartOfMonth({column}, {tz}))",
    }[bucket]


class Dimension(StrEnum):
    REGION = "region"
    TYPE = "type"
    VERDICT = "verdict"
    SELLER = "seller"
    REQUESTER = "requester"


REGION_EN: dict[str, str] = {
    "1100": "Beijing", "1200": "Tianjin", "1300": "Hebei", "1400": "Shanxi", "1500": "Inner Mongolia",
    "2100": "Liaoning", "2200": "Jilin", "2300": "Heilongjiang", "3100": "Shanghai", "3200": "Jiangsu",
    "3300": "Zhejiang", "3400": "Anhui", "3500": "Fujian", "3600": "Jiangxi", "3700": "Shandong",
    "4100": "Henan", "4200": "Hubei", "4300": "Hunan", "4400": "Guangdong", "4500": "Guangxi",
    "4600": "Hainan", "5000": "Chongqing", "5100": "Sichuan", "5200": "Guizhou", "5300": "Yunnan",
    "5400": "Tibet", "6100": "Shaanxi", "6200": "Gansu", "6300": "Qinghai", "6400": "Ningxia",
    "6500": "Xinjiang", "2102": "Dalian", "3302": "Ningbo", "3502": "Xiamen", "3702": "Qingdao",
    "4403": "Shenzhen",
}  # fmt: skip

VERDICT_EN: dict[str, str] = {
    "consistent": "consistent",
    "inconsistent": "inconsistent",
    "not_found": "not found",
    "voided": "voided",
    "red_flushed_partial": "partly red-flushed",
    "red_flushed_full": "fully red-flushed",
    "abnormal": "abnormal",
    "limit_exceeded": "daily limit exceeded",
    "too_old": "older than five years",
    "invalid": "invalid request",
    "pending_sync": "awaiting sync",
}
VERDICT_ZH: dict[str, str] = {
    "consistent": "一致",
    "inconsistent": "不一致",
    "not_found": "查无此票",
    "voided": "作废",
    "red_flushed_partial": "部分红冲",
    "red_flushed_full": "全额红冲",
    "abnormal": "异常",
    "limit_exceeded": "超过当日查验次数",
    "too_old": "超过五年",
    "invalid": "请求不合法",
    "pending_sync": "等待同步",
}


def label(dimension: Dimension | None, key: str, name: str = "") -> tuple[str, str]:
    """(Chinese, English) display names of one dimension value; `name` is a seller's name (or, from
    the warehouse, the envelope of a seller's party or a requester, opened by fapiao.analytics.reveal)."""
    if dimension is None:
        return "全部", "all"
    if dimension is Dimension.REGION:
        zh = region_name(key)
        return (zh, REGION_EN.get(key, key)) if zh else ("未知地区", "unknown region")
    if dimension is Dimension.TYPE:
        kind = INVOICE_TYPES.get(key)
        return (kind.name_zh, kind.name_en) if kind else ("类型未定", "type not determined")
    if dimension is Dimension.VERDICT:
        return VERDICT_ZH.get(key, key), VERDICT_EN.get(key, key)
    if dimension in (Dimension.SELLER, Dimension.REQUESTER):
        return (name or key), (name or key)
    return key, key
