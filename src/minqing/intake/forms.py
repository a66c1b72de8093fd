"""Forms of the mobile pages. Reports are rendered by hand in the templates (two-level pickers);
these classes only validate."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from minqing.accounts.actions import validated_mobile
from minqing.cases.attachments import AttachmentRefused, UploadedFile, read_upload
from minqing.cases.models import Category
from minqing.core.errors import DomainError
from minqing.intake.actions import MAX_PHOTOS, Report
from minqing.orgs.models import OrgUnit, UnitKind


class PhoneForm(forms.Form):
    phone = forms.CharField(label=_("手机号"), max_length=20)

    def clean_phone(self) -> str:
        try:
            return validated_mobile(self.cleaned_data["phone"])
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc


class CodeForm(PhoneForm):
    code = forms.CharField(label=_("验证码"), max_length=10)


class QueryForm(forms.Form):
    reference = forms.CharField(label=_("案件编号"), max_length=20)
    code = forms.CharField(label=_("查询码"), max_length=12)


def read_photos(files, field: str = "photos") -> list[UploadedFile]:
    """Uploaded photos as bytes; oversized files are refused before they are read."""
    uploads = files.getlist(field) if files else []
    if len(uploads) > MAX_PHOTOS:
        raise forms.ValidationError(_("最多上传 %(count)s 张照片") % {"count": MAX_PHOTOS})
    try:
        return [read_upload(upload, default_name="photo.jpg") for upload in uploads]
    except AttachmentRefused as exc:
        raise forms.ValidationError(exc.message) from exc


class _CaseFields(forms.Form):
    category = forms.ModelChoiceField(
        queryset=Category.objects.filter(active=True, parent__isnull=False),
        label=_("诉求分类"),
        error_messages={"required": _("请选择诉求分类"), "invalid_choice": _("请选择有效的二级分类")},
    )
    title = forms.CharField(label=_("标题（可不填）"), max_length=120, required=False)
    content = forms.CharField(
        label=_("反映内容"), max_length=5000, widget=forms.Textarea, error_messages={"required": _("请填写反映内容")}
    )
    address = forms.CharField(label=_("详细地址"), max_length=200, required=False)
    latitude = forms.FloatField(min_value=-90, max_value=90, required=False, widget=forms.HiddenInput)
    longitude = forms.FloatField(min_value=-180, max_value=180, required=False, widget=forms.HiddenInput)

    def clean(self) -> dict:
        data = super().clean()
        try:
            data["photos"] = read_photos(self.files)
        except forms.ValidationError as exc:
            self.add_error(None, exc)
        return data


class ReportForm(_CaseFields):
    """A citizen's own report (used when JavaScript is off; the JS path posts to the API)."""

    township = forms.CharField(max_length=20, error_messages={"required": _("请选择事发乡镇")})
    village = forms.CharField(max_length=20, required=False)
    anonymous = forms.BooleanField(label=_("匿名反映"), required=False)
    name = forms.CharField(label=_("姓名"), max_length=60, required=False)

    def clean(self) -> dict:
        data = super().clean()
        township, village = data.get("township"), data.get("village")
        if township:
            unit = self._location(township, village)
            if unit is not None:
                data["location_unit"] = unit
        if not data.get("anonymous") and not (data.get("name") or "").strip():
            self.add_error("name", _("请填写姓名，或选择匿名"))
        return data

    def _location(self, township: str, village: str | None) -> OrgUnit | None:
        town = OrgUnit.objects.filter(code=township, kind=UnitKind.TOWNSHIP, active=True).first()
        if town is None:
            self.add_error("township", _("乡镇不存在"))
            return None
        if not village:
            return town
        unit = OrgUnit.objects.filter(code=village, kind=UnitKind.VILLAGE, active=True, parent=town).first()
        if unit is None:
            self.add_error("village", _("该行政村不属于所选乡镇"))
        return unit

    def report(self) -> Report:
        data = self.cleaned_data
        return Report(
            category=data["category"],
            location_unit=data["location_unit"],
            content=data["content"],
            title=data.get("title", ""),
            address=data.get("address", ""),
            latitude=data.get("latitude"),
            longitude=data.get("longitude"),
            anonymous=bool(data.get("anonymous")),
            name="" if data.get("anonymous") else data.get("name", ""),
            photos=data.get("photos", []),
        )


class InformantReportForm(_CaseFields):
    """An informant's report for a villager: the villager's name and phone are required."""

    villager_name = forms.CharField(
        label=_("群众姓名"), max_length=60, error_messages={"required": _("请填写群众姓名")}
    )
    villager_phone = forms.CharField(label=_("群众手机号"), max_length=20)
    place = forms.ChoiceField(label=_("事发地"))

    def __init__(self, *args, places: list[OrgUnit], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.places = {place.code: place for place in places}
        self.fields["place"].choices = [(place.code, place.name) for place in places]

    def clean_villager_phone(self) -> str:
        try:
            return validated_mobile(self.cleaned_data["villager_phone"])
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc

    def report(self) -> Report:
        data = self.cleaned_data
        return Report(
            category=data["category"],
            location_unit=self.places[data["place"]],
            content=data["content"],
            title=data.get("title", ""),
            address=data.get("address", ""),
            latitude=data.get("latitude"),
            longitude=data.get("longitude"),
            name=data["villager_name"],
            photos=data.get("photos", []),
        )


class InformationForm(forms.Form):
    text = forms.CharField(label=_("补充说明"), max_length=2000, required=False, widget=forms.Textarea)

    def clean(self) -> dict:
        data = super().clean()
        try:
            data["photos"] = read_photos(self.files)
        except forms.ValidationError as exc:
            self.add_error(None, exc)
            return data
        if not (data.get("text") or "").strip() and not data["photos"]:
            raise forms.ValidationError(_("请填写补充内容或上传照片"))
        return data
