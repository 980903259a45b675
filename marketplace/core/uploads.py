"""Uploaded files: checked for type (by content, not by name) and size, stored privately."""

import os
import uuid
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext as _

# Magic numbers of the types we accept, by extension.
SIGNATURES = {
    ".pdf": [b"%PDF-"],
    ".png": [b"\x89PNG\r\n\x1a\n"],
    ".jpg": [b"\xff\xd8\xff"],
    ".jpeg": [b"\xff\xd8\xff"],
}
CONTENT_TYPES = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def private_storage():
    return storages["private"]


def validate_upload(f, *, allowed=(".pdf", ".png", ".jpg", ".jpeg"), max_bytes=None) -> str:
    """Check an uploaded file; return its normalised extension. Raises ValidationError."""
    max_bytes = max_bytes or settings.UPLOAD_MAX_BYTES
    ext = os.path.splitext(f.name or "")[1].lower()
    if ext not in allowed:
        raise ValidationError(
            _("Files of this type are not accepted. Allowed: %(types)s.")
            % {"types": ", ".join(a.lstrip(".").upper() for a in allowed)}
        )
    if f.size > max_bytes:
        raise ValidationError(
            _("The file is too large (%(size)s MB); the limit is %(limit)s MB.")
            % {"size": round(f.size / 1048576, 1), "limit": round(max_bytes / 1048576, 1)}
        )
    if f.size == 0:
        raise ValidationError(_("The file is empty."))
    head = f.read(16)
    f.seek(0)
    if not any(head.startswith(sig) for sig in SIGNATURES[ext]):
        raise ValidationError(_("The file's content does not match its type %(ext)s.") % {"ext": ext})
    return ext


@deconstructible
class PrivateUploadTo:
    """An ``upload_to`` that hides the original name behind a random one."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def __call__(self, instance, filename):
        ext = os.path.splitext(filename)[1].lower()
        return f"{self.prefix}/{uuid.uuid4().hex}{ext}"

    def __eq__(self, other):
        return isinstance(other, PrivateUploadTo) and other.prefix == self.prefix


def content_type_for(name: str) -> str:
    return CONTENT_TYPES.get(os.path.splitext(name)[1].lower(), "application/octet-stream")


def clean_files(files, *, max_files: int, field: str = "files") -> list:
    """The files of one upload field, each checked (``validate_upload``); a refusal names the file
    and is a ``ValidationFailed`` on ``field``."""
    from .errors import ValidationFailed

    files = [f for f in (files or []) if f]
    if len(files) > max_files:
        message = _("At most %(n)s files at a time.") % {"n": max_files}
        raise ValidationFailed(message, field_errors={field: [message]})
    for f in files:
        try:
            validate_upload(f)
        except ValidationError as exc:
            message = f"{f.name}: {exc.messages[0]}"
            raise ValidationFailed(message, field_errors={field: [message]}) from exc
    return files


@contextmanager
def files_kept_only_on_success():
    """Files written inside a transaction that then fails are deleted again: a rollback leaves no
    stray uploads behind. Yields a list; append each stored model instance (with ``.file``) to it."""
    stored: list = []
    try:
        yield stored
    except BaseException:
        for attachment in stored:
            attachment.file.storage.delete(attachment.file.name)
        raise
