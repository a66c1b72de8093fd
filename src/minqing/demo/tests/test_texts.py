from __future__ import annotations

import csv
from datetime import date

from minqing.cases.seed import CATEGORIES_CSV
from minqing.demo.texts import (
    OUTCOMES,
    SYNTHETIC_PHONE_PREFIX,
    SYNTHETIC_SUFFIX,
    TextFactory,
    expand,
    id_check_digit,
    is_valid_id_number,
    load_topics,
)


def _categories() -> list[tuple[str, str]]:
    with CATEGORIES_CSV.open(encoding="utf-8") as handle:
        return [(row["level1"], row["level2"]) for row in csv.DictReader(handle)]


def test_topics_cover_known_categories_only():
    known = set(_categories())
    topics = load_topics()
    assert set(topics) <= known
    assert len(topics) >= 110  # nearly every level-2 category has its own topics


def test_every_category_gets_a_title_and_content_without_unfilled_slots():
    texts = TextFactory(seed=5)
    for level1, level2 in _categories():
        text = texts.case_text(level1=level1, level2=level2, village="东关村", township="柳泉镇", on=date(2025, 6, 1))
        assert text.title and len(text.title) <= 120
        assert len(text.content) >= 20
        for marker in "{}[]|":
            assert marker not in text.title + text.content, (level1, level2, text)


def test_titles_and_contents_vary_even_on_one_topic():
    texts = TextFactory(seed=7)
    made = [
        texts.case_text(
            level1="劳动和社会保障", level2="劳动关系", village="东关村", township="柳泉镇", on=date(2025, 1, 10)
        )
        for _ in range(300)
    ]
    assert len({t.content for t in made}) / len(made) > 0.95
    assert len({t.title for t in made}) / len(made) > 0.3  # one village, one category


def test_same_seed_same_texts():
    one, two = TextFactory(seed=3), TextFactory(seed=3)
    kwargs = dict(level1="农村农业", level2="土地承包经营", village="西村", township="韩城镇", on=date(2025, 3, 1))
    assert one.case_text(**kwargs) == two.case_text(**kwargs)


def test_people_are_synthetic_and_marked():
    texts = TextFactory(seed=1)
    people = [texts.person("东关村", "柳泉镇") for _ in range(500)]
    assert all(p.name.endswith(SYNTHETIC_SUFFIX) for p in people)
    assert all(p.phone.startswith(SYNTHETIC_PHONE_PREFIX) and len(p.phone) == 11 for p in people)
    assert len({p.phone for p in people}) == len(people)
    assert all(p.id_number.startswith("410327") and is_valid_id_number(p.id_number) for p in people)


def test_id_check_digit_matches_the_standard_example():
    # GB 11643-1999 worked example: 11010519491231002X
    assert id_check_digit("11010519491231002") == "X"
    assert not is_valid_id_number("110105194912310021")


def test_replies_exist_for_every_outcome():
    texts = TextFactory(seed=2)
    for outcome in OUTCOMES:
        reply = texts.reply(outcome, short="拖欠工资", unit="柳泉镇", village="东关村")
        assert len(reply) >= 20 and "{" not in reply and "[" not in reply


def test_expand_fills_nested_slots():
    import random

    assert expand("{a}[x|x]", {"a": "{b}"} | {"b": "好"}, random.Random(1)) == "好x"
