"""The precise side of act reading: rules that decide alone, and cue flags the learned model weighs.

Rules that decide alone are the ones whose mistakes are expensive and whose wording is closed:
auto-replies (`agent.qualifier.autoreply`), opt-outs (`agent.qualifier.consent`, rule-first as
everywhere in Nudge) and instruction attempts (`agent.llm.injection`). Everything else is decided
by the learned model, which sees the message's embedding *and* the cue flags below — the
offline qualifier's intent, a question mark, a named date, yes/no/thanks openers — so that a
clear cue and the meaning of the sentence vote together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache

from agent.acts.deferral import parse_deferral
from agent.llm.injection import injection_cues
from agent.qualifier import Qualification
from agent.qualifier import qualify as _qualify
from agent.qualifier._text import bare, fold
from agent.qualifier.autoreply import auto_reply_cues
from agent.qualifier.consent import opt_out_match

# Cue name -> pattern over folded text. Each is one input of the learned model (0 or 1).
_CUES: dict[str, str] = {
    "yes_opener": r"^\W*(yes+|yeah|yep|yup|ya|sure|ok(ay)?|absolutely|definitely|sounds good|si+|sip|claro|dale"
    r"|por supuesto|obvio|de una|sale|sim+|pode ser|com certeza|uhum|bora|beleza|isso( mesmo)?|fechado|perfect"
    r"|perfeito|perfecto|of course|go ahead)\b",
    "no_opener": r"^\W*(no+|nope|nah|not really|never|nao|nop|nops|nunca|la verdad no|na verdade nao|not yet"
    r"|todavia no|ainda nao|aun no)\b",
    "thanks": r"\b(thanks?|thank you|thx|ty|cheers|gracias|grax|obrigad[oa]|valeu|vlw|agradec\w*|appreciate)\b",
    "greeting": r"^\W*(hi+|hello|hey|hola+|buenas|buen dia|buenos dias|oi+|ola|bom dia|boa tarde|boa noite"
    r"|good (morning|afternoon|evening)|que tal|tudo bem)\b",
    "person": r"\b(human|humano|person|persona|pessoa|rep|agent|asesor|atendente|consultor|encargad[oa]|responsavel"
    r"|manager|gerente|vendedor|carne y hueso|someone|alguien|alguem|sales|ventas|comercial)\b",
    "price": r"\b(price|pricing|cost|costs|charge|charging|how much|cuanto|precio|costo|cobran|vale|sale|valor|preco"
    r"|custa|custo|quanto|mensalidade|fee|cheap\w*|barat\w*|expensive|caro|budget|presupuesto|orcamento|afford"
    r"|alcanza|grana|plata|dinheiro|money|pago|pagamento|payment|paid|free|gratis)\b|\$|💸",
    "time_named": r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|lunes|martes|miercoles|jueves"
    r"|viernes|sabado|domingo|segunda|terca|quarta|quinta|sexta|today|tomorrow|hoy|hoje|manana|amanha|tonight"
    r"|morning|afternoon|tarde|noon|midday|mediodia|meio dia|lunchtime|lunch|almorzar|almuerzo|almoco|\d{1,2} ?(am|pm"
    r"|h|hs)|at \d|a las \d"
    r"|as \d{1,2})\b",
    "bot": r"\b(bot|robot|robo|ai|ia|automated|automatico|human|humano|real person|persona real|pessoa de verdade)\b",
    "trust": r"\b(scam|estafa\w*|golpe|trust|confio|too good|demasiado bueno|bom demais|reviews?|referencias"
    r"|depoimentos|burned|engan\w*|never heard|nunca (escuche|ouvi))\b",
    "later": r"\b(not now|later|ahora no|agora nao|mas adelante|mais pra frente|mais tarde|check back|reach out"
    r"|get back to me|revisit|retom\w*|de nuevo|de novo|again|not the right time|no es buen momento"
    r"|nao e um bom momento|escribeme|escribime|me chama|me procura|ping me|text me|talk in|hablamos en"
    r"|falamos)\b",
    "availability": r"\b(are you|r u|you) (free|available|around)\b|\b(estas|estan|esta) (libre|disponible)s?\b"
    r"|\b(vc|voce|voces|tu) (ta|esta|estao|tas) (livre|disponivel)\b|\b(bora|vamos|podemos) marcar\b"
    r"|\b(video ?call|videollamada|videochamada|zoom|meet|call|llamada|ligacao|ligar|llamar|llam\w+me)\b",
    "asks": r"^\W*(how|what|whats|when|where|which|who|why|do|does|did|can|could|is there|are there|any|explain"
    r"|como|que|q|cuanto|cuanta|cuando|donde|cual|tienen|hay|puedo|tengo q(ue)?|me (devuelven|explicas|explica)"
    r"|o que|quanto|quando|onde|qual|tem|preciso|da pra|devolvem|voces)\b",
    "refusal": r"\b(doesnt need|doesn't need|does not need|no necesita\w*|nao precisa\w*|not interested|no (me"
    r"|nos) interesa|nao tenho interesse|no thanks|no gracias|nao obrigad\w*"
    r"|already|ya (tenemos|contratamos)|ja (temos|contratamos)|another company|otra empresa|outra empresa"
    r"|in house|internamente|pass|paso|dispenso|not for us|no es para|nao e pra)\b",
}

_QUESTION_TOPICS: tuple[tuple[str, str], ...] = (
    (
        "guarantee",
        r"\b(guarantee\w*|garantia|garantiza\w*|garantem|refund|money back|devol\w*|cancel\w*|contract"
        r"|contrato|permanencia|fidelidade|leave whenever|if it doesnt work|si no funciona|se nao funcionar"
        r"|what if it doesnt|y si no|e se nao)\b",
    ),
    (
        "price",
        r"\b(price|pricing|cost|charg\w*|how much|cuanto (cuesta|sale|cobran|vale|me saldria|al)|precio|costo"
        r"|cobran|valor|preco|custa|quanto (custa|sai|fica|cobram|e|por)|mensalidade|fee|cheapest|barato|free plan"
        r"|plan gratis|plano gratis|pago|payment)\b|\$|💸",
    ),
    (
        "location",
        r"\b((serve|work with|atienden|trabajan con|atendem|trabalham com) (\w+ )?(clients|clientes|businesses"
        r"|empresas|customers|companies) (in|en|em|from|de)|where|located|based|office in|donde|ubicad\w*|oficina en"
        r"|onde|escritorio em|outside|fuera de"
        r"|fora d[oe]|local\b|de espana|de portugal|tienen gente en|alguem em)\b",
    ),
    (
        "timing",
        r"\b(how long|how fast|how many days|turnaround|when could|cuanto (tarda|tiempo|demoran)|en cuanto"
        r"|cuando podrian|cuantos dias|quanto tempo|em quanto|quando voces|quantos dias|setup take)\b",
    ),
)
_OBJECTION_TOPICS: tuple[tuple[str, str], ...] = (
    ("trust", _CUES["trust"]),
    (
        "price",
        r"\b(expensive|caro|budget|presupuesto|orcamento|afford|alcanza|grana|plata|cheaper|baratas?"
        r"|a lot for|es mucho|e muito)\b",
    ),
)


@lru_cache(maxsize=256)
def qualify(text: str) -> Qualification:
    """The offline qualifier's reading, once per text (the act rules consult it several times)."""
    return _qualify(text)


