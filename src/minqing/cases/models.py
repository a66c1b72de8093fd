"""Cases, their petitioners, attachments, unit assignments and the hash-chained event log.

A case's state only changes through `minqing.cases.actions`, which lock the row,
check the lifecycle table, write one `CaseEvent` and queue notifications in the
same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minqing.core import crypto


class CaseState(models.TextChoices):
    SUBMITTED = "submitted", _("待登记")
    ACCEPTED = "accepted", _("已受理")
    DECLINED = "declined", _("不予受理")
    MERGED = "merged", _("已合并")
    ASSIGNED = "assigned", _("已交办")
    IN_PROGRESS = "in_progress", _("办理中")
    RETURNED = "returned", _("已退回")
    REPLIED = "replied", _("已答复")
    CLOSED = "closed", _("已办结")
    REOPENED = "reopened", _("重新办理")


OPEN_STATES = (
    CaseState.SUBMITTED,
    CaseState.ACCEPTED,
    CaseState.ASSIGNED,
    CaseState.IN_PROGRESS,
    CaseState.RETURNED,
    CaseState.REPLIED,
    CaseState.REOPENED,
)
# States in which the handling deadline runs.
HANDLING_STATES = (
    CaseState.ACCEPTED,
    CaseState.ASSIGNED,
    CaseState.IN_PROGRESS,
    CaseState.RETURNED,
    CaseState.REOPENED,
)
TERMINAL_STATES = (CaseState.DECLINED, CaseState.MERGED)


class Channel(models.TextChoices):
    WECHAT = "wechat", _("微信公众号")
    APP = "app", _("手机应用")
    WEB = "web", _("网页")
    PHONE = "phone", _("来电")
    WALK_IN = "walk_in", _("来访")
    LETTER = "letter", _("来信")
    INFORMANT = "informant", _("信息员上报")
    HOTLINE_12345 = "hotline_12345", _("12345转办")


class Nature(models.TextChoices):
    SUGGESTION = "suggestion", _("建议意见")
    ACCUSATION = "accusation", _("检举控告")
    CLAIM = "claim", _("申诉求决")
    LEGAL = "legal", _("涉法涉诉")


class RequestType(models.TextChoices):
    CONSULT = "consult", _("咨询")
    HELP = "help", _("求助")
    COMPLAINT = "complaint", _("投诉")
    REPORT = "report", _("举报")
    SUGGEST = "suggest", _("建议")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")
    CRITICAL = "critical", _("特急")


class Outcome(models.TextChoices):
    SUPPORTED = "supported", _("予以支持")
    EXPLAINED = "explained", _("解释说明")
    NOT_SUPPORTED = "not_supported", _("不予支持")
    MEDIATED = "mediated", _("调解成功")


GROUP_CASE_SIZE = 5  # 集体访: five or more people
# A rate event's payload scoring 不满意: the word, or 1–3 on the five-point scale some channels send.
UNSATISFIED_WORD, UNSATISFIED_POINTS = "unsatisfied", (1, 2, 3)
UNSATISFIED_SCORE = models.Q(payload__score=UNSATISFIED_WORD) | models.Q(payload__score__in=list(UNSATISFIED_POINTS))


def choice_label(choices: type[models.TextChoices], value: str) -> str:
    """`get_FOO_display()` for one value, without what Django does on each call: rebuild the field's
    choices as a dict, hashing every lazy label. That cost about 0.1 ms per call, per row in a list."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def is_unsatisfied_score(score) -> bool:
    """`UNSATISFIED_SCORE` for one payload's score."""
    return score == UNSATISFIED_WORD or (type(score) is int and score in UNSATISFIED_POINTS)


