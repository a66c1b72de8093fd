"""`minqing open311_key NAME`: issue an Open311 api_key for a client system and print it once."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from minqing.accounts import audit
from minqing.intake.open311.keys import issue_key
from minqing.intake.open311.models import Open311Client


class Command(BaseCommand):
    help = "Issue (or replace) the Open311 api_key of a client system; --revoke deactivates it; --list lists them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", default="")
        parser.add_argument("--revoke", action="store_true", help="deactivate the client's key")
        parser.add_argument("--list", dest="list_clients", action="store_true", help="list clients")

    def handle(self, *args, name: str, revoke: bool, list_clients: bool, **options) -> None:
        if list_clients:
            for client in Open311Client.objects.order_by("name"):
                state = "active" if client.active else "revoked"
                used = client.last_used_at.isoformat() if client.last_used_at else "never"
                self.stdout.write(f"{client.prefix}  {state:8}  last used {used}  {client.name}")
            return
        name = name.strip()
        if not name:
            raise CommandError("NAME is required")
        if revoke:
            if not Open311Client.objects.filter(name=name, active=True).update(active=False):
                raise CommandError(f"no active client named {name}")
            audit.record("open311_key_revoked", target=name)
            self.stdout.write(f"revoked {name}")
            return
        client, key = issue_key(name)
        audit.record("open311_key_issued", target=name, payload={"prefix": client.prefix})
        self.stderr.write("Keep this key now; it cannot be shown again.")
        self.stdout.write(key)
