from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from minqing.cli import main
from minqing.orgs.models import OrgUnit

from .conftest import snapshot


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_orgs_load_yiyang_prints_counts(db):
    out, _err = run("orgs_load", "yiyang")

    assert out.strip() == "宜阳县：新增 399，更新 0，未变 0"
    assert OrgUnit.objects.count() == 399


def test_orgs_load_twice_reports_unchanged(yiyang):
    out, _err = run("orgs_load", "yiyang")

    assert out.strip() == "宜阳县：新增 0，更新 0，未变 399"


def test_orgs_load_unknown_dataset_rejected(db):
    with pytest.raises(CommandError):
        run("orgs_load", "atlantis")
    assert OrgUnit.objects.count() == 0


def test_orgs_import_good_file_with_bom(yiyang, tmp_path):
    path = tmp_path / "units.csv"
    path.write_bytes("\ufeffcode,name,kind,parent_code\n410327102299,新村,village,410327102\n".encode())

    out, _err = run("orgs_import", str(path))

    assert out.strip() == "units.csv：新增 1，更新 0，未变 0"
    assert OrgUnit.objects.get(code="410327102299").path == "/410327/410327102/410327102299/"


def test_orgs_import_bad_row_imports_nothing_and_names_line(yiyang, tmp_path):
    path = tmp_path / "units.csv"
    path.write_text(
        "code,name,kind,parent_code\n410327102298,甲村,village,410327102\n410327102297,乙村,village,410327999\n",
        encoding="utf-8",
    )
    before = snapshot()
    err = io.StringIO()

    with pytest.raises(CommandError, match="未导入任何单位"):
        call_command("orgs_import", str(path), stdout=io.StringIO(), stderr=err)

    assert "第3行：上级代码 410327999 不存在" in err.getvalue()
    assert snapshot() == before


def test_orgs_import_missing_file_rejected(db, tmp_path):
    with pytest.raises(CommandError, match="无法读取"):
        run("orgs_import", str(tmp_path / "nope.csv"))


def test_orgs_export_csv_to_stdout(yiyang):
    out, _err = run("orgs_export", "--format", "csv")

    lines = out.splitlines()
    assert lines[:3] == ["code,name,kind,parent_code", "410327,宜阳县,county,", "410327001,兴宜街道,township,410327"]
    assert len(lines) == 400


def test_orgs_export_root_subtree(yiyang):
    out, _err = run("orgs_export", "--root", "410327X01")

    assert out.splitlines() == ["code,name,kind,parent_code", "410327X01,信访矛盾化解中心,office,410327"]


def test_orgs_export_unknown_root_rejected(yiyang):
    with pytest.raises(CommandError, match="410399"):
        run("orgs_export", "--root", "410399")


def test_cli_two_word_command_maps_to_orgs_load(db, capsys):
    main(["minqing", "orgs", "load", "yiyang"])

    assert "新增 399" in capsys.readouterr().out
