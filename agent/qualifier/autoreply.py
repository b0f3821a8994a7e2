"""Auto-reply detection: out-of-office, vacation responders, WhatsApp Business away/greeting
messages and delivery bots.

An auto-reply must never count as the lead replying (it would pause the cadence and send a rep a
"hot" lead that is on holiday). The cues are scored because no single phrase is conclusive in
both directions:

* **strong** cues (2 points) only machines write: "Respuesta automática", "auto-reply",
  "this is an automated message", "limited access to email", "upon my return",
  "este é um número automático", "this number does not accept replies", "do not reply".
* **weak** cues (1 point) are what away messages are made of but a person could also write:
  thanking for *the contact* ("thank you for contacting us", "gracias por comunicarte"), the
  business promising a reply in the first person plural ("we will get back to you",
  "te responderemos", "retornaremos"), being away/closed/unavailable, stating business hours, and
  a return date ("until Monday", "hasta el lunes", "até segunda").

A message is an auto-reply at 2 points. A lead writing "Thanks for your message, I'll ask my
boss" scores 1 (the promise is singular and about something else) and stays a human reply; a
lead saying "I'm out of the office today, call me tomorrow" has no second cue and stays human.
"""

from __future__ import annotations

import re
from functools import cache

from agent.qualifier._text import fold

_STRONG = (
    # en
    r"\bauto(matic|mated)?[- ]?(reply|response|responder|answer|message)\b|\bautoreply\b",
    r"\bthis is an? (automated|automatic|auto-generated|automatically generated) (message|reply|response|text"
    r"|email)\b",
    r"\b(please )?(do not|don't) reply( to)? (this|to this) (message|email|e-mail|number|text|sms)\b",
    r"\blimited (access|connectivity)\b|\b(upon|on) my return\b|\bi no longer work (at|for|with)\b",
    r"\bno longer (with|at|employed (at|by)) (the company|\w+)\b",
    r"\b(this|the) (number|mailbox|inbox|line|account|address) (is not|is no longer|isn't) (monitored|in use|checked"
    r"|active)\b"
    r"|\b(number|line|channel|account) is (only )?(used )?(for|only for) (outgoing |automated )?(notifications|alerts"
    r"|updates)\b"
    r"|\b(notifications|alerts) only\b"
    r"|\b(this|the) (number|mailbox|inbox|line|account) (is unmonitored|does not accept|doesn't accept|is unattended"
    r"|cannot receive|can't receive|does not receive)\b",
    r"\b(automatic|automated) (confirmation|notification|notice)\b"
    r"|\b(confirmacion|notificacion|aviso) automatic[oa]\b"
    r"|\b(confirmacao|notificacao|aviso) automatic[oa]\b",
    r"\b(could not|couldn't|cannot|can't) be delivered\b|\bdelivery (has )?failed\b"
    r"|\bno (pudo|se pudo|puede) (ser )?entregar?\w*"
    r"|\bnao (pode|pode ser|foi|pude) (ser )?entregue\b|\bfalha (na|de) entrega\b",
    r"\bmessage (delivered|undeliverable)\b|\bdelivery (status )?notification\b|\bmailer-daemon\b"
    r"|\b(generated|sent) automatically\b|\bautomatically (generated|sent)\b",
    # es
    r"\brespuesta automatica\b|\bmensaje automatico\b|\bcontestador automatico\b",
    r"\b(este|esto) es un (mensaje|correo|numero|canal|sistema) automatico\b",
    r"\bacceso limitado\b|\ba mi regreso\b",
    r"\beste (numero|canal|correo) no (recibe|acepta|responde|es monitoreado)\b"
    r"|\b(numero|canal) (de|para|solo para|solo de|exclusivo (de|para)) (notificaciones|avisos|envios)\b"
    r"|\bno (recibimos|aceptamos|respondemos) mensajes\b"
    r"|\b(solo|solamente|unicamente) (para )?(el )?(envio de )?(notificaciones|avisos)\b",
    r"\b(por favor,? )?no (responda|responder|contestes|conteste) (a )?este (mensaje|correo|numero)\b"
    r"|\bpor favor,? no (responda|responder|contestes|conteste)\b|\b(generado|enviado) automaticamente\b",
    r"\bmensaje entregado\b",
    # pt
    r"\bresposta automatica\b|\bmensagem automatica\b",
    r"\b(este|esse|esta|essa) (e|eh) (um|uma) (numero|atendimento|canal|mensagem) automatic[oa]\b"
    r"|\bnumero automatico\b",
    r"\bacesso limitado\b|\bao meu retorno\b",
    r"\b(este|esse) (numero|canal) nao (recebe|aceita|responde)\b"
    r"|\b(numero|canal) (e )?(apenas|somente|so|exclusivo) (para|de) (notificac\w*|avisos|envios)\b"
    r"|\bnao (recebemos|aceitamos|respondemos) mensagens\b"
    r"|\b(somente|apenas|so) (para )?(o )?(envio de )?(notificac\w*|avisos)\b",
    r"\b(por favor,? )?nao (responda|responder) (a )?(esta|essa) mensagem\b|\bfavor nao responder\b"
    r"|\b(gerada|enviada|gerado|enviado) automaticamente\b",
    r"\bmensagem (foi )?entregue\b",
)

