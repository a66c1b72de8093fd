"""A province-scale org tree for benchmarks: `minqing orgs load henan`.

Province (41 河南省) → every county of the shared county list → every township of
../shared/data/henan_townships.csv → N synthetic villages per township. Every county also
gets the departments and centre offices Yiyang has (copied, marked synthetic). Yiyang itself
comes from the shipped yiyang.csv (real townships, its synthetic villages, departments and
offices), so the demo accounts work on a province database too.

The rows go through the same parse/validate/import path as `minqing orgs import`, so the
units have exactly the shape and materialised paths of Yiyang's, and loading twice changes
nothing. Note: `orgs load yiyang` afterwards would move Yiyang back to the root.
"""

from __future__ import annotations

import csv
import io
import os
import random
from collections.abc import Iterable
from pathlib import Path

from minqing.orgs.loaders import ImportResult, dataset_text, import_units, parse_units_csv

PROVINCE_CODE = "41"
PROVINCE_NAME = "河南省"
YIYANG_CODE = "410327"
DEFAULT_VILLAGES = 18  # Henan has about 47,000 administrative villages over ~2,600 townships
COLUMNS = (
    "code",
    "name",
    "kind",
    "parent_code",
    "official_code",
    "synthetic",
    "latitude",
    "longitude",
    "contact_phone",
)

# Synthetic village names: a clan or place word + a settlement word + 村 (社区 under a 街道).
_FIRST = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
    "余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
_MIDDLE = ("", "家", "庄", "寨", "沟", "洼", "岭", "店", "营", "楼", "河", "坡", "屯", "湾", "岗", "集", "园", "桥")
_STREET = ("苑", "园", "里", "坊", "庄", "营", "湾")


def shared_data_dir() -> Path:
    """../shared/data beside the repository, or MINQING_SHARED_DATA."""
    configured = os.environ.get("MINQING_SHARED_DATA")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[4] / "shared" / "data"


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def village_names(township_code: str, township_name: str, count: int) -> list[str]:
    """`count` distinct synthetic names, the same for the same township every time."""
    rng = random.Random(township_code)
    street = township_name.endswith("街道")
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        if street:
            name = f"{rng.choice(_FIRST)}{rng.choice(_STREET)}社区"
        else:
            name = f"{rng.choice(_FIRST)}{rng.choice(_MIDDLE)}村"
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def province_rows(
    counties: Iterable[str] | None = None, villages: int = DEFAULT_VILLAGES, data_dir: Path | None = None
) -> list[dict[str, str]]:
    """The province's units as CSV rows (parents first); `counties` limits it to some county codes."""
    data_dir = data_dir or shared_data_dir()
    county_rows = _read(data_dir / "henan_counties.csv")
    township_rows = _read(data_dir / "henan_townships.csv")
    names = {row["code"]: row["name"] for row in county_rows}
    wanted = set(counties) if counties is not None else {row["county_code"] for row in township_rows} | set(names)
    unknown = wanted - set(names) - {row["county_code"] for row in township_rows}
    if unknown:
        raise ValueError(f"未知的县级代码：{', '.join(sorted(unknown))}")
    yiyang = list(csv.DictReader(io.StringIO(dataset_text("yiyang"))))
    county_level = [row for row in yiyang if row["kind"] in ("department", "office")]

    rows = [_unit(PROVINCE_CODE, PROVINCE_NAME, "province", "", official=True)]
    for code in sorted(wanted):
        if code == YIYANG_CODE:
            rows += [{**row, "parent_code": PROVINCE_CODE} if row["code"] == YIYANG_CODE else row for row in yiyang]
            continue
        # A county missing from the county list keeps a code-only name, marked synthetic.
        name = names.get(code)
        rows.append(_unit(code, name or f"县{code}", "county", PROVINCE_CODE, official=True, synthetic=not name))
        level = (name or "县")[-1] if (name or "县")[-1] in "县市区" else "县"
        for template in county_level:
            suffix = template["code"][len(YIYANG_CODE) :]
            unit_name = level + template["name"][1:] if template["name"].startswith("县") else template["name"]
            rows.append(_unit(code + suffix, unit_name, template["kind"], code, synthetic=True))
        for township in (t for t in township_rows if t["county_code"] == code):
            rows.append(_unit(township["code"], township["name"], "township", code, official=True))
            names_here = village_names(township["code"], township["name"], villages)
            for number, village in enumerate(names_here, start=201):
                village_code = f"{township['code']}{number:03d}"
                rows.append(_unit(village_code, village, "village", township["code"], synthetic=True))
    return rows


def _unit(code: str, name: str, kind: str, parent: str, *, official: bool = False, synthetic: bool = False) -> dict:
    return {
        "code": code,
        "name": name,
        "kind": kind,
        "parent_code": parent,
        "official_code": "true" if official else "false",
        "synthetic": "true" if synthetic else "false",
        "latitude": "",
        "longitude": "",
        "contact_phone": "",
    }


def province_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def load_province(
    counties: Iterable[str] | None = None, villages: int = DEFAULT_VILLAGES, data_dir: Path | None = None
) -> ImportResult:
    """Create or update the province tree (all rows or none); loading it again changes nothing."""
    if villages < 0 or villages > 799:
        raise ValueError("每个乡镇的村数应在 0 到 799 之间")
    return import_units(parse_units_csv(province_csv(province_rows(counties, villages, data_dir))))
