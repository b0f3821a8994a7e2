"""Answers to touch 6: "Shall I close your file? Reply 1 to keep it open, 2 to close it"."""

from __future__ import annotations

import pytest

from agent.qualifier import parse_breakup_answer

CASES = {
    # the numbered options
    "1": "keep_open",
    "1️⃣": "keep_open",
    "option 1": "keep_open",
    "1 please": "keep_open",
    "2": "close",
    "2️⃣": "close",
    "opción 2": "close",
    "2 por favor": "close",
    "opção 2": "close",
    # yes/no answer the question "shall I close your file?" -> yes = close, no = keep open
    "yes": "close",
    "Yes!!": "close",
    "sí": "close",
    "si": "close",
    "sim": "close",
    "ok": "close",
    "claro": "close",
    "pode": "close",
    "sure": "close",
    "no": "keep_open",
    "No.": "keep_open",
    "não": "keep_open",
    "nao": "keep_open",
    "nope": "keep_open",
    # explicit wording
    "keep it open": "keep_open",
    "please keep my file open": "keep_open",
    "déjalo abierto": "keep_open",
    "mantenlo abierto porfa": "keep_open",
    "deixa aberto": "keep_open",
    "don't close it": "keep_open",
    "no lo cierres": "keep_open",
    "não feche": "keep_open",
    "still interested": "keep_open",
    "sigo interesado": "keep_open",
    "ainda tenho interesse": "keep_open",
    "close it": "close",
    "ciérralo": "close",
    "cierralo porfa": "close",
    "pode fechar": "close",
    "not interested": "close",
    "ya no me interesa": "close",
    "não tenho interesse": "close",
    "not now": "not_now",
    "ahora no": "not_now",
    "agora não": "not_now",
    "later": "not_now",
    "más adelante": "not_now",
    "mais tarde": "not_now",
    "maybe next year": "not_now",
    "keep it open but not now": "not_now",
    # Portuguese "fechar" is also closing a deal
    "quero fechar!": "keep_open",
    "vamos fechar o contrato": "keep_open",
}


@pytest.mark.parametrize(("text", "expected"), list(CASES.items()))
def test_breakup_answers(text: str, expected: str) -> None:
    assert parse_breakup_answer(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # THE TRAP: "yes" answers "shall I close?" -> close, but an explicit statement wins.
        ("yes", "close"),
        ("yes, still interested!", "keep_open"),
        ("sí, sigo interesado", "keep_open"),
        ("sim, ainda tenho interesse", "keep_open"),
        ("yes, close it", "close"),
        ("no", "keep_open"),
        ("no, close it", "close"),
        ("no, ciérralo", "close"),
        ("não, pode fechar", "close"),
    ],
)
def test_yes_no_trap(text: str, expected: str) -> None:
    assert parse_breakup_answer(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "no thanks",
        "no gracias",
        "não, obrigado",
        "1 or 2?",
        "close it, maybe later",
        "hmm",
        "who is this?",
        "keep it open... actually close it",
    ],
)
def test_ambiguous_answers_are_none(text: str) -> None:
    assert parse_breakup_answer(text) is None


def test_opt_out_reads_as_close() -> None:
    # Callers check is_opt_out() first; should they not, closing is the safe reading.
    assert parse_breakup_answer("STOP") == "close"
    assert parse_breakup_answer("no me escriban más") == "close"
