"""Received mail, as a pure module: parse a raw RFC 5322 message with the standard library's `email` package,
keep its text (HTML turned into text when there is no text part), strip quoted history, and tell junk apart.

Nothing here does I/O, so every rule is tested on bytes (tests/unit/test_mail.py). Hostile input is bounded
before it can cost much: the size, the number of MIME parts and their nesting; text in any charset is decoded
(unknown charsets and bad bytes with replacement characters), and what decodes to mostly garbage is refused.
"""

from __future__ import annotations

import codecs
import contextlib
import email
import email.header
import email.message
import email.utils
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

MAX_MESSAGE_BYTES = 40 * 1024 * 1024  # what SES stores into S3 at most; anything bigger is refused unread
MAX_PARTS = 100  # MIME parts in one message
MAX_DEPTH = 8  # multipart nesting
MAX_DELIMITER_LINES = 4 * MAX_PARTS + 100  # lines starting with "--", counted before parsing: a cheap bomb check
MAX_ADDRESSES = 50  # per To / Cc header kept on a comment
# Text read at most: a comment keeps 65,536 characters of the new part of a reply, which comes first. Converting
# or stripping a 35 MB HTML part whole would take about a minute; its first 2 MB take a second or two.
MAX_TEXT_CHARS, MAX_HTML_CHARS = 1_000_000, 2_000_000
GARBAGE_SHARE = 0.25  # a text more than this share of which does not decode (or is control codes) is not text
REPLACEMENT = "\ufffd"


class Refused(Exception):
    """The message is not processed: `outcome` says why (a metric dimension), `detail` is for the log line."""

    def __init__(self, outcome: str, detail: str) -> None:
        super().__init__(detail)
        self.outcome, self.detail = outcome, detail


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    payload: bytes


@dataclass(frozen=True)
class Mail:
    """What the consumer needs of a received message, decoded and bounded."""

    sender: str  # the From address, lowercased
    sender_name: str | None
    subject: str
    message_id: str | None  # "<...>" as received
    in_reply_to: tuple[str, ...]  # Message-IDs this one answers, most specific first
    to: tuple[str, ...]
    cc: tuple[str, ...]
    recipients: tuple[str, ...]  # every address it was delivered to that the headers show (lowercased)
    text: str  # the new part of the text: quoted history stripped
    attachments: tuple[Attachment, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)  # the first value of the headers junk rules read


# ---------------------------------------------------------------------------------------------------- decoding


def _charset(name: str | None) -> str | None:
    """A codec Python knows for a declared charset, or None (unknown or absent)."""
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip('"').lower()).name
    except LookupError:
        return None


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """A text part's bytes as text: in its declared charset when Python knows it, else as UTF-8 (what undeclared
    8-bit mail must be); bytes that do not decode become U+FFFD. Never raises."""
    return data.decode(_charset(declared) or "utf-8", errors="replace")


def _header_bytes(data: bytes, declared: str | None = None) -> str:
    """Header bytes as text: the declared charset, else UTF-8, else Windows-1252 (old clients' raw 8-bit)."""
    if _charset(declared):
        return decode_bytes(data, declared)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: str) -> str:
    """Text we can store and show: no NUL or other control characters (tabs and newlines stay), no lone
    surrogates, newlines normalised."""
    text = text.encode("utf-8", errors="replace").decode("utf-8") if not text.isascii() else text
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _surrogates_to_text(value: str) -> str:
    """Raw 8-bit header bytes reach us as surrogate escapes (the parser reads headers as ASCII): decode them."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return _header_bytes(value.encode("utf-8", errors="surrogateescape"))


_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def _encoded_word(word: str) -> str:
    try:
        chunks = email.header.decode_header(word)
    except Exception:  # a malformed encoded word stays as it was written
        return word
    return "".join(
        _header_bytes(c, None if cs in (None, "unknown-8bit") else cs) if isinstance(c, bytes) else c
        for c, cs in chunks
    )


def header_text(value: object) -> str:
    """A header's value as text: RFC 2047 encoded words decoded in their charsets (the space between two of them
    dropped), raw 8-bit bytes as UTF-8 or Windows-1252, folding undone. Never raises."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):  # what the parser makes of a header with raw 8-bit bytes
        raw = "".join(_header_bytes(c) if isinstance(c, bytes) else c for c, _ in email.header.decode_header(value))
    else:
        raw = _surrogates_to_text(str(value))
    out, last, after_word = [], 0, False
    for m in _ENCODED_WORD.finditer(raw):
        between = raw[last : m.start()]
        if not (after_word and not between.strip()):
            out.append(between)
        out.append(_encoded_word(m.group(0)))
        last, after_word = m.end(), True
    out.append(raw[last:])
    return clean(" ".join("".join(out).split()))


