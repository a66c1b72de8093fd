"""The comprehensive query (综合查询): every filter, strictly validated.

Unlike the case list, a bad value is not ignored: the page answers 400 and says, in
Chinese, which filter is wrong. A unit outside the user's remit is refused (403).
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import F, Q, QuerySet

from minqing.accounts.scoping import remit_for
from minqing.cases.models import CaseEvent, CaseState, Category, Channel, Nature, Outcome, RequestType, Urgency
from minqing.cases.selectors import overdue_q
from minqing.orgs.models import OrgUnit
from minqing.stats import search
from minqing.stats.metrics import RESOLVED_OUTCOMES, SIGN_FOR_WINDOW
from minqing.stats.selectors import (
    SCORE_FILTERS,
    attributed_to,
    live_queries,
    local_start,
    person_cases,
    under_supervision_q,
)

PAGE_SIZE = 50
MAX_RANGE_DAYS = 366 * 10
DATE_KINDS = [
    ("submitted", "登记时间"),
    ("accepted", "受理时间"),
    ("closed", "办结时间"),
    ("rated", "评价时间"),
    ("assigned", "交办时间"),
    ("signed", "签收时间"),
]
DATE_FIELDS = {"submitted": "submitted_at", "accepted": "accepted_at", "closed": "closed_at", "signed": "signed_at"}
HAND_OVERS = ("assign", "reassign")
SORTS = {
    "-submitted": ("-submitted_at", "-id"),
    "submitted": ("submitted_at", "id"),
    "due": (F("handle_due").asc(nulls_last=True), "id"),
    "-closed": (F("closed_at").desc(nulls_last=True), "-id"),
}
YES_NO = [("", "不限"), ("yes", "是"), ("no", "否")]
RATINGS = [
    ("", "不限"),
    ("satisfied", "满意"),
    ("basically_satisfied", "基本满意"),
    ("satisfied_or_basically", "满意或基本满意"),
    ("unsatisfied", "不满意"),
]
ANY_SCORE = SCORE_FILTERS["satisfied_or_basically"] | SCORE_FILTERS["unsatisfied"]
MESSAGES = {
    "invalid_choice": "“%(value)s”不是有效的选项",
    "invalid": "格式不正确",
    "max_length": "内容过长",
    "min_value": "不能小于 %(limit_value)s",
    "max_value": "不能大于 %(limit_value)s",
}


def _choices(enum) -> list[tuple[str, str]]:
    return [("", "不限"), *enum.choices]


def _field(cls, label: str, **kwargs):
    return cls(label=label, required=False, error_messages=MESSAGES, **kwargs)


class QueryForm(forms.Form):
    q = _field(forms.CharField, "关键词", max_length=100)
    reference = _field(forms.CharField, "案件编号", max_length=30)
    date_kind = _field(forms.ChoiceField, "时间类型", choices=DATE_KINDS)
    date_from = _field(forms.DateField, "起始日期", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = _field(forms.DateField, "截止日期", widget=forms.DateInput(attrs={"type": "date"}))
    unit = _field(forms.CharField, "承办/所属单位代码", max_length=20)
    township = _field(forms.CharField, "事发乡镇代码", max_length=20)
    level1 = _field(forms.IntegerField, "一级分类", min_value=1)
    category = _field(forms.IntegerField, "二级分类", min_value=1)
    state = _field(forms.ChoiceField, "状态", choices=_choices(CaseState))
    channel = _field(forms.ChoiceField, "渠道", choices=_choices(Channel))
    urgency = _field(forms.ChoiceField, "紧急程度", choices=_choices(Urgency))
    nature = _field(forms.ChoiceField, "信访性质", choices=_choices(Nature))
    request_type = _field(forms.ChoiceField, "诉求类型", choices=_choices(RequestType))
    outcome = _field(forms.ChoiceField, "办理结果", choices=_choices(Outcome))
    open = _field(forms.ChoiceField, "在办", choices=YES_NO)
    overdue = _field(forms.ChoiceField, "当前超期", choices=YES_NO)
    nearly_due = _field(forms.ChoiceField, "即将到期", choices=YES_NO[:2])
    on_time = _field(forms.ChoiceField, "按期办结", choices=YES_NO)
    resolved = _field(forms.ChoiceField, "已解决", choices=YES_NO)
    signed_on_time = _field(forms.ChoiceField, "按时签收", choices=YES_NO)
    reopened = _field(forms.ChoiceField, "曾重办", choices=YES_NO)
    supervised = _field(forms.ChoiceField, "督办中", choices=YES_NO)
    rating = _field(forms.ChoiceField, "评价", choices=RATINGS)
    phone = _field(forms.RegexField, "信访人手机号", regex=r"^\+?[\d\s-]{5,20}$", max_length=24)
    id_number = _field(forms.RegexField, "信访人身份证号", regex=r"^[\dXx\s-]{15,20}$", max_length=24)
    sort = _field(forms.ChoiceField, "排序", choices=[(k, k) for k in SORTS])
    page = _field(forms.IntegerField, "页码", min_value=1, max_value=100000)

    def __init__(self, *args, user=None, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.user = user
        self.units: dict[str, OrgUnit] = {}

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "截止日期不能早于起始日期")
        if start and end and (end - start).days > MAX_RANGE_DAYS:
            self.add_error("date_to", "时间范围不能超过十年")
        for name in ("unit", "township"):
            if code := (data.get(name) or "").strip():
                self._check_unit(name, code)
        for name in ("level1", "category"):
            if (
                data.get(name)
                and not Category.objects.filter(pk=data[name], parent__isnull=(name == "level1")).exists()
            ):
                self.add_error(name, "分类不存在")
        return data

    def _check_unit(self, name: str, code: str) -> None:
        unit = OrgUnit.objects.filter(code=code).first()
        if unit is None:
            self.add_error(name, f"单位代码“{code}”不存在")
        elif not remit_for(self.user).can_see(unit):
            raise PermissionDenied(f"您无权查询“{unit.name}”的案件")
        else:
            self.units[name] = unit

    def error_text(self) -> str:
        parts = []
        for name, errors in self.errors.items():
            label = self.fields[name].label if name in self.fields else "查询条件"
            parts.append(f"{label}：{'；'.join(errors)}")
        return "；".join(parts)

    @property
    def page_number(self) -> int:
        return self.cleaned_data.get("page") or 1

    def filter(self, queryset: QuerySet) -> QuerySet:
        data = self.cleaned_data
        if data.get("phone") or data.get("id_number"):
            queryset = queryset.filter(
                pk__in=person_cases(self.user, phone=data.get("phone", ""), id_number=data.get("id_number", "")).values(
                    "pk"
                )
            )
        if reference := (data.get("reference") or "").strip().upper():
            queryset = queryset.filter(reference=reference)
        queryset = self._filter_dates(queryset, data)
        queryset = self._filter_units_and_choices(queryset, data)
        queryset = self._filter_flags(queryset, data)
        if keywords := (data.get("q") or "").strip():
            county = search.remit_county(remit_for(self.user).read_paths, search.county_paths())
            queryset = search.filter_by_keywords(queryset, keywords, county=county)
        return queryset.order_by(*SORTS[data.get("sort") or "-submitted"])

    def _filter_dates(self, queryset: QuerySet, data: dict) -> QuerySet:
        start, end = data.get("date_from"), data.get("date_to")
        if not (start or end):
            return queryset
        kind = data.get("date_kind") or "submitted"
        bounds = {}
        if start:
            bounds["gte"] = local_start(start)
        if end:
            bounds["lt"] = local_start(end + timedelta(days=1))
        in_range = {f"created_at__{k}": v for k, v in bounds.items()}
        if kind == "rated":
            # One subquery, so "rated 不满意 in March" means that rating, not any rating in March.
            score = SCORE_FILTERS[data["rating"]] if data.get("rating") else ANY_SCORE
            rated = CaseEvent.objects.filter(score, action="rate", **in_range)
            return queryset.filter(pk__in=rated.values("case_id"))
        if kind == "assigned":
            # Hand-overs (交办 and 重新交办) in the range, as the rollups count them.
            handed = CaseEvent.objects.filter(action__in=HAND_OVERS, **in_range)
            return queryset.filter(pk__in=handed.values("case_id"))
        if kind == "closed":
            queryset = queryset.filter(state=CaseState.CLOSED)
        return queryset.filter(**{f"{DATE_FIELDS[kind]}__{k}": v for k, v in bounds.items()})

    def _filter_units_and_choices(self, queryset: QuerySet, data: dict) -> QuerySet:
        if "unit" in self.units:
            queryset = queryset.filter(attributed_to(self.units["unit"]))
        if "township" in self.units:
            queryset = queryset.filter(location_path__startswith=self.units["township"].path)
        if data.get("category"):
            queryset = queryset.filter(category_id=data["category"])
        elif data.get("level1"):
            queryset = queryset.filter(category__parent_id=data["level1"])
        for name in ("state", "channel", "urgency", "nature", "request_type", "outcome"):
            if data.get(name):
                queryset = queryset.filter(**{name: data[name]})
        return queryset

    def _filter_flags(self, queryset: QuerySet, data: dict) -> QuerySet:
        live = live_queries()
        if data.get("open"):
            queryset = queryset.filter(live["open"]) if data["open"] == "yes" else queryset.exclude(live["open"])
        if data.get("nearly_due"):
            queryset = queryset.filter(live["nearly_due"])
        if data.get("overdue"):
            queryset = queryset.filter(overdue_q()) if data["overdue"] == "yes" else queryset.exclude(overdue_q())
        if data.get("on_time"):
            on_time = Q(state=CaseState.CLOSED, closed_at__lte=F("handle_due"))
            closed = queryset.filter(state=CaseState.CLOSED)
            queryset = closed.filter(on_time) if data["on_time"] == "yes" else closed.exclude(on_time)
        if data.get("resolved"):
            resolved = Q(outcome__in=RESOLVED_OUTCOMES)
            closed = queryset.filter(state=CaseState.CLOSED)
            queryset = closed.filter(resolved) if data["resolved"] == "yes" else closed.exclude(resolved)
        if data.get("signed_on_time"):
            # 响应: signed for within SIGN_FOR_WINDOW of the hand-over.
            in_time = Q(signed_at__lte=F("assigned_at") + SIGN_FOR_WINDOW)
            signed = queryset.filter(signed_at__isnull=False, assigned_at__isnull=False)
            queryset = signed.filter(in_time) if data["signed_on_time"] == "yes" else signed.exclude(in_time)
        if data.get("reopened"):
            queryset = (
                queryset.filter(reopen_count__gt=0) if data["reopened"] == "yes" else queryset.filter(reopen_count=0)
            )
        if data.get("supervised"):
            supervised = under_supervision_q()
            queryset = queryset.filter(supervised) if data["supervised"] == "yes" else queryset.exclude(supervised)
        rated_in_period = data.get("date_kind") == "rated" and (data.get("date_from") or data.get("date_to"))
        if data.get("rating") and not rated_in_period:
            rated = CaseEvent.objects.filter(SCORE_FILTERS[data["rating"]], action="rate")
            queryset = queryset.filter(pk__in=rated.values("case_id"))
        return queryset

    def params(self) -> dict[str, str]:
        """The filters as given (for saved queries), without paging."""
        return {k: v for k, v in self.data.items() if k in self.fields and k != "page" and v not in ("", None)}
