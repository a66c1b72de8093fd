"""JSON and XML bodies in the shapes GeoReport v2 specifies.

JSON is the value itself (a list of objects, or one object for discovery and service
definitions). XML wraps it in a root element; a list's items get the singular tag
(`<service_requests><request>…`, `<errors><error>…`, `<formats><format>…`).
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from django.http import HttpResponse

CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
ITEM_TAGS = {
    "service_requests": "request",
    "services": "service",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(SubElement(element, key), item)
    elif isinstance(value, list):
        for item in value:
            _fill(SubElement(element, ITEM_TAGS.get(element.tag, "item")), item)
    else:
        element.text = _text(value)


def to_xml(root_tag: str, value: Any) -> bytes:
    root = Element(root_tag)
    _fill(root, value)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(root, encoding="unicode").encode()


def respond(fmt: str, value: Any, root_tag: str, status: int = 200) -> HttpResponse:
    body = to_xml(root_tag, value) if fmt == "xml" else json.dumps(value, ensure_ascii=False).encode()
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES.get(fmt, CONTENT_TYPES["json"]))


def error_response(fmt: str, status: int, description: str) -> HttpResponse:
    return respond(fmt, [{"code": status, "description": description}], "errors", status)