class Category(models.Model):
    """Two-level taxonomy: level 1 (e.g. 城乡建设) > level 2 (e.g. 安全生产)."""

    name = models.CharField(_("名称"), max_length=60)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("上级分类")
    )
    active = models.BooleanField(_("启用"), default=True)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name = _("诉求分类")
        verbose_name_plural = _("诉求分类")
        constraints = [models.UniqueConstraint(fields=["parent", "name"], name="unique_category_name")]

    def __str__(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent_id else self.name

    @property
    def level(self) -> int:
        return 2 if self.parent_id else 1


class SlaPolicy(models.Model):
    """Local deadline policy: category × urgency → a period for one stage.

    The most specific active policy wins (category and urgency, then category,
    then urgency, then the default). Legal caps still apply on top.
    """

    class Stage(models.TextChoices):
        ACCEPT = "accept", _("受理告知")
        HANDLE = "handle", _("办理")

    class PeriodUnit(models.TextChoices):
        CALENDAR_DAYS = "calendar_days", _("自然日")
        WORKING_DAYS = "working_days", _("工作日")

    stage = models.CharField(_("环节"), max_length=10, choices=Stage.choices)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE, verbose_name=_("分类"))
    urgency = models.CharField(_("紧急程度"), max_length=10, choices=Urgency.choices, blank=True)
    amount = models.PositiveSmallIntegerField(_("时限"))
    unit = models.CharField(_("计算方式"), max_length=15, choices=PeriodUnit.choices)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("办理时限策略")
        verbose_name_plural = _("办理时限策略")

    def __str__(self) -> str:
        return f"{self.get_stage_display()} {self.amount}{self.get_unit_display()}"


class CaseCounter(models.Model):
    """Per-prefix, per-year sequence for reference numbers, incremented under a row lock."""

    prefix = models.CharField(max_length=10)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prefix", "year"], name="unique_case_counter")]

    def __str__(self) -> str:
        return f"{self.prefix}{self.year}: {self.last_number}"


