"""Administrative regions (GB/T 2260) as they appear in invoice codes, 数电 numbers and taxpayer IDs.

Invoice codes name the tax bureau that issued the invoice stock: a province, or one of the five
计划单列市 that run their own bureaus (and their own verification servers).
"""

from __future__ import annotations

PROVINCES: dict[str, str] = {
    "11": "北京",
    "12": "天津",
    "13": "河北",
    "14": "山西",
    "15": "内蒙古",
    "21": "辽宁",
    "22": "吉林",
    "23": "黑龙江",
    "31": "上海",
    "32": "江苏",
    "33": "浙江",
    "34": "安徽",
    "35": "福建",
    "36": "江西",
    "37": "山东",
    "41": "河南",
    "42": "湖北",
    "43": "湖南",
    "44": "广东",
    "45": "广西",
    "46": "海南",
    "50": "重庆",
    "51": "四川",
    "52": "贵州",
    "53": "云南",
    "54": "西藏",
    "61": "陕西",
    "62": "甘肃",
    "63": "青海",
    "64": "宁夏",
    "65": "新疆",
}

# 计划单列市: cities with provincial-level tax bureaus; their invoice codes keep the city region.
PLAN_CITIES: dict[str, str] = {
    "2102": "大连",
    "3302": "宁波",
    "3502": "厦门",
    "3702": "青岛",
    "4403": "深圳",
}

BEIJING_DISTRICTS: dict[str, str] = {
    "110101": "东城",
    "110102": "西城",
    "110105": "朝阳",
    "110106": "丰台",
    "110107": "石景山",
    "110108": "海淀",
    "110109": "门头沟",
    "110111": "房山",
    "110112": "通州",
    "110113": "顺义",
    "110114": "昌平",
    "110115": "大兴",
    "110116": "怀柔",
    "110117": "平谷",
    "110118": "密云",
    "110119": "延庆",
}


def region_name(region4: str) -> str | None:
    """Name of a 4-digit invoice region: a 计划单列市, or a province code followed by "00"."""
    if region4 in PLAN_CITIES:
        return PLAN_CITIES[region4]
    if len(region4) == 4 and region4.endswith("00"):
        return PROVINCES.get(region4[:2])
    return None


def division_name(code6: str) -> str | None:
    """Name of a 6-digit division: the Beijing district when known, else its province."""
    if len(code6) != 6 or not code6.isascii() or not code6.isdigit():
        return None
    return BEIJING_DISTRICTS.get(code6) or PROVINCES.get(code6[:2])
