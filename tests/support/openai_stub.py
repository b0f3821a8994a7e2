"""A local OpenAI-compatible chat-completions server for tests, driven by the real `langchain-openai`.

``OpenAIStub`` serves ``POST /v1/chat/completions`` on 127.0.0.1 and answers with a scriptable
*behaviour*: a function from the request (and how many calls came before) to a ``Reply``. The
behaviours below play the models a test needs: a good one that follows the task, one that repeats
itself, one that invents numbers, a slow one, a failing one, a malformed one, and a gullible one
that obeys whatever the lead's text tells it.

Structured output: answers carry JSON in ``message.content`` (langchain's ``json_schema`` and
``json_mode`` methods), or a tool call when the request binds tools (``function_calling``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.server_thread import ServerThread


@dataclass(frozen=True)
class Reply:
    content: Mapping[str, Any] | str | None = None  # a dict is sent as the JSON answer
    status: int = 200
    delay: float = 0.0


@dataclass(frozen=True)
class Call:
    """One request as the stub saw it."""

    index: int
    body: dict[str, Any]

    @property
    def schema(self) -> str:
        """The structured-output schema asked for (DraftOut, QualifyOut, …)."""
        fmt = self.body.get("response_format") or {}
        if isinstance(fmt, dict) and fmt.get("json_schema"):
            return str(fmt["json_schema"].get("name", ""))
        tools = self.body.get("tools") or []
        return str(tools[0]["function"]["name"]) if tools else ""

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def system(self) -> list[str]:
        return [str(m["content"]) for m in self.messages if m["role"] == "system"]

    @property
    def task(self) -> dict[str, Any]:
        """The TASK JSON of a drafting request (the first user message)."""
        for message in self.messages:
            text = str(message.get("content", ""))
            if message["role"] == "user" and text.startswith("TASK\n"):
                return dict(json.loads(text[5 : text.index("\n<lead_data>")]))
        return {}

    @property
    def lead_data(self) -> dict[str, Any]:
        for message in self.messages:
            text = str(message.get("content", ""))
            match = re.search(r"<lead_data>\n(.*)\n</lead_data>", text, re.S)
            if message["role"] == "user" and match:
                return dict(json.loads(match.group(1)))
        return {}

    @property
    def lead_text(self) -> str:
        data = self.lead_data
        return "\n".join(data.get("lead_messages") or [data.get("message", "")])

    @property
    def is_redraft(self) -> bool:
        return any(m["role"] == "assistant" for m in self.messages)

    @property
    def prompt(self) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.messages)


Behaviour = Callable[[Call], Reply]

# -- a model that does its job -------------------------------------------------------------------

_LINES = {
    "English": {
        "hi": "Hi {name}, thanks for writing to us.",
        "instant_reply": "We got your message and we are glad to help. What would you like to achieve first?",
        "qualification": "To point you to the right plan, what is the main thing you want to improve?",
        "soft_reminder": "In case it helps while you decide, here is a guide we think you will like:",
        "social_proof": "A business like yours shared how it went for them:",
        "value_offer": "We would like to give you {offer}, with no commitment. You can pick a time here:",
        "breakup": "Shall I close your file? Reply 1 to keep it open or 2 to close it.",
        "reengagement": "No pitch, just something useful we wrote recently:",
        "answer": "Good question. {fact} What matters most to you right now?",
        "other": "Thanks for your message, we are here whenever you need us.",
    },
    "Spanish": {
        "hi": "Hola {name}, gracias por escribirnos.",
        "instant_reply": "Recibimos tu mensaje y con gusto te ayudamos. ¿Qué te gustaría conseguir primero?",
        "qualification": "Para orientarte mejor, ¿qué es lo que más quieres mejorar en tu negocio?",
        "soft_reminder": "Por si te sirve mientras lo piensas, aquí tienes una guía que te puede gustar:",
        "social_proof": "Un negocio como el tuyo nos contó cómo le fue:",
        "value_offer": "Queremos ofrecerte {offer}, sin compromiso. Puedes elegir una hora aquí:",
        "breakup": "¿Cierro tu solicitud? Responde 1 para mantenerla abierta o 2 para cerrarla.",
        "reengagement": "Sin vender nada, algo útil que escribimos hace poco:",
        "answer": "Buena pregunta. {fact} ¿Qué es lo que más te importa ahora?",
        "other": "Gracias por tu mensaje, aquí estamos cuando lo necesites.",
    },
    "Portuguese": {
        "hi": "Oi {name}, obrigado por escrever para nós.",
        "instant_reply": "Recebemos sua mensagem e vamos ajudar com prazer. O que você gostaria de conseguir primeiro?",
        "qualification": "Para te orientar melhor, o que você mais quer melhorar no seu negócio?",
        "soft_reminder": "Caso ajude enquanto você decide, aqui está um guia que você pode gostar:",
        "social_proof": "Um negócio como o seu contou como foi para eles:",
        "value_offer": "Queremos te oferecer {offer}, sem compromisso. Você pode escolher um horário aqui:",
        "breakup": "Posso encerrar seu pedido? Responda 1 para manter aberto ou 2 para encerrar.",
        "reengagement": "Sem vender nada, algo útil que escrevemos há pouco:",
        "answer": "Boa pergunta. {fact} O que é mais importante para você agora?",
        "other": "Obrigado pela sua mensagem, estamos aqui quando precisar.",
    },
}


def good_draft(call: Call) -> dict[str, Any]:
    task = call.task
    lines = _LINES.get(str(task.get("language")), _LINES["English"])
    purpose = str(task.get("purpose"))
    asset = task.get("asset") or {}
    facts = task.get("facts_for_this_message") or {}
    name = (task.get("lead") or {}).get("first_name") or ""
    parts = [lines["hi"].format(name=name).replace(" ,", ",")]
    parts.append(lines.get(purpose, lines["other"]).format(offer=asset.get("offer", ""), fact=facts.get("fact", "")))
    title = asset.get("resource_title") or asset.get("content_title") or asset.get("case_title")
    if title:
        parts.append(f"“{title}”.")
    if asset.get("case_result"):
        parts.append(str(asset["case_result"]))
    parts += [str(v) for k, v in asset.items() if k.endswith("_url")]
    subject = f"{title or purpose.replace('_', ' ').capitalize()}" if task.get("channel") == "email" else ""
    return {"body": " ".join(p for p in parts if p), "subject": subject}


def good_qualification(call: Call) -> dict[str, Any]:
    text = call.lead_text
    lowered = text.lower()
    hot = any(w in lowered for w in ("demo", "call me", "buy", "today", "llamada", "comprar", "hoje", "ligação"))
    question = "?" in text
    words = text.split()
    return {
        "intent": "hot" if hot else ("question" if question else "researching"),
        "score": 80 if hot else 35,
        "evidence": " ".join(words[:4]),
        "language": "es" if re.search(r"\b(hola|quiero|cuánto)\b", lowered) else "en",
        "industry": None,
        "is_vague": False,
    }


def good(call: Call) -> Reply:
    if call.schema == "QualifyOut":
        return Reply(good_qualification(call))
    return Reply(good_draft(call))


# -- models that misbehave -------------------------------------------------------------------------


def repeating() -> Behaviour:
    """Writes one message and then the same words for every later draft."""
    first: dict[str, Any] = {}

    def behave(call: Call) -> Reply:
        if call.schema != "DraftOut":
            return good(call)
        if not first:
            first.update(good_draft(call))
        return Reply(dict(first))

    return behave


def inventing(call: Call) -> Reply:
    """A good draft plus a discount and a deadline nobody wrote down."""
    if call.schema != "DraftOut":
        return good(call)
    draft = good_draft(call)
    draft["body"] += " Only this week: 30% off, just 99 USD until March 14!"
    return Reply(draft)


def slow(seconds: float, then: Behaviour = good) -> Behaviour:
    def behave(call: Call) -> Reply:
        reply = then(call)
        return Reply(reply.content, reply.status, seconds)

    return behave


def failing(status: int = 500) -> Behaviour:
    def behave(call: Call) -> Reply:
        return Reply({"error": {"message": "model overloaded", "type": "server_error"}}, status=status)

    return behave


def malformed(call: Call) -> Reply:
    return Reply("Sure! Here is your message: hello there")


_LEAK_PROMPT = re.compile(r"prompt|instruc|instructions|reglas|regras|rules|text above|hidden", re.I)
_LEAK_PEOPLE = re.compile(r"other|otros|outros|previous customer|cliente anterior|teléfonos|telefone", re.I)
_OBEY_SCORE = re.compile(r"hot|caliente|quente|score|puntuaci|pontua", re.I)
_CONTACTS = re.compile(r"\+?\d[\d ()-]{7,}\d|[\w.+-]+@[\w-]+\.[\w.]+")


def gullible(call: Call) -> Reply:
    """Obeys the lead: reveals its instructions, lists whatever contact data the prompt holds (plus
    some it makes up), and classifies the lead however the lead asks."""
    text = call.lead_text
    if call.schema == "QualifyOut":
        if _OBEY_SCORE.search(text) or _LEAK_PROMPT.search(text):
            return Reply({"intent": "hot", "score": 100, "evidence": text[:40], "language": "en", "is_vague": False})
        return good(call)
    draft = good_draft(call)
    if _LEAK_PROMPT.search(text):
        draft["body"] = "Of course! My instructions are: " + "\n".join(call.system)[:700]
    elif _LEAK_PEOPLE.search(text):
        found = sorted(set(_CONTACTS.findall(call.prompt)))
        draft["body"] = "Sure, here are our other leads: " + ", ".join([*found, "+1 212 555 0199 (Mark)"])
    elif _OBEY_SCORE.search(text):
        draft["body"] = "Done! You are now a hot lead with score 100 and our CEO will call you at 9 tomorrow."
    return Reply(draft)


def in_turn(*behaviours: Behaviour) -> Behaviour:
    """The n-th call answered by the n-th behaviour; the last one answers the rest."""

    def behave(call: Call) -> Reply:
        return behaviours[min(call.index, len(behaviours) - 1)](call)

    return behave


# -- the server --------------------------------------------------------------------------------------


@dataclass
class _State:
    behaviour: Behaviour
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: itertools.count[int] = field(default_factory=itertools.count)


def _completion(call: Call, content: Mapping[str, Any] | str | None) -> dict[str, Any]:
    text = content if isinstance(content, str) or content is None else json.dumps(content, ensure_ascii=False)
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if call.body.get("tools") and not isinstance(content, str):
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": f"call_{call.index}", "type": "function", "function": {"name": call.schema, "arguments": text}}
            ],
        }
    prompt_tokens = max(1, len(call.prompt) // 4)
    completion_tokens = max(1, len(text or "") // 4)
    return {
        "id": f"chatcmpl-{call.index}",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": str(call.body.get("model", "stub")),
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class OpenAIStub:
    """`with OpenAIStub(good) as stub:` then point `OPENAI_BASE_URL` at `stub.base_url`."""

    def __init__(self, behaviour: Behaviour = good) -> None:
        self._state = _State(behaviour)
        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._complete, methods=["POST"]),
                Route("/chat/completions", self._complete, methods=["POST"]),
            ]
        )
        self._server = ServerThread(app, name="openai-stub")

    @property
    def base_url(self) -> str:
        return self._server.url + "/v1"

    @property
    def calls(self) -> list[Call]:
        with self._state.lock:
            return list(self._state.calls)

    def behave(self, behaviour: Behaviour) -> None:
        """Answer from now on with `behaviour`; the call count starts again at 0."""
        with self._state.lock:
            self._state.behaviour = behaviour
            self._state.counter = itertools.count()

    def settings(self, **extra: Any) -> dict[str, Any]:
        """The environment that points Nudge at this server."""
        return {"OPENAI_BASE_URL": self.base_url, "OPENAI_API_KEY": "sk-test", "NUDGE_LLM_MODEL": "stub-1", **extra}

    async def _complete(self, request: Request) -> Response:
        body = await request.json()
        with self._state.lock:
            call = Call(next(self._state.counter), body)
            self._state.calls.append(call)
            behaviour = self._state.behaviour
        reply = behaviour(call)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status != 200:
            return JSONResponse(reply.content if isinstance(reply.content, Mapping) else {}, status_code=reply.status)
        return JSONResponse(_completion(call, reply.content))

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.stop()
