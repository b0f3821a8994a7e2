"""Consent keywords: opt-out, opt-in (resubscribe) and HELP, in English, Spanish and Portuguese.

Opt-out must be honoured the moment it is expressed, so recall matters — but a false positive
silently ends a live sales conversation, so precision matters too ("we need to stop losing
leads" is a hot lead, not an opt-out). Two tiers keep both:

1. **Commands** — the message, or one sentence of it, is nothing but an opt-out keyword once
   punctuation, emojis and politeness are removed: "STOP", "Stop. Thank you", "baja por favor",
   "SAIR". A keyword inside a longer sentence ("stop by the office tomorrow") is not a command.
   Twilio's default SMS opt-out keywords (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, OPTOUT,
   REVOKE) count only as the *whole* message, mirroring what the carrier itself enforces; the
   ambiguous ones ("cancel", "end", "para", "chega") never count inside a sentence.
2. **Phrases** — natural-language requests that name the act of messaging or the list:
   "stop texting me", "no me escriban más", "parem de me mandar mensagem", "me tira da lista".
   They are anchored on a messaging verb or a list/number object, so "can't stop thinking about
   it" or "¿cuándo puedo pasar a darme una vuelta?" never match.

Phrases are disarmed in two cases: a channel/format preference ("don't email me, text me
instead", "não me manda mais áudio, prefiro texto"), and a business asking about *its* customers
("how do customers unsubscribe?", "como o cliente faz pra sair da lista?"). Commands never are.

A wrong-number reply ("wrong number", "número equivocado") is treated as an opt-out: the person
is not the lead and must not be messaged again.
"""

from __future__ import annotations

import re
from functools import cache

from agent.qualifier._text import bare, clauses, fold

# Whole message only (after `bare`): Twilio's keyword list plus single-word commands in es/pt.
_WHOLE_MESSAGE_OPT_OUT = frozenset(
    {
        "stop",
        "stopall",
        "stop all",
        "unsubscribe",
        "unsub",
        "cancel",
        "end",
        "quit",
        "optout",
        "opt out",
        "revoke",
        "stop it",
        "stop texting",
        "stop messaging",
        "stop sending",
        "baja",
        "de baja",
        "la baja",
        "dar de baja",
        "alto",
        "cancelar",
        "basta",
        "no mas",
        "no more",
        "sair",
        "parar",
        "pare",
        "parem",
        "paren",
        "para",
        "descadastrar",
        "descadastra",
        "descadastre",
        "remover",
        "chega",
    }
)
# One sentence of a longer message ("Stop. Thank you", "ok, STOP"): only unambiguous commands.
_CLAUSE_OPT_OUT = frozenset(
    {
        "stop",
        "stopall",
        "stop all",
        "stop it",
        "stop now",
        "unsubscribe",
        "unsub",
        "optout",
        "opt out",
        "baja",
        "de baja",
        "dar de baja",
        "sair",
        "pare",
        "parem",
        "paren",
        "paren ya",
        "eliminame",
        "borrame",
        "me remove",
        "me remova",
        "me exclui",
        "me exclua",
        "descadastrar",
        "stop please",
    }
)

