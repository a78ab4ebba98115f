"""The demo's cast: Beijing sellers with business profiles, and the companies and people who buy from them.

Names are invented (no real company is meant); taxpayer IDs are valid 统一社会信用代码 registered in real
Beijing districts, and the directory is the same for every feed seed (built from `ENTITY_SEED`), so the
same company always has the same ID across demo runs.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from decimal import Decimal

from fapiao.domain.regions import BEIJING_DISTRICTS
from fapiao.domain.taxpayer_id import make_uscc
from schemas.events import Party

ENTITY_SEED = 20240501

R13, R9, R6, R3, R1, R0 = (Decimal(x) for x in ("0.13", "0.09", "0.06", "0.03", "0.01", "0"))
R05 = Decimal("0.005")  # 二手车经销: 0.5% (财税 2020 年第 17 号公告, extended to 2027)


@dataclass(frozen=True)
class Item:
    """One kind of line a seller bills: its 税收分类 short name, rate, and how it is priced.

    `unit` and `price` (a range of the unit price excluding tax) make a priced line with a quantity; without
    them the line is a service billed as one amount.
    """

    name: str
    rate: Decimal
    unit: str | None = None
    price: tuple[float, float] | None = None
    weight: float = 1.0
    only: tuple[str, ...] = ()  # invoice types this item appears on; () = any of the profile's types


@dataclass(frozen=True)
class Profile:
    """How a kind of seller invoices: types, items, amounts (log-normal), hours and volume."""

    industry: str
    types: tuple[tuple[str, float], ...]  # (fplx, weight)
    items: tuple[Item, ...]
    amount_median: float  # of an invoice's amount excluding tax, in yuan
    amount_sigma: float
    amount_bounds: tuple[float, float]
    lines: tuple[int, int] = (1, 1)
    hours: tuple[int, int] = (9, 18)  # local opening and closing hour; (0, 24) = around the clock
    weekdays_only: bool = False
    individual_share: float = 0.0  # share of 普票 made out to individuals rather than companies
    activity: float = 1.0  # relative number of invoices per seller

    @property
    def amount_mu(self) -> float:
        return math.log(self.amount_median)

    @property
    def tax_rates(self) -> tuple[Decimal, ...]:
        return tuple(sorted({i.rate for i in self.items}, reverse=True))

    def items_for(self, fplx: str) -> tuple[Item, ...]:
        return tuple(i for i in self.items if not i.only or fplx in i.only)

    def open_at(self, hour: int, weekday: int) -> bool:
        return self.hours[0] <= hour < self.hours[1] and not (self.weekdays_only and weekday >= 5)


def small_scale(profile: Profile, rate: Decimal) -> Profile:
    """The same business run by a 小规模纳税人: one simplified rate, and rarely a 专票."""
    items = tuple(replace(i, rate=rate if i.rate else R0) for i in profile.items)
    types = tuple((t, w * (0.1 if t in ("01", "08", "31") else 1.0)) for t, w in profile.types)
    return replace(profile, industry=profile.industry + "_small", items=items, types=types)


_FOOD = (Item("*餐饮服务*餐费", R6, weight=10), Item("*酒*啤酒", R13, "瓶", (6, 25)))
_CAR_SERVICE = (
    Item("*修理修配劳务*汽车维修保养", R13, weight=4, only=("31", "32")),
    Item("*汽车零部件*轮胎", R13, "条", (450, 1500), only=("31", "32")),
    Item("*经纪代理服务*保险代理服务费", R6, only=("31", "32")),
)

PROFILES: dict[str, Profile] = {
    p.industry: p
    for p in (
        Profile(
            "software",
            (("31", 45), ("32", 20), ("08", 10), ("01", 5), ("10", 20)),
            (
                Item("*信息技术服务*软件开发服务", R6, weight=4),
                Item("*信息技术服务*信息系统运行维护服务", R6, weight=3),
                Item("*信息技术服务*云服务费", R6, weight=3),
                Item("*软件*企业管理软件V3.0", R13, "套", (4_000, 60_000)),
                Item("*计算机配套产品*服务器", R13, "台", (18_000, 90_000), weight=0.5),
            ),
            20_000,
            1.1,
            (300, 3_000_000),
            (1, 3),
            (9, 19),
            weekdays_only=True,
            activity=1.0,
        ),
        Profile(
            "consulting",
            (("31", 50), ("32", 25), ("08", 10), ("01", 5), ("10", 10)),
            (
                Item("*咨询服务*管理咨询服务费", R6, weight=3),
                Item("*鉴证咨询服务*审计服务费", R6, weight=2),
                Item("*鉴证咨询服务*税务咨询服务费", R6, weight=2),
                Item("*鉴证咨询服务*法律服务费", R6, weight=2),
            ),
            15_000,
            1.0,
            (500, 2_000_000),
            (1, 2),
            (9, 18),
            weekdays_only=True,
            activity=0.6,
        ),
        Profile(
            "catering",
            (("32", 60), ("10", 24), ("11", 12), ("04", 4)),
            _FOOD,
            380,
            0.8,
            (20, 30_000),
            (1, 2),
            (10, 22),
            individual_share=0.12,
            activity=3.0,
        ),
        Profile(
            "hotel",
            (("32", 45), ("31", 25), ("10", 20), ("04", 5), ("01", 5)),
            (
                Item("*住宿服务*住宿费", R6, "间夜", (280, 1_200), weight=6),
                Item("*餐饮服务*餐费", R6, weight=2),
                Item("*会议展览服务*会议服务费", R6, weight=1),
            ),
            900,
            0.9,
            (150, 200_000),
            (1, 3),
            (0, 24),
            individual_share=0.1,
            activity=1.5,
        ),
        Profile(
            "retail",
            (("32", 55), ("10", 28), ("11", 10), ("04", 5), ("31", 2)),
            (
                Item("*谷物*大米", R9, "袋", (35, 90)),
                Item("*食用植物油*花生油", R9, "桶", (60, 140)),
                Item("*乳制品*纯牛奶", R9, "箱", (45, 75), weight=2),
                Item("*饮料*矿泉水", R13, "箱", (20, 40), weight=2),
                Item("*日用杂品*洗衣液", R13, "瓶", (25, 60)),
                Item("*纸制品*抽纸", R13, "提", (18, 45), weight=2),
                Item("*焙烤食品*饼干", R13, "盒", (10, 40)),
            ),
            260,
            0.9,
            (10, 50_000),
            (1, 6),
            (8, 22),
            individual_share=0.25,
            activity=3.0,
        ),
        Profile(
            "fresh_produce",
            (("32", 70), ("10", 20), ("11", 10)),
            (
                Item("*蔬菜*新鲜蔬菜", R0, "千克", (3, 12), weight=3),  # 蔬菜流通环节免税
                Item("*水果*苹果", R9, "千克", (8, 20)),
                Item("*肉类*猪肉", R9, "千克", (22, 40), weight=2),
                Item("*蛋类*鸡蛋", R0, "千克", (9, 14)),  # 鲜蛋流通环节免税
            ),
            600,
            1.0,
            (20, 80_000),
            (1, 4),
            (6, 20),
            individual_share=0.15,
            activity=1.5,
        ),
        Profile(
            "electronics",
            (("32", 40), ("31", 20), ("10", 25), ("01", 5), ("04", 10)),
            (
                Item("*计算机*笔记本电脑", R13, "台", (3_800, 14_000), weight=3),
                Item("*通信设备*智能手机", R13, "台", (1_500, 8_000), weight=3),
                Item("*计算机外部设备*显示器", R13, "台", (700, 3_500), weight=2),
                Item("*计算机外部设备*移动硬盘", R13, "个", (300, 900)),
            ),
            6_000,
            1.0,
            (200, 1_000_000),
            (1, 3),
            (10, 21),
            individual_share=0.3,
            activity=1.2,
        ),
        Profile(
            "office_supplies",
            (("32", 55), ("10", 25), ("04", 15), ("31", 5)),
            (
                Item("*纸制品*A4复印纸", R13, "箱", (110, 190), weight=3),
                Item("*文具*中性笔", R13, "盒", (15, 40), weight=2),
                Item("*办公设备*文件柜", R13, "个", (400, 1_200)),
                Item("*印刷品*宣传册印刷", R13, "本", (4, 18), weight=2),
                Item("*设计服务*图文设计制作", R6),
            ),
            900,
            0.9,
            (20, 100_000),
            (1, 4),
            (9, 19),
            activity=1.0,
        ),
        Profile(
            "logistics",
            (("31", 45), ("32", 20), ("08", 10), ("01", 10), ("10", 15)),
            (
                Item("*运输服务*国内道路货物运输服务", R9, weight=4),
                Item("*运输服务*冷链运输服务", R9, weight=1),
                Item("*物流辅助服务*仓储服务", R6, weight=2),
                Item("*物流辅助服务*装卸搬运服务", R6, weight=1),
            ),
            6_000,
            1.0,
            (200, 1_500_000),
            (1, 2),
            (8, 20),
            weekdays_only=True,
            activity=1.2,
        ),
        Profile(
            "construction",
            (("31", 55), ("01", 12), ("08", 15), ("32", 10), ("10", 8)),
            (
                Item("*建筑服务*工程施工费", R9, weight=3),
                Item("*建筑服务*装饰装修工程", R9, weight=2),
                Item("*建筑服务*市政道路维修工程", R9, weight=1),
                Item("*水泥混凝土制品*商品混凝土", R13, "立方米", (380, 520)),
            ),
            200_000,
            1.2,
            (5_000, 9_000_000),
            (1, 2),
            (8, 18),
            weekdays_only=True,
            activity=0.4,
        ),
        Profile(
            "car_dealer",
            (("03", 70), ("32", 22), ("31", 8)),
            (
                Item("*汽车*轿车 大众朗逸 1.5L 自动舒适版", R13, "辆", (95_000, 120_000), only=("03",)),
                Item("*汽车*SUV 丰田RAV4荣放 2.0L 两驱", R13, "辆", (150_000, 200_000), only=("03",)),
                Item("*汽车*新能源轿车 比亚迪秦PLUS DM-i", R13, "辆", (90_000, 130_000), only=("03",)),
                Item("*汽车*新能源SUV 理想L7 Pro", R13, "辆", (270_000, 300_000), only=("03",)),
                *_CAR_SERVICE,
            ),
            1_800,
            0.9,
            (100, 500_000),
            (1, 1),
            (9, 19),
            individual_share=0.65,
            activity=0.6,
        ),
        Profile(
            "used_car_market",
            (("15", 100),),
            (
                Item("*二手车*大众帕萨特 2019款 330TSI", R0, "辆", (90_000, 140_000)),
                Item("*二手车*本田雅阁 2018款 260TURBO", R0, "辆", (80_000, 120_000)),
                Item("*二手车*别克英朗 2020款 1.5L", R0, "辆", (40_000, 65_000)),
                Item("*二手车*宝马3系 2019款 325Li", R0, "辆", (170_000, 230_000)),
            ),
            100_000,
            0.5,
            (5_000, 1_000_000),
            (1, 1),
            (9, 17),
            individual_share=0.8,
            activity=0.5,
        ),
        Profile(
            "toll_road",
            (("14", 100),),
            (Item("*经营租赁*通行费", R3),),
            35,
            0.8,
            (5, 3_000),
            (1, 1),
            (0, 24),
            individual_share=0.2,
            activity=2.0,
        ),
    )
}
PROFILES["used_car_dealer"] = replace(
    PROFILES["used_car_market"],
    industry="used_car_dealer",
    types=(("15", 90), ("32", 10)),
    items=(
        *(replace(i, rate=R05, only=("15",)) for i in PROFILES["used_car_market"].items),
        replace(_CAR_SERVICE[0], only=("32",)),
    ),
)
PROFILES["toll_road_new"] = replace(
    PROFILES["toll_road"], industry="toll_road_new", items=(Item("*经营租赁*通行费", R9),)
)
for _name, _rate in (("catering", R1), ("retail", R1), ("office_supplies", R1), ("hotel", R3)):
    _small = small_scale(PROFILES[_name], _rate)
    PROFILES[_small.industry] = _small


@dataclass(frozen=True)
class SellerSpec:
    name: str
    district: str
    industry: str
    registry: str = "91"  # USCC positions 1-2: 91 enterprise, 92 个体工商户, 31 律师事务所 …


SELLER_SPECS: tuple[SellerSpec, ...] = (
    SellerSpec("北京云帆智联科技有限公司", "110108", "software"),
    SellerSpec("北京博睿数安信息技术有限公司", "110108", "software"),
    SellerSpec("北京启明星河软件有限公司", "110114", "software"),
    SellerSpec("北京汇智云图科技股份有限公司", "110105", "software"),
    SellerSpec("北京翔宇数据服务有限公司", "110115", "software"),
    SellerSpec("北京鼎新微码网络科技有限公司", "110107", "software"),
    SellerSpec("北京德衡企业管理咨询有限公司", "110105", "consulting"),
    SellerSpec("北京正信税务师事务所有限公司", "110102", "consulting"),
    SellerSpec("北京中和信会计师事务所(普通合伙)", "110101", "consulting"),
    SellerSpec("北京明律律师事务所", "110105", "consulting", "31"),
    SellerSpec("北京京味轩餐饮管理有限公司", "110101", "catering"),
    SellerSpec("北京聚福楼餐饮有限公司", "110102", "catering"),
    SellerSpec("北京蜀韵火锅餐饮有限公司", "110106", "catering"),
    SellerSpec("北京市朝阳区望京川湘小馆", "110105", "catering_small", "92"),
    SellerSpec("北京市海淀区五道口麦香烘焙坊", "110108", "catering_small", "92"),
    SellerSpec("北京市通州区运河老北京炸酱面馆", "110112", "catering_small", "92"),
    SellerSpec("北京和畅宾馆有限公司", "110101", "hotel"),
    SellerSpec("北京望京悦居酒店管理有限公司", "110105", "hotel"),
    SellerSpec("北京雁栖湖畔度假酒店有限公司", "110116", "hotel"),
    SellerSpec("北京市延庆区长城脚下农家院", "110119", "hotel_small", "92"),
    SellerSpec("北京惠邻连锁超市有限公司", "110106", "retail"),
    SellerSpec("北京百顺便利店有限公司", "110105", "retail"),
    SellerSpec("北京市西城区文华便民商店", "110102", "retail_small", "92"),
    SellerSpec("北京鲜丰农产品经营有限公司", "110106", "fresh_produce"),
    SellerSpec("北京中关村数码城电子产品销售有限公司", "110108", "electronics"),
    SellerSpec("北京翠屏电子科技有限公司", "110114", "electronics"),
    SellerSpec("北京金鼎文具办公用品有限公司", "110112", "office_supplies"),
    SellerSpec("北京墨香图文快印有限公司", "110108", "office_supplies_small"),
    SellerSpec("北京顺通达物流有限公司", "110113", "logistics"),
    SellerSpec("北京京运恒通供应链管理有限公司", "110112", "logistics"),
    SellerSpec("北京速达城配运输有限公司", "110115", "logistics"),
    SellerSpec("北京华北冷链仓储有限公司", "110111", "logistics"),
    SellerSpec("北京宏远建设工程有限公司", "110111", "construction"),
    SellerSpec("北京筑境装饰工程有限公司", "110105", "construction"),
    SellerSpec("北京京西市政工程有限公司", "110109", "construction"),
    SellerSpec("北京驰远汽车销售服务有限公司", "110106", "car_dealer"),
    SellerSpec("北京东方致远汽车销售服务有限公司", "110105", "car_dealer"),
    SellerSpec("北京顺驰新能源汽车销售有限公司", "110113", "car_dealer"),
    SellerSpec("北京南郊旧机动车交易市场有限公司", "110106", "used_car_market"),
    SellerSpec("北京优车二手车经销有限公司", "110114", "used_car_dealer"),
    SellerSpec("北京燕平高速公路有限公司", "110117", "toll_road"),
    SellerSpec("北京京密北线公路发展有限公司", "110118", "toll_road_new"),
)

_STREETS: dict[str, tuple[str, ...]] = {
    "110101": ("东直门南大街", "王府井大街", "崇文门外大街"),
    "110102": ("金融大街", "西直门外大街", "阜成门内大街"),
    "110105": ("建国路", "望京街", "酒仙桥路", "朝阳北路"),
    "110106": ("丰台路", "南四环西路", "科学城富丰路"),
    "110107": ("石景山路", "鲁谷路"),
    "110108": ("中关村大街", "上地信息路", "学院路", "海淀大街"),
    "110109": ("新桥大街", "滨河路"),
    "110111": ("拱辰大街", "长政南街"),
    "110112": ("新华大街", "运河东大街", "兴贸二街"),
    "110113": ("府前中街", "天竺空港工业区A区天柱路"),
    "110114": ("回龙观西大街", "府学路", "未来科学城鲁家山路"),
    "110115": ("兴华大街", "荣华中路"),
    "110116": ("青春路", "雁栖大街"),
    "110117": ("府前街", "平谷大街"),
    "110118": ("鼓楼东大街", "溪翁庄镇密关路"),
    "110119": ("妫水北街", "康庄镇康西路"),
}
# Where banks have their branches (支行), by district.
_BRANCHES: dict[str, tuple[str, ...]] = {
    "110101": ("东单", "王府井"),
    "110102": ("金融街", "西直门"),
    "110105": ("望京", "国贸", "酒仙桥"),
    "110106": ("丰台", "科技园"),
    "110107": ("石景山", "鲁谷"),
    "110108": ("中关村", "上地", "学院路"),
    "110109": ("门头沟",),
    "110111": ("良乡", "长阳"),
    "110112": ("通州", "马驹桥"),
    "110113": ("顺义", "天竺"),
    "110114": ("回龙观", "昌平"),
    "110115": ("亦庄", "黄村"),
    "110116": ("怀柔",),
    "110117": ("平谷",),
    "110118": ("密云",),
    "110119": ("延庆",),
}
# (bank, number of digits, prefix) of corporate current accounts as printed on invoices.
_BANKS = (
    ("中国工商银行", 19, "0200"),
    ("中国建设银行", 20, "1105"),
    ("中国银行", 12, "3"),
    ("中国农业银行", 17, "11"),
    ("招商银行", 15, "110"),
    ("交通银行", 21, "110060"),
    ("北京银行", 20, "2000"),
)
_TRADE_NAMES = [
    "华信",
    "中科",
    "金盛",
    "瑞丰",
    "嘉禾",
    "恒通",
    "启航",
    "润达",
    "万方",
    "天成",
    "鼎盛",
    "海川",
    "宏图",
    "博远",
    "众诚",
    "明德",
    "安泰",
    "同创",
    "远景",
    "新元",
    "凯瑞",
    "锦程",
    "卓越",
    "联科",
    "泰和",
    "信诺",
    "正元",
    "诚益",
    "青禾",
    "长风",
    "云杉",
    "乐成",
    "蓝海",
    "星辰",
    "朗润",
    "和光",
    "致远",
    "创域",
    "北辰",
    "光合",
    "嘉业",
    "方圆",
    "合力",
    "优品",
    "智源",
    "东润",
    "领航",
    "精诚",
    "德润",
    "汇通",
    "聚力",
    "星河",
    "思创",
    "澜亭",
    "知行",
    "睿博",
    "云岭",
    "百川",
    "明远",
    "德信",
]
_BUYER_KINDS = (
    "科技有限公司",
    "信息技术有限公司",
    "网络科技有限公司",
    "文化传媒有限公司",
    "商贸有限公司",
    "医药科技有限公司",
    "教育科技有限公司",
    "建设工程有限公司",
    "物业管理有限公司",
    "广告有限公司",
    "环保科技有限公司",
    "生物技术有限公司",
    "投资管理有限公司",
    "电子商务有限公司",
    "人力资源服务有限公司",
    "国际贸易有限公司",
    "会展服务有限公司",
    "建筑设计有限公司",
    "新能源科技有限公司",
    "食品有限公司",
    "科技股份有限公司",
)
# Public bodies and associations: (name, district, registry: 12 事业单位, 51 社会团体, 52 民办非企业).
_INSTITUTIONS = (
    ("北京市海淀区科技创新服务中心", "110108", "12"),
    ("北京市朝阳区青少年活动中心", "110105", "12"),
    ("北京数字经济发展促进会", "110102", "51"),
    ("北京市东城区启智培训学校", "110101", "52"),
)
_PEOPLE = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏")
_BUYER_COMPANIES = 56
# Where buyer companies sit: the business districts weigh more.
_DISTRICT_WEIGHTS = {
    "110105": 6,
    "110108": 6,
    "110102": 3,
    "110101": 2,
    "110106": 3,
    "110112": 2,
    "110115": 2,
}


@dataclass(frozen=True)
class Seller:
    name: str
    tax_id: str
    district: str  # 6-digit division code
    address_phone: str
    bank_account: str
    profile: Profile

    def party(self, *, full: bool = True) -> Party:
        """As printed on an invoice; `full` adds 地址电话 and 开户行及账号."""
        if not full:
            return Party(name=self.name, tax_id=self.tax_id)
        return Party(
            name=self.name,
            tax_id=self.tax_id,
            address_phone=self.address_phone,
            bank_account=self.bank_account,
        )


@dataclass(frozen=True)
class Buyer:
    name: str
    tax_id: str | None  # None for individuals
    district: str | None
    address_phone: str | None
    bank_account: str | None
    requester: str  # who checks its invoices: the company's reimbursement system (its tax id), or a user

    @property
    def individual(self) -> bool:
        return self.tax_id is None

    def party(self, *, full: bool = True) -> Party:
        if not full:
            return Party(name=self.name, tax_id=self.tax_id)
        return Party(
            name=self.name,
            tax_id=self.tax_id,
            address_phone=self.address_phone,
            bank_account=self.bank_account,
        )


@dataclass(frozen=True)
class Directory:
    sellers: tuple[Seller, ...]
    buyers: tuple[Buyer, ...]

    @property
    def companies(self) -> tuple[Buyer, ...]:
        return tuple(b for b in self.buyers if not b.individual)

    @property
    def individuals(self) -> tuple[Buyer, ...]:
        return tuple(b for b in self.buyers if b.individual)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def district_name(code6: str) -> str:
    """'海淀区' for '110108'."""
    return BEIJING_DISTRICTS[code6] + "区"


def _address_phone(rng: random.Random, district: str, *, shop: bool = False) -> str:
    street = rng.choice(_STREETS[district])
    address = f"北京市{district_name(district)}{street}{rng.randint(1, 199)}号"
    if not shop:
        address += f"{rng.randint(1, 12)}号楼{rng.randint(1, 22)}{rng.randint(1, 30):02d}室"
    return f"{address} 010-{rng.choice('5678')}{_digits(rng, 7)}"


def _bank_account(rng: random.Random, district: str) -> str:
    bank, length, prefix = rng.choice(_BANKS)
    branch = rng.choice(_BRANCHES[district])

    return f"{bank}北京{branch}支行 {prefix}{_digits(rng, length - len(prefix))}"


def build_directory(seed: int = ENTITY_SEED) -> Directory:
    """Every seller and buyer of the demo, deterministically from `seed`."""
    rng = random.Random(seed)
    sellers = []
    for spec in SELLER_SPECS:
        shop = spec.registry == "92"
        sellers.append(
            Seller(
                name=spec.name,
                tax_id=make_uscc(spec.district, rng, spec.registry),
                district=spec.district,
                address_phone=_address_phone(rng, spec.district, shop=shop),
                bank_account=_bank_account(rng, spec.district),
                profile=PROFILES[spec.industry],
            )
        )
    districts = list(BEIJING_DISTRICTS)
    weights = [_DISTRICT_WEIGHTS.get(d, 1) for d in districts]
    names = rng.sample(_TRADE_NAMES, _BUYER_COMPANIES)
    specs = [(f"北京{n}{rng.choice(_BUYER_KINDS)}", rng.choices(districts, weights)[0], "91") for n in names]
    specs += list(_INSTITUTIONS)
    buyers = []
    for name, district, registry in specs:
        tax_id = make_uscc(district, rng, registry)
        address = _address_phone(rng, district)
        buyers.append(Buyer(name, tax_id, district, address, _bank_account(rng, district), tax_id))
    for person in _PEOPLE:
        buyers.append(Buyer(person, None, None, None, None, f"U{_digits(rng, 11)}"))
    return Directory(tuple(sellers), tuple(buyers))
