"""The attachment allow-list: a file is what its first bytes say, and must be what it declared."""

from __future__ import annotations

import pytest

from tickets.logic.filetypes import ALLOWED_TYPES, check, family

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3"
DOCX = b"PK\x03\x04\x14\x00\x06\x00"
DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 "


@pytest.mark.parametrize(
    ("head", "declared"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (WEBP, "image/webp"),
        (PDF, "application/pdf"),
        (DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (DOCX, "application/zip"),
        (DOC, "application/msword"),
        (b"id,amount\n1,12.50\n", "text/csv"),
        ("Café crème\n".encode(), "Text/Plain; charset=UTF-8"),
    ],
)
def test_given_an_allowed_file_of_its_declared_type_then_accepted(head, declared):
    assert check(head, declared, complete=True) is None


@pytest.mark.parametrize(
    ("head", "declared", "why"),
    [
        (PNG, "application/pdf", "its content is png, not application/pdf"),
        (b"MZ\x90\x00\x03\x00\x00\x00", "application/pdf", "its content is not one of the allowed types"),
        (b"\x7fELF\x02\x01\x01", "text/plain", "its content is not one of the allowed types"),
        (b"<html><script>alert(1)</script>", "text/html", "text/html is not an allowed type"),
        (b"#!/bin/sh\nrm -rf /\n", "application/x-sh", "application/x-sh is not an allowed type"),
        (b"plain words", "image/png", "its content is text, not image/png"),
        (b"text with a \x00 NUL", "text/plain", "its content is not one of the allowed types"),
        (b"\xff\xfe\xfa bad utf-8 \xc3\x28 here", "text/plain", "its content is not one of the allowed types"),
        (b"bell \x07 control", "text/plain", "its content is not one of the allowed types"),
        (PDF, "", "no type is not an allowed type"),
    ],
)
def test_given_a_file_that_is_not_what_it_says_or_not_allowed_then_refused_with_why(head, declared, why):
    assert check(head, declared, complete=True) == why


def test_given_a_head_that_cuts_a_multibyte_character_then_it_is_still_text_unless_complete():
    head = "x" * 10 + "é"
    cut = head.encode()[:-1]
    assert family(cut) == "text" and family(cut, complete=True) is None


def test_given_the_allow_list_then_nothing_executable_or_renderable_is_in_it():
    assert not {"text/html", "image/svg+xml", "application/javascript", "application/x-msdownload"} & ALLOWED_TYPES