_OPT_OUT_PHRASES: dict[str, tuple[str, ...]] = {
    "en": (
        r"\bun-?sub\b|\bun-?su[bs]{1,2}c?r?ib\w*",
        r"\bopt(ing)? (me )?out\b|\boptout\b",
        r"\b(remove|delete|erase) (me|us|(my|this|the) (phone |cell |mobile )?(number|email|e-mail|contact|details"
        r"|data|info))\b",
        r"\b(don't|do not|never) want (to (get|receive) )?(any )?(more |further )?(texts|messages|msgs|emails|sms"
        r"|calls)\b",
        r"\btake (me|us|my (number|email)) off\b",
        r"\b(don't|do not|never|pls don't|please don't) (ever )?(text|txt|message|msg|contact|email|e-mail|spam"
        r"|bother|whatsapp|ping)(ing)? (me|us|this number|my number)( again| anymore| any more|$|[.!,])",
        r"\b(stop|quit|cease) (sending|texting|txting|messaging|msging|contacting|emailing|e-mailing|calling|spamming"
        r"|bothering|harass\w*|pinging|writing to) (me|us|this number|my (phone|number|cell))\b",
        r"\b(stop|quit|cease) (sending|texting|messaging|emailing|spamming)( me| us)?( (these|those|the|all|your|any"
        r"|this|such))?( (automated |automatic |marketing |promotional )?(messages?|msgs?|texts?|emails?|sms|spam"
        r"|stuff|crap|junk))\b",
        r"\b(stop|quit) (texting|messaging|contacting|emailing|spamming|sending)\s*(?:$|[.!,;])",
        r"\bno more (messages|msgs|texts|emails|sms|spam|calls)\b",
        r"\bstop (these|those|the|all|your|this|such|all these|all the) (automated |marketing "
        r"|promotional )?(messages|msgs|texts|emails|sms|spam)\b",
        r"\bleave me alone\b|\blose my number\b|\bwrong number\b",
    ),
    "es": (
        r"\bno (me|nos) (vuelv(an|as|a|ieran) a |sig(an|as|a|uieran) )?(escrib(an|as|a|ir|iendo|ieran|ieras|iera)"
        r"|mand(en|es|e|ar|ando|aran|aras|ara)|envi(en|es|e|ar|ando|aran|aras|ara)|contact(en|es|e|ar|ando|aran|aras"
        r"|ara)|molest(en|es|e|ar|ando|aran|ara)|spame(en|es|e|ar|ando)|text(een|ees|ear))\b",
        r"\bdej(en|a|e) de (escribir|mandar|enviar|contactar|llamar|molestar|spamear|mensajear)(me|nos)?\b",
        r"\bdejar de (escribir|mandar|enviar|contactar|llamar|molestar)(me|nos)\b",
        r"\bparen de (escribir|mandar|enviar|contactar|llamar|molestar)(me|nos)?\b",
        r"\b(darme|darnos|dame|danos|denme|denos|deme|den|da|me doy) de baja\b"
        r"|\bdar de baja (mi|el|este) (numero|contacto|correo|suscripcion|telefono)\b",
        r"\bde baja (este|mi|el|nuestro) (numero|telefono|contacto|correo|celular)\b",
        r"\bme (quiero|quisiera|puedes|pueden|podrian|podes) dar de baja\b",
        r"\b(quiero|quisiera|solicito|pido) (la|mi) baja\b",
        r"\bbaja (de|del) (la |esta |su |tu )?(lista|suscripcion|envio|newsletter|boletin|base)\b",
        r"\b(saqu(en|e)(me|nos)|sacame|sacanos|borr(en|a|e)(me|nos)|elimin(en|a|e)(me|nos)|quit(en|a|e)(me|nos)) (de"
        r"|del)( (la|las|su|tu|esta|sus|tus|el|todas|todos|estas))* (lista|listas|base|bases|registro|contactos|grupo"
        r"|sistema)\b",
        r"\b(borr|elimin|quit)(en|a|e) (mi|mis|este|el) (numero|correo|telefono|contacto|celular|email|datos)\b",
        r"\bno quiero (recibir |seguir recibiendo )?(mas )?(mensajes|correos|mails|emails|sms|whatsapps?"
        r"|notificaciones|publicidad|promociones|spam)\b",
        r"\bno quiero (seguir )?recibi(r|endo) (mas|nada|ningun)",
        r"\bno quiero que me (escriban|manden|envien|contacten|sigan|molesten)\b",
        r"\b(ya )?basta de (mensajes|mensaje|correos|spam|escribir(me)?|mandar(me)?)\b",
        r"\bno mas (mensajes|correos|spam|whatsapps?)\b",
        r"\bdesuscrib\w*|\bdesinscrib\w*|\b(cancelar|anular) (la |mi )?suscripcion\b",
        r"\bnumero equivocado\b|\bse equivocaron de numero\b",
    ),
    "pt": (
        r"\b(pare|parem|para) de (me |nos )?(mandar|enviar|manda|mandando|enviando|ligar|ligando|incomodar|encher"
        r"|perturbar|escrever|chamar|spam+ar|mensagear|contatar|contactar|procurar)\b",
        r"\bparar de (me|nos) (mandar|enviar|ligar|incomodar|escrever|chamar)\b",
        r"\b(nao|nunca) (me |nos )?(mand|envi|lig|contat|procur|cham|escrev|perturb|incomod)\w* mais\b",
        r"\bnunca mais (me |nos )?(mand|envi|lig|contat|procur|cham|escrev|perturb|incomod)",
        r"\bnao (me |nos )?(mand|envi)(e|em|a) (mais )?(mensage\w*|msgs?|nada|sms|emails?|e-mails?|whatsapp"
        r"|propaganda|promoc\w*|spam)\b",
        r"\bnao (entr(e|em)|fa(ca|cam)) mais (em )?contato\b"
        r"|\bnao (entr(e|em)|fa(ca|cam)) (em )?contato (comigo )?mais\b",
        r"\b(tira|tire|tirem|remove|remova|removam|exclua|excluam|exclui|apaga|apague|apaguem|retira|retire|retirem"
        r"|descadastra|descadastre|descadastrem)( (me|nos))? (da|dessa|desta|de sua|do|desse|deste|de|das"
        r"|dos)( (todas|todos|as|os|sua|suas|essas|estas))* (lista|listas|base|bases|cadastro|grupo|contatos|mailing"
        r"|sistema)\b",
        r"\b(apaga|apague|apaguem|remova|removam|exclua|excluam|remove|retire|retira|tira|tire|tirem) (o )?(meu|meus"
        r"|este|esse) (numero|contato|email|e-mail|telefone|cadastro|celular|dados)\b",
        r"\bdescadastr\w*|\bdesinscrev\w*|\bcancelar (a |minha )?inscricao\b",
        r"\b(nao|nunca mais) quero (mais )?receber (mais )?(mensage\w*|msgs?|nada|sms|emails?|e-mails?|propaganda"
        r"|promoc\w*|spam|contato)\b",
        r"\bnao quero mais (mensage\w*|msgs?|contato|receber)\b",
        r"\b(quero |queria |gostaria de )?sair da (sua |tua )?(lista|base)\b",
        r"\bchega de (mensage\w*|msgs?|spam|mandar|enviar|me mandar)\b",
        r"\bnumero errado\b",
    ),
}

