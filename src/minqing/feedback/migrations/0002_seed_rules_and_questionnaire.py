from django.db import migrations


def seed(apps, schema_editor):
    from minqing.feedback.seed import seed_defaults

    seed_defaults(apps.get_model("feedback", "FollowUpRule"), apps.get_model("feedback", "Questionnaire"))


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