@cache
def _compiled() -> dict[str, re.Pattern[str]]:
    return {name: re.compile(pattern) for name, pattern in _CUES.items()}


@cache
def _compiled_topics() -> tuple[tuple[tuple[str, re.Pattern[str]], ...], tuple[tuple[str, re.Pattern[str]], ...]]:
    return (
        tuple((name, re.compile(p)) for name, p in _QUESTION_TOPICS),
        tuple((name, re.compile(p)) for name, p in _OBJECTION_TOPICS),
    )


FEATURES: tuple[str, ...] = (
    "q_hot",
    "q_not_interested",
    "q_question",
    "q_researching",
    "q_vague",
    "meeting_rule",
    "question_mark",
    "date_named",
    "auto_reply_cue",
    "injection_cue",
    "short",
    *_CUES,
)


@dataclass(frozen=True, slots=True)
class Decided:
    """A rule's verdict that no model may overturn."""

    act: str
    evidence: str
    topic: str | None = None


# "Are you a bot?" is a question about us, not a request for a person; a request verb ("can I talk
# to a human") makes it one.
_BOT_QUESTION = (
    r"\b(are|r) (you|u) (a |an )?(human|bot|robot|real( person)?|ai|machine|person)\b"
    r"|\bis (this|it) (a |an )?(bot|robot|real person|automated|ai|human|person|machine)\b"
    r"|\bam i (talking|chatting|speaking) (to|with) (a |an )?(bot|robot|human|real person|person|machine|ai)\b"
    r"|\b(eres|sos|es) (un |una )?(humano|bot|robot|real|persona( real)?|ia|maquina)\b"
    r"|\b(estoy|estamos) hablando con (un |una )?(bot|robot|humano|maquina|persona|ia)\b"
    r"|\besto es (un bot|automatico|un robot)\b"
    r"|\b(vc|voce|tu|isso) (e|eh) (um |uma )?(humano|robo|bot|pessoa|ia|automatico)\b"
    r"|\b(to|estou|tou) falando com (um |uma )?(robo|bot|humano|pessoa|maquina|ia)\b"
    r"|^\W*(e|eh) (um )?(bot|robo)\b"
)
_REQUEST_PERSON = r"\b(talk|speak|chat|hablar|falar|pasame|passa|connect|comunicame|put me|transfer)\b"

