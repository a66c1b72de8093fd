from __future__ import annotations

import pytest

from minqing.stats.tests.factories import Staff


@pytest.fixture
def staff(yiyang) -> Staff:
    return Staff.create()
