"""The `minqing` console script: Django's management commands under one name."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minqing.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv if argv is None else argv)
    # `minqing orgs load yiyang` reads better than `minqing orgs_load yiyang`:
    # two-word commands map onto `<group>_<verb>` management commands.
    if len(argv) >= 3 and argv[1] in COMMAND_GROUPS and not argv[2].startswith("-"):
        argv = [argv[0], f"{argv[1]}_{argv[2]}", *argv[3:]]
    execute_from_command_line(argv)


COMMAND_GROUPS = {"orgs", "calendar", "audit", "demo", "stats", "alerts", "dispatch", "notify", "deadlines", "feedback"}

if __name__ == "__main__":
    main()
