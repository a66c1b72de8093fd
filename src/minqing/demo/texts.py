"""Synthetic Chinese texts for demo cases: titles, contents, replies, reasons, notes, people.

Everything here is made up. Topics come from `data/topics.tsv` (one or more per level-2
category); a topic's title and detail are templates in which `[a|b|c]` picks one
alternative and `{slot}` is filled with a place, an amount, a time and so on. Titles and
contents are then wrapped in channel-specific openings and varied closings, so two cases on
the same topic in the same village still read differently.

People are synthetic and say so: names carry the suffix "（演示）", phones use the prefix
139 00 (a block chosen to look reserved), ID numbers use Yiyang's region code 410327 and a
valid check digit, and no real person is behind any of them.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

TOPICS_TSV = Path(__file__).resolve().parent / "data" / "topics.tsv"

SYNTHETIC_SUFFIX = "（演示）"
SYNTHETIC_PHONE_PREFIX = "13900"
REGION_CODE = "410327"

OUTCOMES = ("supported", "explained", "not_supported", "mediated")

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
    "余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
GIVEN_FIRST = "建国志文明德秀玉桂春海红丽军伟芳英华小少永长新东西爱金银宝占保书学振鹏俊晓雪梅兰凤彩双"
GIVEN_SECOND = "国民华强军平生林峰杰勇刚明辉亮红霞英芳娟萍兰琴云霞敏静丽涛波超鹏宇浩磊娜燕艳梅荣成发旺福喜利"

_ALTERNATIVE = re.compile(r"\[([^\[\]]*)\]")
_SLOT = re.compile(r"\{(\w+)\}")
_CN_DIGITS = "零一二三四五六七八九十"


@dataclass(frozen=True)
class Topic:
    level1: str
    level2: str
    short: str
    title: str
    detail: str


@dataclass(frozen=True)
class CaseText:
    title: str
    content: str
    short: str  # the topic in a few characters, for replies and notes


@dataclass(frozen=True)
class Person:
    """A synthetic petitioner; `name` ends with "（演示）"."""

    name: str
    phone: str
    id_number: str
    address: str


@lru_cache(maxsize=1)
def load_topics() -> dict[tuple[str, str], tuple[Topic, ...]]:
    """Topics by (level1, level2), read once from the package's data file."""
    topics: dict[tuple[str, str], list[Topic]] = {}
    for line in TOPICS_TSV.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        level1, level2, short, title, detail = line.split("\t")
        topics.setdefault((level1, level2), []).append(Topic(level1, level2, short, title, detail))
    return {key: tuple(value) for key, value in topics.items()}


def expand(template: str, slots: Mapping[str, str | Callable[[], str]], rng: random.Random) -> str:
    """Pick one alternative in each `[a|b]`, then fill `{slot}`s (callables are called per use)."""
    text = _ALTERNATIVE.sub(lambda m: rng.choice(m.group(1).split("|")), template)

    def fill(match: re.Match[str]) -> str:
        value = slots.get(match.group(1))
        if value is None:
            return match.group(0)
        return value() if callable(value) else value

    # Slot values may themselves hold alternatives or slots (e.g. {place} → "{village}村口").
    for _ in range(3):
        text = _SLOT.sub(fill, text)
        text = _ALTERNATIVE.sub(lambda m: rng.choice(m.group(1).split("|")), text)
    return text


def chinese_number(n: int) -> str:
    """1..99 in Chinese numerals (十二, 三十五)."""
    if n <= 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return f"{_CN_DIGITS[tens] if tens > 1 else ''}十{_CN_DIGITS[ones] if ones else ''}"


