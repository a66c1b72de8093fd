from __future__ import annotations

from django.test import Client

from minqing.intake.actions import QUERY_ATTEMPTS
from minqing.intake.tests.helpers import citizen_case


def test_query_with_right_code_shows_progress_without_login(citizen, village):
    case = citizen_case(citizen, village, content="村口路灯坏了一个月，晚上看不见路")
    response = Client().post("/m/query/", {"reference": case.reference.lower(), "code": case.query_code})
    html = response.content.decode()
    assert response.status_code == 200
    assert case.reference in html and "等待县信访矛盾化解中心登记受理" in html and "提交诉求" in html
    assert "13900001111" not in html and "王群众" not in html


def test_query_with_wrong_code_shows_nothing(citizen, village):
    case = citizen_case(citizen, village, title="不应被看到的标题")
    wrong = "000000" if case.query_code != "000000" else "111111"
    response = Client().post("/m/query/", {"reference": case.reference, "code": wrong})
    html = response.content.decode()
    assert response.status_code == 400
    assert "案件编号或查询码不正确" in html
    assert "不应被看到的标题" not in html and 'id="query-result"' not in html


def test_query_unknown_reference_says_the_same(db, yiyang):
    response = Client().post("/m/query/", {"reference": "YY2099-999999", "code": "123456"})
    assert response.status_code == 400 and "案件编号或查询码不正确" in response.content.decode()


def test_query_attempts_are_rate_limited_per_address(citizen, village):
    case = citizen_case(citizen, village, title="不应被看到的标题")
    client = Client(REMOTE_ADDR="10.9.9.9")
    for _ in range(QUERY_ATTEMPTS):
        assert client.post("/m/query/", {"reference": case.reference, "code": "999999x"}).status_code == 400
    response = client.post("/m/query/", {"reference": case.reference, "code": case.query_code})
    html = response.content.decode()
    assert response.status_code == 429
    assert "查询次数过多" in html and "不应被看到的标题" not in html
    # Another address is not affected.
    other = Client(REMOTE_ADDR="10.9.9.10").post("/m/query/", {"reference": case.reference, "code": case.query_code})
    assert other.status_code == 200
