"""Attachments without AWS: filenames, the download's Content-Disposition, upload keys, the checker's verdict, and
every branch of the checker's decision over in-memory fakes of the table and the bucket (tests/integration covers
the same against moto)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pytest
from pydantic import ValidationError

from tools import template

template.ensure_shared_layer_on_path()

from tickets.dal import keys  # noqa: E402
from tickets.integrations import files  # noqa: E402
from tickets.integrations.files import Upload, content_disposition  # noqa: E402
from tickets.logic import attachments  # noqa: E402
from tickets.models.attachments import MAX_SIZE, AttachmentCreate  # noqa: E402

PDF = b"%PDF-1.7\n%%EOF\n"


# ---------------------------------------------------------------- Content-Disposition (RFC 6266)

_HEADER = re.compile(r"^attachment; filename=\"([ !#-\[\]-~]*)\"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+)$")


@pytest.mark.parametrize(
    "name",
    [
        "invoice.pdf",
        'quote"d.pdf',
        "back\\slash.pdf",
        "a\r\nSet-Cookie: x=1.pdf",
        "percent%20.pdf",
        "Rechnung März.pdf",
        "报告.docx",
        "emoji 😀.png",
        "semi;colon,comma.csv",
        "\u202eexe.pdf",
        " ",
    ],
)
def test_given_any_filename_then_the_disposition_is_one_safe_header_that_names_it_exactly(name):
    header = content_disposition(name)

    match = _HEADER.fullmatch(header)
    assert match, header
    assert "\r" not in header and "\n" not in header and header.isascii()
    assert unquote(match.group(2), errors="strict") == name  # filename* carries the exact name
    assert match.group(1).strip() and '"' not in match.group(1) and "\\" not in match.group(1)


def test_given_an_ascii_name_then_the_fallback_is_the_name_itself():
    assert content_disposition("report 2026-04.pdf") == (
        "attachment; filename=\"report 2026-04.pdf\"; filename*=UTF-8''report%202026-04.pdf"
    )


# ---------------------------------------------------------------- the upload request


def _create(**fields: Any) -> AttachmentCreate:
    return AttachmentCreate.model_validate({"filename": "a.pdf", "contentType": "application/pdf", "size": 1, **fields})


@pytest.mark.parametrize(
    "name", ["a/b", "a\\b", "\x00", "x\x7f", "x\x85", "\u202e", "\u2028", "\ufeffa", " a", "a ", ".", "..", "x" * 256]
)
def test_given_a_filename_that_is_a_path_or_hides_characters_then_it_is_refused(name):
    with pytest.raises(ValidationError) as exc:
        _create(filename=name)
    assert [e["loc"] for e in exc.value.errors()] == [("filename",)]


@pytest.mark.parametrize("name", ["a", "résumé (final).pdf", "..hidden", "x" * 255, "报告.docx", "a.b.c"])
def test_given_a_plain_filename_then_it_is_kept_as_given(name):
    assert _create(filename=name).filename == name


@pytest.mark.parametrize(("given", "stored"), [("APPLICATION/PDF", "application/pdf"), ("text/csv; charset=utf-8",
                                                                                          "text/csv")])  # fmt: skip
def test_given_a_content_type_in_any_spelling_then_its_bare_lowercase_form_is_kept(given, stored):
    assert _create(contentType=given).contentType == stored


@pytest.mark.parametrize("size", [0, -1, MAX_SIZE + 1, True, "1", 1.0])
def test_given_a_size_that_is_not_a_whole_number_of_bytes_up_to_20_mb_then_it_is_refused(size):
    with pytest.raises(ValidationError):
        _create(size=size)


# ---------------------------------------------------------------- keys and verdicts


def test_given_upload_keys_then_only_the_upload_prefix_with_tenant_and_id_parses():
    assert keys.parse_attachment_upload(keys.attachment_upload("T1", "A1")) == ("T1", "A1")
    for key in ["t/T1/A1", "u/T1", "u//A1", "u/T1/", "u/T1/A1/x", "x/u/T1/A1", "u", ""]:
        assert keys.parse_attachment_upload(key) is None, key
    assert keys.attachment_upload("T1", "A1") != keys.attachment_object("T1", "A1")


@pytest.mark.parametrize(
    ("declared", "size", "actual", "head", "reason"),
    [
        ("application/pdf", len(PDF), len(PDF), PDF, None),
        (
            "application/pdf",
            len(PDF) + 1,
            len(PDF),
            PDF,
            f"the file has {len(PDF)} bytes, not the {len(PDF) + 1} declared",
        ),
        ("application/pdf", MAX_SIZE + 1, MAX_SIZE + 1, PDF, "the file is larger than 20 MB"),
        ("image/png", len(PDF), len(PDF), PDF, "its content is pdf, not image/png"),
        ("text/plain", 3, 3, b"a\x00b", "its content is not one of the allowed types"),
        (
            "text/plain",
            4,
            4,
            b"ab\xc3\xa9"[:3] + b"x",
            "its content is not one of the allowed types",
        ),  # cut UTF-8, whole
    ],
)
def test_given_an_upload_then_the_verdict_names_what_is_wrong(declared, size, actual, head, reason):
    assert attachments.verdict(declared, size, actual, head) == reason


# ---------------------------------------------------------------- the checker's decisions, over fakes


@dataclass
class FakeWorld:
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)  # attachment id -> upload bytes
    files: dict[str, bytes] = field(default_factory=dict)  # attachment id -> checked file bytes
    replaced_while_reading: bool = False
    replaced_while_copying: bool = False
    decided_by_another: str | None = None
    calls: list[str] = field(default_factory=list)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        dal = attachments.dal
        monkeypatch.setattr(dal, "get", lambda t, a: dict(self.items[a]) if a in self.items else None)
        monkeypatch.setattr(dal, "decide", self.decide)
        monkeypatch.setattr(files, "head_upload", self.head)
        monkeypatch.setattr(files, "read_upload", self.read)
        monkeypatch.setattr(files, "publish", self.publish)
        monkeypatch.setattr(files, "delete_upload", lambda t, a: (self.calls.append("delete"), self.uploads.pop(a, 0)))

    def decide(self, tenant_id: str, attachment_id: str, state: str, at: str, reason: str | None = None) -> bool:
        self.calls.append(f"decide {state}")
        item = self.items.get(attachment_id)
        if self.decided_by_another:
            item["state"] = self.decided_by_another  # type: ignore[index]
        if not item or item["state"] != "pending":
            return False
        item.update(state=state, rejectedReason=reason)
        return True

    def head(self, tenant_id: str, attachment_id: str) -> Upload | None:
        data = self.uploads.get(attachment_id)
        return None if data is None else Upload(len(data), f'"{hash(data)}"')

    def read(self, tenant_id: str, attachment_id: str, upload: Upload, length: int) -> bytes | None:
        return None if self.replaced_while_reading else self.uploads[attachment_id][:length]

    def publish(self, tenant_id: str, attachment_id: str, upload: Upload, content_type: str) -> bool:
        self.calls.append("publish")
        if self.replaced_while_copying:
            return False
        self.files[attachment_id] = self.uploads[attachment_id]
        return True


def _world(monkeypatch: pytest.MonkeyPatch, state: str = "pending", upload: bytes | None = PDF, **kw: Any) -> FakeWorld:
    world = FakeWorld(**kw)
    world.items["A1"] = {"id": "A1", "state": state, "size": len(PDF), "contentType": "application/pdf"}
    if upload is not None:
        world.uploads["A1"] = upload
    world.install(monkeypatch)
    return world


def test_given_a_good_upload_then_copied_decided_ready_and_only_then_the_upload_deleted(monkeypatch):
    world = _world(monkeypatch)
    assert attachments.check_upload("T1", "A1") == "ready"
    assert world.calls == ["publish", "decide ready", "delete"]  # a crash anywhere leaves something to retry
    assert world.files == {"A1": PDF} and world.uploads == {} and world.items["A1"]["state"] == "ready"


def test_given_a_bad_upload_then_decided_rejected_before_the_upload_is_deleted_and_never_copied(monkeypatch):
    world = _world(monkeypatch, upload=b"MZ" + bytes(len(PDF) - 2))
    assert attachments.check_upload("T1", "A1") == "rejected"
    assert world.calls == ["decide rejected", "delete"]
    assert world.items["A1"]["rejectedReason"] == "its content is not one of the allowed types" and world.files == {}


@pytest.mark.parametrize("state", ["ready", "rejected"])
def test_given_an_attachment_already_decided_then_its_upload_is_deleted_unread(monkeypatch, state):
    world = _world(monkeypatch, state=state, upload=b"anything at all")
    assert attachments.check_upload("T1", "A1") == "duplicate"
    assert world.calls == ["delete"] and world.items["A1"]["state"] == state and world.files == {}


def test_given_an_upload_with_no_record_then_it_is_deleted(monkeypatch):
    world = _world(monkeypatch)
    del world.items["A1"]
    assert attachments.check_upload("T1", "A1") == "orphan"
    assert world.calls == ["delete"] and world.uploads == {}


def test_given_a_pending_attachment_without_its_upload_then_nothing_is_decided(monkeypatch):
    world = _world(monkeypatch, upload=None)
    assert attachments.check_upload("T1", "A1") == "missing"
    assert world.calls == [] and world.items["A1"]["state"] == "pending"


@pytest.mark.parametrize("when", ["reading", "copying"])
def test_given_the_upload_replaced_while_it_is_checked_then_nothing_is_decided_and_its_own_event_decides(
    monkeypatch, when
):
    world = _world(monkeypatch, **{f"replaced_while_{when}": True})
    assert attachments.check_upload("T1", "A1") == "superseded"
    assert "decide ready" not in world.calls and "delete" not in world.calls
    assert world.items["A1"]["state"] == "pending"


def test_given_another_event_decided_first_then_this_one_changes_no_decision(monkeypatch):
    world = _world(monkeypatch, decided_by_another="rejected")
    assert attachments.check_upload("T1", "A1") == "duplicate"
    assert world.items["A1"]["state"] == "rejected" and world.uploads == {}
