"""Import and export of the organisation tree as CSV.

`parse_units_csv` checks a whole file and reports every bad row with its line
number; `import_units` writes all rows or none. Importing the same file twice
changes nothing. Columns other than code, name, kind and parent_code are
optional: when a column is absent, existing units keep their value for it, so an
export (four columns) can be re-imported without clobbering phones or coordinates.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, TextIO

from django.db import transaction
from django.db.models import Max

from minqing.orgs.models import ALLOWED_PARENT_KINDS, OrgUnit, UnitKind

REQUIRED_COLUMNS = ("code", "name", "kind", "parent_code")
OPTIONAL_COLUMNS = ("official_code", "synthetic", "latitude", "longitude", "contact_phone", "active", "sort_order")
EXPORT_COLUMNS = REQUIRED_COLUMNS
FULL_EXPORT_COLUMNS = (
    *REQUIRED_COLUMNS,
    "official_code",
    "synthetic",
    "latitude",
    "longitude",
    "contact_phone",
    "active",
)

# Shipped datasets: name -> (file in orgs/data, label used in messages).
DATASETS: dict[str, tuple[str, str]] = {"yiyang": ("yiyang.csv", "宜阳县")}

# Codes become segments of the materialised path, so "/" must never appear in one.
CODE_RE = re.compile(r"^[0-9A-Za-z_-]{1,20}$")
PATH_MAX_LENGTH = OrgUnit._meta.get_field("path").max_length
NAME_MAX_LENGTH = OrgUnit._meta.get_field("name").max_length
PHONE_MAX_LENGTH = OrgUnit._meta.get_field("contact_phone").max_length

_TRUE = {"true", "1", "yes", "y", "t", "是"}
_FALSE = {"false", "0", "no", "n", "f", "否"}
_KIND_BY_LABEL = {str(label): value for value, label in UnitKind.choices}
_KIND_LABEL = {value: str(label) for value, label in UnitKind.choices}

# Fields compared and written for an existing unit (parent is handled separately).
_PLAIN_FIELDS = ("name", "kind", *OPTIONAL_COLUMNS)


class UnitImportError(Exception):
    """A file that cannot be imported; `errors` holds (line number, message) pairs."""

    def __init__(self, errors: Sequence[tuple[int, str]]) -> None:
        self.errors: list[tuple[int, str]] = sorted(errors)
        super().__init__("\n".join(self.messages))

    @property
    def messages(self) -> list[str]:
        return [f"第{line}行：{message}" for line, message in self.errors]


@dataclass(frozen=True)
class UnitRow:
    """One validated unit. Optional values are None when the file did not give them."""

    line: int
    code: str
    name: str
    kind: str
    parent_code: str | None
    official_code: bool | None = None
    synthetic: bool | None = None
    latitude: float | None = None
    longitude: float | None = None
    contact_phone: str | None = None
    active: bool | None = None
    sort_order: int | None = None
    # Optional columns the file had; a missing column leaves existing values alone.
    given: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def summary(self, label: str = "") -> str:
        prefix = f"{label}：" if label else ""
        return f"{prefix}新增 {self.created}，更新 {self.updated}，未变 {self.unchanged}"


# --- parsing -----------------------------------------------------------------


def _parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(value)


def _cell(raw: dict[str | None, Any], column: str) -> str:
    value = raw.get(column)
    return value.strip() if isinstance(value, str) else ""


def parse_units_csv(text: str) -> list[UnitRow]:
    """Parse and validate a whole CSV file (including checks against the database).

    Raises UnitImportError listing every problem found, not just the first.
    """
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise UnitImportError([(1, "文件为空")])
    reader = csv.DictReader(io.StringIO(text))
    columns = [name.strip().removeprefix("\ufeff") for name in (reader.fieldnames or [])]
    reader.fieldnames = columns
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise UnitImportError([(1, f"缺少列 {', '.join(missing)}")])
    given = frozenset(name for name in OPTIONAL_COLUMNS if name in columns)

    errors: list[tuple[int, str]] = []
    rows: list[UnitRow] = []
    unparsed_codes: set[str] = set()
    for raw in reader:
        line = reader.line_num
        if not any((value or "").strip() for value in raw.values() if isinstance(value, str)):
            continue  # blank line
        if None in raw:
            errors.append((line, "列数多于表头"))
        row, row_errors = _parse_row(line, raw, given)
        errors.extend((line, message) for message in row_errors)
        if row is not None:
            rows.append(row)
        elif _cell(raw, "code"):
            unparsed_codes.add(_cell(raw, "code"))
    if not rows and not errors:
        errors.append((1, "文件中没有单位"))
    errors.extend(validate_rows(rows, unparsed_codes))
    if errors:
        raise UnitImportError(errors)
    return rows


def _parse_row(line: int, raw: dict[str | None, Any], given: frozenset[str]) -> tuple[UnitRow | None, list[str]]:
    errors: list[str] = []
    code = _cell(raw, "code")
    name = _cell(raw, "name")
    kind_text = _cell(raw, "kind")
    parent_code = _cell(raw, "parent_code") or None

    if not code:
        errors.append("代码为空")
    elif not CODE_RE.match(code):
        errors.append(f"代码 {code} 无效（只能含字母、数字、- 和 _，最长 20 位）")
    if not name:
        errors.append("名称为空")
    elif len(name) > NAME_MAX_LENGTH:
        errors.append(f"名称超过 {NAME_MAX_LENGTH} 个字")
    kind = kind_text if kind_text in _KIND_LABEL else _KIND_BY_LABEL.get(kind_text)
    if kind is None:
        errors.append(f"类型 {kind_text or '(空)'} 无效，可选：{'、'.join(_KIND_LABEL)}")
    if parent_code is not None and parent_code == code:
        errors.append("上级不能是自身")

    values: dict[str, Any] = {}
    for column in ("official_code", "synthetic", "active"):
        text = _cell(raw, column)
        if column in given and text:
            try:
                values[column] = _parse_bool(text)
            except ValueError:
                errors.append(f"{column} 的值 {text} 无效（应为 true 或 false）")
    for column, limit in (("latitude", 90.0), ("longitude", 180.0)):
        text = _cell(raw, column)
        if column in given and text:
            try:
                number = float(text)
            except ValueError:
                errors.append(f"{column} 的值 {text} 不是数字")
                continue
            if not -limit <= number <= limit:  # also rejects nan
                errors.append(f"{column} 的值 {text} 超出范围 ±{limit:g}")
            else:
                values[column] = number
    if bool(_cell(raw, "latitude")) != bool(_cell(raw, "longitude")):
        errors.append("经度和纬度须同时填写")
    phone = _cell(raw, "contact_phone")
    if len(phone) > PHONE_MAX_LENGTH:
        errors.append(f"联系电话超过 {PHONE_MAX_LENGTH} 个字符")
    if "contact_phone" in given:
        values["contact_phone"] = phone
    sort_text = _cell(raw, "sort_order")
    if "sort_order" in given and sort_text:
        if sort_text.isdigit():
            values["sort_order"] = int(sort_text)
        else:
            errors.append(f"sort_order 的值 {sort_text} 不是非负整数")

    if errors or kind is None:
        return None, errors
    # Columns present but left empty count as "given" only for phone; an empty
    # boolean or coordinate keeps the existing value (or the default for new units).
    row_given = frozenset(name for name in given if name in values)
    return UnitRow(line=line, code=code, name=name, kind=kind, parent_code=parent_code, given=row_given, **values), []


# --- validation against the tree ------------------------------------------------


def validate_rows(rows: Sequence[UnitRow], unparsed_codes: Collection[str] = ()) -> list[tuple[int, str]]:
    """Checks that need the whole file and the database: duplicates, parents, kinds, cycles.

    `unparsed_codes` are codes of rows already rejected; children pointing at them
    are not reported a second time.
    """
    errors: list[tuple[int, str]] = []
    by_code: dict[str, UnitRow] = {}
    for row in rows:
        first = by_code.get(row.code)
        if first is not None:
            errors.append((row.line, f"代码 {row.code} 与第{first.line}行重复"))
        else:
            by_code[row.code] = row

    db = _TreeSnapshot.load({row.code for row in rows} | {row.parent_code for row in rows if row.parent_code})

    def kind_of(code: str) -> str | None:
        if code in by_code:
            return by_code[code].kind
        return db.kind.get(code)

    def parent_of(code: str) -> str | None:
        if code in by_code:
            return by_code[code].parent_code
        return db.parent.get(code)

    for row in by_code.values():
        if row.parent_code is None:
            if None not in ALLOWED_PARENT_KINDS[row.kind]:
                errors.append((row.line, f"{_KIND_LABEL[row.kind]}必须有上级单位"))
            continue
        parent_kind = kind_of(row.parent_code)
        if parent_kind is None and row.parent_code in unparsed_codes:
            continue
        if parent_kind is None:
            errors.append((row.line, f"上级代码 {row.parent_code} 不存在"))
        elif parent_kind not in ALLOWED_PARENT_KINDS[row.kind]:
            errors.append(
                (row.line, f"{_KIND_LABEL[row.kind]}不能挂在{_KIND_LABEL[parent_kind]}（{row.parent_code}）之下")
            )

    # An existing unit whose kind changes must still suit the children it keeps.
    for row in by_code.values():
        if row.code in db.kind and db.kind[row.code] != row.kind:
            stranded = [
                f"{child_code}（{_KIND_LABEL[child_kind]}）"
                for child_code, child_kind in db.children_kinds(row.code)
                # children with their own row are checked against their new parent above
                if child_code not in by_code and row.kind not in ALLOWED_PARENT_KINDS[child_kind]
            ]
            if stranded:
                shown = "、".join(stranded[:3]) + (f" 等 {len(stranded)} 个" if len(stranded) > 3 else "")
                errors.append((row.line, f"改为{_KIND_LABEL[row.kind]}后，下级 {shown} 不能再挂在其下"))

    # Cycles and path length: walk up from every row through file and database parents.
    reported: set[str] = set()
    for row in by_code.values():
        chain = [row.code]
        seen = {row.code}
        code = row.parent_code
        while code is not None and len(chain) <= len(by_code) + len(db.kind) + 1:
            if code in seen:
                cycle = [*chain[chain.index(code) :], code]
                if not reported.intersection(cycle):
                    line = by_code[code].line if code in by_code else row.line
                    errors.append((line, f"上级关系形成循环：{' → '.join(cycle)}"))
                reported.update(cycle)
                break
            chain.append(code)
            seen.add(code)
            code = parent_of(code)
        else:
            path_length = sum(len(code) + 1 for code in chain) + 1
            if path_length > PATH_MAX_LENGTH:
                errors.append((row.line, f"层级过深：路径超过 {PATH_MAX_LENGTH} 个字符"))
    return errors


@dataclass
class _TreeSnapshot:
    """Kind and parent of the existing units a file touches, and of all their ancestors."""

    kind: dict[str, str]
    parent: dict[str, str | None]

    @classmethod
    def load(cls, codes: Iterable[str]) -> _TreeSnapshot:
        kind: dict[str, str] = {}
        parent: dict[str, str | None] = {}
        ancestors: set[str] = set()

        def collect(wanted: set[str]) -> None:
            for unit_code, unit_kind, path in _chunked_values(wanted, "code", "kind", "path"):
                # Parents follow from paths, which are consistent inside the database.
                segments = path.strip("/").split("/")
                kind[unit_code] = unit_kind
                parent[unit_code] = segments[-2] if len(segments) > 1 else None
                ancestors.update(segments[:-1])

        collect(set(codes))
        collect(ancestors - set(kind))
        return cls(kind=kind, parent=parent)

    def children_kinds(self, code: str) -> list[tuple[str, str]]:
        return list(OrgUnit.objects.filter(parent__code=code).values_list("code", "kind"))


def _chunks(items: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    # Chunked so SQLite's bound-parameter limit is never reached on big files.
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _chunked_values(codes: set[str], *fields: str) -> Iterable[tuple[Any, ...]]:
    for chunk in _chunks(sorted(codes)):
        yield from OrgUnit.objects.filter(code__in=chunk).values_list(*fields)


# --- import -------------------------------------------------------------------


def _topological(rows: Sequence[UnitRow]) -> list[UnitRow]:
    """Rows ordered so that every parent in the file comes before its children."""
    by_code = {row.code: row for row in rows}
    depth: dict[str, int] = {}

    def depth_of(code: str) -> int:
        # Iterative: deep trees must not hit the recursion limit. Validation ruled out cycles.
        chain: list[str] = []
        current: str | None = code
        while current in by_code and current not in depth:
            chain.append(current)
            current = by_code[current].parent_code
        base = depth.get(current, -1) if current in by_code else -1
        for item in reversed(chain):
            base += 1
            depth[item] = base
        return depth[code]

    position = {row.code: index for index, row in enumerate(rows)}
    return sorted(rows, key=lambda row: (depth_of(row.code), position[row.code]))


def _new_sort_orders(rows: Sequence[UnitRow], existing: dict[str, OrgUnit]) -> dict[str, int]:
    """Default sort order for new units: after their existing siblings, in file order."""
    counters: dict[str | None, int] = {}
    parent_codes = sorted({row.parent_code for row in rows if row.parent_code and row.parent_code in existing})
    for chunk in _chunks(parent_codes):
        maxima = (
            OrgUnit.objects.filter(parent__code__in=chunk)
            .values_list("parent__code")
            .annotate(highest=Max("sort_order"))
        )
        counters.update(dict(maxima))
    positions: dict[str, int] = {}
    for row in rows:
        if row.code not in existing:
            counters[row.parent_code] = counters.get(row.parent_code, 0) + 1
            positions[row.code] = counters[row.parent_code]
    return positions


def import_units(rows: Sequence[UnitRow]) -> ImportResult:
    """Create or update the units, all or none. Rows are re-validated inside the transaction."""
    created = updated = unchanged = 0
    with transaction.atomic():
        errors = validate_rows(rows)
        if errors:
            raise UnitImportError(errors)
        ordered = _topological(rows)
        codes = [row.code for row in rows]
        existing: dict[str, OrgUnit] = {}
        parent_codes = {row.parent_code for row in rows if row.parent_code}
        for chunk in _chunks(sorted(set(codes) | parent_codes)):
            for unit in OrgUnit.objects.select_for_update().filter(code__in=chunk):
                existing[unit.code] = unit
        positions = _new_sort_orders(rows, existing)

        pending: list[OrgUnit] = []
        pending_depth: int | None = None

        def flush() -> None:
            if not pending:
                return
            OrgUnit.objects.bulk_create(pending)
            if any(unit.pk is None for unit in pending):  # backends that cannot return ids
                fetched = OrgUnit.objects.in_bulk([unit.code for unit in pending], field_name="code")
                for unit in pending:
                    unit.pk = fetched[unit.code].pk
            pending.clear()

        for row in ordered:
            parent = existing.get(row.parent_code) if row.parent_code else None
            unit = existing.get(row.code)
            if unit is None:
                unit = OrgUnit(
                    code=row.code,
                    name=row.name,
                    kind=row.kind,
                    parent=parent,
                    official_code=bool(row.official_code),
                    synthetic=bool(row.synthetic),
                    active=True if row.active is None else row.active,
                    contact_phone=row.contact_phone or "",
                    latitude=row.latitude,
                    longitude=row.longitude,
                    sort_order=positions[row.code] if row.sort_order is None else row.sort_order,
                )
                # bulk_create skips save(), so path and depth are set here.
                unit.path = OrgUnit.path_for(unit.code, parent)
                unit.depth = unit.path.count("/") - 2
                if pending_depth != unit.depth:
                    flush()
                    pending_depth = unit.depth
                if parent is not None and parent.pk is None:
                    flush()
                pending.append(unit)
                existing[row.code] = unit
                created += 1
                continue
            flush()
            if _apply(unit, row, parent, existing):
                updated += 1
            else:
                unchanged += 1
        flush()
    return ImportResult(created=created, updated=updated, unchanged=unchanged)


def _apply(unit: OrgUnit, row: UnitRow, parent: OrgUnit | None, loaded: dict[str, OrgUnit]) -> bool:
    """Update an existing unit from its row; return whether anything changed."""
    changed = False
    for name in _PLAIN_FIELDS:
        if name in ("name", "kind") or name in row.given:
            value = getattr(row, name)
            if getattr(unit, name) != value:
                setattr(unit, name, value)
                changed = True
    new_parent_id = parent.pk if parent else None
    moved = unit.parent_id != new_parent_id
    if moved:
        changed = True
    if not changed:
        return False
    old_path = unit.path
    unit.parent = parent
    unit.save()
    if moved:
        _move_descendants(old_path, unit.path, [item for item in loaded.values() if item is not unit])
    return True


def _move_descendants(old_path: str, new_path: str, loaded: Iterable[OrgUnit]) -> None:
    """Rewrite the paths below a moved unit, in the database and in units already loaded."""
    shift = new_path.count("/") - old_path.count("/")
    descendants = list(OrgUnit.objects.filter(path__startswith=old_path).exclude(path=old_path))
    for descendant in [*descendants, *loaded]:
        if descendant.path.startswith(old_path) and descendant.path != old_path:
            descendant.path = new_path + descendant.path[len(old_path) :]
            descendant.depth += shift
    OrgUnit.objects.bulk_update(descendants, ["path", "depth"], batch_size=500)


def read_csv_bytes(data: bytes) -> str:
    """Decode an uploaded or on-disk CSV: UTF-8 with or without BOM."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnitImportError([(1, f"文件不是 UTF-8 编码（第 {exc.start} 字节）")]) from exc


