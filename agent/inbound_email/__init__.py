"""Inbound email: one shape for every way a lead's email reaches Nudge (an IMAP mailbox, Postmark,
SendGrid, Mailgun, Nudge's own signed JSON), and the plain decisions read from it: a reply, an
auto-reply (out-of-office) or a bounce (RFC 3464 delivery status notification).

What happens to the lead is decided in one place, `scheduler.email_inbound.handle_mail`.
"""

from agent.inbound_email.classify import Kind, auto_reply_reason, classify
from agent.inbound_email.mail import Bounce, InboundMail, provider_key
from agent.inbound_email.mime import from_rfc822

__all__ = ["Bounce", "InboundMail", "Kind", "auto_reply_reason", "classify", "from_rfc822", "provider_key"]
