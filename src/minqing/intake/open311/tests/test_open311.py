"""GeoReport v2: the spec's field names, JSON and XML shapes, the error format, api_key for POST."""

from __future__ import annotations

import json
from xml.etree.ElementTree import fromstring

import pytest
from django.core.management import call_command

from minqing.cases.actions import NewCase, PartyInput, register_case
from minqing.cases.models import Case, CaseEvent, Category, Channel
from minqing.intake.open311.keys import issue_key
from minqing.intake.open311.models import Open311Client, Open311Request

pytestmark = pytest.mark.django_db
BASE = "/open311/v2"
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]


@pytest.fixture
def api_key(yiyang) -> str:
    return issue_key("城市服务平台")[1]


@pytest.fixture
def service(yiyang) -> Category:
    return Category.objects.filter(parent__isnull=False, active=True).select_related("parent").first()


def post_request(client, fmt: str = "json", **data):
    return client.post(f"{BASE}/requests.{fmt}", data=data)


def valid_form(api_key: str, service: Category, **extra) -> dict:
    form = {
        "api_key": api_key,
        "service_code": str(service.pk),
        "lat": "34.469",
        "long": "112.076",
        "description": "村口路灯坏了一个多月，电话13912345678",
        "first_name": "三",
        "last_name": "张",
        "phone": "13912345678",
        "email": "zhang@example.com",
    }
    return {**form, **extra}


def assert_error(response, status: int, fmt: str = "json") -> str:
    assert response.status_code == status
    if fmt == "json":
        body = response.json()
        assert isinstance(body, list) and set(body[0]) == {"code", "description"} and body[0]["code"] == status
        return body[0]["description"]
    root = fromstring(response.content)
    assert root.tag == "errors" and root[0].tag == "error"
    assert root[0].findtext("code") == str(status)
    return root[0].findtext("description")


def nothing_created() -> bool:
    return not Case.objects.exists() and not Open311Request.objects.exists() and not CaseEvent.objects.exists()


# --- services ------------------------------------------------------------------------------


def test_services_json_has_the_spec_fields(client, service):
    body = client.get(f"{BASE}/services.json").json()
    assert body and list(body[0]) == SERVICE_FIELDS
    entry = next(s for s in body if s["service_code"] == str(service.pk))
    assert entry["service_name"] == service.name and entry["group"] == service.parent.name
    assert entry["metadata"] is False and entry["type"] == "realtime"


def test_services_xml_shape(client, service):
    response = client.get(f"{BASE}/services.xml")
    assert response["Content-Type"].startswith("text/xml")
    root = fromstring(response.content)
    assert root.tag == "services" and root[0].tag == "service"
    assert [child.tag for child in root[0]] == SERVICE_FIELDS
    assert root[0].findtext("metadata") == "false"


def test_service_definition_and_unknown_code(client, service):
    definition = client.get(f"{BASE}/services/{service.pk}.json").json()
    assert definition == {"service_code": str(service.pk), "attributes": []}
    assert_error(client.get(f"{BASE}/services/999999.json"), 404)


