"""Request bodies: JSON everywhere; the citizen submission (`POST /cases`) also takes multipart/form-data,
so an app sends the case and its photos in one request. Form fields are validated by the same schema."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.parser import Parser
from ninja.types import DictStrAny

SUBMIT_URL_NAME = "citizen_cases"
FORM_URL_NAMES = {SUBMIT_URL_NAME}
FORM_TYPE = "multipart/form-data"


class ApiParser(Parser):
    def parse_body(self, request: HttpRequest) -> DictStrAny:
        match = getattr(request, "resolver_match", None)
        if request.content_type == FORM_TYPE and match is not None and match.url_name in FORM_URL_NAMES:
            # An empty field means "not given", as a missing JSON key would.
            return {key: value for key, value in request.POST.items() if value != ""}
        return super().parse_body(request)
