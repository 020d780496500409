"""What a file really is, from its first bytes: the allow-list of attachment types (a pure module).

An upload declares a content type; the checker (and the inbound email consumer) read the file's first bytes and
accept it only when they are those of an allowed type that agrees with the declared one. Nothing here trusts a
filename or a declared type on its own.
"""

from __future__ import annotations

HEAD_BYTES = 8192  # enough for every signature here, and to judge whether text is text

# Families of allowed types: the declared content types each accepts.
ALLOWED: dict[str, frozenset[str]] = {
    "png": frozenset({"image/png"}),
    "jpeg": frozenset({"image/jpeg", "image/jpg", "image/pjpeg"}),
    "gif": frozenset({"image/gif"}),
    "webp": frozenset({"image/webp"}),
    "pdf": frozenset({"application/pdf"}),
    "zip": frozenset(
        {
            "application/zip",
            "application/x-zip-compressed",
            # Office Open XML documents are zip files.
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.oasis.opendocument.text",
            "application/vnd.oasis.opendocument.spreadsheet",
            "application/vnd.oasis.opendocument.presentation",
        }
    ),
    # Legacy Office documents (.doc, .xls, .ppt) are OLE compound files.
    "ole": frozenset({"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"}),
    "text": frozenset({"text/plain", "text/csv"}),
}
ALLOWED_TYPES = frozenset().union(*ALLOWED.values())

_SIGNATURES: tuple[tuple[str, bytes, int], ...] = (  # (family, magic, offset)
    ("png", b"\x89PNG\r\n\x1a\n", 0),
    ("jpeg", b"\xff\xd8\xff", 0),
    ("gif", b"GIF87a", 0),
    ("gif", b"GIF89a", 0),
    ("pdf", b"%PDF-", 0),
    ("zip", b"PK\x03\x04", 0),
    ("zip", b"PK\x05\x06", 0),  # an empty archive
    ("ole", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0),
)


def normalise(content_type: str) -> str:
    """`Text/CSV; charset=utf-8` -> `text/csv`."""
    return content_type.split(";", 1)[0].strip().lower()


def _is_text(head: bytes, complete: bool) -> bool:
    """UTF-8 text without NUL or other binary control characters (a cut multi-byte tail is allowed)."""
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if complete or exc.start < len(head) - 3:
            return False
        text = head[: exc.start].decode("utf-8")
    return not any(ord(c) < 32 and c not in "\t\n\r\f" for c in text)


def family(head: bytes, *, complete: bool = False) -> str | None:
    """The allowed family the bytes belong to, or None. `complete`: `head` is the whole file."""
    for name, magic, offset in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if _is_text(head, complete):
        return "text"
    return None


def check(head: bytes, declared: str, *, complete: bool = False) -> str | None:
    """Why the file is refused (None when it is accepted): its bytes must be an allowed type, the declared one."""
    wanted = normalise(declared)
    if wanted not in ALLOWED_TYPES:
        return f"{wanted or 'no type'} is not an allowed type"
    found = family(head, complete=complete)
    if found is None:
        return "its content is not one of the allowed types"
    if wanted not in ALLOWED[found]:
        return f"its content is {found}, not {wanted}"
    return None
