"""Synthetic leads: who they are and how they behave when Nudge writes to them."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

LINES = {
    "en": {
        "first": [
            "Hi, I'd like to know the price for your service",
            "Hello! Looking for help with more patients for my clinic",
            "Hi, can you send me info about your plans?",
            "Hey, I saw your ad. How does it work?",
        ],
        "hot_first": [
            "I want to book a demo today, budget approved",
            "We need this now. Can someone call me this afternoon? Budget is approved",
        ],
        "question": ["How much does it cost per month?", "Do you offer a free trial?"],
        "researching": [
            "Just looking at options for next quarter, thanks",
            "We're comparing a few providers, I'll get back to you",
        ],
        "not_interested": ["No thanks, we already went with someone else"],
        "stop": ["Stop. Thank you", "STOP", "please remove me from this list"],
        "keep_open": ["1"],
        "close": ["2"],
        "hot_later": ["Ok, let's do it. Can we talk tomorrow morning? I'm ready to buy"],
    },
    "es": {
        "first": [
            "Hola, quisiera saber el precio del servicio",
            "Buenas, necesito información sobre los planes",
            "Hola! Vi su anuncio, cómo funciona?",
        ],
        "hot_first": ["Quiero agendar una demo hoy, ya tenemos presupuesto aprobado"],
        "question": ["¿Cuánto cuesta al mes?", "¿Tienen prueba gratis?"],
        "researching": ["Estoy viendo opciones para el próximo trimestre, gracias"],
        "not_interested": ["No gracias, ya contratamos a otra empresa"],
        "stop": ["BAJA", "no me escriban más por favor"],
        "keep_open": ["1"],
        "close": ["2"],
        "hot_later": ["Listo, quiero contratar. ¿Me llaman mañana?"],
    },
    "pt": {
        "first": [
            "Oi, quanto custa o serviço?",
            "Olá, preciso de informações sobre os planos",
            "Bom dia! Vi o anúncio, como funciona?",
        ],
        "hot_first": ["Quero agendar uma demonstração hoje, orçamento aprovado"],
        "question": ["Quanto custa por mês?", "Vocês têm teste grátis?"],
        "researching": ["Estou só pesquisando opções para o próximo trimestre, obrigado"],
        "not_interested": ["Não, obrigado, já fechamos com outra empresa"],
        "stop": ["parem de me mandar mensagem", "SAIR"],
        "keep_open": ["1"],
        "close": ["2"],
        "hot_later": ["Fechado, quero contratar. Podem me ligar amanhã?"],
    },
}

# (number prefix, length of a full number with '+', timezone): leads live in several zones.
TIMEZONES = {
    "en": [("+1415", 12, "America/Los_Angeles"), ("+1212", 12, "America/New_York"), ("+44207", 13, "Europe/London")],
    "es": [("+3460", 12, "Europe/Madrid"), ("+5255", 13, "America/Mexico_City"), ("+57300", 13, "America/Bogota")],
    "pt": [("+55119", 14, "America/Sao_Paulo"), ("+35191", 13, "Europe/Lisbon")],
}


def phone_number(prefix: str, length: int, index: int) -> str:
    return prefix + str(index).zfill(length - len(prefix))


@dataclass
class Reaction:
    """What the persona does when touch `at_touch` (or any agent message, for 0) reaches them."""

    at_touch: int
    kind: str  # reply | click | stop | convert
    line: str = ""  # key into LINES for replies
    delay: timedelta = timedelta(minutes=7)


@dataclass
class Persona:
    name: str
    language: str
    entry: str  # whatsapp | form
    first_line: str
    reactions: list[Reaction] = field(default_factory=list)
    display_name: str = ""  # a real-looking name for the demo; generated leads use behaviour + number
    phone_prefix: str = "+1415"
    phone_length: int = 12
    timezone: str = "America/Los_Angeles"


BEHAVIOURS = [
    ("silent", 30),
    ("replies_at", 20),
    ("clicks", 10),
    ("asks_question", 10),
    ("opts_out", 8),
    ("hot_buyer", 7),
    ("not_interested", 5),
    ("breakup_close", 5),
    ("converts_after_offer", 5),
]


def make_persona(rng: random.Random, index: int) -> Persona:
    language = rng.choices(["en", "es", "pt"], weights=[55, 25, 20])[0]
    prefix, length, tz = rng.choice(TIMEZONES[language])
    behaviour = rng.choices([b for b, _ in BEHAVIOURS], weights=[w for _, w in BEHAVIOURS])[0]
    lines = LINES[language]
    entry = rng.choice(["whatsapp", "whatsapp", "form"])
    first = rng.choice(lines["hot_first"] if behaviour == "hot_buyer" else lines["first"])
    persona = Persona(
        name=behaviour,
        language=language,
        entry=entry,
        first_line=first,
        phone_prefix=prefix,
        phone_length=length,
        timezone=tz,
    )
    delay = timedelta(minutes=rng.randint(2, 240))
    if behaviour == "replies_at":
        touch = rng.choice([2, 3, 4, 5])
        persona.reactions.append(Reaction(touch, "reply", rng.choice(["researching", "question"]), delay))
    elif behaviour == "clicks":
        persona.reactions.append(Reaction(rng.choice([3, 4, 5]), "click", delay=delay))
    elif behaviour == "asks_question":
        persona.reactions.append(Reaction(1, "reply", "question", delay))
    elif behaviour == "opts_out":
        persona.reactions.append(Reaction(rng.choice([1, 2, 3, 4]), "reply", "stop", delay))
    elif behaviour == "not_interested":
        persona.reactions.append(Reaction(rng.choice([2, 3]), "reply", "not_interested", delay))
    elif behaviour == "breakup_close":
        persona.reactions.append(Reaction(6, "reply", rng.choice(["close", "keep_open"]), delay))
    elif behaviour == "converts_after_offer":
        persona.reactions.append(Reaction(5, "click", delay=delay))
        persona.reactions.append(Reaction(5, "convert", delay=delay + timedelta(days=1)))
    return persona
