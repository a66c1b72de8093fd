from django.contrib import admin

from minqing.orgs.models import OrgUnit


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "kind", "parent", "active", "synthetic", "contact_phone")
    list_filter = ("kind", "active", "synthetic")
    search_fields = ("name", "code")
    autocomplete_fields = ("parent",)
    readonly_fields = ("path",)

    def get_readonly_fields(self, request, obj=None):
        # The code is part of every descendant's path; changing it would orphan them.
        return ("path", "code") if obj else ("path",)