# Asking for a human: a person noun next to a request ("talk to a real person", "pasame con un
# humano", "tem algum atendente humano?").
_PERSON = (
    r"\b(talk|speak|chat) (to|with) (a |an |your |some |the )?(real |actual )?(person|human|rep|representative"
    r"|manager|agent|someone|somebody|salesperson|owner)\b"
    r"|\b(need|want) (a |an |to talk to a )?(real )?(human|person)\b|\b(put me through|connect me|transfer me)\b"
    r"|\b(a|your|can a) (rep|representative|salesperson|sales rep|human|person) (text|call|contact|email|write)"
    r"|\bis there (a|any|someone|somebody) (real )?(person|human|one)?\b.{0,20}\b(talk|speak)\b"
    r"|\bhablar con (una |un |el |la |algun |alguna )?(persona|humano|encargad[oa]|asesor|vendedor|gerente|alguien"
    r"|ejecutiv[oa]|dueno)\b"
    r"|\b(necesito|quiero) (un |una )?(humano|persona real|persona)\b|\b(pasame|comunicame|paseme|comuniqueme) con\b"
    r"|\bque me (escriba|llame|contacte) (un |una |el |la )?(vendedor|asesor|persona|humano)\b"
    r"|\b(a|an|un|una|um|uma) (comercial|vendedor|vendedora|salesperson|rep|asesor|consultor|consultora) "
    r"(entrar em contato|me contacte|contact me|reach out|me (chame|ligue|llame|escriba|contacte))\b"
    r"|\btransfer\w* me\b|\btransferi\w*\b|\btransfiereme\b|\bme transfere\b|\bcustomer (service|support)\b"
    r"|\batencion al cliente\b|\b(pro|para o|ao) atendimento\b"
    r"|\bcarne y hueso\b|\b(get|put) me (to |through to )?(your|the) (boss|manager|owner|supervisor)\b"
    r"|\bwho (can|could|should) (i|we) (speak|talk) (to|with)\b|\bcon quien (puedo|podemos|hablo) (hablar)?\b"
    r"|\bcom quem (eu )?(posso|podemos|falo)\b|\b(pasame|me pasas|comunicame) con (tu|su|el) (jefe|gerente|dueno)\b"
    r"|\b(me passa|passa) (pro|pra|para o|para a) (seu|sua|teu|o|a)? ?(chefe|gerente|dono|responsavel)\b"
    r"|\b(ser humano|human being)\b"
    r"|\bfalar com (uma |um |o |a |algum |alguma )?(pessoa|humano|responsavel|atendente|consultor|vendedor|gerente"
    r"|alguem|dono)\b"
    r"|\b(preciso|quero) (de )?(um |uma )?(humano|pessoa de verdade|pessoa real|atendente)\b"
    r"|\b(me passa|passa|me coloca em contato) (pra|para|com)\b|\batendente humano\b"
    r"|\bpede pra (um |uma )?(vendedor|atendente|consultor|pessoa) me (chamar|ligar)\b"
)
# Wanting to meet or be called beyond the qualifier's meeting rules: availability with a moment
# ("are you free thursday at 3?"), "que alguien me llame", a video call to see it.
_MEETING = (
    r"\b(are you|r u|you) (free|available|around)\b.{0,30}\b(today|tomorrow|monday|tuesday|wednesday|thursday|friday"
    r"|morning|afternoon|at \d|\d ?(am|pm))"
    r"|\b(estas|estan|esta|tienes|tiene|tienen) (libre|libres|disponible|disponibles|tiempo)\b"
    r"|\b(vc|voce|voces|tu) (ta|esta|estao|tas|tem) (livre|disponivel|tempo)\b"
    r"|\b(let'?s|lets|can we|could we|shall we|wanna|want to|would like to|i'?d like to|we'?d like to|ok let'?s)"
    r" (do |have |get |set up |schedule |book |jump on |hop on |arrange )?(a |an |the |some )?(quick |short |brief"
    r" |free |intro )?(call|chat|meeting|demo|zoom|meet|talk|video ?call|phone call|walkthrough)\b"
    r"|\b(call|ring|phone) me\b|\bcall (me |us )?back\b|\b(give|gimme) (me |us )?a (call|ring)( back)?\b"
    r"|\b(book|schedule|set up|arrange|put) (me |us )?(in )?(a |an |the |some )?(\w+ )?(call|demo|meeting|consult\w*"
    r"|appointment|zoom|time|slot|something)\b|\blink to (book|schedule)\b"
    r"|\b(love|like|want|need) (a |an )?(demo|walkthrough|call|meeting)\b|\bsee (it|this) in action\b"
    r"|\bhow about (monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|today|tonight|\d)"
    r"|\b(hagamos|tengamos|agendemos|coordinemos|armemos|hacemos|organicemos|reservemos) (una |un )?(\w+ )?(llamada"
    r"|reunion|demo|cita|videollamada|zoom|meet|llamadita|demostracion)\b"
    r"|\b(agenda|agendame|reservame|anotame|programa) (algo|una|un|me)\b"
    r"|\b(llamame|llamenme|llameme|marcame|me llamas|me llaman|me (pueden|puedes|podes|podrias) llamar"
    r"|me devuelves la llamada|devolverme la llamada)\b"
    r"|\b(hablemos|platiquemos|conversemos|hablamos\?)|\blink para (reservar|agendar)\b"
    r"|\b(ver|mostrar\w*) (una |la )?(demo|demostracion)\b"
    r"|\bque tal (el )?(lunes|martes|miercoles|jueves|viernes|sabado|manana|hoy|a las)\b"
    r"|\b(bora|vamos|podemos|quero|queria|gostaria de|preciso de|da pra|consegue|rola) (\w+ )?(uma |um )?(call"
    r"|ligacao|reuniao|demo|demonstracao|videochamada|meet|zoom|conversa|papo)\b"
    r"|\b(vamos|bora) (agendar|marcar|conversar|falar|bater um papo)\b"
    r"|\b(agenda|agende|marca|marque) (algo|uma|um)\b"
    r"|\b(me liga|me ligue|me liguem|liga pra mim|me chama no (whatsapp|zap|telefone|direct)|(pode|podem|consegue"
    r"|consegues) me (ligar|retornar))\b"
    r"|\bretornar a ligacao\b|\blink (pra|para) agendar\b"
    r"|\bque tal (segunda|terca|quarta|quinta|sexta|sabado|amanha|hoje|as \d)"
    r"|\b(on|by|over|por|pelo|via) (the )?(phone|telefono|telefone)\b"
    r"|\b(when|cuando|quando) (can |could |do |should )?(we|nos|a gente|podemos) (meet|reunimos|reunir|se reune"
    r"|nos vemos|hablamos|falamos|conversamos|talk|speak|chat)\b"
    r"|\b(set (something|a time|time|it) up|set up (something|a time)|coordinar algo|coordinemos algo|combinar algo"
    r"|combinamos algo|marcar algo|agendar algo)\b"
    r"|\b(let'?s|lets) (schedule|book|set it up|do it|meet)\b|\b(agendemos|coordinemos|vamos agendar|vamos marcar)\b"
    r"|\bcalendly\b|\b(link|enlace) (de|da|do|para|pra) (agenda|agendar|reservar|calendario)\b"
    r"|\b(booking|scheduling|calendar) link\b"
    r"|\b(nos vemos|nos encontramos|se encontra|a gente se ve|nos juntamos|see you|meet you|meet up)\b"
    r"|\b(can you do|could you do|does .{1,12} work|works for you|pueden|puedes|podes|conseguem|consegue|podem"
    r"|da pra)\b.{0,15}\b(today|tomorrow|tonight|hoy|manana|hoje|amanha|\d{1,2} ?(am|pm|h|hs)|a las \d|as \d)"
    r"|\b\d{1,2}(:\d{2})? ?(am|pm|hrs|hs|h)\b|\b(at|a las|as) \d{1,2}\b"
    r"|\b(i can do|i can make|puedo el|puedo a las|eu consigo|consigo (na|no|a|as))\b"
    r"|\b(put|add) me (on|in|to) (your|the) (calendar|agenda|schedule)\b|\banotame en (tu|su) agenda\b"
    r"|\bme (coloca|poe|bota) na (sua|tua) agenda\b"
    r"|\bcall me (when|whenever|asap|back)\b|\bllamame cuando\b|\bme liga quando\b"
    r"|\b(can|could) (someone|somebody) call me\b|\bque (alguien|alguno) (me|nos) llame\b"
    r"|\b(alguem|alguém) (pode|poderia) me ligar\b"
    r"|\b(on|in|over|por|en|numa|em uma|por uma|por) (a |una )?(video ?call|videollamada|videochamada|zoom|meet)\b"
)
# Objections a rule can name: doubt about us, or the price heard as too high.
_TRUST_OBJECTION = (
    r"\b(trust|confiar|confio|confiamos|legit|spam\w*|scam|estafa\w*|golpe|too good to be true|demasiado bueno"
    r"|bom demais|burned|engan\w*|estafo"
    r"|(dont|don't|do not|no|nao) (trust|confio|confiamos)|never heard of|nunca (escuche|ouvi))\b"
)
_PRICE_OBJECTION = (
    r"\b(too (expensive|much|pricey)|a lot for|way over|over (our|my) budget|es mucho|e muito|muy caro|muito caro"
    r"|caro (demais|para|pra)|del presupuesto|se nos va|fora do (nosso )?orcamento|(cant|can't|cannot) afford"
    r"|no (nos|me) alcanza|nao temos (grana|dinheiro)|cheaper (options|alternatives)|mas baratas|mais barata"
    r"|too expensive|expensive for|pricey|(esta|ta|e|es|is) (muy |muito |bem |bit |a bit |kinda )?(caro|expensive))\b"
)
_TIMING_OBJECTION = (
    r"\b((dont|don't|do not) have (the )?time|no time|no tengo tiempo|too busy|sin tiempo|no tenemos tiempo"
    r"|muy ocupad\w*"
    r"|sem tempo|nao temos tempo|a lot of work|mucho trabajo|muito trabalho|bad timing|mal momento"
    r"|pessima hora|in the middle of|en plena|no meio de|slammed|swamped|bandwidth|a tope|no damos abasto|atolad[oa]s?"
    r"|sem braco|sin manos|no hands)\b"
)