# A message that redirects to another channel or format ("don't email me, text me instead",
# "não me manda mais áudio, prefiro texto") is a preference, not an opt-out.
_REDIRECT = re.compile(
    r"\binstead\b|\ben su lugar\b|\bmejor (por|al|a mi)\b|\bmelhor (pelo|por|no)\b|\bprefi(ro|ero)\b"
    r"|\bi('d| would)? (rather|prefer)\b"
)
# A business asking how *its* customers opt out ("how do customers unsubscribe?") is a product
# question: a third party named shortly before the phrase, in the same sentence, disarms it.
_THIRD_PARTY = re.compile(
    r"\b(customers?|clients?|leads?|people|users?|contacts?|subscribers?|recipients?|they|them|their|clientes?"
    r"|usuarios?|contatos?|contactos?|ellos|ellas|eles|elas|destinatarios?)\b[^.!?\n]{0,40}$"
)

_WHOLE_MESSAGE_OPT_IN = frozenset(
    {
        "start",
        "unstop",
        "subscribe",
        "resubscribe",
        "re-subscribe",
        "opt in",
        "optin",
        "alta",
        "de alta",
        "dar de alta",
        "reactivar",
        "reativar",
        "voltar",
        "start again",
        "iniciar",
    }
)
_OPT_IN_PHRASES = (
    r"\b(opt|sign) me (back )?in\b|\bopt (back )?in\b",
    r"\bre-?subscribe\b|\bsubscribe me( again| back)?\b",
    r"\b(want|like|happy) to (receive|get|hear|keep getting|start getting) (your |the )?(messages|texts|updates"
    r"|emails|news|offers)( again)?\b",
    r"\byou can (text|message|contact|write to|email) me again\b|\bstart (sending|texting|messaging)( me)?( again)?\b",
    r"\bsi,? quiero recibir\b"
    r"|\bquiero (volver a )?recibir (sus |tus |los |las )?(mensajes|correos|novedades|info\w*|promociones|ofertas)\b",
    r"\b(dar(me)?|dame|denme) de alta\b|\bvolver a (recibir|suscribirme)\b|\bsuscribirme (de nuevo|otra vez)\b",
    r"\bpueden (volver a )?(escribirme|contactarme|mandarme)( de nuevo| otra vez)\b"
    r"|\bpueden volver a (escribirme|contactarme|mandarme)\b",
    r"\b(quero|queria|gostaria de) (voltar a )?receber (as |suas |os |de novo )?(mensage\w*|msgs|novidades|promoc\w*"
    r"|ofertas|informac\w*)\b",
    r"\bvoltar a receber\b|\bquero voltar\b|\bpode(m)? voltar a (me )?(mandar|enviar|contatar|escrever)\b",
    r"\bpode(m)? (me )?(mandar|enviar) (de novo|novamente)\b",
)

