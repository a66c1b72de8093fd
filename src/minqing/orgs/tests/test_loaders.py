from __future__ import annotations

import io

import pytest

from minqing.orgs.loaders import (
    ImportResult,
    UnitImportError,
    export_units_csv,
    import_units,
    iter_tree,
    parse_units_csv,
    read_csv_bytes,
)
from minqing.orgs.models import OrgUnit, UnitKind

from .conftest import snapshot

HEADER = "code,name,kind,parent_code\n"


def errors_of(text: str) -> list[tuple[int, str]]:
    with pytest.raises(UnitImportError) as exc:
        parse_units_csv(text)
    return exc.value.errors


def import_text(text: str) -> ImportResult:
    return import_units(parse_units_csv(text))


# --- validation, one test per error kind ------------------------------------------


def test_parse_missing_columns_reported_on_line_1(db):
    assert errors_of("code,name\nA,甲\n") == [(1, "缺少列 kind, parent_code")]


def test_parse_empty_file_rejected(db):
    assert errors_of("") == [(1, "文件为空")]
    assert errors_of(HEADER) == [(1, "文件中没有单位")]


def test_parse_empty_code_and_name_reported(db):
    errors = errors_of(HEADER + "C1,某县,county,\n,某镇,township,C1\nT2,,township,C1\n")

    assert errors == [(3, "代码为空"), (4, "名称为空")]


def test_parse_invalid_code_reported(db):
    errors = errors_of(HEADER + "C/1,某县,county,\n")

    assert len(errors) == 1
    assert errors[0][0] == 2
    assert "代码 C/1 无效" in errors[0][1]


def test_parse_unknown_kind_reported(db):
    errors = errors_of(HEADER + "C1,某县,county,\nT1,某镇,town,C1\n")

    assert len(errors) == 1
    assert errors[0][0] == 3
    assert errors[0][1].startswith("类型 town 无效")


def test_parse_chinese_kind_label_accepted(db):
    rows = parse_units_csv(HEADER + "C1,某县,县(市、区),\nT1,某镇,乡镇(街道),C1\n")

    assert [row.kind for row in rows] == [UnitKind.COUNTY, UnitKind.TOWNSHIP]


def test_parse_duplicate_code_names_first_line(db):
    errors = errors_of(HEADER + "C1,某县,county,\nT1,甲镇,township,C1\nT1,乙镇,township,C1\n")

    assert errors == [(4, "代码 T1 与第3行重复")]


def test_parse_unknown_parent_reported(yiyang):
    errors = errors_of(HEADER + "410327102299,新村,village,410327999\n")

    assert errors == [(2, "上级代码 410327999 不存在")]
    assert str(UnitImportError(errors)) == "第2行：上级代码 410327999 不存在"


def test_parse_parent_from_database_accepted(yiyang):
    rows = parse_units_csv(HEADER + "410327102299,新村,village,410327102\n")

    assert rows[0].parent_code == "410327102"


def test_parse_parent_later_in_file_accepted(db):
    rows = parse_units_csv(HEADER + "V1,某村,village,T1\nT1,某镇,township,C1\nC1,某县,county,\n")

    result = import_units(rows)

    assert result.created == 3
    assert OrgUnit.objects.get(code="V1").path == "/C1/T1/V1/"


def test_parse_disallowed_parent_kind_reported(yiyang):
    errors = errors_of(HEADER + "V9,某村,village,410327\nT9,某镇,township,410327102\nD9,某局,department,\n")

    assert errors == [
        (2, "行政村(社区)不能挂在县(市、区)（410327）之下"),
        (3, "乡镇(街道)不能挂在乡镇(街道)（410327102）之下"),
        (4, "县直部门必须有上级单位"),
    ]


def test_parse_self_parent_reported(db):
    errors = errors_of(HEADER + "C1,某县,county,C1\n")

    assert (2, "上级不能是自身") in errors


def test_parse_cycle_in_file_reported_once(db):
    errors = errors_of(HEADER + "A,甲县,county,B\nB,乙县,county,A\nC,丙县,county,A\n")

    cycles = [error for error in errors if "循环" in error[1]]
    assert cycles == [(2, "上级关系形成循环：A → B → A")]


def test_parse_cycle_through_database_reported(yiyang):
    # The county moved under one of its own townships (kinds aside, the cycle must be found).
    errors = errors_of(HEADER + "410327,宜阳县,county,410327102\n")

    assert any(line == 2 and "循环" in message for line, message in errors)


def test_parse_kind_change_breaking_children_reported(yiyang):
    errors = errors_of(HEADER + "410327102,柳泉镇,department,410327\n")

    assert len(errors) == 1
    assert errors[0][0] == 2
    assert "下级 410327102201" in errors[0][1]


@pytest.mark.parametrize(
    ("latitude", "longitude", "expected"),
    [
        ("abc", "112.1", "latitude 的值 abc 不是数字"),
        ("91", "112.1", "latitude 的值 91 超出范围 ±90"),
        ("34.5", "-181", "longitude 的值 -181 超出范围 ±180"),
        ("nan", "112.1", "latitude 的值 nan 超出范围 ±90"),
        ("34.5", "", "经度和纬度须同时填写"),
    ],
)
def test_parse_bad_coordinates_reported(db, latitude, longitude, expected):
    text = f"code,name,kind,parent_code,latitude,longitude\nC1,某县,county,,{latitude},{longitude}\n"

    assert errors_of(text) == [(2, expected)]


def test_parse_bad_boolean_reported(db):
    errors = errors_of("code,name,kind,parent_code,synthetic\nC1,某县,county,,maybe\n")

    assert errors == [(2, "synthetic 的值 maybe 无效（应为 true 或 false）")]


