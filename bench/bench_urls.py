"""URLconf for bench/api_intake.py: the project's URLs plus two baselines that insert one row.

The baseline the ratio is taken against, "a bare endpoint that inserts one row on the same stack":

* `POST /api/v1/bench/bare` (JSON) and `POST /api/v1/bench/bare-photo` (multipart, one file): django-ninja
  operations on the project's own NinjaAPI (same middleware, parser, renderer, error handlers and
  default throttle), without authentication. The JSON one validates the body with the submission's
  pydantic schema (`SubmitIn`); the multipart one receives the file and reads it. Each INSERTs one row
  with the ORM (`BenchRow`, table `bench_ninja`) and answers 201 with JSON.

Kept side by side, the older and barer one:

* `POST /bench/raw/`: a plain Django view (same gunicorn, WSGI handler and middleware) that parses the
  body (JSON, or multipart with one file) and does one raw `INSERT … RETURNING` into `bench_bare`.
  No ninja, no pydantic, no ORM.

Both tables are created by the benchmark with raw SQL. `GET /bench/worker/` answers the serving
worker's pid, so the load generator can spread its keep-alive connections over both workers.
"""

from __future__ import annotations

import json
import os
from datetime import datetime

from django.db import connection, models
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile

from minqing.api.main import api
from minqing.api.schemas import SubmitIn


class BenchRow(models.Model):
    payload = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "api"
        db_table = "bench_ninja"
        managed = False

    def __str__(self) -> str:
        return f"bench row {self.pk}"


class BenchRowOut(Schema):
    id: int
    created_at: datetime


router = Router(tags=["bench"], auth=None)


@router.post("/bench/bare", response={201: BenchRowOut})
def ninja_bare(request: HttpRequest, payload: SubmitIn):
    row = BenchRow.objects.create(payload=payload.model_dump_json())
    return 201, row


@router.post("/bench/bare-photo", response={201: BenchRowOut})
def ninja_bare_photo(request: HttpRequest, files: File[list[UploadedFile]], text: Form[str] = ""):
    upload = files[0]
    size = len(upload.read())
    row = BenchRow.objects.create(payload=json.dumps({"file": upload.name, "bytes": size, "text": text}))
    return 201, row


api.add_router("/", router)  # before minqing.urls builds the API's URL patterns

from minqing.urls import urlpatterns as project_urlpatterns  # noqa: E402


@csrf_exempt
@require_POST
def raw_insert(request: HttpRequest) -> JsonResponse:
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


def worker_pid(request: HttpRequest) -> JsonResponse:
    """Which gunicorn worker serves this connection (the load generator spreads its connections)."""
    return JsonResponse({"pid": os.getpid()})


urlpatterns = [path("bench/raw/", raw_insert), path("bench/worker/", worker_pid), *project_urlpatterns]
