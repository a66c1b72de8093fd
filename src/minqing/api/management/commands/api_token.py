"""`minqing api_token USERNAME --name NAME`: issue a bearer token and print it once."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from minqing.accounts import audit
from minqing.accounts.models import User
from minqing.api.models import ApiToken
from minqing.api.tokens import issue_token, revoke_token


class Command(BaseCommand):
    help = "Issue an API token for a user (printed once; only its hash is kept), list or revoke tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for, e.g. the app or integration")
        parser.add_argument("--days", type=int, default=None, help="expire after this many days (default: never)")
        parser.add_argument("--list", dest="list_tokens", action="store_true", help="list the user's tokens instead")
        parser.add_argument("--revoke", metavar="PREFIX", help="revoke the user's token with this prefix")

    def handle(
        self, *args, username: str, name: str, days: int | None, list_tokens: bool, revoke: str | None, **options
    ):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no such user: {username}")
        tokens = ApiToken.objects.filter(user=user).order_by("created_at")
        if list_tokens:
            for token in tokens:
                state = "revoked" if token.revoked_at else ("expired" if not token.is_usable() else "active")
                used = token.last_used_at.isoformat() if token.last_used_at else "never"
                self.stdout.write(f"{token.prefix}  {state:8}  last used {used}  {token.name}")
            return
        if revoke:
            matches = [t for t in tokens if t.prefix == revoke and t.revoked_at is None]
            if len(matches) != 1:
                raise CommandError(f"no single active token with prefix {revoke}")
            revoke_token(matches[0])
            audit.record("api_token_revoked", target=username, payload={"prefix": revoke})
            self.stdout.write(f"revoked {revoke}")
            return
        if not user.is_active:
            raise CommandError(f"user {username} is not active")
        if not name:
            raise CommandError("--name is required")
        expires = timezone.now() + timedelta(days=days) if days else None
        token, secret = issue_token(user, name, expires_at=expires)
        audit.record("api_token_issued", target=username, payload={"prefix": token.prefix, "name": token.name})
        self.stderr.write("Keep this token now; it cannot be shown again.")
        self.stdout.write(secret)
