"""Search documents gain the token of the county their case is in (see stats.search)."""

from django.db import migrations
from django.db.models import F, Value
from django.db.models.functions import Concat


def add_county_tokens(apps, schema_editor):
    OrgUnit = apps.get_model("orgs", "OrgUnit")
    CaseSearchDoc = apps.get_model("stats", "CaseSearchDoc")
    for path, code in OrgUnit.objects.filter(kind="county").values_list("path", "code"):
        token = f"county{code}".lower()
        docs = CaseSearchDoc.objects.filter(case__location_path__startswith=path).exclude(tokens__startswith=token)
        docs.update(tokens=Concat(Value(f"{token} "), F("tokens")))


class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0004_month_and_unit_day_rollups"),
        ("orgs", "0001_initial"),
        ("cases", "0008_caseevent_unsatisfied_index"),
    ]

    operations = [migrations.RunPython(add_county_tokens, migrations.RunPython.noop, elidable=True)]