# "Thanks, but no": a refusal the qualifier's phrases may not know. "Nope, not yet" is an answer.
_REFUSAL = (
    r"\b(but|pero|mas|though) (no|nope|nah|nao|not for (us|me|now))\W*$|^\W*(no|nao),? (thanks|gracias|obrigad[oa])\b"
)
_NOT_YET = (
    r"^\W*(no+|nope|nop|nops|nah|nao)\b.*\b(yet|todavia|aun|ainda|right now|at the moment|por ahora|por enquanto"
    r"|no momento|ads?|anuncios?)\b|\b(dont|don't|do not) (have|use|run)\b|\bno (lo |la |los )?(tenemos|usamos)\b"
    r"|\bnao (temos|tem|usamos)\b|\beso no lo tenemos\b|\bisso a gente nao tem\b"
)

# "Not now, maybe later": a deferral without a date (the cadence then pauses for a default time).
_LATER = (
    r"\b(not now|not right now|maybe later|later on|another time|some other time|ahora no|mas adelante|mas tarde"
    r"|otro momento|en otro momento|agora nao|mais pra frente|mais para frente|mais tarde|mais adiante|outra hora"
    r"|outro momento)\b"
)

#: A call asked for further ahead than this is a deferral ("call me in January"), not a meeting.
MEETING_HORIZON_DAYS = 7