def _first(msg: email.message.Message, name: str) -> str:
    values = msg.get_all(name) or []
    return header_text(values[0]) if values else ""


# ---------------------------------------------------------------------------------------------------- addresses


def addresses(values: list[str]) -> list[tuple[str, str]]:
    """(name, address) pairs of address headers, address lowercased; what does not parse as one is left out."""
    out = []
    for name, addr in email.utils.getaddresses([header_text(v) for v in values]):
        addr = addr.strip().strip("<>").lower()
        if addr.count("@") == 1 and addr.split("@")[0] and "." in addr.split("@")[1] and " " not in addr:
            out.append((name.strip(), addr))
    return out


_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")


def message_ids(value: str) -> list[str]:
    """The `<...>` ids of a Message-ID, In-Reply-To or References header, in order."""
    return _MESSAGE_ID.findall(value)


_ENVELOPE_FOR = re.compile(r"\bfor\s+<?([^\s<>;]+@[^\s<>;]+)>?\s*;", re.IGNORECASE)


def envelope_recipient(received: str) -> str | None:
    """The recipient SES names in the Received header it adds on top (`... for <address>; <date>`), which is
    how a Bcc'd address shows; SES writes it when the message had one recipient."""
    m = _ENVELOPE_FOR.search(received)
    return m.group(1).lower() if m else None


# ---------------------------------------------------------------------------------------------------- HTML to text


