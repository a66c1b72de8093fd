"""URLconf for bench/api_intake.py: the project's URLs plus a bare endpoint that inserts one row.

`POST /bench/bare/` goes through the same gunicorn, WSGI handler, middleware and database connection
settings as the API, and does the least a write endpoint can: parse the body (JSON, or multipart with
one file), INSERT one row into `bench_bare` (a table the benchmark creates with raw SQL) and answer
201 with JSON. No authentication, no ORM, no transaction beyond autocommit.
"""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from minqing.urls import urlpatterns as project_urlpatterns


@csrf_exempt
@require_POST
def bare_insert(request: HttpRequest) -> JsonResponse:
    if request.content_type == "multipart/form-data":
        upload = request.FILES.get("files")
        size = len(upload.read()) if upload else 0
        payload = json.dumps({"file": upload.name if upload else "", "bytes": size, "text": request.POST.get("text")})
    else:
        try:
            body = json.loads(request.body)
        except ValueError:
            return JsonResponse({"detail": "请求体不是有效的 JSON", "code": "malformed_json"}, status=400)
        payload = json.dumps(body, ensure_ascii=False)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_bare (payload) VALUES (%s) RETURNING id, created_at", [payload])
        row_id, created_at = cursor.fetchone()
    return JsonResponse({"id": row_id, "created_at": created_at.isoformat()}, status=201)


urlpatterns = [path("bench/bare/", bare_insert), *project_urlpatterns]