@cache
def _precise() -> dict[str, re.Pattern[str]]:
    return {
        "bot": re.compile(_BOT_QUESTION),
        "request": re.compile(_REQUEST_PERSON),
        "person": re.compile(_PERSON),
        "meeting": re.compile(_MEETING),
        "trust": re.compile(_TRUST_OBJECTION),
        "price": re.compile(_PRICE_OBJECTION),
        "timing": re.compile(_TIMING_OBJECTION),
        "refusal": re.compile(_REFUSAL),
        "not_yet": re.compile(_NOT_YET),
        "later": re.compile(_LATER),
    }


def precise(text: str, now: datetime) -> Decided | None:
    """Narrow rules for acts the model may blur; None leaves the message to the model.

    "Are you a bot?" is a question; asking for a human is `person`; the qualifier's meeting rules
    (the same ones that make a lead hot) and availability with a moment are `meeting`; doubt
    about us and "too expensive" are objections.
    """
    folded = fold(text)
    p = _precise()
    bot = p["bot"].search(folded)
    if bot is not None and p["request"].search(folded) is None:
        return Decided("question", bot.group(0), topic="bot")
    person = p["person"].search(folded)
    if person is not None:
        return Decided("person", person.group(0))
    reading = qualify(text)
    meeting = next((s.partition("=")[2] for s in reading.signals if s.startswith("meeting=")), None)
    if meeting is None:
        found = p["meeting"].search(folded)
        meeting = found.group(0) if found else None
    if meeting is not None and reading.intent != "not_interested" and not about_their_customers(text):
        later = parse_deferral(text, now)
        if later is not None and (later - now.date()).days > MEETING_HORIZON_DAYS:
            return Decided("defer", f"{meeting}, {later.isoformat()}")  # "call me in January"
        return Decided("meeting", meeting, topic=meeting_topic(text))
    if (reading.intent == "not_interested" or p["refusal"].search(folded)) and not p["not_yet"].search(folded):
        later = parse_deferral(text, now)
        if later is not None:
            return Decided("defer", later.isoformat())
        return Decided("decline", reading.signals[-1] if reading.signals else "refusal")
    later_cue = p["later"].search(folded)
    if later_cue is not None and not p["not_yet"].search(folded):
        until = parse_deferral(text, now)
        return Decided("defer", until.isoformat() if until else later_cue.group(0))
    for topic in ("trust", "price", "timing"):
        match = p[topic].search(folded)
        if match is not None:
            return Decided("objection", match.group(0), topic=topic)
    return None


