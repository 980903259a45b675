"""Re-encrypt every secret stored at rest with the newest key of FIELD_ENCRYPTION_KEYS.

Rotation (README, "Secrets and key rotation"):

1. ``manage.py rotate_encryption_key --generate`` prints a new key;
2. put it first in FIELD_ENCRYPTION_KEYS, keeping the old one after it (``new,old``), and restart:
   new values use the new key, old ones still decrypt;
3. ``manage.py rotate_encryption_key`` re-encrypts every stored value with the new key (in batches,
   each row locked while it is rewritten; safe to run again: values already on the newest key are
   left alone);
4. drop the old key from FIELD_ENCRYPTION_KEYS and restart.

A value that no key decrypts stops the command with an error before anything of its batch is
written; ``--dry-run`` counts without writing.
"""

from cryptography.fernet import Fernet
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import TextField, Value
from django.db.models.functions import Cast

from marketplace.core import crypto


class Command(BaseCommand):
    help = "Re-encrypt every secret stored at rest with the newest key of FIELD_ENCRYPTION_KEYS."

    def add_arguments(self, parser):
        parser.add_argument("--generate", action="store_true", help="Print a new key and exit.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be re-encrypted; write nothing.")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, generate=False, dry_run=False, batch_size=500, **options):
        if generate:
            self.stdout.write(Fernet.generate_key().decode())
            return
        total = 0
        for model, field in crypto.encrypted_fields():
            rotated, current = self._rotate(model, field, dry_run=dry_run, batch_size=batch_size)
            total += rotated
            self.stdout.write(
                f"{model._meta.label}.{field.name}: {rotated} re-encrypted, {current} already on the newest key"
            )
        verb = "would be re-encrypted" if dry_run else "re-encrypted"
        self.stdout.write(self.style.SUCCESS(f"{total} values {verb}."))

    def _rotate(self, model, field, *, dry_run: bool, batch_size: int) -> tuple[int, int]:
        rotated = current = 0
        last_pk = None
        manager = model._base_manager
        while True:
            with transaction.atomic():
                rows = (
                    manager.order_by("pk").exclude(**{field.attname: ""}).exclude(**{f"{field.attname}__isnull": True})
                )
                if last_pk is not None:
                    rows = rows.filter(pk__gt=last_pk)
                # The stored token itself (cast to text: the field would decrypt it), the rows locked.
                batch = list(
                    rows.select_for_update()
                    .annotate(stored=Cast(field.attname, output_field=TextField()))
                    .values_list("pk", "stored")[:batch_size]
                )
                if not batch:
                    return rotated, current
                last_pk = batch[-1][0]
                for pk, token in batch:
                    if crypto.is_current(token):
                        current += 1
                        continue
                    try:
                        new = crypto.rotate(token)
                    except ValueError as exc:
                        raise CommandError(
                            f"{model._meta.label}.{field.name} of #{pk}: no key of FIELD_ENCRYPTION_KEYS decrypts "
                            "it. Put the key it was made with back in the list and run again."
                        ) from exc
                    rotated += 1
                    if not dry_run:
                        # A Value of a plain text field: stored as given, not encrypted a second time.
                        manager.filter(pk=pk).update(**{field.attname: Value(new, output_field=TextField())})
