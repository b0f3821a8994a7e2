"""RFC 5322 messages (an IMAP mailbox, a provider's raw-MIME mode) into `InboundMail`, including
RFC 3464 delivery status notifications (multipart/report; report-type=delivery-status).

Mail is outside input: a header that does not parse is read as plain text, a part that does not
decode is skipped, nothing here raises for a message's shape.
"""

from __future__ import annotations

import hashlib
import html
import re
from email import message_from_bytes, message_from_string, policy
from email.header import Header, decode_header
from email.message import Message

from agent.inbound_email.mail import MAX_TEXT, Bounce, InboundMail, clean, message_ids

MAX_BYTES = 10_000_000  # bigger messages are read from their first 10 MB (attachments, not words)
_TAGS = re.compile(r"<[^>]{0,2000}>")
_BLOCKS = re.compile(r"<(br|/p|/div|/tr|/li)\b[^>]{0,200}>", re.IGNORECASE)
_HIDDEN = re.compile(r"<(style|script|head)\b[^>]{0,200}>.{0,100000}?</\1\s*>", re.IGNORECASE | re.DOTALL)
# Where the quoted thread starts in a reply: "On … wrote:", "El … escribió:", "Em … escreveu:",
# Outlook's separator and header block.
_QUOTE_START = re.compile(
    r"^\s*(on\b.{0,300}\bwrote:|el\b.{0,300}\bescribi[oó]:|em\b.{0,300}\bescreveu:|-{2,}\s*original message\s*-{2,}"
    r"|-{2,}\s*mensaje original\s*-{2,}|-{2,}\s*mensagem original\s*-{2,}|(from|de):\s.{0,300}$)",
    re.IGNORECASE,
)


def from_rfc822(raw: bytes, *, fallback_id: str) -> InboundMail:
    """`fallback_id` names a message that has no Message-ID (IMAP: the mailbox and UID)."""
    message = message_from_bytes(raw[:MAX_BYTES], policy=policy.compat32)
    return from_message(message, fallback_id=fallback_id)


def from_message(message: Message, *, fallback_id: str, envelope_to: tuple[str, ...] = ()) -> InboundMail:
    headers = header_map(message)
    message_id = (message_ids(headers.get("message-id", "")) or (fallback_id,))[0]
    recipients = tuple(r for r in (headers.get("to", ""), headers.get("cc", ""), *envelope_to) if r)
    return InboundMail(
        message_id=message_id,
        sender=headers.get("from", ""),
        recipients=recipients,
        subject=headers.get("subject", ""),
        text=own_words(body_text(message)),
        in_reply_to=message_ids(headers.get("in-reply-to", "")),
        references=message_ids(headers.get("references", "")),
        headers=headers,
        bounce=delivery_status(message),
    )


def header_map(message: Message) -> dict[str, str]:
    """Lower-cased header names to their first value, RFC 2047 words decoded."""
    found: dict[str, str] = {}
    for name, value in message.items():
        key = name.lower()
        if key not in found and len(found) < 200:
            found[key] = decoded_header(value)
    return found


def decoded_header(value: object) -> str:
    """RFC 2047 encoded words decoded, and raw UTF-8 (RFC 6532, common in practice) read as UTF-8."""
    try:
        parts = decode_header(value if isinstance(value, (str, Header)) else str(value))
    except (ValueError, LookupError, UnicodeError, TypeError):  # undecodable: kept as written
        parts = [(str(value), None)]
    text = "".join(_part_text(chunk, charset) for chunk, charset in parts)
    return clean(" ".join(text.split()), 2000)


def _part_text(chunk: bytes | str, charset: str | None) -> str:
    if isinstance(chunk, str):
        return chunk.encode("ascii", "surrogateescape").decode("utf-8", "replace") if _has_escapes(chunk) else chunk
    if not charset or charset == "unknown-8bit":
        charset = "utf-8"
    try:
        return chunk.decode(charset, "replace")
    except LookupError:
        return chunk.decode("utf-8", "replace")


def _has_escapes(text: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in text)


