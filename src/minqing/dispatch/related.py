"""Duplicate and related open cases (重复件、关联件), found on intake and on the case page.

Candidates are OPEN cases the user may see, in the same county. A candidate is
related when it is

* similar in text: TF-IDF cosine over character 2–3-grams (hashed, so nothing is
  fitted; IDF comes from the candidate set), among cases of the last N days;
* from the same petitioner: a party with the same phone or ID lookup hash (any age);
* from the same village, within N days;
* about the same place: latitude/longitude within 500 m, within N days.

The candidate set is bounded (same county, last N days, newest `MAX_CANDIDATES`),
and each case's n-gram counts are cached per process (a case's text never changes).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import scipy.sparse as sp
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize

from minqing.cases.models import OPEN_STATES, Case, Party
from minqing.cases.selectors import cases_visible_to
from minqing.dispatch.classifier import case_text, normalize_text
from minqing.orgs.models import OrgUnit, UnitKind

TEXT_THRESHOLD = 0.3
PLACE_METRES = 500
MAX_CANDIDATES = 5000
MAX_TEXT_CHARS = 400
CACHE_LIMIT = 50_000
EARTH_RADIUS_M = 6_371_000
SCORE_PETITIONER, SCORE_PLACE, SCORE_VILLAGE = 1.0, 0.5, 0.2

_vectorizer = HashingVectorizer(
    analyzer="char", ngram_range=(2, 3), n_features=2**20, alternate_sign=False, norm=None, lowercase=False
)
_rows_lock = threading.Lock()
_rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}


@dataclass(slots=True)
class Related:
    case: Case
    reasons: list[str] = field(default_factory=list)
    score: float = 0.0


@dataclass(slots=True)
class Hit:
    reasons: list[str] = field(default_factory=list)
    score: float = 0.0


# (pk, location_unit_id, latitude, longitude)
Candidate = tuple[int, int, float | None, float | None]


@dataclass(slots=True)
class Probe:
    """What a new or existing case looks like to the search."""

    text: str
    case_id: int | None = None
    county_path: str = ""
    village: OrgUnit | None = None
    latitude: float | None = None
    longitude: float | None = None
    phone_hashes: set[str] = field(default_factory=set)
    id_hashes: set[str] = field(default_factory=set)


def find_related(
    user,
    case_or_text: Case | str,
    *,
    phone_hash: str | None = None,
    id_hash: str | None = None,
    village: OrgUnit | None = None,
    township: OrgUnit | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    days: int = 30,
    limit: int = 10,
    now: datetime | None = None,
) -> list[Related]:
    """Open cases the user may see that look like duplicates of, or relate to, this one; best first."""
    probe = _probe(user, case_or_text, village=village, township=township, latitude=latitude, longitude=longitude)
    probe.phone_hashes |= {phone_hash} if phone_hash else set()
    probe.id_hashes |= {id_hash} if id_hash else set()
    found: dict[int, Hit] = {}
    since = (now or timezone.now()) - timedelta(days=days)
    base = _open_candidates(user, probe)
    recent = list(
        base.filter(submitted_at__gte=since)
        .order_by("-submitted_at", "-id")
        .values_list("pk", "location_unit_id", "latitude", "longitude")[:MAX_CANDIDATES]
    )
    _by_text(probe, recent, found)
    _by_village_and_place(probe, recent, found)
    _by_petitioner(probe, base, found)
    best = sorted(found.items(), key=lambda item: (-item[1].score, -item[0]))[:limit]
    cases = base.select_related("location_unit").in_bulk([pk for pk, _ in best])
    return [Related(case=cases[pk], reasons=hit.reasons, score=hit.score) for pk, hit in best if pk in cases]


def _probe(user, case_or_text, *, village, township, latitude, longitude) -> Probe:
    if isinstance(case_or_text, Case):
        case = case_or_text
        hashes = Party.objects.filter(case=case).values_list("phone_hash", "id_number_hash")
        return Probe(
            text=case_text(case.title, case.content),
            case_id=case.pk,
            county_path=_county_path(case.location_path),
            village=case.location_unit if case.location_unit.kind == UnitKind.VILLAGE else None,
            latitude=case.latitude,
            longitude=case.longitude,
            phone_hashes={p for p, _ in hashes if p},
            id_hashes={i for _, i in hashes if i},
        )
    where = village or township
    return Probe(
        text=str(case_or_text or ""),
        county_path=_county_path(where.path) if where else "",
        village=village,
        latitude=latitude,
        longitude=longitude,
    )


def _county_path(path: str) -> str:
    """/…/410327/410327102/ → the path down to the county (codes of 6 digits)."""
    parts = [code for code in path.strip("/").split("/") if code]
    for depth, code in enumerate(parts):
        if len(code) == 6 and code.isdigit() and not code.endswith("00"):
            return "/" + "/".join(parts[: depth + 1]) + "/"
    return path


def _open_candidates(user, probe: Probe) -> QuerySet[Case]:
    queryset = cases_visible_to(user).filter(state__in=OPEN_STATES)
    if probe.county_path:
        queryset = queryset.filter(location_path__startswith=probe.county_path)
    if probe.case_id:
        queryset = queryset.exclude(pk=probe.case_id)
    return queryset


def _add(found: dict[int, Hit], case_id: int, reason: str, score: float) -> None:
    entry = found.setdefault(case_id, Hit())
    if reason not in entry.reasons:
        entry.reasons.append(reason)
        entry.score = round(entry.score + score, 4)


# --- Text similarity --------------------------------------------------------------------


def _counts(texts: list[str]) -> sp.csr_matrix:
    return _vectorizer.transform([normalize_text(text, MAX_TEXT_CHARS) for text in texts])


def clear_text_cache() -> None:
    """Forget cached n-grams (tests: a rolled-back database hands out the same ids again)."""
    with _rows_lock:
        _rows.clear()


def _compute_rows(pks: list[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """n-gram (columns, counts) of these cases, computed in one batch."""
    rows = list(Case.objects.filter(pk__in=pks).order_by().values_list("pk", "title", "content"))
    order = [pk for pk, _, _ in rows]
    matrix = _counts([case_text(title, content) for _, title, content in rows])
    return {
        pk: (
            matrix.indices[matrix.indptr[i] : matrix.indptr[i + 1]].copy(),
            matrix.data[matrix.indptr[i] : matrix.indptr[i + 1]].copy(),
        )
        for i, pk in enumerate(order)
    }


def _case_rows(candidates: list[Candidate]) -> sp.csr_matrix:
    keys = [candidate[0] for candidate in candidates]
    with _rows_lock:
        cached = {key: _rows[key] for key in keys if key in _rows}
    missing = [key for key in keys if key not in cached]
    computed: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for start in range(0, len(missing), 1000):
        computed.update(_compute_rows(missing[start : start + 1000]))
    with _rows_lock:
        if len(_rows) + len(computed) > CACHE_LIMIT:
            _rows.clear()
        _rows.update(computed)
    empty = (np.zeros(0, dtype=np.int32), np.zeros(0))
    parts = [cached.get(key) or computed.get(key) or empty for key in keys]
    indptr = np.concatenate([[0], np.cumsum([len(columns) for columns, _ in parts])])
    indices = np.concatenate([columns for columns, _ in parts]) if parts else np.zeros(0, dtype=np.int32)
    data = np.concatenate([counts for _, counts in parts]) if parts else np.zeros(0)
    return sp.csr_matrix((data, indices, indptr), shape=(len(parts), _vectorizer.n_features))


def _weighted(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf × idf, each row scaled to unit length."""
    weighted = counts.astype(np.float64)
    weighted.data = (1.0 + np.log(weighted.data)) * idf[weighted.indices]
    return normalize(weighted, copy=False)


