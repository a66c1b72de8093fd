from __future__ import annotations

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    """Send the configured Content-Security-Policy header (no inline scripts, no third-party hosts)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")
        if policy and not request.path.startswith("/admin/"):
            response.headers.setdefault("Content-Security-Policy", policy)
        return response
