"""The tracked link's token, carried into a booking made through it.

A click on `/r/{token}` that leads to a Cal.com or Calendly page gets the token added in the
place each provider copies into its webhook: Cal.com's `metadata[nudge_ref]` (booking metadata),
Calendly's UTM parameters (`tracking`). The booking then names the lead and the touch whose
link was used. Other URLs are left exactly as they are.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from agent.booking.events import REF_PARAM, UTM_SOURCE

CALCOM_HOSTS = ("cal.com", "cal.eu")


def _under(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def with_booking_ref(url: str, token: str) -> str:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return url
    if _under(host, "calendly.com"):
        extra = {"utm_source": UTM_SOURCE, "utm_content": token}
    elif any(_under(host, domain) for domain in CALCOM_HOSTS):
        extra = {f"metadata[{REF_PARAM}]": token}
    else:
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in extra]
    return urlunsplit(parts._replace(query=urlencode([*query, *extra.items()])))
