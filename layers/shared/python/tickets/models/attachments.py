"""Attachments: the upload request, the presigned form that answers it, and the attachment as the API shows it."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

from pydantic import Field, field_validator

from tickets.logic import filetypes
from tickets.models.common import DateTime, InputModel, OutputModel, Text

MAX_SIZE = 20 * 1024 * 1024  # 20 MB a file
MAX_FILENAME = 255  # what common file systems take

AttachmentState = Literal["pending", "ready", "rejected"]

# Characters a filename must not hold: controls (C0, DEL, C1), format characters (bidirectional overrides such as
# U+202E, which make "invoice_fdp.exe" read as "invoice_exe.pdf", and zero-width characters) and line separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


class AttachmentCreate(InputModel):
    filename: Annotated[
        Text,
        Field(
            min_length=1,
            max_length=MAX_FILENAME,
            description="A file name, not a path: no `/` or `\\`, no control or format characters.",
            examples=["invoice-2026-04.pdf"],
        ),
    ]
    contentType: Annotated[
        Text,
        Field(
            min_length=1,
            max_length=255,
            description="The file's media type, one of: " + ", ".join(sorted(filetypes.ALLOWED_TYPES)) + ". "
            "Any letter case; parameters (`; charset=utf-8`) are dropped. The file's first bytes must match it.",
            examples=["application/pdf"],
        ),
    ]
    size: Annotated[
        int, Field(strict=True, ge=1, le=MAX_SIZE, description="The file's exact size in bytes (at most 20 MB).")
    ]

    @field_validator("filename")
    @classmethod
    def _filename(cls, value: str) -> str:
        if any(c in "/\\" for c in value):
            raise ValueError("must be a file name, without / or \\")
        if any(unicodedata.category(c) in _REFUSED_CATEGORIES for c in value):
            raise ValueError("must not contain control or format characters")
        if value != value.strip():
            raise ValueError("must not start or end with whitespace")
        if value in (".", ".."):
            raise ValueError("must be a file name")
        return value

    @field_validator("contentType")
    @classmethod
    def _content_type(cls, value: str) -> str:
        wanted = filetypes.normalise(value)
        if wanted not in filetypes.ALLOWED_TYPES:
            raise ValueError(f"{wanted or 'an empty type'} is not allowed; allowed: images, PDF, text, CSV, office "
                             "documents, zip (see the OpenAPI description)")  # fmt: skip
        return wanted


class Attachment(OutputModel):
    id: str
    filename: str
    contentType: str
    size: int
    state: AttachmentState = Field(description="pending until the file is checked, then ready or rejected (final)")
    rejectedReason: str | None = Field(default=None, description="Why the file was refused (rejected only)")
    ticketId: str | None = Field(default=None, description="The ticket of the comment that uses it")
    commentId: str | None = Field(default=None, description="The comment that uses it; null until one does")
    createdAt: DateTime
    expiresAt: DateTime | None = Field(
        default=None, description="When it is deleted, file and record, unless a comment uses it first"
    )
    downloadUrl: str | None = Field(
        default=None,
        description="Ready only: a presigned URL, valid 5 minutes, that downloads the file "
        "(`Content-Disposition: attachment`). Ask again for a fresh one.",
    )


class UploadForm(OutputModel):
    url: str = Field(description="POST a multipart/form-data form here")
    fields: dict[str, str] = Field(description="Send every field as a form field, then the file as `file`, last")
    expiresAt: DateTime = Field(description="The form is refused after this")


class AttachmentCreated(Attachment):
    upload: UploadForm
