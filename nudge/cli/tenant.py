"""`nudge tenant …`: businesses, agencies and their API keys."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Column, Table
from sqlalchemy.exc import IntegrityError

from api.schemas import BusinessCreate
from nudge.cli.common import console, fail, settings_or_exit
from nudge.db import transaction
from nudge.key_admin import KeyAdminError, KeyOwner, create_key, list_keys, revoke_key, rotate_key
from nudge.models import Agency, ApiKey
from nudge.runtime import open_runtime
from nudge.tenants import create_agency, create_business

app = typer.Typer(help="Businesses (tenants) and their API keys.", no_args_is_help=True)


@app.command("create", help="Create a business and print its API key (shown once).")
def create(
    name: Annotated[str, typer.Argument(help="The business's name, as leads will read it.")],
    whatsapp_from: Annotated[str | None, typer.Option(help="WhatsApp sender number, E.164.")] = None,
    sms_from: Annotated[str | None, typer.Option(help="SMS sender number, E.164.")] = None,
    email_from: Annotated[str | None, typer.Option(help="Email sender, e.g. 'Acme <hi@acme.com>'.")] = None,
    timezone: Annotated[str, typer.Option(help="IANA timezone of the business.")] = "UTC",
    locale: Annotated[str, typer.Option(help="Default language: en, es or pt.")] = "en",
    agency: Annotated[str | None, typer.Option(help="The agency that manages the business.")] = None,
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
                if agency is not None and session.get(Agency, agency) is None:
                    raise fail(f"agency {agency} does not exist")
                created = create_business(session, name=name, now=runtime.clock.now(), agency_id=agency, fields=fields)
                business_id, key = created.business.id, created.api_key
        except IntegrityError as exc:
            raise fail("that WhatsApp or SMS number already belongs to another business") from exc
    if as_json:
        typer.echo(json.dumps({"business_id": business_id, "name": name, "api_key": key}))
        return
    console.print(f"Created [bold]{name}[/] ({business_id})")
    console.print(f"API key (shown once, store it now): [bold green]{key}[/]")


@app.command("agency", help="Create an agency and print its API key (shown once).")
def agency(
    name: Annotated[str, typer.Argument(help="The agency's name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    if not name.strip():
        raise fail("the agency needs a name")
    with open_runtime(settings_or_exit()) as runtime, transaction(runtime.sessions) as session:
        created = create_agency(session, name=name.strip(), now=runtime.clock.now())
        agency_id, key = created.agency.id, created.api_key
    if as_json:
        typer.echo(json.dumps({"agency_id": agency_id, "name": name, "api_key": key}))
        return
    console.print(f"Created agency [bold]{name}[/] ({agency_id})")
    console.print(f"API key (shown once, store it now): [bold green]{key}[/]")


key_app = typer.Typer(help="API keys: list by prefix, create, rotate, revoke.", no_args_is_help=True)
app.add_typer(key_app, name="key")


def _key_row(record: ApiKey) -> dict[str, str | None]:
    return {
        "prefix": record.prefix,
        "kind": record.kind,
        "label": record.label,
        "agency_id": record.agency_id,
        "business_id": record.business_id,
        "rep_id": record.rep_id,
        "created_at": record.created_at.isoformat(),
        "last_used_at": record.last_used_at.isoformat() if record.last_used_at else None,
        "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
    }


@key_app.command("list", help="List keys (never their secrets), optionally by business, agency or prefix.")
def key_list(
    business: Annotated[str | None, typer.Option(help="Only this business's keys.")] = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency's keys and its businesses' keys.")] = None,
    prefix: Annotated[str, typer.Option(help="Only keys whose prefix starts with this.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    with open_runtime(settings_or_exit()) as runtime, transaction(runtime.sessions) as session:
        rows = [_key_row(k) for k in list_keys(session, KeyOwner(agency_id=agency, business_id=business), prefix)]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table(Column("prefix", no_wrap=True), "kind", "label", "business", "rep", "last used", "revoked")
    for row in rows:
        table.add_row(
            row["prefix"],
            row["kind"],
            row["label"],
            row["business_id"] or "",
            row["rep_id"] or "",
            row["last_used_at"] or "never",
            row["revoked_at"] or "",
        )
    console.print(table)


@key_app.command("create", help="Create a key and print it (shown once).")
def key_create(
    kind: Annotated[str, typer.Option(help="agency, business or rep.")] = "business",
    business: Annotated[str | None, typer.Option(help="The business (business and rep keys).")] = None,
    agency: Annotated[str | None, typer.Option(help="The agency (agency keys).")] = None,
    rep: Annotated[str | None, typer.Option(help="The rep a rep key acts for.")] = None,
    label: Annotated[str, typer.Option(help="A name to recognise the key by.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    owner = KeyOwner(agency_id=agency) if kind == "agency" else KeyOwner()
    with open_runtime(settings_or_exit()) as runtime:
        try:
            with transaction(runtime.sessions) as session:
                if agency is not None and session.get(Agency, agency) is None:
                    raise fail(f"agency {agency} does not exist")
                issued = create_key(
                    session, owner, kind=kind, now=runtime.clock.now(), business_id=business, rep_id=rep, label=label
                )
                row, plaintext = _key_row(issued.record), issued.plaintext
        except KeyAdminError as exc:
            message = str(exc).replace("name it with 'X-Nudge-Tenant'", "name it with --business")
            raise fail(message) from exc
    _print_secret(row, plaintext, as_json)


@key_app.command("rotate", help="Give a key a new secret (shown once); the old one stops working at once.")
def key_rotate(
    prefix: Annotated[str, typer.Argument(help="The key's prefix, e.g. nk_bz_1a2b3c4d.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    with open_runtime(settings_or_exit()) as runtime, transaction(runtime.sessions) as session:
        issued = rotate_key(session, KeyOwner(), prefix, runtime.clock.now())
        if issued is None:
            raise fail(f"no active key with prefix {prefix}")
        row, plaintext = _key_row(issued.record), issued.plaintext
    _print_secret(row, plaintext, as_json)


@key_app.command("revoke", help="Stop a key working at once.")
def key_revoke(prefix: Annotated[str, typer.Argument(help="The key's prefix, e.g. nk_bz_1a2b3c4d.")]) -> None:
    with open_runtime(settings_or_exit()) as runtime, transaction(runtime.sessions) as session:
        if revoke_key(session, KeyOwner(), prefix, runtime.clock.now()) is None:
            raise fail(f"no key with prefix {prefix}")
    console.print(f"Revoked {prefix}")


def _print_secret(row: dict[str, str | None], plaintext: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({**row, "api_key": plaintext}))
        return
    console.print(f"{row['kind']} key {row['prefix']} ({row['label']})")
    console.print(f"API key (shown once, store it now): [bold green]{plaintext}[/]")