def similarities(text: str, candidates: list[Candidate]) -> np.ndarray:
    """Cosine of TF-IDF char n-gram vectors between `text` and each case (IDF over the cases and the text)."""
    query = _counts([text])
    if not candidates or query.nnz == 0:
        return np.zeros(len(candidates))
    rows = _case_rows(candidates)
    document_frequency = np.bincount(np.concatenate([rows.indices, query.indices]), minlength=rows.shape[1])
    idf = np.log((len(candidates) + 2) / (document_frequency + 1.0)) + 1.0
    query_vector = np.zeros(rows.shape[1])
    weighted_query = _weighted(query, idf)
    query_vector[weighted_query.indices] = weighted_query.data
    return _weighted(rows, idf) @ query_vector


def _by_text(probe: Probe, candidates: list[Candidate], found: dict[int, Hit]) -> None:
    scores = similarities(probe.text, candidates)
    for index in np.flatnonzero(scores >= TEXT_THRESHOLD):
        _add(found, candidates[index][0], f"内容相似（{scores[index]:.2f}）", float(scores[index]))


# --- Place, village, petitioner -------------------------------------------------------------


def distance_metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance on a spherical earth."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def _by_village_and_place(probe: Probe, candidates: list[Candidate], found: dict[int, Hit]) -> None:
    located = probe.latitude is not None and probe.longitude is not None
    box = PLACE_METRES / 111_000  # degrees of latitude; longitude degrees are shorter, so this box is loose
    for pk, location_id, latitude, longitude in candidates:
        if probe.village is not None and location_id == probe.village.pk:
            _add(found, pk, f"同一行政村（{probe.village.name}）", SCORE_VILLAGE)
        if located and latitude is not None and abs(latitude - probe.latitude) <= box and longitude is not None:
            metres = distance_metres(probe.latitude, probe.longitude, latitude, longitude)
            if metres <= PLACE_METRES:
                _add(found, pk, f"地点相近（约{metres:.0f}米）", SCORE_PLACE)


