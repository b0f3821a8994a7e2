"""`nudge tenant create`: a business and its API key."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from api.schemas import BusinessCreate
from nudge.cli.common import console, fail, settings_or_exit
from nudge.db import transaction
from nudge.runtime import open_runtime
from nudge.tenants import create_business

app = typer.Typer(help="Businesses (tenants) and their API keys.", no_args_is_help=True)


@app.command("create", help="Create a business and print its API key (shown once).")
def create(
    name: Annotated[str, typer.Argument(help="The business's name, as leads will read it.")],
    whatsapp_from: Annotated[str | None, typer.Option(help="WhatsApp sender number, E.164.")] = None,
    sms_from: Annotated[str | None, typer.Option(help="SMS sender number, E.164.")] = None,
    email_from: Annotated[str | None, typer.Option(help="Email sender, e.g. 'Acme <hi@acme.com>'.")] = None,
    timezone: Annotated[str, typer.Option(help="IANA timezone of the business.")] = "UTC",
    locale: Annotated[str, typer.Option(help="Default language: en, es or pt.")] = "en",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    try:
        body = BusinessCreate(
            name=name,
            whatsapp_from=whatsapp_from,
            sms_from=sms_from,
            email_from=email_from,
            timezone=timezone,
            default_locale=locale,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise fail(problems) from exc
    fields = body.model_dump(exclude_none=True, exclude={"name", "quiet_hours"})
    settings = settings_or_exit()
    with open_runtime(settings) as runtime:
        try:
            with transaction(runtime.sessions) as session:
                created = create_business(session, name=name, now=runtime.clock.now(), fields=fields)
                business_id, key = created.business.id, created.api_key
        except IntegrityError as exc:
            raise fail("that WhatsApp or SMS number already belongs to another business") from exc
    if as_json:
        typer.echo(json.dumps({"business_id": business_id, "name": name, "api_key": key}))
        return
    console.print(f"Created [bold]{name}[/] ({business_id})")
    console.print(f"API key (shown once, store it now): [bold green]{key}[/]")