class _Text(HTMLParser):
    """HTML to plain text with the standard library: block elements become line breaks, list items dashes,
    blockquotes quoted lines ("> "), links keep their address; script, style and head are dropped. Markup never
    survives: what comes out is the text a reader saw (entities decoded)."""

    BLOCKS = frozenset({"p", "div", "section", "article", "header", "footer", "table", "tr", "ul", "ol", "h1", "h2",
                        "h3", "h4", "h5", "h6", "pre", "hr", "address", "center", "form", "fieldset", "dl", "dt",
                        "dd", "blockquote", "li"})  # fmt: skip
    SKIP = frozenset({"script", "style", "head", "title", "template", "noscript", "svg", "object", "iframe"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.skipping = 0
        self.quote = 0
        self.pre = 0
        self.href: list[str | None] = []

    def _break(self) -> None:
        text = "".join(self.line)
        text = text if self.pre else " ".join(text.split())
        self.lines.append(("> " * self.quote) + text if text or self.quote else "")
        self.line = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
            return
        if tag == "br":
            self._break()
        elif tag in self.BLOCKS:
            if self.line:
                self._break()
            if tag == "blockquote":
                self.quote += 1
            elif tag == "pre":
                self.pre += 1
            elif tag == "li":
                self.line.append("- ")
        elif tag == "a":
            self.href.append(dict(attrs).get("href"))
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt and not self.skipping:
                self.line.append(f"[{alt}]")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "img"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
            return
        if tag in self.BLOCKS:
            if self.line:
                self._break()
            if tag == "blockquote":
                self.quote = max(0, self.quote - 1)
            elif tag == "pre":
                self.pre = max(0, self.pre - 1)
            if tag in ("p", "div", "table", "blockquote", "pre", "ul", "ol") and self.lines and self.lines[-1]:
                self.lines.append("")
        elif tag == "a" and self.href:
            href = self.href.pop()
            shown = "".join(self.line)
            if href and re.match(r"^(https?:|mailto:)", href, re.IGNORECASE) and href not in shown:
                self.line.append(f" ({href.removeprefix('mailto:')})")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.line.append(data)

    def text(self) -> str:
        if self.line:
            self._break()
        out = "\n".join(line.rstrip() for line in self.lines)
        return re.sub(r"\n{3,}", "\n\n", out).strip()


def html_to_text(html: str) -> str:
    """What a reader of this HTML saw, as plain text (see _Text); never markup."""
    parser = _Text()
    with contextlib.suppress(Exception):  # html.parser is lenient; what it still cannot take ends the text there
        parser.feed(html)
        parser.close()
    return parser.text()


# ---------------------------------------------------------------------------------------------------- quoted history

# The line that starts the quoted history of a reply, in the clients and languages we see most.
_ATTRIBUTION = re.compile(
    r"^\s*(On\s.+\swrote|Am\s.+\sschrieb(\s.+)?|Le\s.+\sa\s[ée]crit|El\s.+\sescribi[óo]|Il\s.+\sha\sscritto|"
    r"Op\s.+\sschreef)\s?:\s*$",
    re.IGNORECASE,
)
_ORIGINAL = re.compile(r"^\s*-{2,}\s*(Original Message|Urspr[üu]ngliche Nachricht|Message d'origine)\s*-{2,}\s*$",
                       re.IGNORECASE)  # fmt: skip
_HEADER_LINE = re.compile(r"^\s*\*?(From|Von|De)\s?:\*?\s", re.IGNORECASE)
_HEADER_FOLLOWS = re.compile(r"^\s*\*?(Sent|Date|Gesendet|Envoy[ée]|To|An|À|Subject|Betreff|Objet)\s?:", re.IGNORECASE)


def _history_starts(lines: list[str]) -> int | None:
    """The index of the first line of quoted history, or None."""
    for i, line in enumerate(lines):
        if _ORIGINAL.match(line) or _ATTRIBUTION.match(line):
            return i
        # "On Mon, 1 Jan 2026 at 10:00, Ann Lee <ann@example.com>" / "wrote:" across two lines
        if re.match(r"^\s*On\s", line) and i + 1 < len(lines) and _ATTRIBUTION.match(f"{line} {lines[i + 1]}"):
            return i
        # Outlook: a From: line followed by Sent:/Date:/To:/Subject: lines (often after a line of underscores)
        if _HEADER_LINE.match(line) and sum(bool(_HEADER_FOLLOWS.match(x)) for x in lines[i + 1 : i + 5]) >= 2:
            start = i
            while start > 0 and (not lines[start - 1].strip() or set(lines[start - 1].strip()) <= {"_", "-"}):
                start -= 1
            return start
    return None


def strip_quoted(text: str) -> str:
    """The new part of a reply: without the history an email client quotes under it (an attribution line such
    as "On ... wrote:", an Outlook "-----Original Message-----" or From:/Sent: block, and everything after it),
    and without a trailing block of "> " lines. Quotes between new lines (an inline answer) stay. If nothing
    would be left (a forward, a mail that is all quote), the text is kept whole."""
    lines = text.split("\n")
    start = _history_starts(lines)
    kept = lines[:start] if start is not None else lines
    while kept and (not kept[-1].strip() or kept[-1].lstrip().startswith(">")):
        kept.pop()
    new = "\n".join(kept).strip()
    return new or text.strip()


# ---------------------------------------------------------------------------------------------------- junk


def junk_reason(mail: Mail, *, own_addresses: frozenset[str], own_domain: str | None) -> str | None:
    """Why a message must be dropped unanswered (a metric outcome), or None: SES's virus and spam verdicts, our
    own mail (a loop), auto-replies and bulk mail."""
    h = mail.headers
    if h.get("x-ses-virus-verdict", "").upper() == "FAIL":
        return "virus"
    if h.get("x-ses-spam-verdict", "").upper() == "FAIL":
        return "spam"
    domain = mail.sender.rpartition("@")[2]
    if mail.sender in own_addresses or (own_domain and domain == own_domain):
        return "own_mail"
    auto = h.get("auto-submitted", "").split(";")[0].strip().lower()
    if (auto and auto != "no") or h.get("x-autoreply") or h.get("x-autorespond"):
        return "auto_reply"
    if h.get("content-type", "").split(";")[0].strip().lower() == "multipart/report":
        return "auto_reply"  # a delivery or read report
    if h.get("precedence", "").strip().lower() in ("bulk", "junk", "list"):
        return "bulk"
    return None


# ---------------------------------------------------------------------------------------------------- parsing

JUNK_HEADERS = ("x-ses-virus-verdict", "x-ses-spam-verdict", "auto-submitted", "x-autoreply", "x-autorespond",
                "precedence", "content-type")  # fmt: skip


def _walk(msg: email.message.Message) -> list[tuple[email.message.Message, int]]:
    """Every part with its depth, without recursion, refusing a message with too many parts or too deep a nesting
    (a multipart bomb). A forwarded message (message/rfc822) is one part: its own parts are not opened."""
    parts: list[tuple[email.message.Message, int]] = []
    stack: list[tuple[email.message.Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Refused("bomb", f"MIME parts nested deeper than {MAX_DEPTH}")
        parts.append((part, depth))
        if len(parts) > MAX_PARTS:
            raise Refused("bomb", f"more than {MAX_PARTS} MIME parts")
        if part.is_multipart() and part.get_content_maintype() == "multipart":
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend((c, depth + 1) for c in reversed(children) if isinstance(c, email.message.Message))
    return parts


def _is_attachment(part: email.message.Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment" or part.get_filename():
        return True
    return part.get_content_maintype() not in ("text", "multipart")


def _text_of(part: email.message.Message) -> str:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    return decode_bytes(data, part.get_content_charset())


def _filename(part: email.message.Message, index: int) -> str:
    name = header_text(part.get_filename() or "")
    name = re.split(r"[\\/]", name)[-1].strip().strip(".") if name else ""
    return name[:200] or f"attachment-{index}"


def _garbage(text: str) -> bool:
    """Whether a decoded text is mostly bytes that were not text in its charset (binary data, or 8-bit text that
    claims to be UTF-8): a few stray bytes are kept as U+FFFD, a text this broken is refused."""
    visible = [c for c in text if not c.isspace()]
    bad = sum(1 for c in visible if c == REPLACEMENT or ord(c) < 32 or ord(c) == 127)
    return bool(visible) and bad / len(visible) > GARBAGE_SHARE


def parse(raw: bytes) -> Mail:
    """The message in `raw`, or Refused: too large, a multipart bomb, malformed (no sender), or text that does
    not decode to text. Parsing itself never raises anything else."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise Refused("too_large", f"{len(raw)} bytes, more than {MAX_MESSAGE_BYTES}")
    if raw.count(b"\n--") > MAX_DELIMITER_LINES:
        raise Refused("bomb", f"more than {MAX_DELIMITER_LINES} MIME delimiter lines")
    try:
        msg = email.message_from_bytes(raw)
        parts = _walk(msg)
        return _read(msg, parts)
    except Refused:
        raise
    except Exception as exc:  # the email package is lenient, but a hostile message may still break it
        raise Refused("malformed", f"cannot parse: {type(exc).__name__}") from exc


def _read(msg: email.message.Message, parts: list[tuple[email.message.Message, int]]) -> Mail:
    senders = addresses(msg.get_all("From") or [])
    if not senders:
        raise Refused("malformed", "no From address")
    sender_name, sender = senders[0]
    plain = html = None
    attachments = []
    for index, (part, _) in enumerate(parts, start=1):
        if part.is_multipart() and part.get_content_maintype() == "multipart":
            continue
        if _is_attachment(part):
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            attachments.append(Attachment(_filename(part, index), part.get_content_type(), data))
        elif part.get_content_subtype() == "plain" and plain is None:
            plain = _text_of(part)[:MAX_TEXT_CHARS]
        elif part.get_content_subtype() == "html" and html is None:
            html = _text_of(part)[:MAX_HTML_CHARS]
    text = plain if plain is not None else html_to_text(html) if html is not None else ""
    if _garbage(text):
        raise Refused("undecodable", "the text does not decode in its charset")
    to, cc = addresses(msg.get_all("To") or []), addresses(msg.get_all("Cc") or [])
    delivered = addresses([*(msg.get_all("Delivered-To") or []), *(msg.get_all("X-Original-To") or [])])
    received = msg.get_all("Received") or []
    envelope = envelope_recipient(header_text(received[0])) if received else None
    recipients = [a for _, a in (*to, *cc, *delivered)] + ([envelope] if envelope else [])
    answered = message_ids(_first(msg, "In-Reply-To")) + list(reversed(message_ids(_first(msg, "References"))))
    own_ids = message_ids(_first(msg, "Message-ID"))
    return Mail(
        sender=sender,
        sender_name=sender_name or None,
        subject=_first(msg, "Subject"),
        message_id=own_ids[0] if own_ids else None,
        in_reply_to=tuple(dict.fromkeys(answered)),
        to=tuple(a for _, a in to[:MAX_ADDRESSES]),
        cc=tuple(a for _, a in cc[:MAX_ADDRESSES]),
        recipients=tuple(dict.fromkeys(recipients)),
        text=strip_quoted(clean(text)),
        attachments=tuple(attachments),
        headers={name: _first(msg, name) for name in JUNK_HEADERS if msg.get_all(name)},
    )
