"""Touches written by a real `langchain-openai` client against a local OpenAI-compatible server,
through the real graph on a virtual clock: each model behaviour ends in a correct message."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from agent.composer.prompts import STATIC_RULES
from tests.agent.llm.world import llm_world
from tests.support.openai_stub import failing, good, inventing, malformed, repeating


def test_a_good_model_writes_every_free_text_touch_with_its_asset_and_tokens_are_counted(tmp_path: Path) -> None:
    with llm_world(tmp_path, good) as world:
        lead = world.lead(days=70)
        sent = world.outbound(lead)
        free_text = [m for m in sent if m.template_sid is None]
        # Outside the WhatsApp window touches go as approved templates (no model involved).
        assert len(free_text) >= 3, [(m.touch, m.channel, m.template_sid) for m in sent]
        assert {m.composer for m in free_text} == {"llm"}, [(m.touch, m.composer, m.info) for m in free_text]
        by_touch = {m.touch: m for m in free_text}
        assert by_touch[1].body.startswith("Hi ") and "glad to help" in by_touch[1].body
        for touch in (3, 5, 7):  # resource, offer, content: the tracked link is in the message
            if touch in by_touch:
                assert "https://nudge.example/r/" in by_touch[touch].body, by_touch[touch].body
        assert len({m.body for m in sent}) == len(sent), "no message repeats another"

        drafts = [c for c in world.stub.calls if c.schema == "DraftOut"]
        assert drafts and all(c.messages[0]["content"] == STATIC_RULES for c in drafts), "static prompt first"
        assert len({c.messages[1]["content"] for c in drafts}) == 1, "the business block is the same for every touch"

        usage = [u for u in world.usage(lead) if u.task.startswith("compose:")]
        assert len(usage) == len(drafts) and all(u.outcome == "ok" and u.prompt_tokens > 0 for u in usage)
        assert {u.message_id for u in usage} == {m.id for m in free_text}
        total = sum(u.prompt_tokens + u.completion_tokens for u in usage)
        exported = sum(
            world.metric("nudge_llm_tokens_total", business=world.business_id, task="compose", kind=kind)
            for kind in ("prompt", "completion")
        )
        assert exported == total > 0


def test_a_repeated_draft_is_redrafted_once_then_the_template_goes_out(tmp_path: Path) -> None:
    with llm_world(tmp_path, repeating()) as world:
        lead = world.lead(days=0.01)  # touch 1 now, touch 2 a few minutes later
        sent = world.outbound(lead)
        first, second = sent[0], sent[1]
        assert (first.touch, first.composer) == (1, "llm")
        assert (second.touch, second.composer) == (2, "template")
        assert "already sent" in second.info["llm_fallback"] or "similarity" in second.info["llm_fallback"]
        drafts = [c for c in world.stub.calls if c.schema == "DraftOut"]
        assert len(drafts) == 3 and drafts[2].is_redraft, "one draft for touch 1, draft + redraft for touch 2"
        assert [u.outcome for u in world.usage(lead) if u.task != "qualify"] == ["ok", "rejected", "rejected"]


def test_a_draft_inventing_a_discount_never_reaches_the_lead(tmp_path: Path) -> None:
    with llm_world(tmp_path, inventing) as world:
        lead = world.lead(days=8)
        sent = world.outbound(lead)
        assert len([m for m in sent if m.touch]) >= 4
        for message in sent:
            assert "30%" not in message.body and "99 USD" not in message.body
            if message.template_sid is None:
                assert message.composer == "template"
                assert "numbers that are not in the business profile" in message.info["llm_fallback"]
        assert {u.outcome for u in world.usage(lead) if u.task != "qualify"} == {"rejected"}


def test_a_malformed_answer_falls_back_to_the_template(tmp_path: Path) -> None:
    with llm_world(tmp_path, malformed) as world:
        lead = world.lead()
        (first,) = world.outbound(lead)
        assert first.composer == "template" and first.body
        assert "did not match" in first.info["llm_fallback"]


def test_repeated_errors_open_the_breaker_and_templates_carry_on(tmp_path: Path) -> None:
    settings = {"NUDGE_LLM_BREAKER_FAILURES": 3, "NUDGE_LLM_BREAKER_COOLDOWN": 600}
    with llm_world(tmp_path, failing(500), **settings) as world:
        lead = world.lead(days=8)
        sent = world.outbound(lead)
        assert len([m for m in sent if m.touch]) >= 4 and {m.composer for m in sent} == {"template"}
        assert len(world.stub.calls) == 3, "after three failures the endpoint is left alone"
        outcomes = [u.outcome for u in world.usage(lead)]
        assert "error" in outcomes and outcomes[-1] == "breaker_open"
        assert world.metric("nudge_llm_calls_total", task="compose", outcome="breaker_open") >= 1
        assert any("paused after repeated errors" in (m.info.get("llm_fallback") or "") for m in sent)


def test_a_question_in_the_window_is_answered_by_the_model_with_the_profile_fact(tmp_path: Path) -> None:
    with llm_world(tmp_path, good) as world:
        lead = world.lead()
        world.sim.lead_says(lead, "How much does it cost per month?")
        world.sim.run_until(world.clock.now() + timedelta(seconds=5))
        reply = world.outbound(lead)[-1]
        assert reply.touch in (None, 2) and reply.composer == "llm", (reply.composer, reply.info)
        assert "490 USD" in reply.body, "the answer carries the business's own price"
        qualified = world.decisions(lead, "qualified")
        assert qualified[-1].startswith("question") and "LLM: question" in qualified[-1]


def test_without_the_model_the_offline_qualifier_decides_and_says_why(tmp_path: Path) -> None:
    with llm_world(tmp_path, failing(500), NUDGE_LLM_BREAKER_FAILURES=50) as world:
        lead = world.lead()
        world.sim.lead_says(lead, "How much does it cost per month?")
        world.sim.run_until(world.clock.now() + timedelta(seconds=5))
        reply = world.outbound(lead)[-1]
        assert reply.composer == "template" and "490 USD" in reply.body
        assert "LLM:" not in world.decisions(lead, "qualified")[-1]
        assert any("LLM unavailable" in note for note in world.decisions(lead, "qualifier"))


def test_servers_without_json_schema_work_through_function_calling(tmp_path: Path) -> None:
    with llm_world(tmp_path, good, NUDGE_LLM_STRUCTURED_METHOD="function_calling") as world:
        lead = world.lead()
        (first,) = world.outbound(lead)
        assert first.composer == "llm" and "glad to help" in first.body
        assert all(c.body.get("tools") and "response_format" not in c.body for c in world.stub.calls)