class Case(models.Model):
    reference = models.CharField(_("案件编号"), max_length=20, unique=True)
    query_code = models.CharField(_("查询码"), max_length=12)
    channel = models.CharField(_("来源渠道"), max_length=16, choices=Channel.choices)
    nature = models.CharField(_("信访性质"), max_length=12, choices=Nature.choices, default=Nature.CLAIM)
    request_type = models.CharField(_("诉求类型"), max_length=10, choices=RequestType.choices, default=RequestType.HELP)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="cases", verbose_name=_("分类")
    )
    title = models.CharField(_("标题"), max_length=120)
    content = models.TextField(_("诉求内容"))
    location_unit = models.ForeignKey(
        "orgs.OrgUnit", on_delete=models.PROTECT, related_name="located_cases", verbose_name=_("事发地")
    )
    location_path = models.CharField(max_length=255, editable=False)
    address = models.CharField(_("详细地址"), max_length=200, blank=True)
    latitude = models.FloatField(_("纬度"), null=True, blank=True)
    longitude = models.FloatField(_("经度"), null=True, blank=True)
    urgency = models.CharField(_("紧急程度"), max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    group_size = models.PositiveIntegerField(_("涉及人数"), default=1)
    is_anonymous = models.BooleanField(_("匿名"), default=False)

    state = models.CharField(_("状态"), max_length=12, choices=CaseState.choices, default=CaseState.SUBMITTED)
    version = models.PositiveIntegerField(default=0, editable=False)
    lead_unit = models.ForeignKey(
        "orgs.OrgUnit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="led_cases",
        verbose_name=_("主办单位"),
    )
    lead_path = models.CharField(max_length=255, blank=True, editable=False)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_cases", verbose_name=_("并入案件")
    )

    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="submitted_cases",
        verbose_name=_("登记人"),
    )
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="own_cases",
        verbose_name=_("信访人账号"),
        db_index=False,  # case_citizen_duplicates leads with it
    )

    submitted_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    assigned_at = models.DateTimeField(_("交办时间"), null=True, blank=True)
    signed_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    accept_due = models.DateTimeField(_("受理期限"), null=True, blank=True)
    handle_due = models.DateTimeField(_("办理期限"), null=True, blank=True)
    handle_due_original = models.DateTimeField(_("原办理期限"), null=True, blank=True)
    due_provisional = models.BooleanField(_("期限暂定"), default=False)
    extension_days = models.PositiveSmallIntegerField(_("已延期天数"), default=0)
    nearly_due_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The latest 不满意 rating's time (a rate event matching UNSATISFIED_SCORE), kept by the rate event's
    # verb: 近30日不满意 is then a range on the case's own row, not a probe of every recent rating.
    unsatisfied_at = models.DateTimeField(null=True, blank=True, editable=False)
    overdue_notified_at = models.DateTimeField(null=True, blank=True, editable=False)

    outcome = models.CharField(_("办理结果"), max_length=16, choices=Outcome.choices, blank=True)
    reply_text = models.TextField(_("答复意见"), blank=True)
    decline_reason = models.TextField(_("不予受理理由"), blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("重办次数"), default=0)
    # Head of the event chain, kept on the row the actions lock anyway: appending needs
    # no extra query, and deleting the newest event is detectable.
    event_count = models.PositiveIntegerField(default=0, editable=False)
    last_event_hash = models.CharField(max_length=64, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        indexes = [
            models.Index(fields=["state", "handle_due"], name="case_state_due"),
            # Inbox counts per state within a county or township.
            models.Index(
                fields=["state", "location_path"], name="case_state_location", opclasses=["", "varchar_pattern_ops"]
            ),
            models.Index(fields=["-submitted_at", "-id"], name="case_recent"),
            models.Index(
                fields=["location_path", "-submitted_at"], name="case_location", opclasses=["varchar_pattern_ops", ""]
            ),
            # Cases led under a path (lead_path prefix), or unassigned and located under it (lead_path = ''
            # and a location_path prefix): the two halves of `attributed_to`. SQLite, which cannot use the
            # partial index below with bound parameters, answers the OR of both halves from this one.
            models.Index(
                fields=["lead_path", "location_path", "state"],
                name="case_lead_location",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops", ""],
            ),
            # Live dashboard counts (open, overdue, nearly due…) per unit: led under a path, or unassigned
            # and located under it. Only open cases, with what the counts read, so PostgreSQL answers
            # from the index alone.
            models.Index(
                fields=["lead_path", "location_path"],
                name="case_open_paths",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
                include=["state", "accept_due", "handle_due"],
                condition=models.Q(state__in=OPEN_STATES),
            ),
            models.Index(fields=["category", "submitted_at"], name="case_category"),
            # A citizen's cases; intake's duplicate check (same category and place, recent) reads the
            # few matching entries instead of every case the citizen has filed.
            models.Index(
                fields=["citizen", "category", "location_unit", "submitted_at"], name="case_citizen_duplicates"
            ),
            # 近30日不满意 per unit: the unit's cases ever rated 不满意 (a few in a hundred), read from the
            # index alone. Its condition keeps every other case out, so intake's inserts never touch it.
            models.Index(
                fields=["lead_path", "location_path", "unsatisfied_at"],
                name="case_unsatisfied",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops", ""],
                condition=models.Q(unsatisfied_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def state_label(self) -> str:
        return choice_label(CaseState, self.state)

    @property
    def channel_label(self) -> str:
        return choice_label(Channel, self.channel)

    @property
    def is_group_case(self) -> bool:
        return self.group_size >= GROUP_CASE_SIZE

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def is_overdue(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        if self.state == CaseState.SUBMITTED:
            return bool(self.accept_due and now > self.accept_due)
        return self.state in HANDLING_STATES and bool(self.handle_due and now > self.handle_due)

    @property
    def closed_on_time(self) -> bool | None:
        if not self.closed_at or not self.handle_due:
            return None
        return self.closed_at <= self.handle_due


class Party(models.Model):
    """A petitioner. ID number and phone are encrypted; `*_hash` columns serve exact lookups."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="parties")
    name = models.CharField(_("姓名"), max_length=60, blank=True)
    id_number_encrypted = models.TextField(blank=True, editable=False)
    id_number_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    phone_encrypted = models.TextField(blank=True, editable=False)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    address = models.CharField(_("住址"), max_length=200, blank=True)
    is_primary = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("信访人")
        verbose_name_plural = _("信访人")

    def __str__(self) -> str:
        return self.name or str(_("匿名"))

    @property
    def phone(self) -> str:
        return crypto.decrypt(self.phone_encrypted)

    @phone.setter
    def phone(self, value: str) -> None:
        self.phone_encrypted = crypto.encrypt(crypto.normalise_identifier(value or ""))
        self.phone_hash = crypto.lookup_hash(value or "")

    @property
    def id_number(self) -> str:
        return crypto.decrypt(self.id_number_encrypted)

    @id_number.setter
    def id_number(self, value: str) -> None:
        self.id_number_encrypted = crypto.encrypt(crypto.normalise_identifier(value or ""))
        self.id_number_hash = crypto.lookup_hash(value or "")

    @property
    def masked_phone(self) -> str:
        return crypto.mask_phone(self.phone)

    @property
    def masked_id_number(self) -> str:
        return crypto.mask_id_number(self.id_number)


class CaseUnit(models.Model):
    """A unit's part in a case: the lead unit or a co-unit (联合办理)."""

    class Role(models.TextChoices):
        LEAD = "lead", _("主办")
        CO = "co", _("协办")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="unit_links")
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="case_links")
    unit_path = models.CharField(max_length=255, editable=False)
    role = models.CharField(max_length=4, choices=Role.choices)
    active = models.BooleanField(default=True)
    assigned_at = models.DateTimeField(default=timezone.now)
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["unit_path", "case"], name="caseunit_path", opclasses=["varchar_pattern_ops", ""]),
            # Case scoping looks up joint cases (active co-units) by unit path; they are few.
            models.Index(
                fields=["unit_path", "case"],
                name="caseunit_active_co",
                opclasses=["varchar_pattern_ops", ""],
                condition=models.Q(role="co", active=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.unit} {self.role}"


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"cases/{instance.case.submitted_at:%Y/%m}/{instance.case_id}/{instance.sha256[:16]}{instance.extension}"


class Attachment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=255)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    extension = models.CharField(max_length=10)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")

    def __str__(self) -> str:
        return self.original_name


class CaseEvent(models.Model):
    """One change to a case. Append-only; each carries the hash of the case's previous event."""

    # No index of its own: `unique_case_event_seq` and `caseevent_case_action` both lead with the case.
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events", db_index=False)
    seq = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=30, db_index=True)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["case_id", "seq"]
        verbose_name = _("案件事件")
        verbose_name_plural = _("案件事件")
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="unique_case_event_seq")]
        indexes = [
            # Ratings in a time window (the query page's rating filters): only rate events, with the
            # case and the score, so PostgreSQL reads no table rows.
            models.Index(
                fields=["created_at"],
                name="caseevent_rate_time",
                include=["case", "payload"],
                condition=models.Q(action="rate"),
            ),
            # A case's events of one kind: SQLite's probe for 近30日不满意 (it cannot use the partial index
            # below when Django binds the action as a parameter) reads only the case's ratings.
            models.Index(fields=["case", "action"], name="caseevent_case_action"),
            # 近30日不满意 on every dashboard: the few unsatisfied ratings, whatever the scope.
            models.Index(
                fields=["case", "created_at"],
                name="caseevent_unsatisfied",
                condition=models.Q(action="rate") & UNSATISFIED_SCORE,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.seq} {self.action}"

    def chain_record(self) -> dict:
        return event_chain_record(
            self.case_id,
            self.seq,
            self.created_at,
            self.actor_label,
            self.action,
            self.from_state,
            self.to_state,
            self.payload,
        )


def event_chain_record(
    case_id: int,
    seq: int,
    created_at: datetime,
    actor_label: str,
    action: str,
    from_state: str,
    to_state: str,
    payload: dict,
) -> dict:
    """What an event's hash covers; bulk loaders call this directly so their chains verify."""
    return {
        "case": case_id,
        "seq": seq,
        # Hashed in UTC: the database hands times back in UTC whatever zone they were written in.
        "at": created_at.astimezone(UTC).isoformat(),
        "actor": actor_label,
        "action": action,
        "from": from_state,
        "to": to_state,
        "payload": payload,
    }
