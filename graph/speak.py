"""Writing one message to the lead inside a graph run: compose, check, track links, queue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select

from agent.assets import Asset
from agent.composer import ComposeRequest, LeadContext, MessageKind
from agent.contacts import first_name
from agent.links import save_links
from agent.outbound import ChannelChoice, QueuedMessage, queue_message
from agent.policies import repeats_earlier
from agent.text import analysed
from agent.topics import extract_topic
from graph.context import RunContext
from knowledge.industries import industry_label
from nudge.models import Message, TrackedLink

TRANSCRIPT_LINES = 20  # what the LLM composer sees of the conversation, newest last


@dataclass(frozen=True)
class Spoken:
    message: QueuedMessage | None
    reason: str  # why nothing was queued, when message is None


def lead_values(ctx: RunContext) -> dict[str, str]:
    lead, business = ctx.lead, ctx.business
    return {
        "first_name": first_name(lead.name),
        "business": business.name,
        "topic": extract_topic(lead.first_message),
        "industry_label": industry_label(lead.industry, lead.locale or business.default_locale)
        if lead.industry
        else "",
    }


def lead_context(
    ctx: RunContext, asset: Asset | None, values: Mapping[str, str], links: tuple[str, ...], touch: int | None
) -> LeadContext:
    """What an LLM composer may know for this message: this lead only, never another's."""
    lead = ctx.lead
    rows = ctx.session.execute(
        select(Message.direction, Message.body, Message.status, Message.touch)
        .where(Message.lead_id == lead.id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(TRANSCRIPT_LINES)
    ).all()
    transcript = tuple(("lead" if d == "in" else "us", analysed(body)) for d, body, _, _ in reversed(rows) if body)
    signals = [f"read touch {t}" for d, _, status, t in rows if d == "out" and status == "read" and t]
    clicked = ctx.session.scalars(
        select(TrackedLink.touch).where(TrackedLink.lead_id == lead.id, TrackedLink.clicks > 0)
    ).all()
    signals += [f"clicked the link in touch {t}" if t else "clicked a link" for t in clicked]
    return LeadContext(
        business_id=ctx.business.id,
        business_name=ctx.business.name,
        profile=ctx.business.profile or {},
        lead_name=lead.name or "",
        industry=lead.industry,
        source=lead.source or "",
        first_message=analysed(lead.first_message or ""),
        transcript=transcript,
        signals=tuple(signals),
        asset_kind=asset.kind if asset is not None else None,
        asset={k: v for k, v in values.items() if asset is not None and (k in asset.values or k in asset.urls)},
        tracked_links=links,
        touch=touch,
        seconds_left=ctx.first_touch_seconds_left() if touch == 1 else None,
    )


def say(
    ctx: RunContext,
    *,
    kind: MessageKind,
    choice: ChannelChoice,
    language: str,
    touch: int | None,
    extra: Mapping[str, str] | None = None,
    asset: Asset | None = None,
    template_purpose: str | None = None,
    required: tuple[str, ...] = (),
    preferred: tuple[str, ...] = (),
    extra_info: Mapping[str, object] | None = None,
) -> Spoken:
    now = ctx.clock.now()
    values = lead_values(ctx)
    values.update(extra or {})
    pending_links: dict[str, tuple[str, str]] = {}
    if asset is not None:
        values.update(asset.values)
        for name, url in asset.urls.items():
            token = ctx.link_token()
            pending_links[name] = (token, url)
            values[name] = f"{ctx.public_url}/r/{token}"

    info: dict[str, object] = {"kind": kind, "language": language, **(extra_info or {})}
    if asset is not None:
        info["asset"] = asset.key
    if choice.template is not None:
        if asset is not None and not (set(asset.values) | set(asset.urls)) & set(choice.template.variables):
            return Spoken(
                None,
                f"the approved template {choice.template.content_sid} does not carry the "
                f"{asset.kind.replace('_', ' ')}",
            )
        variables, body = choice.template.render(values)
        info["variant"] = f"template:{choice.template.content_sid}"
        message = queue_message(
            ctx.session,
            lead=ctx.lead,
            choice=choice,
            body=body,
            now=now,
            touch=touch,
            author="agent",
            composer="template",
            template_sid=choice.template.content_sid,
            template_variables=variables,
            info={**info, "template_purpose": template_purpose or kind},
        )
    else:
        history = ctx.history()
        earlier = history.bodies
        draft = ctx.composer.compose(
            ComposeRequest(
                kind=kind,
                language=language,
                channel=choice.channel,
                lead_key=ctx.lead.id,
                values=values,
                used_variants=history.variants,
                previous_bodies=tuple(earlier),
                required=frozenset(required),
                preferred=frozenset(preferred),
                context=lambda: lead_context(ctx, asset, values, tuple(values[name] for name in pending_links), touch),
            )
        )
        if draft is None:
            return Spoken(None, f"no unused {language} phrasing for '{kind}' fits the {choice.channel} channel")
        repeated = repeats_earlier(draft.body, earlier)
        if repeated:
            return Spoken(None, repeated)
        info["variant"] = draft.variant
        if draft.fallback_reason:
            info["llm_fallback"] = draft.fallback_reason
        message = queue_message(
            ctx.session,
            lead=ctx.lead,
            choice=choice,
            body=draft.body,
            now=now,
            touch=touch,
            author="agent",
            composer=draft.composer,
            subject=draft.subject,
            info=info,
        )
        ctx.record_usage(draft.usage, message.id)
    save_links(ctx.session, lead=ctx.lead, urls=dict(pending_links.values()), touch=touch, now=now)
    ctx.forget_history()
    return Spoken(message, "")
