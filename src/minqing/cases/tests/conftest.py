from __future__ import annotations

import pytest

from minqing.cases.actions import NewCase, PartyInput, register_case
from minqing.cases.models import Category, Channel
from minqing.testing.personas import LIUQUAN, first_village


@pytest.fixture
def category(yiyang):
    return Category.objects.filter(parent__isnull=False).order_by("id").first()


@pytest.fixture
def new_case(yiyang, category):
    def build(**overrides):
        data = dict(
            channel=Channel.WALK_IN,
            title="村道被占用无法通行",
            content="村东头道路被人堆放建材，车辆无法通行，请尽快处理。",
            location_unit=first_village(LIUQUAN),
            category=category,
            parties=[PartyInput(name="王大力", phone="13912345678", id_number="410327198001011234")],
        )
        data.update(overrides)
        return NewCase(**data)

    return build


@pytest.fixture
def registered(new_case, dispatcher):
    return register_case(new_case(), dispatcher)