def _by_petitioner(probe: Probe, base: QuerySet[Case], found: dict[int, Hit]) -> None:
    if not (probe.phone_hashes or probe.id_hashes):
        return
    parties = Party.objects.filter(
        Q(phone_hash__in=probe.phone_hashes) | Q(id_number_hash__in=probe.id_hashes)
    ).values_list("case_id", "id_number_hash")
    reasons: dict[int, str] = {}
    for case_id, id_number in parties:
        reasons[case_id] = "同一信访人（身份证号）" if id_number in probe.id_hashes else "同一信访人（电话）"
    for pk in base.filter(pk__in=list(reasons)).values_list("pk", flat=True):
        _add(found, pk, reasons[pk], SCORE_PETITIONER)


DUPLICATE_DAYS = 30


def duplicates_sql(who: str) -> str:
    """The duplicate check's statement, written out: the ORM took longer to build it (about 1 ms on every
    submission) than the database takes to answer it. `who` picks the petitioner, with one parameter.

    No ORDER BY: it would tempt the planner into walking the recent-cases index backwards, where the
    petitioner's index (`case_citizen_duplicates`) finds the few rows at once; the caller sorts.
    """
    states = ", ".join(["%s"] * len(OPEN_STATES))
    return (
        f"SELECT submitted_at, id, reference FROM {Case._meta.db_table} WHERE {who} AND category_id = %s"
        f" AND location_unit_id = %s AND state IN ({states}) AND submitted_at >= %s LIMIT 50"
    )


def duplicates_query(
    *,
    category_id: int,
    location_unit_id: int,
    citizen_id: int | None = None,
    phone_hash: str = "",
    days: int = DUPLICATE_DAYS,
    now: datetime | None = None,
) -> tuple[str, list] | None:
    """The duplicate check as (statement, parameters); None without a petitioner to match. Open cases
    from the same petitioner, about the same category and place, in the last `days` days: the one
    indexed lookup intake runs on every submission, in the statement that draws the case's number
    (`cases.numbering.draw_with`). The full search is `find_related`.

    The petitioner is the citizen account when there is one (cases.citizen), else the phone lookup hash.
    Only the submitter's own cases are found, so nothing is disclosed; the answer goes into the case's
    register event for the dispatcher. Its rows are (submitted_at, id, reference), and
    `duplicate_references` picks the answer from them.
    """
    if citizen_id is not None:
        who, value = "citizen_id = %s", citizen_id
    elif phone_hash:
        who, value = f"id IN (SELECT case_id FROM {Party._meta.db_table} WHERE phone_hash = %s)", phone_hash
    else:
        return None
    since = connection.ops.adapt_datetimefield_value((now or timezone.now()) - timedelta(days=days))
    return duplicates_sql(who), [value, category_id, location_unit_id, *OPEN_STATES, since]


def duplicate_references(rows, limit: int = 3) -> list[str]:
    """The newest `limit` references among the duplicate check's rows."""
    return [reference for _at, _pk, reference in sorted(rows, reverse=True)[:limit]]
