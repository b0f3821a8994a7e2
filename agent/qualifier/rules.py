"""The weighted signal tables behind `qualify()`.

Each rule is a regular expression per language, written against folded text (see `_text.fold`:
lower case, no accents, shorthand expanded), that adds *evidence* to one intent and *points* to
the lead score. Evidence decides the intent; points make the 0–100 score and its reasons. They are
separate on purpose: "just looking" is strong evidence of researching yet worth 0 points, while
"timeline: today" is worth 15 points but says little about intent on its own.

Rules run in table order. A rule marked `consume` blanks out what it matched so later rules
cannot reuse the words: that is how negations work without look-behinds — "not interested" is
taken by the not-interested rule before the interest rule can see "interested", "ahora no" by the
not-now timeline before "ahora" can read as "today", "por la mañana" (in the morning) before
"mañana" can read as "tomorrow".

Patterns carry a language so that a matched rule is also a vote for that language: short
messages ("dejen de escribirme") often hold too few function words for `detect_language`.
Patterns shared by all three languages use "*".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

from agent.qualifier.model import Budget, Timeline

Evidence = Literal["hot", "researching", "question", "not_interested"]
Lang = Literal["en", "es", "pt", "*"]

# Points per signal key; a key scores once however many rules share it. `{}` in a label is the
# matched evidence.
POINTS: dict[str, tuple[int, str]] = {
    "replied": (5, "replied in person"),
    "meeting": (30, "asks for a call/demo/meeting"),
    "meeting_mention": (15, "mentions a call/meeting"),
    "buy": (30, "wants to buy / get started"),
    "quote": (20, "asks for a quote"),
    "interest": (10, "says they are interested"),
    "urgency": (10, "urgency ('{}')"),
    "timeline:today": (15, "timeline: today ('{}')"),
    "timeline:this_week": (12, "timeline: this week ('{}')"),
    "timeline:this_month": (8, "timeline: this month ('{}')"),
    "timeline:this_quarter": (4, "timeline: this quarter ('{}')"),
    "timeline:later": (-5, "timeline: later ('{}')"),
    "budget:approved": (20, "budget approved ('{}')"),
    "budget:mentioned_amount": (10, "mentions a budget amount ('{}')"),
    "budget:price_sensitive": (-5, "price sensitive ('{}')"),
    "q_price": (10, "asks about price"),
    "question": (5, "asks a specific question"),
    "r_looking": (0, "just looking"),
    "r_comparing": (5, "comparing options"),
    "r_exploring": (0, "still evaluating / will get back"),
    "r_decider": (5, "involves a decision maker"),
    "r_info": (5, "asks for information"),
    "r_maybe": (0, "undecided ('{}')"),
    "no_call": (0, "prefers not to be called ('{}')"),
    "not_interested": (-40, "not interested ('{}')"),
    "industry": (5, "mentions their business: {}"),
}


@dataclass(frozen=True, slots=True)
class Rule:
    key: str
    evidence: Evidence | None
    weight: float
    patterns: tuple[tuple[Lang, str], ...]
    consume: bool = False
    # Only counts when the message also carries hot evidence ("thursday" in "demo on thursday",
    # but not in "are you open on thursday?").
    needs_hot: bool = False


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    patterns: tuple[tuple[Lang, re.Pattern[str]], ...]


def _r(
    key: str,
    evidence: Evidence | None,
    weight: float,
    *,
    en: str = "",
    es: str = "",
    pt: str = "",
    any_lang: str = "",
    consume: bool = False,
    needs_hot: bool = False,
) -> Rule:
    patterns: list[tuple[Lang, str]] = []
    for lang, source in (("en", en), ("es", es), ("pt", pt), ("*", any_lang)):
        if source:
            patterns.append((lang, source))  # type: ignore[arg-type]
    return Rule(key, evidence, weight, tuple(patterns), consume, needs_hot)


_END = r"(?=\s*(?:$|[^\w\s']))"  # end of a clause: end of text or punctuation/emoji follows

# --------------------------------------------------------------------------------------------
# Intent rules, in evaluation order (consuming rules first).
# --------------------------------------------------------------------------------------------
INTENT_RULES: tuple[Rule, ...] = (
    _r(
        "not_interested",
        "not_interested",
        2.5,
        consume=True,
        en=r"\bno,? (thanks|thank you|ty)\b|\bnope\b|\bnah\b|\bnot (really |very |that )?interested\b"
        r"|\bno interest\b|\b(not|isn't) (for|right for) (us|me)\b|\bnot (a|the) (good |right )?fit\b"
        r"|\bnot what (we're|we are|i'm|i am) looking for\b|\bnot looking for (this|that|it|a|an|any)\b"
        r"|\b(we're|we are|i'm|i am) not looking\b"
        r"|\b(we're|we are|i'm|i am) (good|all set|covered|sorted)( thanks| thank you)?"
        + _END
        + r"|\b(we're|we are|i'm|i am) all good\b|\b(thanks|thank you) (anyway|though)\b|\bnot what (we|i) need\b"
        r"|\b(closed|shut down|sold|closing) (the|our|my) (business|company|shop|store|office)\b"
        r"|\b(don't|do not) have (a |any )?need\b"
        r"|\b(happy|satisfied|fine|ok) with (our|the|my|what we) (current|existing|have|use)\b"
        r"|\b(decided to )?(build|do|make|develop) (it |this )?(our own|ourselves|in-house)\b"
        r"|\bby (mistake|accident)\b"
        r"|\bwrong (form|button)\b|^no,? (sorry|sry)\b|\b(already )?solved (this|that|the|our) (problem|issue)\b"
        r"|\bnot something (we|i) need\b|\bclose (my|the|our) (request|inquiry|enquiry|ticket|file)\b"
        r"|\bbudget (got|was|has been|is) (cut|slashed)\b|\bwe're out" + _END + r"|\bno longer (a )?priority\b",
        es=r"\bno,? (muchas )?gracias\b|\bno (me|nos) interesa\b|\bno (estoy|estamos) interesad[oa]s?\b"
        r"|\bsin interes\b|\bno tengo interes\b|\bno es para (nosotros|mi)\b"
        r"|\bno es lo que (busco|buscamos|necesito|necesitamos)\b|\b(decidimos|preferimos) no\b|\bmejor no\b"
        r"|\b(estamos|estoy) bien (asi|por ahora)\b|\bestamos bien"
        + _END
        + r"|\bno (nos|me) sirve\b|\bnos quedamos con (lo|el|la|los|las) que (tenemos|ya tenemos)\b"
        r"|\bno creo que (lo |la )?(necesit\w+)\b|\b(ya )?no aplica\b"
        r"|\bcerr(amos|e) (el|la|nuestro|nuestra|mi) (local|negocio|empresa|tienda)\b"
        r"|\b(contentos|content[oa]|satisfech[oa]s?|felices) con (lo que|el que|la que|nuestro|nuestra|el actual)\b"
        r"|\b(lo|la) (vamos a hacer|hacemos|haremos) (nosotros|internamente|en casa)\b|\bnosotros mismos\b"
        r"|\bpor (error|equivocacion)\b|\bsin querer\b|\bni ahora ni (despues|nunca|luego)\b|^nop\b"
        r"|\bno somos (el|un|su) (cliente|perfil)\b|\bya (solucionamos|resolvimos|arreglamos)\b"
        r"|\brecort\w+ (el|nuestro) presupuesto\b"
        r"|\bno vamos a (seguir|avanzar|continuar|contratar)\b|\bcerrar (mi|la) (solicitud|consulta)\b"
        + r"|(?:^|[,.!] ?)paso\b|\bpaso,",
        pt=r"\bnao,? (obrigad[oa]|valeu|obrigado)\b|\bnao (tenho|temos) (mais )?interesse\b|\bsem interesse\b"
        r"|\bnao (me|nos) interessa\b|\bnao (estou|estamos) interessad[oa]s?\b"
        r"|\bnao (quero|queremos)(?=\s*(?:$|[^\w\s]|obrigad|valeu|nao))"
        r"|\bnao (e|eh) (pra|para) (gente|nos|mim)\b|\bnao faz sentido\b|\b(decidimos|preferimos) nao\b"
        r"|\bmelhor nao\b|\b(tamo|estamos|to|estou) (bem|de boa|tranquilo) assim\b|\b(tamo|estamos) de boa\b"
        r"|\bdispens(o|amos)\b|(?:^|[,.!] ?)passo\b|\bnao vai dar\b|\bnao precisa mais\b"
        r"|\b(nao|nem) vejo necessidade\b"
        r"|\bfech(amos|ei) (a|o|nossa|nosso|minha|meu) (empresa|loja|negocio|escritorio)\b"
        r"|\b(satisfeit[oa]s?|content[ea]s?|felizes) com (o que|a que|nosso|nossa|o atual|a atual)\b"
        r"|\b(vamos|vou) (fazer|resolver|desenvolver) (isso )?(internamente|aqui dentro|nos mesmos|por conta)\b"
        r"|\bsem querer\b|\bpor engano\b|\bnem agora nem (depois|nunca)\b|\bja uso (outr[oa]|um|uma)\b"
        r"|\bnao somos (o|um|seu) (cliente|perfil)\b|\bcort(aram|ou|amos) (o |nosso )?orcamento\b"
        r"|\bnao vamos (seguir|avancar|continuar|contratar)\b|\bencerr(ar|e) (minha|a) solicitacao\b",
    ),
    _r(
        "not_interested",
        "not_interested",
        2.5,
        consume=True,
        en=r"\b(already|just) (bought|purchased|hired|signed( up)? with|went with|chose|picked|found)\b"
        r"|\balready (have|got) (a|an|one|another|someone|something|our own|other|a system)\b"
        r"|\b(have|got) (one|someone|something) already\b"
        r"|\bwent with (another|a different|someone else|a competitor|other|a cheaper)\b"
        r"|\bsigned with\b|\bdecided (not to|to go with|against|to pass)\b"
        r"|\bchose (another|a different|someone else)\b"
        r"|\b(don't|do not|no longer) need\b|\bno need\b"
        r"|\b(we'll|we will|i'll|i will) pass\b(?! (it|this|that|them|along|on))"
        r"|\bsolved it\b|\bin[- ]house\b",
        es=r"\bno (lo |la |los )?(necesito|necesitamos)\b|\bya no (lo |la )?(necesito|necesitamos)\b"
        r"|\bya (compre|compramos|contrate|contratamos|elegimos|encontramos|resolvimos|lo resolvimos|cerramos con)\b"
        r"|\bya (tenemos|tengo) (proveedor|uno|otro|otra|alguien|quien|un proveedor|sistema|agencia)\b"
        r"|\blo resolvimos\b|\bya no\b",
        pt=r"\bnao (preciso|precisamos)\b|\bja nao (preciso|precisamos)\b"
        r"|\bja (comprei|compramos|contratei|contratamos|fechamos|fechei|resolvemos|resolvi|escolhemos)\b"
        r"|\bja (temos|tenho) (fornecedor|um|uma|outro|outra|alguem|empresa|agencia|parceiro|sistema)\b",
    ),
    _r(
        "r_exploring",
        "researching",
        2,
        consume=True,
        en=r"\bno (rush|hurry)\b|\bnot in a (rush|hurry)\b|\bnot a priority\b|\bnot sure yet\b",
        es=r"\bno hay (prisa|apuro)\b|\bsin (prisa|apuro)\b",
        pt=r"\bsem (pressa|urgencia)\b",
    ),
    _r(
        "r_decider",
        "researching",
        1,
        consume=True,
        en=r"\b(team|board|internal|staff|management|weekly|monthly|partners'?|our next|the next) meeting\b",
        es=r"\breunion (del equipo|de equipo|interna|de directorio|de socios|semanal|mensual)\b|\bproxima reunion\b",
        pt=r"\breuniao (da equipe|de equipe|interna|de diretoria|de socios|semanal|mensal)\b|\bproxima reuniao\b",
    ),
    # "Don't call me" and "a demo video" contain the words of a meeting request but are not one.
    _r(
        "no_call",
        None,
        0,
        consume=True,
        en=r"\b(don't|do not|please don't|pls don't|no need to|never) (call|phone|ring) (me|us)\b",
        es=r"\bno (me|nos) (llames|llamen|llame|marques|marquen)\b",
        pt=r"\bnao (me |nos )?(liga|ligue|liguem)\b",
    ),
    _r(
        "question",
        "question",
        1.5,
        consume=True,
        en=r"\bdemo (video|recording|link|account|version|site|page)s?\b|\b(video|recorded|pre-?recorded) demo\b",
        es=r"\b(video|grabacion) (de )?(la |una )?demo\b|\bdemo (grabada|en video)\b",
        pt=r"\b(video|gravacao) (da |de |uma )?demo\b|\bdemo gravada\b",
    ),
    # ---- hot ---------------------------------------------------------------------------------
    _r(
        "meeting",
        "hot",
        3,
        en=r"\b(book|schedule|set ?up|arrange|jump on|hop on|get on|organi[sz]e|request|want|like|need"
        r"|can we (have|do|get)|could we (have|do|get)|let's (have|do|get|set up|schedule|book)) (me "
        r"|us )?(in )?(for )?"
        r"(a |an |the |our |your )?(quick |short |free |brief |intro |\d+ ?min(ute)?s? )?"
        r"(demo|call|meeting|appointment|consult\w*|walkthrough|video ?call|zoom|meet|slot|onboarding|kick-?off)\b"
        r"|\b(can|could) (you|we) (do|set up|schedule|book|arrange|have) (a |an |the )?(quick |short |brief )?"
        r"(demo|call|meeting|zoom|meet|walkthrough|onboarding)\b"
        r"|\b(call|ring|phone) (me|us)\b(?! (crazy|old|when|if))"
        r"|\b(when|earliest|soonest)('s| is| can| could)? (we|you|i) (can |could )?(talk|speak|chat|meet|hop on"
        r"|jump on)\b"
        r"|\bgive (me|us) a (call|ring)\b"
        r"|\b(can|could) (someone|somebody|you|a rep|your team|your sales ?person|your sales team) (call|phone|ring"
        r"|contact) (me|us)\b"
        r"|\b(talk|speak|chat) (to|with) (someone|somebody|sales|your (sales )?team"
        r"|an? (person|human|rep|representative|salesperson|specialist|expert|consultant|agent|advisor))\b"
        r"|\b(get|put) (someone|somebody) on the phone\b|\bcan we (talk|speak|chat)\b",
        es=r"\b(agendar|agendemos|agendame|agenda|agende|programar|programemos|coordinar|coordinemos|tener|hacer"
        r"|hagamos"
        r"|organizar|reservar|sacar|pedir|solicitar|quiero|quisiera|necesito|necesitamos|podemos|podriamos|gustaria"
        r"|hay)"
        r" (\w+ ){0,2}?(demo|demostracion|llamada|reunion|cita|videollamada|asesoria|junta|zoom|meet|videoconferencia"
        r"|turno)\b"
        r"|\b(llam(a|e|en)(me|nos)|llamame|llameme|llamenme|llamanos|me (pueden|puedes|podrian|podes|puede|podria) "
        r"(llamar|marcar|contactar)|me (llaman|llamas|llama|marcan|marcas)|marcame|marquenme)\b"
        r"|\bhablar con (un |una |algun |el |la )?(asesor(a)?|vendedor(a)?|ejecutiv[oa]|persona|humano|agente"
        r"|comercial|encargad[oa]|especialista|alguien)\b|\b(podemos|podriamos) (hablar|platicar|conversar)\b",
        pt=r"\b(agendar|agenda|agende|marcar|marca|marque|marcamos|ter|fazer|organizar|reservar|quero|queria"
        r"|gostaria de"
        r"|preciso de|podemos|consegue|conseguimos|da pra|tem como) (\w+ ){0,2}?(demo|demonstracao|ligacao|reuniao"
        r"|call"
        r"|chamada|videochamada|visita|consultoria|meet|zoom|conversa)\b"
        r"|\b(me liga|me ligue|me liguem|liga pra mim|ligue pra mim|liga para mim|(pode|podem|poderia|poderiam"
        r"|consegue"
        r"|conseguem|voces conseguem) me ligar"
        r"|me (chama|chame|chamem) no (whatsapp|telefone))\b"
        r"|\bfalar com (um |uma |algum |o |a )?(consultor(a)?|vendedor(a)?|atendente|especialista|pessoa|humano"
        r"|comercial|representante|alguem)\b|\b(bora|vamos|podemos) (conversar|falar"
        r"|bater um papo|marcar)\b(?! (disso|sobre|internamente|com (o|a) (equipe|time)))",
    ),
    _r("meeting", "hot", 3, any_lang=r"\bdemo\b|\bdemostracion\b|\bdemonstracao\b"),
    _r(
        "meeting_mention",
        "hot",
        1.5,
        any_lang=r"\b(call|meeting|appointment|reunion|cita|llamada|reuniao|ligacao|videollamada|videochamada)\b",
    ),
    _r(
        "buy",
        "hot",
        3,
        en=r"\b(ready|want|wanna|would like|i'd like|we'd like|looking|going|decided) to (buy|purchase|sign up"
        r"|subscribe"
        r"|get started|start|move (ahead|forward)|go ahead|proceed|order|hire you|sign|pay)\b"
        r"|\blet's (do it|do this|go ahead|get started|start|move forward|proceed|go for it)\b"
        r"|\b(how|where) (do|can|should) (i|we) (sign up|pay|buy|purchase|order|sign|start|get started|subscribe)\b"
        r"|\bsend (me |us )?(over )?(the |an? |your )?(contract|invoice|payment link|agreement)\b"
        r"|\bsign (me|us) up\b|\b(we'll|i'll|we will|i will) take it\b|\bwhen can (we|i|you) start\b"
        r"|\bready to (go|roll|start)\b|\bmove (ahead|forward)\b|\bnext steps?\b"
        r"|\bsend (\S+ ){0,3}(contract|invoice|payment link|agreement)\b"
        r"|\b(we're|we are|i'm|i am) (signing|buying|purchasing)\b"
        r"|\blet's (set it up|set this up|sign|make it happen)\b|\b(i'm|we're|i am|we are) (convinced|sold)\b"
        r"|\b(want|need|take|get|go with|buy) the (\w+ ){0,2}(plan|package|subscription|license)\b"
        r"|\binvoice (me|us)\b"
        r"|\b(green light|go-ahead|go ahead from)\b|\bpaperwork\b|\bwhat do you need from (me|us)\b"
        r"|\bready when you are\b|\bhow do (we|i) (start|begin|get going)\b",
        es=r"\b(quiero|queremos|quisiera|quisieramos|vamos a|listo para|listos para|gustaria|necesito|necesitamos"
        r"|decidimos)"
        r" (comprar|contratar(lo|los)?|adquirir|empezar|arrancar|comenzar|suscribirme|pagar|cerrar|avanzar)\b"
        r"|\blo (quiero|compro|contrato|tomo)\b|\bme lo llevo\b"
        r"|\b(como|donde) (pago|compro|contrato|hago el pago|puedo pagar|puedo contratar|puedo comprar"
        r"|le hago para (contratar|comprar|pagar|empezar))\b|\bcuando (empezamos|arrancamos|comenzamos|iniciamos)\b"
        r"|\b(mandame|enviame|mandanos|envianos|pasame|envienme|mandenme|me mandas|me pasas|me envias) (el |la )?"
        r"(contrato|factura|link de pago|liga de pago|datos para pagar)\b|\b(siguiente|proximo) paso\b"
        r"|\b(mand|envi)(en|e|a)(me|nos)? (\S+ ){0,2}(contrato|factura|link de pago)\b"
        r"|\b(contratamos|lo compramos|lo contratamos|nos quedamos con (el|este|ese) plan)\b|\bcomo seguimos\b"
        r"|\bque sigue\b"
        r"|\b(link|liga|datos|cuenta|numero de cuenta) (para|de) (pagar|pago|deposito|transferencia)\b"
        r"|\b(a )?que cuenta (deposito|transfiero|pago)\b|\b(quiero|queremos) el (\w+ )?plan\b|\bluz verde\b"
        r"|\bme convenci\w+|\bcomo (arrancamos|empezamos|comenzamos|iniciamos)\b|\bque necesitan de (mi|nosotros)\b"
        r"|\bcuando (quieran|quieras|gusten) (empezamos|arrancamos|comenzamos)\b",
        pt=r"\b(quero|queremos|queria|gostaria de|vou|vamos|bora|pronto pra|pronta pra|prontos para|decidimos)"
        r" (comprar|contratar|fechar|assinar|comecar|adquirir|pagar)\b"
        r"|\bcomo (faco|fazemos|faz) (o |para |pra )?(pagamento|pagar|contratar|comprar|assinar|fechar)\b"
        r"|\bquando (comecamos|podemos comecar|a gente comeca)\b"
        r"|\b(manda|mande|envia|envie|me manda|me envia|me passa) (o |a )?(contrato|boleto|link de pagamento|fatura"
        r"|chave pix)\b"
        r"|\bproximos? passos?\b|(?:^|[,.!] ?)(fechado|fechou)\b|\ba gente assina\b"
        r"|\b(vamos|quero|queremos) (de |o )?plano\b|\b(me passa|manda|me manda) os dados\b|\bsinal verde\b"
        r"|\bme convenc\w+|\bcomo (a gente comeca|comecamos|iniciamos)\b"
        r"|\b(o que|que) (voces )?precisam de (mim|nos)\b"
        r"|\bquando (voces )?quiserem (a gente )?(comeca|comecamos)\b"
        r"|\b(manda|mande|envia|envie|me manda|me envia|me passa) (\S+ ){0,2}(contrato|boleto|link de pagamento"
        r"|fatura)\b",
    ),
    _r(
        "quote",
        "hot",
        3,
        en=r"\b(quote|quotation|estimate|proposal)\b",
        es=r"\bcotizacion(es)?\b|\bcotiza(me|nos|r)\b"
        r"|\b(pasa(me|nos)?|manda(me|nos)?|envia(me|nos)?|necesito|necesitamos"
        r"|quiero|quisiera|me (pasas|mandas|envias|das|haces|puedes (pasar|mandar|enviar|dar|hacer))|pedir|solicitar"
        r"|solicito|hacer(me)?|hagan(me)?) (un |el |una |la |me |nos )?(presupuesto|cotizacion)\b",
        pt=r"\bcotacao\b|\b(preciso de|precisamos de|quero|queria|gostaria de|manda|me manda|me envia|envia|pode me "
        r"(mandar|passar|enviar|fazer)|solicitar|pedir|fazer|faz|faca) (um |o |uma )?(orcamento|cotacao)\b",
    ),
    _r(
        "urgency",
        "hot",
        1,
        en=r"\basap\b|\burgent(ly)?\b|\bright away\b|\bas soon as possible\b|\bimmediately\b|\bsoonest\b"
        r"|\bin a hurry\b|\bcan't wait\b|\bneed (it|this) (yesterday|now|fast)\b|\bthe sooner the better\b",
        es=r"\burgente\b|\b(nos|me)? ?urge\b|\bya mismo\b|\blo antes posible\b|\bcuanto antes\b|\bde inmediato\b"
        r"|\binmediatamente\b|\bcon prisa\b|\btengo prisa\b|\blo mas rapido\b|\bahorita\b",
        pt=r"\burgente\b|\bo quanto antes\b|\bo mais rapido\b|\bpra ontem\b|\bcom pressa\b|\bimediatamente\b"
        r"|\b(comecar|resolver|fechar) logo\b",
    ),
    _r(
        "interest",
        "hot",
        1,
        en=r"\binterested\b|\bsounds (good|great|interesting|perfect)\b|\bi'm in" + _END + r"|\blove (it|this)\b"
        r"|\bthat's (exactly )?what (i|we) need\b",
        es=r"\b(me|nos) interesa\b|\binteresad[oa]s?\b|\bsuena (bien|genial|interesante)\b|\bme encanta\b"
        r"|\bes (justo )?lo que (necesito|necesitamos|busco|buscamos)\b",
        pt=r"\b(tenho|temos) interesse\b|\b(me|nos) interessa\b|\binteressad[oa]s?\b|\bgostei\b"
        r"|\bparece (bom|otimo|interessante)\b|\b(e|eh) (exatamente )?o que (preciso|precisamos)\b",
    ),
    # ---- researching -------------------------------------------------------------------------
    _r(
        "r_looking",
        "researching",
        3,
        en=r"\bjust (looking|browsing|checking|curious|wondering|asking|gathering|exploring|researching|seeing)\b"
        r"|\bonly looking\b|\bearly stages?\b|\bgathering (info|information)\b|\bshopping around\b"
        r"|\bwhat's out there\b",
        es=r"\bsolo (estoy |estamos )?(viendo|mirando|preguntando|cotizando|averiguando|chusmeando|checando"
        r"|curioseando|consultando|informandome)\b|\b(estoy )?viendo (que )?opciones\b|\bque opciones hay\b"
        r"|\bestoy cotizando\b|\bcotizando con\b",
        pt=r"\bso (estou |to |estamos )?(olhando|vendo|pesquisando|dando uma olhada|perguntando|cotando"
        r"|curiosidade)\b"
        r"|\b(so )?queria conhecer\b|\bpesquisando (precos|opcoes)\b|\bcotando\b",
    ),
    _r(
        "r_comparing",
        "researching",
        2,
        en=r"\bcompar(e|ing|ison)\b|\bother (options|vendors|providers|quotes|companies|solutions|tools)\b"
        r"|\balternatives\b|\b(several|few|some|couple of|\d) (vendors|options|providers|tools|agencies|companies)\b"
        r"|\b(evaluating|comparing|looking at|talking to|collecting|gathering) (\w+ )?(vendors|providers|options"
        r"|tools"
        r"|solutions|agencies|quotes|proposals)\b",
        es=r"\bcompar(ando|ar|amos)\b|\botr[oa]s (opciones|proveedores|empresas|alternativas|herramientas)\b"
        r"|\balternativas\b|\bvarias (opciones|herramientas|empresas)\b|\bcon varios\b",
        pt=r"\bcompar(ando|ar|amos)\b|\boutr[oa]s (opcoes|fornecedores|empresas|alternativas|ferramentas)\b"
        r"|\balternativas\b|\balgumas (opcoes|ferramentas|alternativas|empresas)\b",
    ),
    _r(
        "r_exploring",
        "researching",
        2,
        en=r"\bevaluat\w*|\bresearch\w*|\bexplor(e|ing)\b|\blooking into\b|\bconsidering\b|\bplanning\b"
        r"|\bthinking (about it|it over)\b"
        r"|\b(i'll|will|we'll|let me) (think|let you know|get back to you|keep you posted|circle back)\b"
        r"|\bkeep me (posted|updated|in the loop)\b|\brevisit\b|\bshort-?list\b|\bfiguring (out|it out)\b"
        r"|\b(might|may|will) reach out\b|\bsaving (this|it)\b|\bbookmark\w*|\bjust curious\b"
        r"|\b(still|will|to|haven't|have not) (deciding|decide|decided)\b",
        es=r"\bevaluando\b|\binvestigando\b|\banalizando\b|\baveriguando\b|\bexplorando\b"
        r"|\b(lo|la) (voy a pensar|pienso|pensare|pensamos|vamos a pensar)\b|\bpensandolo\b"
        r"|\b(te|le|les) (aviso|confirmo)\b|\b(lo|la) guardo\b|\bnada definido\b|\bando viendo\b"
        r"|\b(primero|antes) (quiero|quisiera|necesito) (ver|entender|conocer|probar)\b",
        pt=r"\bavaliando\b|\bpesquisando\b|\banalisando\b|\bestudando\b|\bvou (pensar|ver|analisar|avaliar)\b"
        r"|\bte (aviso|falo|retorno|dou um retorno)\b|\bdou uma olhada\b|\bpreciso pensar\b|\bdecidindo\b"
        r"|\bsalvei\b|\bnada fechado\b|\b(primeiro|antes) (quero|queria|preciso) (ver|entender|conhecer|testar)\b"
        r"|\b(to|estou|tô) vendo (varias|algumas|umas)\b",
    ),
    _r(
        "r_decider",
        "researching",
        2,
        en=r"\bmy (boss|manager|partner|wife|husband|director|cfo|ceo|business partner|co-?founder|board|supervisor"
        r"|accountant)\b|\brun (it|this) (by|past)\b|\bcheck with\b|\btalk (it over |this over )?with (my|the|our)\b"
        r"|\bforward (this|it) to\b|\bshow (it|this) to\b",
        es=r"\bmi (jefe|jefa|socio|socia|esposo|esposa|gerente|director|directora|equipo|pareja|marido|mujer|contador"
        r"|supervisor)\b|\b(consultar|consultarlo|revisar|revisarlo|verlo|hablarlo|comentarlo|platicarlo) con\b"
        r"|\bse lo (paso|muestro|comento|reenvio) a\b|\b(lo|la) (consulto|reviso|hablo|comento|platico) con\b",
        pt=r"\b(meu|minha) (chefe|socio|socia|esposa|esposo|marido|mulher|gerente|diretor|diretora|equipe|time|patrao"
        r"|contador)\b|\ba diretoria\b|\b(ver|falar|conversar|consultar|passar|mostrar|alinhar) (isso |isto )?"
        r"(com|pro|pra|para) (o |a |meu |minha )?(chefe|socio|socia|diretoria|gerente|esposa|marido|equipe|time"
        r"|diretor|patrao)\b",
    ),
    _r(
        "r_info",
        "researching",
        2,
        en=r"\bsend (me |us )?(some |more |any |the |a |your |over )*(info|information|details|brochure|material"
        r"|materials"
        r"|deck|case stud\w*|pdf|catalog(ue)?|pricing sheet|price list|presentation|overview|one-?pager|examples)\b"
        r"|\bmore (info|information|details)\b|\bemail me (the |some |more )?(info|details|information)\b",
        es=r"\b(mandame|enviame|me mandas|me envias|me pasas|pasame|envienme|mandenme|manden|envien|mandar|enviar"
        r"|me pueden (mandar|enviar|pasar)|me puedes (mandar|enviar|pasar))( mas)? (la |el |los |las |un |una "
        r"|algo de |mas |unos |algunos )*(info|informacion|detalles|catalogo|brochure|folleto|material|presentacion"
        r"|lista de precios|casos|ejemplos|casos de exito)\b"
        r"|\bmas (info|informacion|detalles)\b",
        pt=r"\b(me manda|manda|me envia|envia|mande|envie|me passa|passa|pode(m)? (me )?(mandar|enviar"
        r"|passar))( mais)?"
        r" (o |a |os |as |um |uma |mais |uns |alguns )*(informac\w*|info|detalhes|material|catalogo|apresentacao"
        r"|folder"
        r"|tabela|cases|exemplos|pdf)\b|\b(algum|tem algum|uns) cases?\b"
        r"|\bmais (informac\w*|info|detalhes)\b",
    ),
    _r(
        "r_maybe",
        "researching",
        1,
        en=r"\bmaybe\b|\bperhaps\b|\bprobably\b|\bmight\b",
        es=r"\bquizas?\b|\btal vez\b|\btalvez\b|\ba lo mejor\b|\bprobablemente\b",
        pt=r"\btalvez\b|\bquem sabe\b|\bprovavelmente\b",
    ),
    # ---- question ----------------------------------------------------------------------------
    _r(
        "q_price",
        "question",
        2,
        en=r"\bhow much\b|\bprices?\b|\bpricing\b|\bcosts?\b|\brates\b|\bfees?\b|\bcharge\b",
        es=r"\bcuanto (cuesta|sale|vale|cobran|cobra|es|seria|costaria|valen|cuestan|me sale)\b|\bcuanto\s*\?"
        r"|\bprecios?\b|\bcostos?\b|\btarifas?\b",
        pt=r"\bquanto (custa|e|sai|fica|cobra|cobram|seria|custaria)\b|\bquanto\s*\?|\bprecos?\b|\bvalor(es)?\b"
        r"|\bcustos?\b|\bmensalidade\b",
    ),
    _r(
        "question",
        "question",
        1.5,
        en=r"\bhow (does|do|long|many|can|would)\b|\btrial\b|\bintegrat\w*|\bsupport\b|\bhours\b|\bopen\b|\blocated\b"
        r"|\baddress\b|\bcontract\b|\bcancel\b|\bpayment\b|\bpay (in|with|by)\b|\binstall\w*|\bonboarding\b"
        r"|\bset ?up fee\b|\binclude[sd]?\b|\bspeak (english|spanish|portuguese)\b|\bspeaking\b",
        es=r"\bcomo funciona\b|\bprueba (gratis|gratuita)\b|\bintegra\b|\bsoporte\b|\bhorarios?\b|\babren\b"
        r"|\babiertos?\b"
        r"|\bubicad[oa]s?\b|\bdireccion\b|\bcontrato\b|\bcancelar\b|\bpago\b|\bcuotas\b|\btarjeta\b|\benvios?\b"
        r"|\bincluye\b|\biva\b|\bfactura\b|\bestacionamiento\b|\bcuanto tiempo\b",
        pt=r"\bcomo funciona\b|\bteste (gratis|gratuito)\b|\bintegra\b|\bsuporte\b|\bhorarios?\b|\babrem\b"
        r"|\bfuncionamento\b|\bendereco\b|\bcontrato\b|\bcancelar\b|\bfidelidade\b|\bpagamento\b|\bpix\b|\bcartao\b"
        r"|\bparcel\w*|\bentreg\w*|\binstalacao\b|\bdemora\b|\bquanto tempo\b|\batendem\b",
    ),
)

# A clause opening with a question word (greetings stripped) is a question even without "?".
_GREETING = (
    r"^(?:(?:hi|hello|hey|hola|buenas|buenos dias|buen dia|buenas tardes|oi|ola|bom dia|boa tarde|boa noite|ok|yo"
    r"|and|so|also|but|y|e|pero|mas|entonces|entao|quick q)\s+)*"
)
QUESTION_OPENERS: tuple[tuple[Lang, str], ...] = (
    (
        "en",
        _GREETING + r"((in|on|with|for|at) )?(how|what|what's|whats|when|where|which|who|why|do|does|did|is|are"
        r"|can|could|will|would|have|has|any)\b",
    ),
    (
        "es",
        _GREETING + r"((en|con|de|para|por|a) )?(que|cual|cuales|cuanto|cuanta|cuantos|como|cuando|donde|tienen|tiene"
        r"|tenes|hacen|aceptan|acepta|puedo|podemos|se puede|hay|hablan|funciona|incluye|trabajan|ofrecen"
        r"|manejan|atienden)\b",
    ),
    (
        "pt",
        _GREETING
        + r"((em|com|de|para|por|a) )?(qual|quais|quanto|quanta|como|quando|onde|tem|voces|voce|aceita|aceitam"
        r"|posso|podemos|da pra|e possivel|funciona|o valor|atendem|trabalham|fazem|existe|tem como)\b",
    ),
)

# --------------------------------------------------------------------------------------------
# Timeline: (category, specific?, rule). Generic "later" ("not now", "for now") loses to any
# specific date; among specific ones the most urgent wins ("later today" -> today).
# --------------------------------------------------------------------------------------------
TIMELINE_RULES: tuple[tuple[Timeline | None, bool, Rule], ...] = (
    (
        "later",
        False,
        _r(
            "timeline:later",
            "researching",
            2,
            consume=True,
            en=r"\bnot (right )?now\b|\bnot (at the moment|at this time|this (month|year|quarter|week)|today|yet)\b"
            r"|\bmaybe later\b|\bfor now\b|\blater on\b",
            es=r"\b(ahora|ahorita|hoy|por ahora|de momento|por el momento|todavia|aun|por lo pronto) no\b"
            r"|\bno (por )?(ahora|hoy|todavia|aun)\b|\bpor (ahora|el momento)\b|\bde momento\b",
            pt=r"\b(agora|hoje|por enquanto|no momento|ainda) nao\b|\bnao (agora|hoje|por enquanto|ainda)\b"
            r"|\bpor enquanto\b|\bno momento\b",
        ),
    ),
    # Words that look like dates but are not: "por la mañana" is "in the morning", not tomorrow.
    (
        None,
        False,
        _r(
            "neutral",
            None,
            0,
            consume=True,
            es=r"\b(por|en|de) la manana\b|\btodas las mananas\b|\bmanana y tarde\b",
            en=r"\bnow that\b|\bby now\b|\buntil now\b",
        ),
    ),
    (
        "today",
        True,
        _r(
            "timeline:today",
            None,
            0,
            consume=True,
            es=r"\besta manana\b",
        ),
    ),
    (
        "later",
        True,
        _r(
            "timeline:later",
            "researching",
            2,
            en=r"\bnext year\b|\blater (this|in the) year\b"
            r"|\bin (a few|some|several|\d{1,2}|six|five|four|nine|twelve) "
            r"(months|years)\b|\bafter the (holidays|summer|new year)\b|\bdown the (road|line)\b|\bin the future\b"
            r"|\bsomeday\b|\bnext (semester|half)\b",
            es=r"\b(el )?ano que viene\b|\b(el )?proximo ano\b|\bel otro ano\b"
            r"|\ben (unos|algunos|\d{1,2}|seis|cinco|cuatro)"
            r" (meses|anos)\b|\bdespues de (las )?(vacaciones|fiestas)\b|\ben el futuro\b|\balgun dia\b"
            r"|\bmas adelante\b"
            r"|\bel proximo semestre\b",
            pt=r"\b(o |no )?ano que vem\b|\b(o |no )?proximo ano\b"
            r"|\bdaqui (a )?(uns|alguns|\d{1,2}|seis|cinco|quatro) "
            r"(meses|anos)\b|\bfuturamente\b|\bno futuro\b|\bdepois das (ferias|festas)\b|\bproximo semestre\b"
            r"|\bmais (pra|para) frente\b|\bmais adiante\b",
        ),
    ),
    ("later", False, _r("timeline:later", "researching", 2, en=r"\blater\b")),
    (
        "today",
        True,
        _r(
            "timeline:today",
            None,
            0,
            en=r"\btoday\b|\btonight\b|\bthis (morning|afternoon|evening)\b|\bright now\b"
            r"|\b(call|talk|speak|meet|chat|start|buy|book|need it|available|free) (me |us )?now\b",
            es=r"\bhoy( mismo)?\b|\besta (tarde|noche)\b|\bahora( mismo)?\b|\bahorita( mismo)?\b|\bya mismo\b",
            pt=r"\bhoje( mesmo| ainda| a tarde| a noite)?\b|\bainda hoje\b|\bagora( mesmo)?\b|\bpra ontem\b"
            r"|\b(nesta|nessa|esta|essa) (tarde|noite)\b",
        ),
    ),
    (
        "this_week",
        True,
        _r(
            "timeline:this_week",
            None,
            0,
            en=r"\btomorrow\b|\bthis week\b|\bwithin (the next )?(a few|a couple of|\d|two|three) days\b"
            r"|\bin (a|two|2|3|three|a few|a couple of) days\b|\bend of (the )?week\b",
            es=r"\bmanana\b|\besta semana\b|\ben (estos|unos|un par de|\d|dos|tres) dias\b",
            pt=r"\bamanha\b|\b(essa|esta|nessa|nesta) semana\b|\bem (poucos|uns|alguns|\d|dois|tres) dias\b",
        ),
    ),
    (
        "this_week",
        True,
        _r(
            "timeline:this_week",
            None,
            0,
            needs_hot=True,
            en=r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
            es=r"\b(lunes|martes|miercoles|jueves|viernes|sabado|domingo)\b",
            pt=r"\b(segunda|terca|quarta|quinta|sexta)(-feira| feira)?\b|\b(sabado|domingo)\b",
        ),
    ),
    (
        "this_month",
        True,
        _r(
            "timeline:this_month",
            None,
            0,
            en=r"\bnext week\b|\bthis month\b|\bend of (the )?month\b|\bin (two|2|a couple of|a few|three|3) weeks\b"
            r"|\bwithin (a|the) month\b",
            es=r"\b(la )?(proxima|otra) semana\b|\bla semana que viene\b|\beste mes\b|\bfin(al)? de(l)? mes\b"
            r"|\ben (dos|2|tres|3|unas|un par de) semanas\b|\ben (15|quince) dias\b",
            pt=r"\b(a |na )?proxima semana\b|\b(na )?semana que vem\b|\b(esse|este|neste|nesse) mes\b"
            r"|\bfi(m|nal) do mes\b"
            r"|\bem (duas|2|tres|3|umas) semanas\b|\b(em|daqui a|daqui) 15 dias\b",
        ),
    ),
    (
        "this_quarter",
        True,
        _r(
            "timeline:this_quarter",
            None,
            0,
            en=r"\bnext month\b|\bthis quarter\b|\bnext quarter\b|\bq[1-4]\b"
            r"|\bin (a|one|two|2|three|3|a couple of) months?\b"
            r"|\bwithin (the next )?(two|three|2|3) months\b",
            es=r"\bel (proximo )?mes que viene\b|\bel proximo mes\b|\b(este|el proximo|proximo) trimestre\b"
            r"|\ben (un|dos|2|tres|3|un par de) mes(es)?\b",
            pt=r"\b(no |o )?mes que vem\b|\b(no |o )?proximo mes\b|\b(esse|este|neste|nesse|proximo) trimestre\b"
            r"|\b(em|daqui a|daqui) (um|dois|2|tres|3) mes(es)?\b",
        ),
    ),
)
TIMELINE_URGENCY: dict[Timeline, int] = {
    "today": 0,
    "this_week": 1,
    "this_month": 2,
    "this_quarter": 3,
    "later": 4,
}

# --------------------------------------------------------------------------------------------
# Budget: approved beats an amount beats price sensitivity when several appear.
# --------------------------------------------------------------------------------------------
# A bare amount starts only where its run of digits and separators starts (leading separators
# skipped): tried from every digit of "1,1,1,…" it would rescan the rest of the run each time.
_AMOUNT = (
    r"(?:[$€£]|r\$|us\$|\busd|\beur|\bmxn|\bbrl)\s?\d[\d.,]*\s?(?:k|mil|m)?\b"
    r"|(?<![\d.,])[.,]*+\b\d[\d.,]*\s?(?:k|mil|mill|millones|milhoes|thousand|grand)?\s?(?:dollars?|bucks|usd|euros?|eur|pesos|reais"
    r"|brl|mxn|dolares)\b"
    r"|\b(?:budget|presupuesto|orcamento|verba) (?:of|is|around|de|es|e|por|about|~)? ?(?:about |around |unos |uns )?"
    r"[$€£]?\d[\d.,]*\s?(?:k|mil)?\b"
)
BUDGET_RULES: tuple[tuple[Budget, Rule], ...] = (
    (
        "approved",
        _r(
            "budget:approved",
            "hot",
            2.5,
            consume=True,
            en=r"\bbudgets? (is |was |has been |already |got |now )*(approved|signed off|allocated|set aside|ready"
            r"|confirmed"
            r"|in place|secured)\b|\b(approved|allocated|confirmed|secured) (the |a |our )?budget\b"
            r"|\b(we|i) (have|got|'ve got|ve got) (the |our )?budget\b|\bset aside\b"
            r"|\b(boss|manager|cfo|ceo|director|finance|they|management) (already )?(approved|signed off on|okayed"
            r"|ok'd)"
            r" (the )?(budget|spend|spending|purchase|it)\b"
            r"|\b(money|price|budget|cost)('s| is) not (an issue|a problem|an object)\b",
            es=r"\bpresupuesto (ya )?(esta |fue )?(aprobado|asignado|listo|confirmado|autorizado)\b"
            r"|\b(tenemos|tengo|ya tenemos|contamos con) (el |un )?presupuesto\b"
            r"|\bel (dinero|precio) no es (problema|impedimento)\b"
            r"|\b(aprobaron|autorizaron|aprobo|autorizo) el presupuesto\b",
            pt=r"\b(orcamento|verba) (ja )?(esta |foi )?(aprovad[oa]|liberad[oa]|garantid[oa]|separad[oa]"
            r"|confirmad[oa])\b"
            r"|\b(temos|tenho|ja temos|ja tenho) (a |o )?(verba|orcamento)\b"
            r"|\b(dinheiro|preco) nao e problema\b|\b(aprovaram|liberaram|aprovou|liberou) (a verba|o orcamento)\b",
        ),
    ),
    ("mentioned_amount", _r("budget:mentioned_amount", "hot", 1, any_lang=_AMOUNT)),
    (
        "price_sensitive",
        _r(
            "budget:price_sensitive",
            None,
            0,
            en=r"\b(too|very|so|kinda|a bit|bit|really) (expensive|pricey|costly)\b|\bcheap(er|est)?\b|\bdiscount\w*"
            r"|\bpromo(tion)?s?\b|\b(tight|small|limited|low|no) budget\b|\bcan't afford\b|\bout of (our|my) budget\b"
            r"|\bbest price\b",
            es=r"\b(muy|bastante|algo|un poco|demasiado) caro\b|\bmas barat\w*|\bbarat\w*|\bdescuento\w*"
            r"|\bpromo(cion|ciones)?\b"
            r"|\b(poco|bajo|sin|no tenemos|no hay) presupuesto\b|\bno me alcanza\b|\bcaro para\b",
            pt=r"\b(muito|meio|bem|um pouco|mt) caro\b|\bcaro demais\b|\bmais barat\w*|\bbarat\w*|\bdesconto\w*"
            r"|\bpromo(cao|coes)?\b|\b(pouco|sem|nao temos|nao tem) (verba|orcamento|grana|dinheiro)\b"
            r"|\borcamento (apertado|curto|limitado)\b",
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# Industry: a light keyword guess for the summary; knowledge/ does real industry detection.
# --------------------------------------------------------------------------------------------
INDUSTRY_RULES: tuple[tuple[str, str], ...] = (
    ("dental", r"\bdent(al|ist|ists|ista|istas)\b|\bodonto\w*|\bclinica dental\b|\bortodon\w*|\bsmiles?\b|\bsonrisa\b"),
    (
        "real_estate",
        r"\breal estate\b|\brealtor\w*|\binmobiliari\w*|\bimobiliari\w*|\bcorretor\w*|\bbienes raices\b"
        r"|\bimoveis\b|\bpropiedades\b|\bproperty management\b",
    ),
    (
        "fitness",
        r"\bgyms?\b|\bgimnasio\b|\bcrossfit\b|\bpersonal trainer\b|\bacademia de ginastica\b|\bpilates\b"
        r"|\bfitness\b",
    ),
    (
        "beauty",
        r"\bsalon\b|\bsalao\b|\bbarber\w*|\bbarbearia\b|\bestetica\b|\bspa\b|\bnails?\b|\bunas\b"
        r"|\bcabeleireir\w*",
    ),
    ("restaurant", r"\brestaurant\w*|\bpizzeria\b|\bcafeteria\b|\blanchonete\b|\bhamburgueria\b|\btaqueria\b"),
    ("legal", r"\blaw firm\b|\blawyers?\b|\battorneys?\b|\babogad\w*|\bbufete\b|\badvogad\w*|\badvocacia\b"),
    (
        "automotive",
        r"\bdealership\b|\bcar dealer\b|\bauto ?shop\b|\bconcesionari\w*|\bagencia de autos\b"
        r"|\btaller mecanico\b"
        r"|\boficina mecanica\b|\bconcessionari\w*",
    ),
    (
        "healthcare",
        r"\bclinics?\b|\bclinicas?\b|\bmedical\b|\bmedic[oa]s?\b|\bconsultorio\b|\bhospital\b"
        r"|\bpsicolog\w*"
        r"|\bfisioterap\w*|\bphysio\w*|\bvet(erinar\w*)?\b",
    ),
    (
        "education",
        r"\bschool\b|\bescuela\b|\bcolegio\b|\bescola\b|\buniversit\w*|\bcursos?\b|\bcourses?\b"
        r"|\btutoring\b",
    ),
    (
        "ecommerce",
        r"\bonline store\b|\bshopify\b|\btienda (online|en linea|virtual)\b|\bloja (virtual|online)\b"
        r"|\be-?commerce\b",
    ),
    ("accounting", r"\baccount(ant|ing) firm\b|\bcontador(es)?\b|\bcontabilidad\b|\bcontabilidade\b|\bbookkeeping\b"),
    ("insurance", r"\binsurance\b|\bseguros\b|\baseguradora\b|\bcorretora de seguros\b"),
    ("construction", r"\bconstruction\b|\bcontractor\b|\bconstructora\b|\bconstrutora\b|\breformas?\b|\bremodel\w*"),
    ("optics", r"\boptic(a|al|s)\b|\boptometr\w*|\bglasses\b|\blentes\b|\boculos\b"),
)


@cache
def compiled_intent_rules() -> tuple[CompiledRule, ...]:
    # Compiled on first use rather than at import: importing the package stays cheap.
    return tuple(_compile(rule) for rule in INTENT_RULES)


@cache
def compiled_timeline_rules() -> tuple[tuple[Timeline | None, bool, CompiledRule], ...]:
    return tuple((cat, specific, _compile(rule)) for cat, specific, rule in TIMELINE_RULES)


@cache
def compiled_budget_rules() -> tuple[tuple[Budget, CompiledRule], ...]:
    return tuple((cat, _compile(rule)) for cat, rule in BUDGET_RULES)


@cache
def compiled_openers() -> tuple[tuple[Lang, re.Pattern[str]], ...]:
    return tuple((lang, re.compile(p)) for lang, p in QUESTION_OPENERS)


@cache
def compiled_industries() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((name, re.compile(p)) for name, p in INDUSTRY_RULES)


def _compile(rule: Rule) -> CompiledRule:
    return CompiledRule(rule, tuple((lang, re.compile(src)) for lang, src in rule.patterns))
