"""Forms of the staff console: parse and validate; the verbs live in `minqing.cases.actions`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time

from django import forms
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minqing.accounts.scoping import visible_units
from minqing.cases import selectors
from minqing.cases.attachments import AttachmentRefused, CheckedFile, check_upload, read_upload
from minqing.cases.models import Case, CaseState, Category, Channel, Nature, Outcome, RequestType, Urgency
from minqing.orgs.models import OrgUnit, UnitKind

REGISTER_CHANNELS = [(c.value, c.label) for c in (Channel.WALK_IN, Channel.LETTER, Channel.PHONE)]
PICKER_KINDS = (UnitKind.TOWNSHIP, UnitKind.DEPARTMENT, UnitKind.OFFICE)
PAGE_SIZE = 50
SORTS = {
    "-submitted": ("-submitted_at", "-id"),
    "submitted": ("submitted_at", "id"),
    "due": (F("handle_due").asc(nulls_last=True), "id"),
    "-due": (F("handle_due").desc(nulls_last=True), "-id"),
}


def _blank(label) -> list[tuple[str, str]]:
    return [("", label)]


def category_choices(categories: Iterable[Category]) -> list:
    """Level-2 categories grouped under their level-1 names (for <optgroup>)."""
    groups: dict[str, list] = {}
    for category in categories:
        if category.parent_id:
            groups.setdefault(category.parent.name, []).append((category.pk, category.name))
    return list(groups.items())


def unit_choices(units: Iterable[OrgUnit]) -> list:
    groups: dict[str, list] = {}
    for unit in units:
        groups.setdefault(str(unit.get_kind_display()), []).append((unit.pk, unit.name))
    return list(groups.items())


def end_of_day(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


# --- Case actions -----------------------------------------------------------------


class ActionForm(forms.Form):
    """Every action form carries the version the page showed, so a stale page is refused."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args, action: str = "", **kwargs) -> None:
        kwargs.setdefault("auto_id", f"id_{action}_%s")
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.action = action