def test_parse_collects_every_error_with_line_numbers(yiyang):
    text = (
        HEADER
        + "410327102298,好村,village,410327102\n"
        + ",无代码,village,410327102\n"
        + "410327102297,坏村,village,410327999\n"
        + "410327102296,,village,410327102\n"
        + "410327102295,某村,hamlet,410327102\n"
    )

    assert [line for line, _message in errors_of(text)] == [3, 4, 5, 6]


def test_parse_child_of_rejected_row_not_reported_twice(db):
    errors = errors_of(HEADER + "C1,某县,shire,\nT1,某镇,township,C1\n")

    assert [line for line, _message in errors] == [2]


# --- BOM and encodings ------------------------------------------------------------


def test_read_csv_bytes_strips_bom(db):
    data = ("\ufeff" + HEADER + "C1,某县,county,\n").encode()

    rows = parse_units_csv(read_csv_bytes(data))

    assert rows[0].code == "C1"


def test_parse_bom_in_text_accepted(db):
    rows = parse_units_csv("\ufeff" + HEADER + "C1,某县,county,\n")

    assert rows[0].code == "C1"


def test_read_csv_bytes_non_utf8_rejected(db):
    with pytest.raises(UnitImportError) as exc:
        read_csv_bytes((HEADER + "C1,某县,county,\n").encode("gbk"))

    assert exc.value.errors[0][0] == 1
    assert "UTF-8" in exc.value.errors[0][1]


# --- import -------------------------------------------------------------------------


def test_import_bad_row_imports_nothing(yiyang):
    before = snapshot()
    text = HEADER + "410327102298,新甲村,village,410327102\n410327102297,新乙村,village,410327999\n"

    errors = errors_of(text)

    assert errors == [(3, "上级代码 410327999 不存在")]
    assert snapshot() == before


def test_import_revalidates_rows_against_database(yiyang):
    rows = parse_units_csv(HEADER + "410327102298,新村,village,410327102\n")
    OrgUnit.objects.filter(code="410327102").update(kind=UnitKind.DEPARTMENT)
    before = snapshot()

    with pytest.raises(UnitImportError):
        import_units(rows)

    assert snapshot() == before


def test_import_failure_midway_rolls_back(yiyang, monkeypatch):
    rows = parse_units_csv(HEADER + "410327102298,新村,village,410327102\n410327D01,新名字,department,410327\n")
    before = snapshot()

    def explode(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(OrgUnit, "save", explode)
    with pytest.raises(RuntimeError):
        import_units(rows)
    monkeypatch.undo()

    assert snapshot() == before


def test_import_missing_optional_columns_keep_existing_values(yiyang):
    before = OrgUnit.objects.get(code="410327D01")

    result = import_text(HEADER + "410327D01,县公安局,department,410327\n")

    after = OrgUnit.objects.get(code="410327D01")
    assert result == ImportResult(unchanged=1)
    assert (after.contact_phone, after.latitude, after.sort_order) == (
        before.contact_phone,
        before.latitude,
        before.sort_order,
    )


def test_import_move_rewrites_descendant_paths(yiyang):
    text = HEADER + "410300,洛阳市,city,\n410327,宜阳县,county,410300\n"

    result = import_text(text)

    assert result == ImportResult(created=1, updated=1)
    village = OrgUnit.objects.get(code="410327102201")
    assert village.path == "/410300/410327/410327102/410327102201/"
    assert village.depth == 3
    assert import_text(text) == ImportResult(unchanged=2)


def test_import_new_units_get_sibling_order_from_file(db):
    import_text(HEADER + "C1,某县,county,\nT2,乙镇,township,C1\nT1,甲镇,township,C1\nV1,某村,village,T2\n")

    assert [unit.code for unit in iter_tree()] == ["C1", "T2", "V1", "T1"]


def test_import_new_villages_sorted_after_existing_siblings(yiyang):
    last = max(OrgUnit.objects.filter(parent__code="410327102").values_list("sort_order", flat=True))

    import_text(HEADER + "410327102299,新村,village,410327102\n")

    assert OrgUnit.objects.get(code="410327102299").sort_order == last + 1
    assert iter_tree("410327102")[-1].code == "410327102299"


# --- export -------------------------------------------------------------------------


def test_export_lists_yiyang_under_410327_in_tree_order(yiyang):
    stream = io.StringIO()

    count = export_units_csv(stream)

    lines = stream.getvalue().splitlines()
    assert count == 399
    assert lines[0] == "code,name,kind,parent_code"
    assert lines[1] == "410327,宜阳县,county,"
    assert lines[2] == "410327001,兴宜街道,township,410327"
    assert lines[3].startswith("410327001201,") and lines[3].endswith(",village,410327001")
    parents_seen = {"410327"}
    for line in lines[2:]:
        code, _name, _kind, parent_code = line.split(",")
        assert parent_code in parents_seen  # a parent always comes before its children
        parents_seen.add(code)
    assert lines[-1] == "410327X04,涉法涉诉办公室,office,410327"


def test_export_root_limits_to_subtree(yiyang):
    stream = io.StringIO()

    export_units_csv(stream, "410327102")

    lines = stream.getvalue().splitlines()
    assert lines[1] == "410327102,柳泉镇,township,410327"
    assert len(lines) == 1 + 1 + OrgUnit.objects.get(code="410327102").children.count()


def test_export_full_round_trips_unchanged(yiyang):
    stream = io.StringIO()
    export_units_csv(stream, full=True)
    before = snapshot()

    result = import_text(stream.getvalue())

    assert result == ImportResult(unchanged=399)
    assert snapshot() == before