def test_discovery(client, yiyang):
    body = client.get(f"{BASE}/discovery.json").json()
    assert body["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    root = fromstring(client.get(f"{BASE}/discovery.xml").content)
    assert root.find("endpoints/endpoint/formats/format") is not None


# --- POST requests ---------------------------------------------------------------------------


def test_post_creates_a_case_and_returns_the_id(client, api_key, service):
    response = post_request(client, **valid_form(api_key, service))
    assert response.status_code == 201
    (item,) = response.json()
    assert set(item) == {"service_request_id", "token", "service_notice", "account_id"}
    case = Case.objects.get(reference=item["service_request_id"])
    assert case.category == service and case.channel == Channel.APP
    assert case.location_unit.code.startswith("410327102")  # nearest to 柳泉镇's coordinates
    assert case.parties.get().name == "张三" and case.parties.get().phone == "13912345678"
    assert Open311Request.objects.get(case=case).client.name == "城市服务平台"
    token = client.get(f"{BASE}/tokens/{item['token']}.json").json()
    assert token == [{"service_request_id": case.reference, "token": item["token"]}]


def test_post_xml_response_shape(client, api_key, service):
    response = post_request(client, "xml", **valid_form(api_key, service, address_string="韩城镇东街", lat="", long=""))
    assert response.status_code == 201
    root = fromstring(response.content)
    assert root.tag == "service_requests" and root[0].tag == "request"
    case = Case.objects.get(reference=root[0].findtext("service_request_id"))
    assert case.location_unit.name == "韩城镇" and case.address == "韩城镇东街"


def test_post_without_name_is_anonymous(client, api_key, service):
    response = post_request(client, **valid_form(api_key, service, first_name="", last_name="", phone=""))
    assert response.status_code == 201
    assert Case.objects.get().is_anonymous


@pytest.mark.parametrize("key", [None, "", "o311_wrong"])
def test_post_without_a_valid_api_key_is_403(client, service, key, api_key):
    form = valid_form(api_key, service)
    if key is None:
        form.pop("api_key")
    else:
        form["api_key"] = key
    assert "api_key" in assert_error(post_request(client, **form), 403)
    assert nothing_created()


def test_post_with_a_revoked_key_is_403(client, api_key, service):
    call_command("open311_key", "城市服务平台", "--revoke")
    assert_error(post_request(client, **valid_form(api_key, service)), 403)
    assert nothing_created()


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"service_code": "999999"}, "service_code"),
        ({"service_code": "abc"}, "service_code"),
        ({"service_code": ""}, "service_code"),
        ({"lat": "", "long": ""}, "location"),
        ({"lat": "91", "long": "112"}, "lat"),
        ({"lat": "nan", "long": "112"}, "lat"),
        ({"long": ""}, "together"),
        ({"description": ""}, "description"),
        ({"description": "长" * 4001}, "description"),
        ({"phone": "call me"}, "phone"),
        ({"media_url": "javascript:alert(1)"}, "media_url"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_post_is_400_in_the_error_format_and_creates_nothing(client, api_key, service, change, needle, fmt):
    description = assert_error(post_request(client, fmt, **valid_form(api_key, service, **change)), 400, fmt)
    assert needle in description
    assert nothing_created()


def test_level1_category_is_not_a_service(client, api_key, service):
    assert_error(post_request(client, **valid_form(api_key, service, service_code=str(service.parent_id))), 400)
    assert nothing_created()


# --- GET requests ----------------------------------------------------------------------------


@pytest.fixture
def staff_case(dispatcher, unit, service) -> Case:
    return register_case(
        NewCase(
            channel=Channel.PHONE,
            title="噪音扰民 13900001111",
            content="隔壁工地夜间施工，我叫李四，身份证410327199001011234",
            location_unit=unit("410327103"),
            category=service,
            address="韩城镇东街 8 号",
            parties=[PartyInput(name="李四", phone="13900001111", id_number="410327199001011234")],
        ),
        dispatcher,
    )


def test_get_requests_json_has_the_spec_fields_and_no_personal_data(client, staff_case):
    body = client.get(f"{BASE}/requests.json").json()
    (item,) = body
    assert list(item) == REQUEST_FIELDS
    assert item["service_request_id"] == staff_case.reference and item["status"] == "open"
    assert item["service_code"] == str(staff_case.category_id)
    raw = json.dumps(body, ensure_ascii=False)
    for secret in ("李四", "13900001111", "410327199001011234", "身份证"):
        assert secret not in raw
    assert item["requested_datetime"].endswith("+08:00")


def test_get_requests_xml_shape(client, staff_case):
    root = fromstring(client.get(f"{BASE}/requests.xml").content)
    assert root.tag == "service_requests" and root[0].tag == "request"
    assert [child.tag for child in root[0]] == REQUEST_FIELDS


def test_get_request_by_id_and_unknown_id(client, staff_case):
    body = client.get(f"{BASE}/requests/{staff_case.reference}.json").json()
    assert body[0]["service_request_id"] == staff_case.reference
    assert_error(client.get(f"{BASE}/requests/YY2000-000001.json"), 404)
    assert_error(client.get(f"{BASE}/requests/YY2000-000001.xml"), 404, "xml")
    assert_error(client.get(f"{BASE}/tokens/nope.json"), 404)


def test_get_requests_filters(client, staff_case, service):
    url = f"{BASE}/requests.json"
    assert len(client.get(url, {"status": "open"}).json()) == 1
    assert client.get(url, {"status": "closed"}).json() == []
    assert len(client.get(url, {"service_code": str(service.pk)}).json()) == 1
    assert client.get(url, {"start_date": "2099-01-01T00:00:00+08:00"}).json() == []
    assert len(client.get(url, {"service_request_id": f"{staff_case.reference},YY2000-000001"}).json()) == 1
    assert_error(client.get(url, {"status": "pending"}), 400)
    assert_error(client.get(url, {"start_date": "yesterday"}), 400)
    assert_error(client.get(url, {"service_code": "999999"}), 400)


def test_other_methods_get_the_error_format(client, yiyang):
    assert_error(client.delete(f"{BASE}/requests.json"), 405)
    assert_error(client.post(f"{BASE}/services.json"), 405)


def test_open311_key_command_prints_a_working_key(yiyang, capsys):
    call_command("open311_key", "测试平台")
    key = capsys.readouterr().out.strip()
    from minqing.intake.open311.keys import client_for_key

    assert client_for_key(key).name == "测试平台"
    assert Open311Client.objects.get(name="测试平台").key_hash != key
