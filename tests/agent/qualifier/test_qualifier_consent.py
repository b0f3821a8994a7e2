"""Opt-out, opt-in and HELP keywords in en/es/pt: true positives and the sentences that must not fire."""

from __future__ import annotations

import pytest

from agent.qualifier import is_help, is_opt_in, is_opt_out, opt_out_evidence, qualify

OPT_OUTS = {
    "en": [
        "STOP",
        "Stop. Thank you",
        "stop",
        "Stop!!!",
        "STOP STOP STOP",
        "ok STOP",
        "Stop please 🙏",
        "unsubscribe",
        "Unsubscribe me please",
        "unsuscribe",
        "remove me",
        "please remove me from your list",
        "take me off your mailing list",
        "don't text me again",
        "Do not contact me again",
        "stop messaging me",
        "Stop sending me these messages",
        "Quit texting me",
        "opt me out",
        "no more messages please",
        "leave me alone",
        "wrong number",
        "I don't want any more texts from you",
        "Please remove this number from your contacts",
        "STOPALL",
        "cancel",
        "END",
        "QUIT",
    ],
    "es": [
        "BAJA",
        "baja por favor",
        "darme de baja",
        "Quiero darme de baja",
        "dame de baja porfa",
        "no me escriban más",
        "no me escribas mas",
        "No me vuelvan a escribir",
        "no me manden mas mensajes",
        "dejen de escribirme",
        "dejen de mandarme mensajes",
        "sáquenme de su lista",
        "borren mi número",
        "eliminen mi numero de su base de datos",
        "no quiero recibir más mensajes",
        "basta de mensajes",
        "ya les dije que no me escribieran más",
        "desuscribirme",
        "número equivocado",
        "STOP por favor",
    ],
    "pt": [
        "SAIR",
        "sair",
        "parem de me mandar mensagem",
        "para de me mandar msg",
        "pare de me enviar mensagens",
        "descadastrar",
        "me descadastra",
        "não me mandem mais mensagens",
        "nao me manda mais nada",
        "me tira dessa lista",
        "me remove da lista",
        "quero sair da lista",
        "não quero mais receber mensagens",
        "chega de mensagem",
        "PARE",
        "parem de me contatar",
        "apaguem meu número",
        "não entrem mais em contato",
    ],
}

NOT_OPT_OUTS = [
    # the ones named in the issue
    "we need to stop losing leads",
    "can't stop thinking about it",
    "stop by the office tomorrow",
    "¿cuándo puedo pasar a darme una vuelta?",
    # the same words in ordinary sales conversation
    "I'll stop by on friday to see a demo",
    "Can I cancel anytime?",
    "what happens if I want to cancel my plan later?",
    "the messages stop after 24 hours right?",
    "Is there a stop button for the automation?",
    "we had to stop the campaign last month",
    "Non-stop messages from leads, we need help",
    "Stop losing leads - that's what your ad said, right?",
    "drop me a line with the price",
    "End of month works for us",
    "please don't email me, text me instead",
    "how do customers unsubscribe from the messages you send for us?",
    "can leads opt out by themselves?",
    "necesitamos dejar de perder clientes",
    "se puede cancelar en cualquier momento?",
    "para cuándo estaría listo?",
    "baja el precio si pago anual?",
    "la temporada baja es en junio",
    "no me mandaron la info que pedí",
    "no me llegan los mensajes",
    "basta con una llamada",
    "¿cómo se dan de baja los clientes?",
    "para quando fica pronto?",
    "a gente precisa parar de perder clientes",
    "posso cancelar quando quiser?",
    "quero sair do meu sistema atual",
    "vou sair mais cedo hoje, me liga amanhã",
    "não me mandaram o orçamento ainda",
    "não me manda mais áudio, prefiro texto",
    "chega amanhã?",
    "Chega de planilha! quero automatizar",
    "como o cliente faz pra sair da lista?",
]


@pytest.mark.parametrize(("language", "text"), [(lang, t) for lang, texts in OPT_OUTS.items() for t in texts])
def test_opt_out_true_positives(language: str, text: str) -> None:
    assert is_opt_out(text), text
    result = qualify(text, default_language=language)
    assert result.intent == "opt_out"
    assert result.score == 0
    assert opt_out_evidence(text)


@pytest.mark.parametrize("text", NOT_OPT_OUTS)
def test_opt_out_false_positives(text: str) -> None:
    assert not is_opt_out(text), opt_out_evidence(text)
    assert qualify(text).intent != "opt_out"


def test_opt_out_beats_everything_else_in_the_message() -> None:
    result = qualify("I wanted a demo but stop texting me now")
    assert result.intent == "opt_out"
    assert result.reasons == ("asks to stop messages ('stop texting me'): score set to 0",)


@pytest.mark.parametrize(
    "text",
    [
        "START",
        "unstop",
        "Subscribe",
        "resubscribe",
        "opt me back in",
        "you can text me again",
        "sí, quiero recibir",
        "quiero volver a recibir sus mensajes",
        "denme de alta",
        "ALTA",
        "quero voltar a receber",
        "quero voltar a receber as mensagens",
        "podem voltar a me mandar",
    ],
)
def test_opt_in(text: str) -> None:
    assert is_opt_in(text)


@pytest.mark.parametrize(
    "text",
    [
        "no quiero recibir mensajes",
        "não quero mais receber mensagens",
        "how do I start?",
        "yes",
        "start the demo tomorrow?",
        "STOP",
        "quero receber o orçamento hoje",
    ],
)
def test_not_opt_in(text: str) -> None:
    assert not is_opt_in(text)


@pytest.mark.parametrize("text", ["HELP", "help", "Help!", "AYUDA", "ayuda por favor", "AJUDA", "ajuda!"])
def test_help_keyword(text: str) -> None:
    assert is_help(text)


@pytest.mark.parametrize("text", ["help me choose a plan", "info", "necesito ayuda con el precio", "STOP"])
def test_not_help_keyword(text: str) -> None:
    assert not is_help(text)