def id_check_digit(first17: str) -> str:
    """GB 11643-1999 check digit of an 18-digit resident ID number."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def is_valid_id_number(value: str) -> bool:
    return len(value) == 18 and value[:17].isdigit() and id_check_digit(value[:17]) == value[17]


# --- Fragments ------------------------------------------------------------------------

TITLE_FRAMES = (
    "{title}",
    "{title}",
    "反映{title}",
    "关于{title}的反映",
    "{title}，请求解决",
    "{title}，盼尽快处理",
    "求助：{title}",
    "{township}{title}",
    "{title}问题",
    "{title}，多次反映未解决",
)
GROUP_TITLE_FRAMES = (
    "{village}群众联名反映{title}",
    "{village}{n}户村民反映{title}",
    "集体反映：{title}",
)
OPENINGS = {
    "self": (
        "[我是|本人是|我系]{township}{village}{group}村民，",
        "我家住{township}{village}{group}，",
        "我是{village}的[村民|一名普通群众|老党员]，",
        "",
    ),
    "informant": (
        "信息员上报：{village}{group}村民反映，",
        "村级信息员走访了解到，{village}{group}[有群众|一户村民]反映，",
        "{village}信息员代群众反映：",
    ),
    "hotline_12345": ("12345热线转办：来电人反映，", "12345转办工单：{township}{village}群众来电称，"),
    "letter": ("来信称：", "{village}群众来信反映："),
    "phone": ("来电人称：", "{township}{village}群众来电反映："),
    "walk_in": ("来访人称：", "来访群众反映：", "[一名|两名]群众到中心来访，反映"),
}
GROUP_OPENINGS = (
    "我们是{village}{group}的{n}户村民，",
    "{village}{n}名群众联名反映：",
    "我们{village}{n}户群众[一起|联名]反映一件事：",
)
IMPACTS = (
    "[这件事|此事][严重影响|已经影响到][群众的正常生活|我们的生产生活|一家人的生计]。",
    "[群众对此意见很大|大家心里都很着急|村里议论纷纷]。",
    "[眼看|马上][就要过年了|就要农忙了|就要开学了]，[问题还没有解决|我们很着急]。",
    "",
    "",
)
PRIOR = (
    "[此前|之前][曾多次|也]向[村委会|镇里|有关单位]反映过，[一直没有结果|至今没有解决|答复说会处理但没有下文]。",
    "[找过|去过][村里|{township}][两次|三次|好几次|不下十次]，[都说不归他们管|让我们等消息]。",
    "",
    "",
    "",
)
REQUESTS = (
    "[恳请|请求|希望][有关部门|县里|镇政府|相关单位][尽快|抓紧][调查处理|协调解决|依法处理|给个说法]。",
    "[恳请|请求]领导[重视|过问]此事，[维护群众的合法权益|还我们一个公道]。",
    "希望[尽快|早日]解决，[谢谢|感谢政府]！",
    "请求[上级|有关部门]派人[实地查看|核实情况]，[帮助解决|依法处理]。",
)
PLACES = (
    "{village}[村东头|村西头|村口|村委会附近|小学附近|{group}|南边的沟里|北坡上|大路边]",
    "{village}{group}",
    "{village}",
)
ROADS = (
    "[{village}通往{township}的|{village}村内的|{township}到县城的|{village}{group}的|{village}到邻村的][村道|生产路|乡道|水泥路|环村路]",
)
COMPANY_NAMES = [
    "宏达",
    "鑫源",
    "顺发",
    "恒通",
    "金谷",
    "华鑫",
    "永安",
    "兴旺",
    "昌盛",
    "瑞丰",
    "博远",
    "天成",
    "锦程",
    "福源",
    "聚鑫",
    "佳和",
]
COMPANY_TRADES = [
    "建筑工程",
    "建材",
    "商贸",
    "农业开发",
    "养殖",
    "矿业",
    "物流",
    "房地产开发",
    "机械加工",
    "食品",
    "石料",
    "新能源",
]
ROLES = ["邻居", "同村村民", "个体老板", "外地老板", "承包户", "施工队负责人", "某建筑队", "一名男子", "村里的一户人家"]
KIN = ["父亲", "母亲", "老伴", "儿子", "女儿", "孩子", "老人", "爱人", "弟弟"]
CROPS = ["小麦", "玉米", "红薯", "谷子", "花生", "烟叶", "核桃", "花椒", "苹果", "中药材", "辣椒", "大豆"]


# --- Replies, reasons, notes -----------------------------------------------------------

REPLIES = {
    "supported": (
        "经{unit}调查核实，信访人反映的{short}问题[基本属实|属实]。[我单位已|已协调有关方面]{action}。"
        "工作人员已[电话|当面]告知信访人办理结果，信访人表示[满意|认可]。",
        "[接到交办后|签收后]，{unit}[立即|第一时间]组织人员到{village}实地查看。经核实，反映情况属实，"
        "[现已|目前已]{action}，并将持续跟踪。已向信访人反馈。",
        "{unit}高度重视，[成立工作专班|安排专人负责]。经调查，信访人诉求合理，{action}。信访人对处理结果表示满意。",
    ),
    "explained": (
        "经{unit}调查核实，信访人反映的{short}问题，[按照现行政策规定|根据相关文件精神]，{policy}。"
        "工作人员已向信访人详细解释相关政策，信访人表示理解。",
        "{unit}工作人员[与信访人面谈|电话联系信访人]，就{short}问题进行了[政策解释|沟通说明]：{policy}。信访人表示[理解|知晓]。",
        "经查，{short}一事[正在按程序办理|已列入计划]，{policy}。已向信访人说明情况及办理进度。",
    ),
    "not_supported": (
        "经{unit}调查，信访人反映的{short}问题[与事实不符|缺乏事实依据|诉求缺乏政策依据]，{policy}，"
        "对其诉求不予支持。如不服本答复意见，可自收到之日起30日内向上一级机关申请复查。",
        "经核实，信访人所提诉求[超出政策规定标准|不符合相关条件]，依法不予支持。{unit}已向信访人说明理由，"
        "并告知其可通过法律途径或申请复查维护自身权益。",
    ),
    "mediated": (
        "在{unit}[主持下|组织下]，[村调委会|司法所|驻村工作队]对{short}纠纷进行调解，双方达成协议：{agreement}。"
        "双方已签字确认，矛盾已化解。",
        "{unit}会同[{village}村委会|司法所|派出所]组织双方[当面协商|多轮调解]，最终{agreement}，双方均表示满意。",
    ),
}
ACTIONS = (
    "责成相关方[在{n}日内|限期]整改到位",
    "协调将拖欠的{amount}元[全部兑付|发放到位]",
    "安排[施工队|专人]完成维修，恢复正常使用",
    "依法[下达整改通知书|立案查处]，[整改工作已完成|相关问题已纠正]",
    "将信访人纳入[救助|帮扶]范围，[相关待遇已于本月落实|首笔资金已发放]",
    "[现场清理|拆除]完毕，并建立长效管理机制",
)
POLICIES = (
    "该事项需按程序[逐级审核|公示后]办理，[预计|力争]{n}个工作日内完成",
    "信访人所提标准高于政策规定，现有补偿已按标准足额发放",
    "该问题属于历史遗留问题，已纳入[年度计划|专项整治]统筹解决",
    "相关事项应通过[法律途径|仲裁程序]解决，已告知信访人具体办理渠道",
    "相关资金已按规定拨付，近期将陆续发放到位",
)
AGREEMENTS = (
    "由对方一次性[支付|补偿]{amount}元",
    "双方[重新划定界线|恢复原状]，今后互不干涉",
    "对方[于{n}日内|限期]拆除违建并赔礼道歉",
    "分{n}期[支付|结清]欠款{amount}元",
    "由村委会出面[调整土地|协调通道]，双方均认可",
)
DECLINE_REASONS = (
    "该诉求属于[民事纠纷|经济纠纷]，应通过诉讼途径解决，已告知信访人向人民法院起诉。",
    "该事项已经[人民法院判决|仲裁裁决]，属于涉法涉诉事项，依法不予受理，已告知信访人相关救济渠道。",
    "信访人反映的问题已[办结|答复]，且未提出新的事实和理由，依据《信访工作条例》不再重复受理。",
    "该诉求不属于本县职权范围，已告知信访人向有权处理的机关提出。",
    "信访人未提供具体事实和联系方式，无法核实，暂不受理，已告知其补充材料后重新提出。",
)
RETURN_REASONS = (
    "该事项不属于我单位职责范围，[建议交由{other}办理|应由{other}负责]。",
    "经核实，事发地不在我单位辖区，请中心重新交办。",
    "该问题涉及[行业监管|执法]职能，我单位无执法权，建议改派{other}。",
)
SEND_BACK_REASONS = (
    "答复内容过于简单，未说明具体处理措施，请补充后重新答复。",
    "未附现场核查情况，请核实后重新答复。",
    "答复未回应信访人的主要诉求，请重新办理。",
)
NOTES = (
    "已与信访人电话联系，[约定|计划]{n}日内到现场核实。",
    "已到{village}现场查看，正在[协调相关方|调取资料]。",
    "该事项涉及多个部门，已[召开协调会|与{other}沟通]。",
    "信访人情绪[稳定|较为激动]，已做好解释安抚工作。",
    "已调取相关[合同|账目|档案]，正在核对。",
)
MEDIATION_SUMMARIES = (
    "{unit}组织[村调委会|司法所|驻村工作队]在{village}村委会召集双方[当面|面对面]调解，听取双方陈述，释法析理。",
    "调解员[两次|多次]上门，分别做双方工作，就{short}问题[逐项|反复]协商。",
    "在[村两委|老党员|乡贤]参与下，双方就{short}一事进行协商，[核对了相关证据|明确了责任]。",
)
MEDIATION_PARTICIPANTS = (
    "信访人、对方当事人、{village}村调委会主任（演示）",
    "双方当事人、司法所调解员（演示）、驻村工作队员（演示）",
    "信访人及家属、对方代表、{unit}工作人员（演示）",
)
MERGE_NOTES = (
    "同一事项重复反映，合并办理。",
    "与在办案件为同一诉求，并案处理。",
    "同一信访人就同一事项再次反映，合并。",
)
URGE_TEXTS = ("该案件即将到期，请抓紧办理并按时答复。", "请加快办理进度，确保按期办结。")
RATING_COMMENTS = {
    True: ("处理及时，很满意。", "问题解决了，感谢！", "工作人员态度好。", "", "", ""),
    False: ("问题没有真正解决。", "答复不满意，只是解释没有行动。", "处理太慢。", ""),
}


class TextFactory:
    """Deterministic synthetic texts: the same seed and the same calls give the same texts."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.topics = load_topics()
        self._used_phones: set[str] = set()

    # --- slots -------------------------------------------------------------------
    def _amount(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            return f"{rng.randrange(8, 100) * 100}"
        if roll < 0.8:
            return f"{rng.randrange(10, 200) * 500}"
        return f"{rng.randrange(11, 99) / 10:g}万"

    def _when(self, on: date) -> str:
        rng = self.rng
        back = on - timedelta(days=rng.choice((7, 20, 35, 60, 90, 150, 240, 400)))
        choices = (
            f"{back.month}月份",
            f"{'去年' if back.year < on.year else '今年'}{back.month}月",
            f"{back.month}月{back.day}日",
            "前段时间",
            "上个月",
            "前几天",
            f"{chinese_number(rng.randint(2, 8))}个多月前",
            "去年秋收后" if on.month < 9 else "今年麦收后",
        )
        return rng.choice(choices)

    def _slots(self, village: str, township: str, on: date, n: int) -> dict[str, str | Callable[[], str]]:
        rng = self.rng
        return {
            "village": village,
            "township": township,
            "group": lambda: f"{chinese_number(rng.randint(1, 12))}组",
            "place": lambda: rng.choice(PLACES),
            "road": lambda: rng.choice(ROADS),
            # One company, amount, person and crop per case, so title and content agree.
            "amount": self._amount(),
            "n": str(n),
            "months": chinese_number(rng.randint(2, 14)),
            "when": lambda: self._when(on),
            "company": f"{rng.choice(COMPANY_NAMES)}{rng.choice(COMPANY_TRADES)}有限公司",
            "role": rng.choice(ROLES),
            "kin": rng.choice(KIN),
            "crop": rng.choice(CROPS),
        }

    def topic_for(self, level1: str, level2: str) -> Topic:
        options = self.topics.get((level1, level2))
        if not options:
            return Topic(
                level1,
                level2,
                level2,
                f"{{village}}[{level2}|{level2}方面的]问题",
                f"[有关{level2}的问题|{level2}方面存在问题]，{{when}}以来一直没有解决",
            )
        return self.rng.choice(options)

    # --- public texts --------------------------------------------------------------
    def case_text(
        self,
        *,
        level1: str,
        level2: str,
        village: str,
        township: str,
        on: date,
        channel: str = "wechat",
        group_size: int = 1,
    ) -> CaseText:
        rng = self.rng
        topic = self.topic_for(level1, level2)
        n = group_size if group_size > 1 else rng.randint(2, 30)
        slots = self._slots(village, township, on, n)
        core = expand(topic.title, slots, rng)
        frames = GROUP_TITLE_FRAMES if group_size >= 5 and rng.random() < 0.7 else TITLE_FRAMES
        title = expand(rng.choice(frames), {**slots, "title": core}, rng)
        openings = GROUP_OPENINGS if group_size >= 5 else OPENINGS.get(channel, OPENINGS["self"])
        opening = rng.choice(openings)
        parts = [
            expand(opening, slots, rng),
            expand(topic.detail, slots, rng) + "。",
            expand(rng.choice(IMPACTS), slots, rng),
            expand(rng.choice(PRIOR), slots, rng),
            expand(rng.choice(REQUESTS), slots, rng),
        ]
        return CaseText(title=title[:120], content="".join(parts), short=topic.short)

    def person(self, village: str, township: str) -> Person:
        rng = self.rng
        name = rng.choice(SURNAMES) + rng.choice(GIVEN_FIRST) + (rng.choice(GIVEN_SECOND) if rng.random() < 0.8 else "")
        return Person(
            name=name + SYNTHETIC_SUFFIX,
            phone=self.phone(),
            id_number=self.id_number(),
            address=f"{township}{village}{chinese_number(rng.randint(1, 12))}组（演示地址）",
        )

    def phone(self) -> str:
        """A synthetic mobile number 13900xxxxxx, unique within this factory."""
        while True:
            phone = f"{SYNTHETIC_PHONE_PREFIX}{self.rng.randrange(10**6):06d}"
            if phone not in self._used_phones:
                self._used_phones.add(phone)
                return phone

    def id_number(self) -> str:
        """A synthetic resident ID: 410327 + birth date + sequence + valid check digit."""
        rng = self.rng
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 62))
        first17 = f"{REGION_CODE}{born:%Y%m%d}{rng.randrange(1000):03d}"
        return first17 + id_check_digit(first17)

    def _fill(self, template: str, *, short: str, unit: str, village: str, other: str = "相关部门") -> str:
        rng = self.rng
        slots: dict[str, str | Callable[[], str]] = {
            "short": short,
            "unit": unit,
            "village": village,
            "other": other,
            "n": str(rng.choice((3, 5, 7, 10, 15))),
            "amount": self._amount,
        }
        slots["action"] = lambda: expand(rng.choice(ACTIONS), slots, rng)
        slots["policy"] = lambda: expand(rng.choice(POLICIES), slots, rng)
        slots["agreement"] = lambda: expand(rng.choice(AGREEMENTS), slots, rng)
        return expand(template, slots, rng)

    def reply(self, outcome: str, *, short: str, unit: str, village: str) -> str:
        return self._fill(self.rng.choice(REPLIES[outcome]), short=short, unit=unit, village=village)

    def decline_reason(self) -> str:
        return expand(self.rng.choice(DECLINE_REASONS), {}, self.rng)

    def return_reason(self, other: str) -> str:
        return self._fill(self.rng.choice(RETURN_REASONS), short="", unit="", village="", other=other)

    def send_back_reason(self) -> str:
        return self.rng.choice(SEND_BACK_REASONS)

    def note(self, *, village: str, other: str = "相关部门") -> str:
        return self._fill(self.rng.choice(NOTES), short="", unit="", village=village, other=other)

    def mediation(self, *, short: str, unit: str, village: str) -> tuple[str, str, str]:
        """(summary, participants, result) of a mediation session."""
        summary = self._fill(self.rng.choice(MEDIATION_SUMMARIES), short=short, unit=unit, village=village)
        participants = self._fill(self.rng.choice(MEDIATION_PARTICIPANTS), short=short, unit=unit, village=village)
        result = self._fill("双方达成一致：{agreement}。", short=short, unit=unit, village=village)
        return summary, participants, result

    def merge_note(self) -> str:
        return self.rng.choice(MERGE_NOTES)

    def urge_text(self) -> str:
        return self.rng.choice(URGE_TEXTS)

    def rating_comment(self, satisfied: bool) -> str:
        return self.rng.choice(RATING_COMMENTS[satisfied])

    def handler_name(self) -> str:
        """A synthetic staff name, marked as such."""
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN_FIRST) + SYNTHETIC_SUFFIX