def decisive(text: str) -> Decided | None:
    """Auto-reply, opt-out and instruction attempts: decided by rules alone (see module docstring)."""
    strong, cues = auto_reply_cues(text)
    if cues:
        hot = qualify(text).intent == "hot"
        if strong or not hot:
            return Decided("auto_reply", cues[0])
    found = opt_out_match(text)
    if found is not None:
        return Decided("opt_out", found[0])
    injected = injection_cues(text)
    if injected:
        return Decided("injection", injected[0])
    return None


_HOT_WORDS = (
    r"\b(call|calls|meeting|meet|demo|talk|chat|speak|zoom|appointment|consult\w*|schedule|book|walkthrough"
    r"|llamada|llamar|llam\w*me|reunion|cita|hablar|hablemos|platicar|agend\w*|videollamada|demostracion|asesoria"
    r"|ligacao|ligar|liga|reuniao|conversar|conversa|falar|marcar|marca|videochamada|demonstracao|avaliacao"
    r"|human|humano|person|persona|pessoa|rep|agent|asesor|atendente|consultor|vendedor|manager|encargad[oa]"
    r"|responsavel)\b"
)


@cache
def _hot_words() -> re.Pattern[str]:
    return re.compile(_HOT_WORDS)


def hot_cue(text: str) -> bool:
    """Whether the message names a call, a meeting or a person: the model's hot acts need one."""
    return _hot_words().search(fold(text)) is not None and not about_their_customers(text)


