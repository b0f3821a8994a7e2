"""Auto-replies (out-of-office, away messages, delivery bots) are never a human reply."""

from __future__ import annotations

import pytest

from agent.qualifier import auto_reply_evidence, is_auto_reply, qualify

AUTO_REPLIES = [
    "I'm out of the office until Monday 12 May with limited access to email.",
    "Automatic reply: Out of office",
    "Thanks for your message, we will get back to you",
    "Thanks for your message! We will get back to you as soon as possible.",
    "This is an automated message. Please do not reply to this message.",
    "Hello! Thank you for contacting Bright Smiles Dental. We're currently away but will reply shortly 😊",
    "Message delivered. This number does not accept replies.",
    "Your message could not be delivered.",
    "Respuesta automática",
    "Respuesta automática: Estoy fuera de la oficina hasta el lunes.",
    "Gracias por comunicarte con Clínica Sonrisa. No podemos atenderte, te responderemos a la brevedad.",
    "Este es un mensaje automático, por favor no responda.",
    "Estoy de vacaciones hasta el 15 de agosto con acceso limitado al correo.",
    "Resposta automática",
    "Resposta automática: estou fora do escritório até segunda-feira.",
    "Este é um número automático",
    "Este é um número automático, não responda esta mensagem.",
    "Olá! Obrigado por entrar em contato. No momento não podemos atender, retornaremos em breve.",
    "Sua mensagem não pôde ser entregue.",
]

HUMAN_REPLIES = [
    "Thanks for your message, I'll ask my boss",
    "thanks for reaching out! yes I'm interested",
    "I'm out of the office today, call me tomorrow",
    "gracias por escribir, me interesa",
    "obrigado pela mensagem, quanto custa?",
    "what are your business hours?",
    "¿cuál es su horario de atención?",
    "I'm travelling until Monday, can we book a demo for Tuesday?",
    "we will get back to you after the board meeting",
]


@pytest.mark.parametrize("text", AUTO_REPLIES)
def test_auto_replies_are_detected(text: str) -> None:
    assert is_auto_reply(text), text
    assert auto_reply_evidence(text)
    result = qualify(text)
    assert result.intent == "auto_reply"
    assert not result.is_human_reply
    assert result.score == 0


@pytest.mark.parametrize("text", HUMAN_REPLIES)
def test_human_replies_that_look_like_auto_replies(text: str) -> None:
    assert qualify(text).intent != "auto_reply", auto_reply_evidence(text)


def test_auto_reply_leaves_the_previous_qualification_untouched() -> None:
    hot = qualify("I want to book a demo today, budget approved")
    after = qualify("I'm out of the office until Monday with limited access to email.", previous=hot)
    assert after.intent == "auto_reply"
    assert (after.score, after.timeline, after.budget, after.language) == (hot.score, hot.timeline, hot.budget, "en")
    assert after.reasons[: len(hot.reasons)] == hot.reasons


def test_auto_reply_with_an_unsubscribe_footer_is_still_an_auto_reply() -> None:
    # A responder's footer is not the lead asking to opt out.
    text = "Auto-reply: I am on vacation until June 3. To unsubscribe from our newsletter click here."
    assert qualify(text).intent == "auto_reply"