_HELP = frozenset({"help", "help me", "ayuda", "ajuda", "aiuda", "socorro", "ayudame", "me ajuda"})


# The language each single-word command belongs to (None: shared, e.g. "para", "stop").
_COMMAND_LANGUAGE: dict[str, str] = {
    **dict.fromkeys(
        (
            "baja",
            "de baja",
            "la baja",
            "dar de baja",
            "alto",
            "cancelar",
            "basta",
            "no mas",
            "paren",
            "paren ya",
            "eliminame",
            "borrame",
        ),
        "es",
    ),
    **dict.fromkeys(
        (
            "sair",
            "parar",
            "pare",
            "parem",
            "descadastrar",
            "descadastra",
            "descadastre",
            "remover",
            "chega",
            "me remove",
            "me remova",
            "me exclui",
            "me exclua",
        ),
        "pt",
    ),
    **dict.fromkeys(
        (
            "unsubscribe",
            "unsub",
            "cancel",
            "end",
            "quit",
            "optout",
            "opt out",
            "revoke",
            "no more",
            "stop it",
            "stop now",
            "stop please",
            "stop texting",
            "stop messaging",
            "stop sending",
        ),
        "en",
    ),
}


@cache
def _opt_out_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    # Compiled on first use (not at import): one alternation per language, so a match also
    # tells the qualifier which language the lead wrote in.
    return tuple(
        (lang, re.compile("|".join(f"(?:{p})" for p in phrases))) for lang, phrases in _OPT_OUT_PHRASES.items()
    )


@cache
def _opt_in_pattern() -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in _OPT_IN_PHRASES))


def _command(text: str) -> str:
    # "STOP STOP STOP", "baja baja": a repeated command is the same command.
    words = bare(text).split()
    return " ".join(w for i, w in enumerate(words) if i == 0 or w != words[i - 1])


def opt_out_match(text: str) -> tuple[str, str | None] | None:
    """(evidence, language or None) when `text` is an opt-out request, else None."""
    folded = fold(text)
    whole = _command(folded)
    if whole in _WHOLE_MESSAGE_OPT_OUT:
        return whole, _COMMAND_LANGUAGE.get(whole)
    for clause in clauses(folded):
        command = _command(clause)
        if command in _CLAUSE_OPT_OUT:
            return command, _COMMAND_LANGUAGE.get(command)
    if _REDIRECT.search(folded):
        return None
    for lang, pattern in _opt_out_patterns():
        match = pattern.search(folded)
        if match is not None and not _THIRD_PARTY.search(folded[: match.start()]):
            return match.group(0).strip(), lang
    return None


def opt_out_evidence(text: str) -> str | None:
    """The words that make `text` an opt-out request, or None. See the module docstring."""
    found = opt_out_match(text)
    return found[0] if found else None


def is_opt_out(text: str) -> bool:
    """True when the sender asks for no more messages ("STOP", "no me escriban más", "sair")."""
    return opt_out_evidence(text) is not None


def is_opt_in(text: str) -> bool:
    """True when the sender asks to receive messages again (START, UNSTOP, "quero voltar a receber").

    A bare "YES" is not an opt-in here even though Twilio's SMS opt-in keywords include it: in a
    sales conversation "yes" answers whatever was asked last. An opt-out phrase always wins
    ("no quiero recibir mensajes" contains "quiero recibir mensajes").
    """
    folded = fold(text)
    if is_opt_out(text):
        return False
    if bare(folded) in _WHOLE_MESSAGE_OPT_IN:
        return True
    return _opt_in_pattern().search(folded) is not None


def is_help(text: str) -> bool:
    """True for the HELP keyword in any of the three languages (HELP, AYUDA, AJUDA), alone.

    "INFO", a Twilio help keyword, is deliberately not one: a lead writing "info" wants product
    information, and a question like "can you help me choose a plan?" is a question, not HELP.
    """
    return bare(fold(text)) in _HELP
