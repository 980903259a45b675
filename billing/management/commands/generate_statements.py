"""Generate a month's statements: ``generate_statements --period YYYY-MM [--dry-run]``.

Prints one JSON line: {"period": "YYYY-MM", "created": N, "existing": M, "lines": K}.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from marketplace.core.errors import ServiceError

from ...services import parse_period, statements_generate


class Command(BaseCommand):
    help = "Generate the statements of a finished month (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="YYYY-MM")
        parser.add_argument("--dry-run", action="store_true", help="Count, then roll everything back.")

    def handle(self, *args, period: str, dry_run: bool, **options):
        try:
            result = statements_generate(period=parse_period(period), dry_run=dry_run)
        except ServiceError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(json.dumps(result))
