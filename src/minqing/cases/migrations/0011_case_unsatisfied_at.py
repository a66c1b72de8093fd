from django.db import migrations, models
from django.db.models import Max, OuterRef, Q, Subquery

# cases.models.UNSATISFIED_SCORE when this was written.
UNSATISFIED_SCORE = Q(payload__score="unsatisfied") | Q(payload__score__in=[1, 2, 3])


def stamp_unsatisfied(apps, schema_editor):
    """Each case's latest 不满意 rating time, from its rate events (one UPDATE)."""
    Case = apps.get_model("cases", "Case")
    CaseEvent = apps.get_model("cases", "CaseEvent")
    db = schema_editor.connection.alias
    unsatisfied = CaseEvent.objects.using(db).filter(UNSATISFIED_SCORE, action="rate")
    latest = unsatisfied.filter(case=OuterRef("pk")).order_by().values("case").annotate(at=Max("created_at"))
    Case.objects.using(db).filter(pk__in=unsatisfied.values("case")).update(
        unsatisfied_at=Subquery(latest.values("at"))
    )


class Migration(migrations.Migration):
    dependencies = [("cases", "0010_caseevent_case_action_index")]

    operations = [
        migrations.AddField(
            model_name="case",
            name="unsatisfied_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(stamp_unsatisfied, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                condition=models.Q(("unsatisfied_at__isnull", False)),
                fields=["lead_path", "location_path", "unsatisfied_at"],
                name="case_unsatisfied",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops", ""],
            ),
        ),
    ]
