"""The inbound formats of the common mail providers, into `InboundMail`.

* Postmark inbound webhook: JSON (`FromFull`, `ToFull`, `MessageID`, `TextBody`,
  `StrippedTextReply`, `Headers: [{Name, Value}]`, optionally `RawEmail`).
* SendGrid Inbound Parse: multipart/form-data (`headers` as the raw header block, `text`, `html`,
  `from`, `to`, `subject`, `envelope` JSON; or `email` with the full MIME in "raw" mode).
* Mailgun routes, forward(): form fields (`sender`, `from`, `recipient`, `subject`, `body-plain`,
  `stripped-text`, `message-headers` as a JSON list of [name, value], `timestamp`, `token`,
  `signature`; or `body-mime` for a route URL ending in "mime").

Every parser takes whatever the provider sent: a missing or odd field is read as empty, never
refused (the signature or basic auth has already said who sent it). When a provider passes the raw
MIME it is preferred: it carries everything, DSN parts included.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from email import message_from_string, policy
from typing import Any

from agent.inbound_email.mail import MAX_TEXT, InboundMail, clean, message_ids
from agent.inbound_email.mime import from_message, from_rfc822, header_map, html_to_text, own_words

MAILGUN_TOLERANCE_SECONDS = 300
Form = Mapping[str, str]


def from_postmark(data: Any, *, fallback_id: str) -> InboundMail:
    payload: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    raw = payload.get("RawEmail")
    if isinstance(raw, str) and raw.strip():
        return from_rfc822(raw.encode("utf-8", "replace"), fallback_id=_fallback(payload, fallback_id))
    headers: dict[str, str] = {}
    for entry in payload.get("Headers") or []:
        if isinstance(entry, Mapping) and isinstance(entry.get("Name"), str) and len(headers) < 200:
            headers.setdefault(entry["Name"].lower(), clean(entry.get("Value"), 2000))
    sender = _postmark_address(payload.get("FromFull")) or clean(payload.get("From"), 400)
    recipients = [_postmark_address(entry) for entry in _list(payload.get("ToFull")) + _list(payload.get("CcFull"))]
    recipients += [clean(payload.get("OriginalRecipient"), 400)]
    text = clean(payload.get("StrippedTextReply"), MAX_TEXT) or own_words(
        clean(payload.get("TextBody"), MAX_TEXT) or html_to_text(clean(payload.get("HtmlBody"), MAX_TEXT))
    )
    # Postmark's MessageID is its own id; the sender's Message-ID (what threads) is in Headers.
    message_id = (message_ids(headers.get("message-id", "")) or (_fallback(payload, fallback_id),))[0]
    return InboundMail(
        message_id=message_id,
        sender=sender,
        recipients=tuple(r for r in recipients if r) or (clean(payload.get("To"), 400),),
        subject=clean(payload.get("Subject"), 1000),
        text=text,
        in_reply_to=message_ids(headers.get("in-reply-to", "")),
        references=message_ids(headers.get("references", "")),
        headers=headers,
    )


def _fallback(payload: Mapping[str, Any], fallback_id: str) -> str:
    own = clean(payload.get("MessageID"), 200)
    return f"{own}@postmark" if own else fallback_id


def _postmark_address(entry: Any) -> str:
    if not isinstance(entry, Mapping):
        return ""
    email, name = clean(entry.get("Email"), 320), clean(entry.get("Name"), 200)
    return f"{name} <{email}>" if name and email else email


def _list(value: Any) -> list[Any]:
    return list(value)[:50] if isinstance(value, list) else []


def from_sendgrid(form: Form, *, fallback_id: str) -> InboundMail:
    raw = form.get("email")
    if raw:  # "POST the raw, full MIME message"
        return from_rfc822(raw.encode("utf-8", "replace"), fallback_id=fallback_id)
    block = message_from_string(form.get("headers", "") + "\n\n", policy=policy.compat32)
    headers = header_map(block)
    envelope = _json(form.get("envelope"))
    envelope_to = envelope.get("to") if isinstance(envelope, Mapping) else None
    recipients = [clean(form.get("to"), 1000), clean(form.get("cc"), 1000)]
    recipients += [clean(r, 400) for r in _list(envelope_to)]
    text = clean(form.get("text"), MAX_TEXT) or html_to_text(clean(form.get("html"), MAX_TEXT))
    return InboundMail(
        message_id=(message_ids(headers.get("message-id", "")) or (fallback_id,))[0],
        sender=clean(form.get("from"), 400) or headers.get("from", ""),
        recipients=tuple(r for r in recipients if r),
        subject=clean(form.get("subject"), 1000) or headers.get("subject", ""),
        text=own_words(text),
        in_reply_to=message_ids(headers.get("in-reply-to", "")),
        references=message_ids(headers.get("references", "")),
        headers=headers,
    )


def from_mailgun(form: Form, *, fallback_id: str) -> InboundMail:
    raw = form.get("body-mime")
    if raw:
        message = message_from_string(raw, policy=policy.compat32)
        return from_message(message, fallback_id=fallback_id, envelope_to=(clean(form.get("recipient"), 400),))
    headers: dict[str, str] = {}
    for entry in _list(_json(form.get("message-headers"))):
        if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) and len(headers) < 200:
            headers.setdefault(entry[0].lower(), clean(entry[1], 2000))
    text = clean(form.get("stripped-text"), MAX_TEXT) or own_words(clean(form.get("body-plain"), MAX_TEXT))
    recipients = [clean(form.get("recipient"), 1000), headers.get("to", ""), headers.get("cc", "")]
    return InboundMail(
        message_id=(message_ids(form.get("Message-Id", "") or headers.get("message-id", "")) or (fallback_id,))[0],
        sender=clean(form.get("from"), 400) or headers.get("from", "") or clean(form.get("sender"), 400),
        recipients=tuple(r for r in recipients if r),
        subject=clean(form.get("subject"), 1000) or headers.get("subject", ""),
        text=text,
        in_reply_to=message_ids(form.get("In-Reply-To", "") or headers.get("in-reply-to", "")),
        references=message_ids(form.get("References", "") or headers.get("references", "")),
        headers=headers,
    )


def mailgun_signature_problem(signing_key: str, form: Form, now: datetime) -> str | None:
    """Why this Mailgun POST must be refused, or None: the signature is the hex HMAC-SHA256 of
    timestamp + token under the webhook signing key, and the timestamp must be recent."""
    if not signing_key:
        return "this endpoint is not configured (set NUDGE_MAILGUN_SIGNING_KEY)"
    timestamp, token, signature = form.get("timestamp", ""), form.get("token", ""), form.get("signature", "")
    if not (timestamp and token and signature):
        return "timestamp, token and signature are required"
    try:
        moment = int(timestamp)
    except ValueError:
        return "timestamp must be unix seconds"
    if abs(now.timestamp() - moment) > MAILGUN_TOLERANCE_SECONDS:
        return f"timestamp is more than {MAILGUN_TOLERANCE_SECONDS} s away from now (a replay?)"
    expected = hmac.new(signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.strip().lower()):
        return "signature does not match timestamp and token"
    return None


def _json(value: str | None) -> Any:
    if not value:
        return None
    try:
        return json.loads(value[:1_000_000])
    except ValueError:
        return None