def dataset_text(name: str) -> str:
    """The CSV of a dataset shipped in minqing/orgs/data."""
    if name not in DATASETS:
        raise KeyError(name)
    filename, _label = DATASETS[name]
    return (resources.files("minqing.orgs") / "data" / filename).read_text(encoding="utf-8-sig")


def load_dataset(name: str) -> ImportResult:
    return import_units(parse_units_csv(dataset_text(name)))


def load_yiyang() -> ImportResult:
    """Import Yiyang county: 16 townships, 25 departments, 353 (synthetic) villages, 4 centre offices."""
    return load_dataset("yiyang")


# --- export -------------------------------------------------------------------


def iter_tree(root: OrgUnit | str | None = None) -> list[OrgUnit]:
    """Units in tree order (pre-order; siblings by sort_order, then code), below and including `root`."""
    if isinstance(root, str):
        root = OrgUnit.objects.get(code=root)
    queryset = OrgUnit.objects.select_related("parent")
    if root is not None:
        queryset = queryset.within(root)
    units = list(queryset)
    codes = {unit.code for unit in units}
    children: dict[str | None, list[OrgUnit]] = {}
    for unit in units:
        parent_code = unit.parent.code if unit.parent_id and unit.parent.code in codes else None
        children.setdefault(parent_code, []).append(unit)
    for siblings in children.values():
        siblings.sort(key=lambda unit: (unit.sort_order, unit.code))
    ordered: list[OrgUnit] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        unit = stack.pop()
        ordered.append(unit)
        stack.extend(reversed(children.get(unit.code, [])))
    return ordered


def export_units_csv(stream: TextIO, root: OrgUnit | str | None = None, *, full: bool = False) -> int:
    """Write code,name,kind,parent_code (every column with `full`) in tree order; return the row count."""
    columns = FULL_EXPORT_COLUMNS if full else EXPORT_COLUMNS
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns)
    units = iter_tree(root)
    for unit in units:
        values: dict[str, Any] = {
            "code": unit.code,
            "name": unit.name,
            "kind": unit.kind,
            "parent_code": unit.parent.code if unit.parent_id else "",
            "official_code": "true" if unit.official_code else "false",
            "synthetic": "true" if unit.synthetic else "false",
            "latitude": "" if unit.latitude is None else repr(unit.latitude),
            "longitude": "" if unit.longitude is None else repr(unit.longitude),
            "contact_phone": unit.contact_phone,
            "active": "true" if unit.active else "false",
            "sort_order": unit.sort_order,
        }
        writer.writerow([values[column] for column in columns])
    return len(units)
