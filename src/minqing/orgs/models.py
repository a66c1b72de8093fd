"""The organisation tree: jurisdiction is data.

county > township / department / centre office > village. Each unit stores its
materialised `path` of codes, so "this unit and everything below it" is one
indexed prefix query at any depth and any size.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    PROVINCE = "province", _("省")
    CITY = "city", _("市")
    COUNTY = "county", _("县(市、区)")
    TOWNSHIP = "township", _("乡镇(街道)")
    DEPARTMENT = "department", _("县直部门")
    OFFICE = "office", _("中心办公室")
    VILLAGE = "village", _("行政村(社区)")


ALLOWED_PARENT_KINDS: dict[str, set[str | None]] = {
    UnitKind.PROVINCE: {None},
    UnitKind.CITY: {None, UnitKind.PROVINCE},
    UnitKind.COUNTY: {None, UnitKind.CITY, UnitKind.PROVINCE},
    UnitKind.TOWNSHIP: {UnitKind.COUNTY},
    UnitKind.DEPARTMENT: {UnitKind.COUNTY, UnitKind.CITY, UnitKind.PROVINCE},
    UnitKind.OFFICE: {UnitKind.COUNTY, UnitKind.CITY, UnitKind.PROVINCE},
    UnitKind.VILLAGE: {UnitKind.TOWNSHIP},
}

# Units that take cases to handle (as opposed to the county itself or a province).
HANDLING_KINDS = (UnitKind.TOWNSHIP, UnitKind.DEPARTMENT, UnitKind.VILLAGE, UnitKind.OFFICE)


def ancestor_paths(path: str) -> list[str]:
    """ "/a/b/c/" → ["/a/", "/a/b/", "/a/b/c/"]: the unit itself and every unit above it."""
    parts = path.strip("/").split("/")
    return [f"/{'/'.join(parts[: i + 1])}/" for i in range(len(parts))]


class OrgUnitQuerySet(models.QuerySet["OrgUnit"]):
    def active(self) -> OrgUnitQuerySet:
        return self.filter(active=True)

    def within(self, unit: OrgUnit) -> OrgUnitQuerySet:
        """The unit itself and every unit below it."""
        return self.filter(path__startswith=unit.path)


class OrgUnit(models.Model):
    code = models.CharField(_("代码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=12, choices=UnitKind.choices, db_index=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    official_code = models.BooleanField(_("官方区划代码"), default=False)
    synthetic = models.BooleanField(_("虚构名称(演示数据)"), default=False)
    active = models.BooleanField(_("启用"), default=True)
    contact_phone = models.CharField(_("联系电话"), max_length=40, blank=True)
    latitude = models.FloatField(_("纬度"), null=True, blank=True)
    longitude = models.FloatField(_("经度"), null=True, blank=True)
    sort_order = models.PositiveIntegerField(default=0)

    objects = OrgUnitQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        verbose_name = _("组织单位")
        verbose_name_plural = _("组织单位")
        indexes = [models.Index(fields=["kind", "path"])]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.path = self.path_for(self.code, self.parent)
        self.depth = self.path.count("/") - 2
        super().save(*args, **kwargs)

    @staticmethod
    def path_for(code: str, parent: OrgUnit | None) -> str:
        return f"{parent.path if parent else '/'}{code}/"

    def clean(self) -> None:
        parent_kind = self.parent.kind if self.parent_id else None
        if parent_kind not in ALLOWED_PARENT_KINDS.get(self.kind, set()):
            raise ValidationError({"parent": _("该类型的单位不能挂在此上级之下")})
        if self.pk and self.parent_id and self.parent.path.startswith(self.path):
            raise ValidationError({"parent": _("上级不能是自身或下级单位")})

    def is_within(self, other: OrgUnit) -> bool:
        return self.path.startswith(other.path)

    @property
    def township(self) -> OrgUnit | None:
        """The township a village belongs to (or the township itself)."""
        if self.kind == UnitKind.TOWNSHIP:
            return self
        if self.kind == UnitKind.VILLAGE:
            return self.parent
        return None