_WEAK = (
    # thanks for the contact (what an away message opens with)
    r"\b(thanks|thank you) for (your (message|email|e-mail|enquiry|inquiry|patience)|contacting( us)?|reaching out"
    r"|getting in touch|writing( to us| in)?)\b",
    r"\b(gracias|muchas gracias) por (tu|su) (mensaje|correo|email|comunicacion|contacto|consulta|paciencia)\b"
    r"|\bgracias por (comunicarte|comunicarse|contactar\w*|escribirnos|ponerte en contacto)\b",
    r"\b(obrigad[oa]|agradecemos) (pelo|por seu|pela sua|pela|por sua) (contato|mensagem)\b"
    r"|\bobrigad[oa] por (entrar em contato|nos contatar|escrever|nos escrever)\b"
    r"|\bagradecemos (o |a )?(seu|sua) (contato|mensagem)\b|\b(thanks|thank you) for (messaging|texting)( us)?\b"
    r"|\bgracias por escribir\b",
    # the business promises to answer later
    r"\bwill (respond|reply) to (your |all |any )?(messages|emails|e-mails)\b"
    r"|\b(support )?team is (currently )?(offline|unavailable|away)\b"
    r"|\b(an? )?(agent|advisor|representative) will (reply|respond|contact you|get back)\b"
    r"|\bwe('ll| will) (text|message|call|write|email) you back\b"
    r"|\bwe('ll| will| shall)( get back to you| respond| reply| be in touch| contact you| answer| be back)\b"
    r"|\bwill (reply|respond|answer|get back to you)\b.{0,40}\b(when i return|when i'm back|on my return|as soon as"
    r"|shortly|within)\b",
    r"\b(our team|someone from our team|one of our (agents|team members|advisors)|a team member"
    r"|a member of our team) will\b",
    r"\b(te|le|les|lo|la) (responderemos|contestaremos|atenderemos|contactaremos|escribiremos|respondemos|contestamos"
    r"|atendemos)\b"
    r"|\bse pondra en contacto\b|\bnuestro equipo te\b"
    r"|\bte respondo (en cuanto|apenas|lo antes|cuando) (pueda|posible|regrese|vuelva)\b"
    r"|\b(te|le) (contestamos|respondemos|escribimos) (apenas|en cuanto|cuando|pronto|el|manana)\b"
    r"|\b(te|le|les) (escribimos|contactamos|llamamos) (pronto|en breve|a la brevedad|manana)\b|\brespondere\b",
    r"\b(retornaremos|responderemos|entraremos em contato|retornamos|responderei|retornarei|respondemos)\b"
    r"|\bum atendente\b|\bnossa equipe (ira|vai)\b|\bassim que possivel (retorno|respondo|retornarei)\b"
    r"|\bretorno assim que\b"
    r"|\b(um de )?nossos atendentes\b|\bira responder\b|\b(voce )?sera atendid[oa]\b",
    # away, closed, unavailable
    r"\b(i am|i'm) (currently )?out sick\b|\boff sick\b"
    r"|\b(i am|i'm|we are|we're) (currently )?(away|offline|on (vacation|holiday|leave|pto|annual leave"
    r"|maternity leave|parental leave|a break)|travell?ing|unavailable|closed)\b"
    r"|\b(team|office) is (currently )?(unavailable|closed)\b|\baway from (my|the) (desk|office|phone)\b"
    r"|\bout of (the )?office\b",
    r"\b(estoy|estamos) (de vacaciones|fuera de (la oficina|horario)|cerrados|ausentes?)\b"
    r"|\b(en este momento|ahora mismo|por el momento) no (estoy|estamos|podemos|puedo) (disponibles?|atender\w*"
    r"|responder)\b"
    r"|\bno me encuentro\b|\bfuera de (la )?oficina\b|\bfuera de horario\b"
    r"|\b(todos )?nuestros (asesores|agentes|operadores|ejecutivos) (estan|se encuentran) ocupados\b",
    r"\b(estou|estamos) (de ferias|fora do escritorio|ausentes?|fora do horario)\b"
    r"|\bno momento (nao (podemos|posso|estamos|estou)|estou ausente|estamos ausentes)\b"
    r"|\bfora do (escritorio|horario)\b|\bausente\b|\bnao posso responder\b|\bestamos fechados\b"
    r"|\b(todos )?(os )?nossos (atendentes|consultores|agentes) (estao|se encontram) ocupados\b"
    r"|\b(licenca|licencia) (maternidade|paternidade|medica|maternidad|paternidad|medica)\b"
    r"|\bme encuentro de licencia\b",
    # business hours statements
    r"\b(our|office|business|opening) hours are\b|\b(during|outside( of)?) (our )?(business|office|opening) hours\b"
    r"|\bhorario de (atencion|atendimento|oficina)\b|\bnuestro horario\b|\bnosso horario\b|\bhorario habil\b"
    r"|\bproximo dia util\b|\bbusiness day\b",
    # a return date
    r"\b(until|till|back on|back in|returning on|returning|will be back|i'll be back|back the|will return( on)?)\b",
    r"\b(hasta el|regreso el|regreso|volvere|estare de vuelta|a partir del|vuelvo el|vuelvo (a la oficina )?el)\b",
    r"\b(ate (o dia |dia )?\d{1,2}|ate (segunda|terca|quarta|quinta|sexta|sabado|domingo)|volto (em|no dia|dia|na|no)"
    r"|retorno (em|no dia|dia|na|no))\b"
    r"|\bate (janeiro|fevereiro|marco|abril|maio|junho|julho|agosto|setembro|outubro|novembro|dezembro)\b",
    # message received / wait
    r"\bwe( have|'ve)? received your (message|email|request)\b"
    r"|\b(hemos recibido|recibimos) (tu|su) (mensaje|correo|solicitud|consulta)\b"
    r"|\b(recebemos|recebi) (sua|a sua|seu) (mensagem|contato|email)\b|\bsua mensagem foi recebida\b|\baguarde\b"
    r"|\b(your|the) (message|email|request) (has been|was|is) received\b"
    r"|\b(su|tu) (mensaje|correo) (fue|ha sido) recibido\b",
    # what an out-of-office says about urgent matters
    r"\bfor (urgent|anything urgent|urgent matters|urgent requests|emergencies)\b|\b(para|en caso de) urgencias?\b"
    r"|\b(em caso de|para) urgencias?\b|\burgencias?\s*:",
    r"\bhow can (we|i) help( you)?\b|\ben que (podemos|te podemos|le podemos|puedo) (ayudar|servir)\b"
    r"|\bcomo (podemos|posso) (te |lhe )?ajudar\b",
)


