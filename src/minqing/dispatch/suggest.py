"""Dispatch suggestions: the category (both levels) and the responsible unit for a text.

Three sources, in this order of precedence for the unit:

1. keyword overrides (`RoutingRule` with a keyword found in the title or content);
2. category × township rules (`RoutingRule` without keyword) for the likeliest category;
3. the active unit model, then a built-in map from category to county department,
   then the township where it happened (属地).

Categories come from keyword rules that name one, then the active category model.
Every item says why it was made (`reasons`) and where it came from (`source`).
When a model file is missing or corrupt, `classifier.load_or_none` logs once and the
rules answer alone. Loaded models are cached per process, keyed by version.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from minqing.cases.models import Category
from minqing.dispatch.classifier import LOW_CONFIDENCE_THRESHOLD, TextClassifier, case_text, load_or_none
from minqing.dispatch.models import ClassifierVersion, RoutingRule
from minqing.orgs.models import OrgUnit, UnitKind

TOP_K = 3
KEYWORD_RULE_CONFIDENCE = 0.95
AREA_RULE_CONFIDENCE = 0.85
DEFAULT_MAP_CONFIDENCE = 0.6
LOCAL_CONFIDENCE = 0.3
SOURCE_MODEL, SOURCE_RULE = "model", "rule"
LOOKUP_SECONDS = 30.0

# Built-in routing when no rule says otherwise: level-2 name, then level-1 name → a word
# in the name of a county department (县公安局, 县人社局, …). No match: the township (属地).
DEFAULT_DEPARTMENTS_LEVEL2: dict[str, str] = {
    "安全生产": "应急管理",
    "城市建设和市政管理": "城市管理",
    "水利水电": "水利",
    "林业管理": "林业",
    "文化": "文广旅",
    "文物管理": "文广旅",
    "体育": "文广旅",
    "旅游管理": "文广旅",
    "复退安置": "退役军人",
    "优抚": "退役军人",
    "法律服务": "司法",
    "仲裁与调解": "司法",
    "行政复议": "司法",
    "金融财税": "财政",
    "能源管理": "发改",
    "电信": "工信",
    "城镇居民社会保险": "医保",
}
DEFAULT_DEPARTMENTS_LEVEL1: dict[str, str] = {
    "政法": "公安",
    "劳动和社会保障": "人社",
    "国土资源": "自然资源",
    "城乡建设": "住建",
    "农村农业": "农业农村",
    "教育文体": "教育",
    "卫生计生": "卫健",
    "民政": "民政",
    "环境保护": "生态环境",
    "商贸旅游": "市场监管",
    "交通运输": "交通运输",
    "经济管理": "发改",
    "科技与信息产业": "工信",
}


@dataclass(slots=True)
class SuggestedItem:
    label: str
    confidence: float
    reasons: list[str] = field(default_factory=list)
    source: str = SOURCE_MODEL
    id: int | None = None  # Category or OrgUnit primary key
    code: str = ""  # unit code (units only)
    parent_id: int | None = None  # level-1 category (categories only)
    low_confidence: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class SuggestionSet:
    categories: list[SuggestedItem] = field(default_factory=list)
    units: list[SuggestedItem] = field(default_factory=list)
    models: dict[str, int | None] = field(default_factory=dict)  # target → version used

    def as_dict(self) -> dict[str, Any]:
        return {
            "categories": [item.as_dict() for item in self.categories],
            "units": [item.as_dict() for item in self.units],
            "models": dict(self.models),
        }


# --- Models, cached per process -----------------------------------------------------

_cache_lock = threading.Lock()
_model_cache: dict[tuple[str, int, str], TextClassifier | None] = {}
_lookups: dict[tuple, tuple[float, Any]] = {}


def models_dir() -> Path:
    return Path(getattr(settings, "MINQING_MODELS_DIR", None) or Path(settings.DATA_DIR) / "models")


def clear_model_cache() -> None:
    """Forget loaded models and cached lookups (after training, or a rule change)."""
    with _cache_lock:
        _model_cache.clear()
        _lookups.clear()


def _memo(key: tuple, load: Callable[[], Any]) -> Any:
    now = time.monotonic()
    with _cache_lock:
        hit = _lookups.get(key)
    if hit is not None and now - hit[0] < LOOKUP_SECONDS:
        return hit[1]
    value = load()
    with _cache_lock:
        _lookups[key] = (now, value)
    return value


def _active_versions() -> dict[str, tuple[int, str]]:
    rows = ClassifierVersion.objects.filter(active=True).values_list("target", "version", "path")
    return _memo(("versions",), lambda: {target: (version, path) for target, version, path in rows})


def active_model(target: str) -> tuple[TextClassifier | None, int | None]:
    """The active model for `target` and its version; (None, version or None) when unavailable."""
    row = _active_versions().get(target)
    if row is None:
        return None, None
    version, path = row
    key = (target, version, path)
    with _cache_lock:
        if key in _model_cache:
            return _model_cache[key], version
    model = load_or_none(models_dir() / path)
    with _cache_lock:
        _model_cache[key] = model
    return model, version


# --- Suggest ----------------------------------------------------------------------------


def suggest(
    title: str, content: str = "", *, township: OrgUnit | None = None, village: OrgUnit | None = None
) -> SuggestionSet:
    """Top-3 categories and units for a new case, each with confidence, reasons and source."""
    if township is None and village is not None:
        township = village.parent
    text = case_text(title, content)
    rules = _matching_rules(text, township)
    keyword_rules = [rule for rule in rules if rule.keyword]
    result = SuggestionSet()
    category_model, result.models["category"] = active_model(ClassifierVersion.Target.CATEGORY)
    unit_model, result.models["unit"] = active_model(ClassifierVersion.Target.UNIT)
    result.categories = _categories(text, keyword_rules, category_model)
    top_category = result.categories[0] if result.categories else None
    result.units = _units(text, rules, keyword_rules, top_category, unit_model, township)
    return result


def _matching_rules(text: str, township: OrgUnit | None) -> list[RoutingRule]:
    """Active rules whose township and keyword fit (category is checked later)."""
    rules = _memo(
        ("rules",),
        lambda: list(RoutingRule.objects.filter(active=True).select_related("unit", "category__parent", "township")),
    )
    township_id = township.pk if township else None
    lowered = text.lower()
    return [
        rule
        for rule in rules
        if rule.township_id in (None, township_id) and (not rule.keyword or rule.keyword.lower() in lowered)
    ]


def _categories(text: str, keyword_rules: list[RoutingRule], model: TextClassifier | None) -> list[SuggestedItem]:
    items = [_rule_category(rule) for rule in keyword_rules if rule.category_id and rule.category.parent_id]
    if model is not None:
        items += _model_categories(model.predict_top_k(text, k=TOP_K))
    return _dedupe(items)[:TOP_K]


def _rule_category(rule: RoutingRule) -> SuggestedItem:
    category = rule.category
    return SuggestedItem(
        label=_category_label(category),
        confidence=KEYWORD_RULE_CONFIDENCE,
        reasons=[f"规则：关键词“{rule.keyword}”"],
        source=SOURCE_RULE,
        id=category.pk,
        parent_id=category.parent_id,
    )


def _category_label(category: Category) -> str:
    return f"{category.parent.name}/{category.name}" if category.parent_id else category.name


def _model_categories(predictions) -> list[SuggestedItem]:
    found = _memo(
        ("categories",),
        lambda: {_category_label(c): c for c in Category.objects.filter(parent__isnull=False).select_related("parent")},
    )
    items = []
    for prediction in predictions:
        category = found.get(prediction.label)
        if category is None:  # a category renamed or removed since training
            continue
        items.append(
            SuggestedItem(
                label=prediction.label,
                confidence=prediction.confidence,
                reasons=list(prediction.reasons),
                source=SOURCE_MODEL,
                id=category.pk,
                parent_id=category.parent_id,
                low_confidence=prediction.low_confidence,
            )
        )
    return items


def _units(
    text: str,
    rules: list[RoutingRule],
    keyword_rules: list[RoutingRule],
    top_category: SuggestedItem | None,
    model: TextClassifier | None,
    township: OrgUnit | None,
) -> list[SuggestedItem]:
    items = [
        _rule_unit(rule, KEYWORD_RULE_CONFIDENCE, f"规则：关键词“{rule.keyword}” → {rule.unit.name}")
        for rule in keyword_rules
    ]
    items += _area_rule_units(rules, top_category)
    if model is not None:
        items += _model_units(model.predict_top_k(text, k=TOP_K))
    items += _default_units(top_category, township)
    return _dedupe(items)[:TOP_K]


def _rule_unit(rule: RoutingRule, confidence: float, reason: str, *, low: bool = False) -> SuggestedItem:
    return SuggestedItem(
        label=rule.unit.name,
        confidence=round(confidence, 4),
        reasons=[reason],
        source=SOURCE_RULE,
        id=rule.unit_id,
        code=rule.unit.code,
        low_confidence=low,
    )


def _area_rule_units(rules: list[RoutingRule], top_category: SuggestedItem | None) -> list[SuggestedItem]:
    """Category × township rules for the likeliest category: most specific first, then priority."""
    if top_category is None:
        return []
    category_ids = {top_category.id, top_category.parent_id}
    fitting = [rule for rule in rules if not rule.keyword and rule.category_id in category_ids]
    fitting.sort(key=lambda r: (-r.priority, r.category_id != top_category.id, r.township_id is None, r.pk))
    confidence = AREA_RULE_CONFIDENCE * _strength(top_category)
    return [
        _rule_unit(rule, confidence, f"规则：{rule.describe()}", low=top_category.low_confidence) for rule in fitting
    ]


def _strength(category: SuggestedItem) -> float:
    """How much a rule derived from this category can be trusted (1 for a keyword rule)."""
    return 1.0 if category.source == SOURCE_RULE else max(category.confidence, 0.0)


def _model_units(predictions) -> list[SuggestedItem]:
    units = {p.label: unit for p in predictions if (unit := _unit_by_code(p.label)) is not None}
    return [
        SuggestedItem(
            label=units[p.label].name,
            confidence=p.confidence,
            reasons=list(p.reasons),
            source=SOURCE_MODEL,
            id=units[p.label].pk,
            code=p.label,
            low_confidence=p.low_confidence,
        )
        for p in predictions
        if p.label in units
    ]


def _unit_by_code(code: str) -> OrgUnit | None:
    return _memo(("unit", code), lambda: OrgUnit.objects.filter(code=code, active=True).first())


def _default_units(top_category: SuggestedItem | None, township: OrgUnit | None) -> list[SuggestedItem]:
    items = []
    if top_category is not None and (department := _default_department(top_category, township)) is not None:
        confidence = DEFAULT_MAP_CONFIDENCE * _strength(top_category)
        items.append(
            SuggestedItem(
                label=department.name,
                confidence=round(confidence, 4),
                reasons=[f"规则：{top_category.label}默认由{department.name}承办"],
                source=SOURCE_RULE,
                id=department.pk,
                code=department.code,
                low_confidence=top_category.low_confidence or confidence < LOW_CONFIDENCE_THRESHOLD,
            )
        )
    if township is not None:
        items.append(
            SuggestedItem(
                label=township.name,
                confidence=LOCAL_CONFIDENCE,
                reasons=[f"规则：属地管理（事发地{township.name}）"],
                source=SOURCE_RULE,
                id=township.pk,
                code=township.code,
                low_confidence=True,
            )
        )
    return items


def _default_department(category: SuggestedItem, township: OrgUnit | None) -> OrgUnit | None:
    level1, _, level2 = category.label.partition("/")
    word = DEFAULT_DEPARTMENTS_LEVEL2.get(level2) or DEFAULT_DEPARTMENTS_LEVEL1.get(level1)
    if not word:
        return None
    county_id = township.parent_id if township is not None else None

    def load() -> OrgUnit | None:
        departments = OrgUnit.objects.filter(kind=UnitKind.DEPARTMENT, active=True, name__contains=word)
        if county_id:
            departments = departments.filter(parent_id=county_id)
        else:
            departments = departments.filter(parent__code=settings.MINQING_COUNTY_CODE)
        return departments.order_by("code").first()

    return _memo(("department", word, county_id), load)


def _dedupe(items: list[SuggestedItem]) -> list[SuggestedItem]:
    """Keep the first item per id; later ones with the same id add their reasons to it."""
    kept: dict[int | None, SuggestedItem] = {}
    for item in items:
        if item.id in kept:
            first = kept[item.id]
            first.reasons += [reason for reason in item.reasons if reason not in first.reasons]
            first.confidence = max(first.confidence, item.confidence)
        else:
            kept[item.id] = SuggestedItem(**item.as_dict())
    return list(kept.values())


def route(
    category: Category, title: str, content: str = "", *, township: OrgUnit | None = None
) -> SuggestedItem | None:
    """The unit the routing rules give a case whose category is already known, without the models.

    Same precedence as `suggest`: keyword rules, then category × township rules, then the built-in
    department map, then the township (属地). Rules and departments come from the per-process cache,
    so intake can run it on every submission to pre-fill the dispatcher's choice.
    """
    text = case_text(title, content)
    rules = _matching_rules(text, township)
    keyword_rules = [rule for rule in rules if rule.keyword]
    chosen = SuggestedItem(
        label=_category_label(category),
        confidence=1.0,
        source=SOURCE_RULE,
        id=category.pk,
        parent_id=category.parent_id,
    )
    units = _units(text, rules, keyword_rules, chosen, None, township)
    return units[0] if units else None
