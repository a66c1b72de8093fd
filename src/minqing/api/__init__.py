"""The REST API under /api/v1 (django-ninja): tokens, idempotency, routers over the same actions as the UI."""
