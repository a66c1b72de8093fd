"""The warning data cube: counts equal raw counts; event date and reporting date kept apart."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from minqing.alerts.cube import EVENT, REPORTED, AreaIndex, CategoryIndex, load_records, records_from_rows
from minqing.cases.actions import NewCase, PartyInput, accept_case, register_case
from minqing.cases.models import Category, Channel
from minqing.core.deadlines import LOCAL_TZ
from minqing.testing.personas import LIUQUAN, first_village

DAY0 = date(2025, 3, 1)


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LOCAL_TZ)


def make_case(
    actor,
    *,
    unit=None,
    category=None,
    day: date = DAY0,
    hour: int = 10,
    title: str = "道路破损",
    content: str = "村口道路破损严重，请求维修。",
    phone: str = "13900000001",
    id_number: str = "",
    group_size: int = 1,
):
    data = NewCase(
        channel=Channel.WALK_IN,
        title=title,
        content=content,
        location_unit=unit or first_village(LIUQUAN),
        category=category or level2_category(),
        group_size=group_size,
        parties=[PartyInput(name="张三", phone=phone, id_number=id_number)],
    )
    return register_case(data, actor, at=at(day, hour))


def level2_category(index: int = 0) -> Category:
    return Category.objects.filter(parent__isnull=False).order_by("sort_order", "id")[index]


# --- Pure: random rows against a naive count ----------------------------------------------------

AREAS = AreaIndex(
    units={"village": [11, 12, 13], "township": [1, 2], "county": [100]},
    paths={"village": ["/c/t1/v1/", "/c/t1/v2/", "/c/t2/v3/"], "township": ["/c/t1/", "/c/t2/"], "county": ["/c/"]},
    names={"village": ["v1", "v2", "v3"], "township": ["t1", "t2"], "county": ["c"]},
    coords=np.zeros((3, 2)),
    unit_to={"village": {11: 0, 12: 1, 13: 2}, "township": {1: 0, 2: 1}, "county": {100: 0}},
    parent_township=np.array([0, 0, 1]),
)
PARENT = {11: 1, 12: 1, 13: 2, 1: 100, 2: 100}
CATS = CategoryIndex(level2=[51, 52, 53], level1=[50, 60], level2_to_level1=np.array([0, 0, 1]))
L1_OF = {51: 50, 52: 50, 53: 60}
VILLAGE_TOWNSHIP = {11: 1, 12: 1, 13: 2}

row = st.tuples(
    st.sampled_from([11, 12, 13, 1, 2]),  # location: a village or a township
    st.sampled_from([51, 52, 53, None]),
    st.integers(0, 9),  # event day offset
    st.one_of(st.none(), st.integers(0, 3)),  # reporting lag (None: not accepted)
)


@settings(max_examples=60, deadline=None)
@given(st.lists(row, max_size=25))
def test_cube_counts_equal_raw_counts(rows):
    db_rows = [
        (
            i,
            unit,
            PARENT[unit],
            cat,
            at(DAY0 + timedelta(days=d)),
            None if lag is None else at(DAY0 + timedelta(days=d + lag)),
        )
        for i, (unit, cat, d, lag) in enumerate(rows)
    ]
    records = records_from_rows(db_rows, AREAS, CATS)
    end = DAY0 + timedelta(days=9)
    village = records.cube("village", 2, DAY0, end).counts
    township = records.cube("township", 1, DAY0, end).counts
    reported = records.cube("county", 2, DAY0, end, basis=REPORTED).counts
    expect_v, expect_t, expect_r = Counter(), Counter(), Counter()
    for unit, cat, d, lag in rows:
        if unit in VILLAGE_TOWNSHIP:
            expect_v[(AREAS.unit_to["village"][unit], CATS.ids(2).index(cat), d)] += 1
        town = VILLAGE_TOWNSHIP.get(unit, unit)
        expect_t[(AREAS.unit_to["township"][town], CATS.ids(1).index(L1_OF.get(cat)), d)] += 1
        if lag is not None and d + lag <= 9:
            expect_r[(0, CATS.ids(2).index(cat), d + lag)] += 1
    for cube, expect in ((village, expect_v), (township, expect_t), (reported, expect_r)):
        assert int(cube.sum()) == sum(expect.values())
        for key, n in expect.items():
            assert cube[key] == n


def test_cube_out_of_range_days_are_left_out():
    rows = [(1, 11, 1, 51, at(DAY0 - timedelta(days=1)), None), (2, 11, 1, 51, at(DAY0), None)]
    cube = records_from_rows(rows, AREAS, CATS).cube("village", 2, DAY0, DAY0)
    assert cube.counts.sum() == 1 and cube.days == 1


# --- From the database --------------------------------------------------------------------------


def test_load_records_counts_cases_of_the_county(yiyang, dispatcher, unit):
    village = first_village(LIUQUAN)
    made = [make_case(dispatcher, day=DAY0 + timedelta(days=i % 3), category=level2_category(i % 2)) for i in range(5)]
    make_case(dispatcher, unit=unit(LIUQUAN), day=DAY0)  # at the township itself
    records = load_records(yiyang, DAY0, DAY0 + timedelta(days=6))
    assert len(records) == 6
    v_index = records.areas.unit_to["village"][village.pk]
    village_cube = records.cube("village", 2, DAY0, DAY0 + timedelta(days=6))
    assert village_cube.counts[v_index].sum() == 5 and village_cube.counts.sum() == 5
    township_cube = records.cube("township", 1, DAY0, DAY0 + timedelta(days=6))
    t_index = records.areas.unit_to["township"][unit(LIUQUAN).pk]
    assert township_cube.counts[t_index].sum() == 6
    assert set(records.matching("village", v_index, 2, None, DAY0, DAY0)) == {made[0].pk, made[3].pk}


def test_reporting_date_is_kept_apart_from_event_date(yiyang, dispatcher):
    case = make_case(dispatcher, day=DAY0, hour=23)
    accept_case(case, dispatcher, at=at(DAY0 + timedelta(days=2)))
    unaccepted = make_case(dispatcher, day=DAY0)
    end = DAY0 + timedelta(days=4)
    records = load_records(yiyang, DAY0, end)
    by_event = records.cube("county", 2, DAY0, end, basis=EVENT).counts[0].sum(axis=0)
    by_report = records.cube("county", 2, DAY0, end, basis=REPORTED).counts[0].sum(axis=0)
    assert by_event.tolist() == [2, 0, 0, 0, 0]
    assert by_report.tolist() == [0, 0, 1, 0, 0]  # the unaccepted case has no reporting date yet
    assert unaccepted.pk in records.case_ids.tolist()


def test_event_date_is_the_local_date(yiyang, dispatcher):
    make_case(dispatcher, day=DAY0, hour=0)  # 00:xx Beijing time is the previous day in UTC
    records = load_records(yiyang, DAY0 - timedelta(days=1), DAY0)
    counts = records.cube("county", 1, DAY0 - timedelta(days=1), DAY0).counts[0].sum(axis=0)
    assert counts.tolist() == [0, 1]
