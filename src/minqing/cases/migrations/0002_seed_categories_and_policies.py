from django.db import migrations

from minqing.cases.seed import seed_reference_data


def seed(apps, schema_editor):
    seed_reference_data(apps.get_model("cases", "Category"), apps.get_model("cases", "SlaPolicy"))


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
