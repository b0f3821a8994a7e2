"""SMS encoding and cost: GSM-7 vs UCS-2 segments.

One non-GSM character (an "ã", an emoji) switches the whole message to UCS-2 and cuts a segment
from 153 to 67 characters. Spanish and Portuguese SMS are therefore folded to GSM-7 (accents the
alphabet lacks are dropped, ñ/é/ü kept) so reminders stay at one or two segments.
"""

from __future__ import annotations

import unicodedata

_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€")  # two septets each
_REPLACEMENTS = {"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "…": "...", "\u00a0": " ", "ç": "c"}


def is_gsm7(text: str) -> bool:
    return all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text)


def fold_to_gsm7(text: str) -> str:
    out = []
    for char in text:
        char = _REPLACEMENTS.get(char, char)
        if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in char):
            out.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFD", char) if unicodedata.category(c) != "Mn")
        out.append(base if base and all(c in _GSM_BASIC for c in base) else "")
    return "".join(out)


def segments(text: str) -> int:
    """How many SMS parts Twilio bills for `text`."""
    if not text:
        return 1
    if is_gsm7(text):
        septets = sum(2 if c in _GSM_EXTENDED else 1 for c in text)
        return 1 if septets <= 160 else -(-septets // 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


# Twilio answers these itself on SMS (default opt-out handling; the message is exactly the keyword,
# any case): STOP-words get its opt-out confirmation and block further sends (error 21610), START
# words lift the block, HELP words get the number's help text. A second answer from us would be a
# duplicate, and one after STOP would fail with 21610 anyway.
_CARRIER_KEYWORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke"}
    | {"start", "yes", "unstop"}
    | {"help", "info"}
)


def carrier_answers(channel: str, text: str) -> bool:
    """True when Twilio itself replies to this inbound message (an SMS keyword)."""
    return channel == "sms" and text.strip().lower() in _CARRIER_KEYWORDS
