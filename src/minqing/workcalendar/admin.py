"""Administrators edit single days here, mark years complete, and import a year's schedule file."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from minqing.core.deadlines import fixed_date_holidays
from minqing.core.errors import DomainError
from minqing.workcalendar import actions
from minqing.workcalendar.models import CalendarDay, CalendarYear
from minqing.workcalendar.schedule_file import ScheduleFileError
from minqing.workcalendar.selectors import year_summaries

WEEKDAYS = "一二三四五六日"


class CalendarDayForm(forms.ModelForm):
    class Meta:
        model = CalendarDay
        fields = ("date", "kind", "name")

    def clean(self):
        data = super().clean()
        day, kind = data.get("date"), data.get("kind")
        if day and kind == CalendarDay.Kind.MAKEUP_WORKDAY:
            if day.weekday() < 5:
                self.add_error("kind", f"{day} 是星期{WEEKDAYS[day.weekday()]}，调休上班日只能是周六或周日")
            elif day in fixed_date_holidays(day.year):
                self.add_error("kind", f"{day} 是法定节假日，不能设为调休上班日")
        return data


class YearFilter(admin.SimpleListFilter):
    title = "年度"
    parameter_name = "year"

    def lookups(self, request, model_admin):
        return [(str(row.year), str(row.year)) for row in reversed(year_summaries())]

    def queryset(self, request, queryset):
        return queryset.filter(date__year=int(self.value())) if self.value() else queryset


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    form = CalendarDayForm
    list_display = ("date", "weekday", "kind", "name", "updated_at")
    list_filter = (YearFilter, "kind")
    search_fields = ("name",)
    date_hierarchy = "date"
    ordering = ("-date",)

    @admin.display(description="星期")
    def weekday(self, obj: CalendarDay) -> str:
        return f"星期{WEEKDAYS[obj.date.weekday()]}"

    def save_model(self, request, obj, form, change):
        if change and "date" in form.changed_data and form.initial.get("date"):
            actions.remove_day(form.initial["date"], actor=request.user, request=request)
        saved = actions.set_day(obj.date, obj.kind, obj.name, actor=request.user, request=request)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        actions.remove_day(obj.date, actor=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for day in list(queryset.values_list("date", flat=True)):
            actions.remove_day(day, actor=request.user, request=request)


class CalendarYearForm(forms.ModelForm):
    class Meta:
        model = CalendarYear
        fields = ("year", "complete")

    def clean(self):
        data = super().clean()
        if data.get("year") and data.get("complete"):
            missing = actions.missing_fixed_holidays(data["year"])
            if missing:
                raise forms.ValidationError(f"还缺少法定节假日 {'、'.join(missing)}，请先录入全年安排再标记为完整")
        return data


class ImportForm(forms.Form):
    file = forms.FileField(label="日历文件（UTF-8 CSV）", required=False)
    text = forms.CharField(
        label="或直接粘贴",
        required=False,
        widget=forms.Textarea(attrs={"rows": 16, "cols": 60, "placeholder": "date,kind,name\n2027-01-01,holiday,元旦"}),
    )

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload:
            try:
                data["content"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise forms.ValidationError("文件不是 UTF-8 编码；请在表格软件中另存为“CSV UTF-8”") from exc
        else:
            data["content"] = data.get("text") or ""
        if not data["content"].strip():
            raise forms.ValidationError("请选择文件或粘贴内容")
        return data


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    form = CalendarYearForm
    list_display = ("year", "complete", "source", "updated_at")
    list_filter = ("complete", "source")
    readonly_fields = ("source", "updated_at")
    ordering = ("-year",)
    actions = ("mark_complete", "mark_incomplete")
    change_list_template = "admin/workcalendar/calendaryear/change_list.html"

    def get_readonly_fields(self, request, obj=None):
        return ("year", "source", "updated_at") if obj else ("source", "updated_at")

    def has_delete_permission(self, request, obj=None):
        return False  # mark the year incomplete instead

    def save_model(self, request, obj, form, change):
        saved = actions.set_year_complete(obj.year, obj.complete, actor=request.user, request=request)
        obj.pk = saved.pk

    @admin.action(description="标记为已完整录入", permissions=["change"])
    def mark_complete(self, request, queryset):
        self._mark(request, queryset, True)

    @admin.action(description="标记为未完整录入（期限暂定）", permissions=["change"])
    def mark_incomplete(self, request, queryset):
        self._mark(request, queryset, False)

    def _mark(self, request, queryset, complete: bool) -> None:
        for year in queryset.values_list("year", flat=True):
            try:
                actions.set_year_complete(year, complete, actor=request.user, request=request)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)

    def get_urls(self):
        custom = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="workcalendar_calendaryear_import",
            )
        ]
        return custom + super().get_urls()

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not (self.has_change_permission(request) and request.user.has_perm("workcalendar.add_calendarday")):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        file_errors: list[str] = []
        if request.method == "POST" and form.is_valid():
            try:
                years = actions.import_schedule(form.cleaned_data["content"], actor=request.user, request=request)
            except ScheduleFileError as exc:
                file_errors = exc.errors
            else:
                self.message_user(request, f"已导入并标记为完整：{'、'.join(map(str, years))} 年", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:workcalendar_calendaryear_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "导入年度节假日安排",
            "form": form,
            "file_errors": file_errors,
        }
        return TemplateResponse(request, "admin/workcalendar/calendaryear/import.html", context)