# "Can the bot book calls for my clients?" asks how the product works; the calls are not for us.
_THEIR_CUSTOMERS = (
    r"\b(for|with|to|para|pros|pras|pra|para os|para as|con|com|a) (my|mis|meus|minhas|our|nuestros|nuestras|nossos"
    r"|nossas|los|os) (clients|customers|leads|clientes|pacientes|patients|alumnos|alunos|students)\b"
)


@cache
def _their_customers() -> re.Pattern[str]:
    return re.compile(_THEIR_CUSTOMERS)


def about_their_customers(text: str) -> bool:
    return _their_customers().search(fold(text)) is not None


def objection_cue(text: str) -> bool:
    """Whether any objection wording is present: the model's "objection" needs one to stand."""
    folded = fold(text)
    p = _precise()
    return any(p[name].search(folded) for name in ("trust", "price", "timing"))


def cue_flags(text: str, now: datetime) -> list[float]:
    """The cue inputs of the learned model, in `FEATURES` order."""
    folded = fold(text)
    reading = qualify(text)
    signals = {signal.partition("=")[0] for signal in reading.signals}
    flags = [
        reading.intent == "hot",
        reading.intent == "not_interested",
        reading.intent == "question",
        reading.intent == "researching" and not reading.is_vague,
        reading.is_vague,
        "meeting" in signals,
        "?" in folded,
        parse_deferral(text, now) is not None,
        bool(auto_reply_cues(text)[1]),
        bool(injection_cues(text)),
        len(bare(folded).split()) <= 3,
    ]
    flags.extend(pattern.search(folded) is not None for pattern in _compiled().values())
    return [1.0 if flag else 0.0 for flag in flags]


def question_topic(text: str) -> str | None:
    folded = fold(text)
    for name, pattern in _compiled_topics()[0]:
        if pattern.search(folded):
            return name
    return None


def objection_topic(text: str) -> str | None:
    folded = fold(text)
    for name, pattern in _compiled_topics()[1]:
        if pattern.search(folded):
            return name
    return None


def meeting_topic(text: str) -> str:
    """ "time" when the lead names a moment ("thursday at 3", "mañana"), else "none"."""
    return "time" if _compiled()["time_named"].search(fold(text)) else "none"