class ReasonForm(ActionForm):
    reason = forms.CharField(label=_("理由"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class NoteForm(ActionForm):
    note = forms.CharField(label=_("备注"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class AcceptForm(ActionForm):
    category = forms.TypedChoiceField(label=_("诉求分类"), coerce=int)
    urgency = forms.ChoiceField(label=_("紧急程度"), choices=Urgency.choices)

    def __init__(self, *args, categories: Sequence[Category] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.categories = {c.pk: c for c in categories if c.parent_id}
        self.fields["category"].choices = _blank(_("请选择二级分类")) + category_choices(categories)

    def clean_category(self) -> Category:
        return self.categories[self.cleaned_data["category"]]


class AssignForm(ActionForm):
    lead_unit = forms.TypedChoiceField(label=_("主办单位"), coerce=int)
    co_units = forms.TypedMultipleChoiceField(
        label=_("协办单位"), coerce=int, required=False, widget=forms.SelectMultiple(attrs={"size": 6})
    )
    deadline = forms.DateField(
        label=_("办理期限"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("不填则按法定期限"),
    )
    note = forms.CharField(label=_("交办意见"), max_length=2000, required=False)

    def __init__(self, *args, units: Sequence[OrgUnit] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.units = {u.pk: u for u in units}
        self.fields["lead_unit"].choices = _blank(_("请选择主办单位")) + unit_choices(units)
        self.fields["co_units"].choices = unit_choices(units)

    def clean_lead_unit(self) -> OrgUnit:
        return self.units[self.cleaned_data["lead_unit"]]

    def clean_co_units(self) -> list[OrgUnit]:
        return [self.units[pk] for pk in self.cleaned_data["co_units"]]

    def clean_deadline(self) -> datetime | None:
        day = self.cleaned_data["deadline"]
        return end_of_day(day) if day else None


class ReplyForm(ActionForm):
    outcome = forms.ChoiceField(label=_("办理结果"), choices=_blank(_("请选择")) + list(Outcome.choices))
    reply_text = forms.CharField(
        label=_("答复意见"), min_length=5, max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )


class TextForm(ActionForm):
    text = forms.CharField(label=_("备注内容"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class MediationForm(ActionForm):
    summary = forms.CharField(label=_("调解经过"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    participants = forms.CharField(label=_("参与人"), max_length=500, required=False)
    result = forms.CharField(label=_("调解结果"), max_length=2000, required=False)


ACTION_FORMS: dict[str, type[ActionForm]] = {
    "accept": AcceptForm,
    "decline": ReasonForm,
    "assign": AssignForm,
    "reassign": AssignForm,
    "sign_for": ActionForm,
    "return": ReasonForm,
    "reply": ReplyForm,
    "close": NoteForm,
    "send_back": ReasonForm,
    "reopen": ReasonForm,
    "add_note": TextForm,
    "add_mediation_record": MediationForm,
}


# --- Case list --------------------------------------------------------------------


class CaseFilterForm(forms.Form):
    """Filters of the case list; every field optional, bad values are ignored."""

    queue = forms.CharField(required=False, widget=forms.HiddenInput)
    q = forms.CharField(label=_("关键词"), required=False, max_length=100)
    state = forms.ChoiceField(label=_("状态"), required=False, choices=_blank(_("全部状态")) + list(CaseState.choices))
    channel = forms.ChoiceField(label=_("渠道"), required=False, choices=_blank(_("全部渠道")) + list(Channel.choices))
    urgency = forms.ChoiceField(
        label=_("紧急程度"), required=False, choices=_blank(_("全部紧急程度")) + list(Urgency.choices)
    )
    level1 = forms.TypedChoiceField(label=_("一级分类"), required=False, coerce=int, empty_value=None)
    category = forms.TypedChoiceField(label=_("二级分类"), required=False, coerce=int, empty_value=None)
    unit = forms.TypedChoiceField(label=_("乡镇/单位"), required=False, coerce=int, empty_value=None)
    date_from = forms.DateField(label=_("提交自"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("提交至"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    overdue = forms.BooleanField(label=_("仅超期"), required=False)
    sort = forms.ChoiceField(
        label=_("排序"),
        required=False,
        choices=[
            ("-submitted", _("提交时间↓")),
            ("submitted", _("提交时间↑")),
            ("due", _("办理期限↑")),
            ("-due", _("办理期限↓")),
        ],
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, categories: Sequence[Category] = (), units: Sequence[OrgUnit] = (), **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.units = {u.pk: u for u in units}
        self.fields["level1"].choices = _blank(_("全部")) + [(c.pk, c.name) for c in categories if not c.parent_id]
        self.fields["category"].choices = _blank(_("全部")) + category_choices(categories)
        self.fields["unit"].choices = _blank(_("全部")) + unit_choices(units)

    @property
    def page_number(self) -> int:
        return (self.cleaned_data.get("page") or 1) if self.is_valid() else 1

    def filter(self, user, queryset: QuerySet[Case]) -> QuerySet[Case]:
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("queue"):
            queryset = queryset.filter(selectors.queue_filter(user, data["queue"]))
        if keyword := (data.get("q") or "").strip():
            queryset = queryset.filter(Q(title__icontains=keyword) | Q(reference__icontains=keyword))
        for name in ("state", "channel", "urgency"):
            if data.get(name):
                queryset = queryset.filter(**{name: data[name]})
        if data.get("category"):
            queryset = queryset.filter(category_id=data["category"])
        elif data.get("level1"):
            queryset = queryset.filter(category__parent_id=data["level1"])
        if (unit := self.units.get(data.get("unit"))) is not None:
            queryset = queryset.filter(Q(location_path__startswith=unit.path) | Q(lead_path__startswith=unit.path))
        if data.get("date_from"):
            start = timezone.make_aware(datetime.combine(data["date_from"], time()))
            queryset = queryset.filter(submitted_at__gte=start)
        if data.get("date_to"):
            queryset = queryset.filter(submitted_at__lte=end_of_day(data["date_to"]))
        if data.get("overdue"):
            queryset = queryset.filter(selectors.overdue_q())
        return queryset.order_by(*SORTS.get(data.get("sort") or "-submitted", SORTS["-submitted"]))


# --- Registration -----------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None) -> list:
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


class RegisterCaseForm(forms.Form):
    channel = forms.ChoiceField(label=_("来源渠道"), choices=REGISTER_CHANNELS, initial=Channel.WALK_IN)
    nature = forms.ChoiceField(label=_("信访性质"), choices=Nature.choices, initial=Nature.CLAIM)
    request_type = forms.ChoiceField(label=_("诉求类型"), choices=RequestType.choices, initial=RequestType.HELP)
    level1 = forms.TypedChoiceField(label=_("一级分类"), required=False, coerce=int, empty_value=None)
    category = forms.ModelChoiceField(
        label=_("二级分类"), required=False, queryset=Category.objects.none(), empty_label=_("请先选择一级分类")
    )
    title = forms.CharField(label=_("标题"), max_length=120)
    content = forms.CharField(label=_("诉求内容"), widget=forms.Textarea(attrs={"rows": 5}))
    township = forms.ModelChoiceField(label=_("事发乡镇"), queryset=OrgUnit.objects.none(), empty_label=_("请选择乡镇"))
    village = forms.ModelChoiceField(
        label=_("行政村(社区)"), required=False, queryset=OrgUnit.objects.none(), empty_label=_("（乡镇本级）")
    )
    address = forms.CharField(label=_("详细地址"), max_length=200, required=False)
    urgency = forms.ChoiceField(label=_("紧急程度"), choices=Urgency.choices, initial=Urgency.NORMAL)
    group_size = forms.IntegerField(label=_("涉及人数"), min_value=1, max_value=100000, initial=1)
    is_anonymous = forms.BooleanField(label=_("匿名"), required=False)
    name = forms.CharField(label=_("信访人姓名"), max_length=60, required=False)
    phone = forms.RegexField(
        label=_("联系电话"),
        regex=r"^[\d\s+\-]{7,20}$",
        required=False,
        error_messages={"invalid": _("请输入有效的电话号码")},
    )
    id_number = forms.RegexField(
        label=_("身份证号"),
        regex=r"^\d{17}[\dXx]$",
        required=False,
        error_messages={"invalid": _("请输入18位身份证号")},
    )
    party_address = forms.CharField(label=_("住址"), max_length=200, required=False)
    attachments = MultipleFileField(label=_("附件"), required=False)
    confirm_duplicates = forms.BooleanField(label=_("已核实，仍然登记为新案件"), required=False)

    def __init__(self, *args, user=None, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.user = user
        self.duplicates: list[Case] = []
        self.fields["level1"].choices = _blank(_("请选择一级分类")) + [
            (c.pk, c.name) for c in Category.objects.filter(parent=None, active=True)
        ]
        self.fields["township"].queryset = townships_for(user)
        self._wire_htmx()
        level1 = self._raw_int("level1")
        if level1:
            self.fields["category"].queryset = Category.objects.filter(parent_id=level1, active=True)
            self.fields["category"].empty_label = _("请选择二级分类")
        township = self._raw_int("township")
        if township:
            self.fields["village"].queryset = villages_of(user, township)

    def _wire_htmx(self) -> None:
        """Level 1 drives level 2, the township drives its villages, phone/ID look for open cases."""
        fields = self.fields
        fields["level1"].widget.attrs.update(
            {"hx-get": reverse("cases:category_options"), "hx-target": "#id_category", "hx-trigger": "change"}
        )
        fields["township"].widget.attrs.update(
            {"hx-get": reverse("cases:village_options"), "hx-target": "#id_village", "hx-trigger": "change"}
        )
        for name in ("phone", "id_number"):
            fields[name].widget.attrs.update(
                {
                    "hx-post": reverse("cases:duplicates"),
                    "hx-trigger": "change",
                    "hx-target": "#duplicates",
                    "hx-params": "phone,id_number",
                }
            )

    def _raw_int(self, name: str) -> int | None:
        value = self.data.get(name) if self.is_bound else self.initial.get(name)
        try:
            return int(value) if value else None
        except (TypeError, ValueError):
            return None

    def clean_attachments(self) -> list[CheckedFile]:
        """Check every file before anything is written: storage writes are not rolled back."""
        try:
            return [check_upload(read_upload(upload)) for upload in self.cleaned_data["attachments"]]
        except AttachmentRefused as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean(self) -> dict:
        data = super().clean()
        if data.get("is_anonymous"):
            return data
        if not (data.get("name") or "").strip():
            self.add_error("name", _("请填写信访人姓名，或选择匿名"))
        phone, id_number = data.get("phone") or "", data.get("id_number") or ""
        if (phone or id_number) and self.user is not None:
            self.duplicates = list(duplicate_cases(self.user, phone=phone, id_number=id_number))
            if self.duplicates and not data.get("confirm_duplicates"):
                references = "、".join(c.reference for c in self.duplicates)
                self.add_error(
                    "confirm_duplicates",
                    _("该信访人已有未办结案件：%(refs)s。请核实是否为重复信访；确认登记新案件请勾选此项。")
                    % {"refs": references},
                )
        return data

    @property
    def location_unit(self) -> OrgUnit:
        return self.cleaned_data.get("village") or self.cleaned_data["township"]


def townships_for(user) -> QuerySet[OrgUnit]:
    return visible_units(user).filter(kind=UnitKind.TOWNSHIP, active=True).order_by("sort_order", "code")


def villages_of(user, township_id: int) -> QuerySet[OrgUnit]:
    return visible_units(user).filter(parent_id=township_id, kind=UnitKind.VILLAGE, active=True).order_by("code")


def duplicate_cases(user, *, phone: str = "", id_number: str = "") -> QuerySet[Case]:
    return selectors.open_cases_for_identity(user, phone=phone, id_number=id_number).order_by("-submitted_at")[:20]
