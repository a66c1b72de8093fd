"""Seed the configurable risk-word list (风险词). Administrators edit it in the admin."""

from django.db import migrations

RISK_WORDS = [
    ("进京", "high"),
    ("赴省", "high"),
    ("跳楼", "high"),
    ("自杀", "high"),
    ("自焚", "high"),
    ("集体", "medium"),
    ("堵路", "high"),
    ("围堵", "high"),
    ("静坐", "medium"),
    ("上访", "medium"),
    ("拉横幅", "medium"),
    ("媒体曝光", "medium"),
    ("群体", "medium"),
]


def seed(apps, schema_editor):
    RiskWord = apps.get_model("alerts", "RiskWord")
    for word, severity in RISK_WORDS:
        RiskWord.objects.get_or_create(word=word, defaults={"severity": severity})


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