def body_text(message: Message) -> str:
    """The first text/plain part, else the first text/html part as text (attachments skipped)."""
    plain, markup = None, None
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        if (part.get("Content-Disposition") or "").lower().startswith("attachment"):
            continue
        subtype = part.get_content_subtype()
        if subtype == "plain" and plain is None:
            plain = _decoded(part)
        elif subtype == "html" and markup is None:
            markup = _decoded(part)
        if plain is not None:
            break
    if plain is not None:
        return plain
    return html_to_text(markup or "")


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return clean(str(part.get_payload()), MAX_TEXT)
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        text = payload.decode("utf-8", errors="replace")
    return clean(text, MAX_TEXT)


def html_to_text(markup: str) -> str:
    text = _HIDDEN.sub(" ", markup[:MAX_TEXT])
    text = _BLOCKS.sub("\n", text)
    return clean(html.unescape(_TAGS.sub("", text)), MAX_TEXT)


def own_words(text: str) -> str:
    """The reply without the thread it quotes (what the lead wrote this time)."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.lstrip().startswith(">") or (kept and _QUOTE_START.match(line)):
            break
        kept.append(line)
    words = "\n".join(kept).strip()
    return words or text.strip()


def delivery_status(message: Message) -> Bounce | None:
    """The bounce a DSN reports (RFC 3464), or None when this is not one."""
    if message.get_content_type() != "multipart/report":
        return None
    if (message.get_param("report-type") or "").__str__().lower() != "delivery-status":
        return None
    status_part = original = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("message/delivery-status", "message/global-delivery-status") and status_part is None:
            status_part = part
        elif kind in ("message/rfc822", "text/rfc822-headers", "message/global-headers") and original is None:
            original = part
    if status_part is None:
        return None
    recipients = _status_fields(status_part)[1:]  # the first block is about the message
    failed = [fields for fields in recipients if fields.get("action", "").lower() == "failed"]
    if not failed:
        return None  # delayed, delivered, relayed, expanded: nothing to act on yet
    worst = next((f for f in failed if f.get("status", "").startswith("5")), failed[0])
    status = worst.get("status", "")
    return Bounce(
        original_message_id=_original_id(original, message),
        hard=status.startswith("5"),
        status=status[:20],
        recipient=worst.get("final-recipient", worst.get("original-recipient", "")).split(";")[-1].strip()[:320],
        diagnostic=worst.get("diagnostic-code", "").split(";", 1)[-1].strip()[:500],
    )


def _status_fields(part: Message) -> list[dict[str, str]]:
    """The status part's blocks (per-message, then per-recipient) as lower-cased fields."""
    payload = part.get_payload()
    if isinstance(payload, list):  # the email package parses message/delivery-status into blocks
        parsed = [block for block in payload if isinstance(block, Message)]
        return [{k.lower(): clean(str(v), 1000) for k, v in block.items()} for block in parsed]
    text = part.get_payload(decode=True)
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(payload)
    blocks: list[dict[str, str]] = []
    for chunk in re.split(r"\r?\n\s*\r?\n", raw.strip()):
        fields = message_from_string(chunk + "\n\n", policy=policy.compat32)
        blocks.append({k.lower(): clean(str(v), 1000) for k, v in fields.items()})
    return blocks


def _original_id(original: Message | None, report: Message) -> str:
    """The Message-ID of the email that bounced: from the returned message or its headers, else
    the report's own In-Reply-To/References (some servers thread their reports)."""
    if original is not None:
        inner = original.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            found = message_ids(str(inner[0].get("Message-ID", "")))
        else:
            text = original.get_payload(decode=True)
            raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(inner)
            found = message_ids(str(message_from_string(raw, policy=policy.compat32).get("Message-ID", "")))
        if found:
            return found[0]
    threaded = message_ids(str(report.get("In-Reply-To", ""))) or message_ids(str(report.get("References", "")))
    return threaded[0] if threaded else ""


def digest_id(data: bytes) -> str:
    """A stable Message-ID for a payload that has none (a replayed delivery gets the same one)."""
    return f"{hashlib.sha256(data).hexdigest()[:40]}@inbound.nudge"