_GREETING = re.compile(_WEAK[-1])


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], ...], tuple[re.Pattern[str], ...]]:
    # Compiled on first use; each weak cue is its own pattern because they are counted.
    return tuple(re.compile(p) for p in _STRONG), tuple(re.compile(p) for p in _WEAK)


def auto_reply_cues(text: str) -> tuple[bool, list[str]]:
    """(any strong cue?, matched cues) — the cues are empty unless they add up to an auto-reply."""
    folded = fold(text)
    strong, weak = _patterns()
    found: list[str] = []
    for pattern in strong:
        match = pattern.search(folded)
        if match:
            found.append(match.group(0))
    strong_hits = len(found)
    for pattern in weak:
        match = pattern.search(folded)
        if match:
            found.append(match.group(0))
    points = 2 * strong_hits + (len(found) - strong_hits)
    # People ask questions, away messages rarely do — except the business greeting itself.
    if "?" in folded and not strong_hits and not _GREETING.search(folded):
        points -= 1
    return strong_hits > 0, (found if points >= 2 else [])


def auto_reply_evidence(text: str) -> list[str]:
    """Matched cues (strong ones first); empty when `text` reads like a person wrote it."""
    return auto_reply_cues(text)[1]


def is_auto_reply(text: str) -> bool:
    """True for out-of-office/vacation responders, away messages and delivery bots."""
    return bool(auto_reply_cues(text)[1])
