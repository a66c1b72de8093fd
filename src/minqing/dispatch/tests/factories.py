"""Small, fast building blocks for the dispatch tests (also used by the API tests).

The training texts are synthetic (made-up sentences about three topics); they exist to
make a tiny model quickly, not to measure accuracy.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from minqing.cases import actions as case_actions
from minqing.cases.models import Case, Category, Channel
from minqing.dispatch.classifier import TextClassifier
from minqing.dispatch.models import ClassifierVersion
from minqing.dispatch.suggest import clear_model_cache
from minqing.orgs.models import OrgUnit

# level-1, level-2, unit code, phrases
TOPICS = {
    "security": ("政法", "社会治安", "410327D01", ["打架斗殴", "夜间有人偷盗", "治安混乱", "小偷撬门", "聚众赌博"]),
    "streets": ("城乡建设", "城市建设和市政管理", "410327D13", ["路灯不亮", "下水道堵塞", "道路破损", "井盖丢失"]),
    "water": ("农村农业", "水利水电", "410327D12", ["灌溉水渠渗漏", "水库放水", "机井坏了", "浇地没有水"]),
}
PLACES = ["东街", "西村", "南关", "北岭", "河口", "新庄"]
FRAMES = [
    "{place}{phrase}，希望尽快处理。",
    "反映{place}{phrase}的问题，已经很久了。",
    "{place}群众说{phrase}，请有关部门解决。",
    "关于{place}{phrase}，多次反映无人管。",
]


def synthetic_texts(topic: str, n: int) -> list[tuple[str, str]]:
    """n (title, content) pairs about one topic."""
    phrases = TOPICS[topic][3]
    combos = itertools.cycle(itertools.product(PLACES, phrases, FRAMES))
    out = []
    for place, phrase, frame in itertools.islice(combos, n):
        out.append((f"{place}{phrase}", frame.format(place=place, phrase=phrase)))
    return out


def category_for(topic: str) -> Category:
    level1, level2, _, _ = TOPICS[topic]
    return Category.objects.get(parent__name=level1, name=level2)


def unit_for(topic: str) -> OrgUnit:
    return OrgUnit.objects.get(code=TOPICS[topic][2])


def train_tiny(per_topic: int = 12) -> tuple[TextClassifier, TextClassifier]:
    """A category and a unit classifier on synthetic texts (well under a second each)."""
    texts, categories, units = [], [], []
    for topic, (level1, level2, unit, _) in TOPICS.items():
        for title, content in synthetic_texts(topic, per_topic):
            texts.append(f"{title}\n{content}")
            categories.append(f"{level1}/{level2}")
            units.append(unit)
    return TextClassifier().fit(texts, categories), TextClassifier().fit(texts, units)


def install_models(directory: Path, category_model: TextClassifier, unit_model: TextClassifier) -> None:
    """Save both models under `directory` and make them the active versions."""
    for version, (target, model) in enumerate(
        ((ClassifierVersion.Target.CATEGORY, category_model), (ClassifierVersion.Target.UNIT, unit_model)), start=1
    ):
        name = f"{target}-v{version}.model"
        model.save(directory / name)
        ClassifierVersion.objects.create(version=version, target=target, path=name, n_training=1, active=True)
    clear_model_cache()


def register(
    dispatcher,
    location: OrgUnit,
    title: str,
    content: str,
    *,
    phone: str = "",
    name: str = "张三",
    latitude: float | None = None,
    longitude: float | None = None,
    category: Category | None = None,
) -> Case:
    data = case_actions.NewCase(
        channel=Channel.WALK_IN,
        title=title,
        content=content,
        location_unit=location,
        category=category,
        latitude=latitude,
        longitude=longitude,
        parties=[case_actions.PartyInput(name=name, phone=phone)],
    )
    return case_actions.register_case(data, dispatcher)
