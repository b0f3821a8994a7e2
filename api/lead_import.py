"""Lead import: a CSV or JSONL file of leads into a business (`POST /v1/leads/import`,
`nudge leads import`). The feature room: reading the file, guessing its columns, checking each row
with the rules of `POST /v1/leads` (`api.schemas.LeadIn`), dedupe, and writing in batches.

Rows are checked before any transaction (parsing phone numbers is the slow part, and on SQLite a
transaction holds the one writer). A batch is then matched against the business's leads with
one query per batch and written with a few Core statements; a row that names a lead an earlier
row of the same file already named is an error, not a second write, so importing the same file
twice changes nothing the second time.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

import sqlalchemy as sa
from pydantic import ValidationError, ValidationInfo, field_validator
from sqlalchemy.orm import Session

from agent.contacts import ContactError, normalise_phone, phone_key
from agent.intake import NewLead, Owner, lead_values
from api.schemas import LeadIn
from nudge.documents import DocumentError, loads_json
from nudge.ids import new_id
from nudge.models import Lead, LeadActivity, LeadImport, insert_into, table_of
from scheduler import mailbox

Format = Literal["csv", "jsonl"]
OnDuplicate = Literal["skip", "update"]
Start = Literal["now", "at", "on_reply"]

MAX_ROWS = 10_000  # per request; the CLI has no limit (it commits batch by batch)
BATCH = 2_000
MAX_CELL = 10_000
_LEADS = table_of(Lead)

# Fields a column can fill; `metadata` keeps the column under the lead's metadata, `ignore` drops it.
ImportField = Literal[
    "name",
    "first_name",
    "last_name",
    "phone",
    "email",
    "external_id",
    "source",
    "message",
    "industry",
    "timezone",
    "locale",
    "consent_whatsapp",
    "consent_sms",
    "consent_email",
    "metadata",
    "ignore",
]
FIELDS: tuple[str, ...] = get_args(ImportField)

# Header names as people write them in English, Spanish and Portuguese (lower case, accents,
# punctuation and underscores folded to single spaces: see `_fold`).
_ALIASES: dict[str, str] = {
    "name": "name, full name, contact, contact name, lead, nombre, nombre completo, contacto, nome, nome "
    "completo, contato, cliente, customer",
    "first_name": "first name, firstname, given name, primer nombre, primeiro nome",
    "last_name": "last name, lastname, surname, family name, apellido, apellidos, sobrenome",
    "phone": "phone, phone number, mobile, mobile phone, cell, cell phone, cellphone, tel, telephone, "
    "whatsapp, whatsapp number, number, telefono, numero, celular, movil, fono, telefone, fone, zap, "
    "numero de telefono, numero de telefone, numero whatsapp",
    "email": "email, e mail, mail, email address, correo, correo electronico, email corporativo",
    "external_id": "external id, id, crm id, id crm, crm, lead id, contact id, record id, id externo, "
    "identificador, codigo, code",
    "source": "source, lead source, fuente, origen, origem, fonte, campaign, campana, campanha",
    "message": "message, notes, note, comment, comments, mensaje, nota, notas, comentario, comentarios, "
    "mensagem, observacoes, observacao, observaciones, consulta, pergunta",
    "industry": "industry, sector, vertical, industria, rubro, setor, segmento, ramo",
    "timezone": "timezone, time zone, tz, zona horaria, huso horario, fuso horario, fuso",
    "locale": "language, locale, lang, idioma, lengua, lingua",
    "consent_whatsapp": "consent whatsapp, whatsapp consent, whatsapp opt in, opt in whatsapp, "
    "consentimiento whatsapp, acepta whatsapp, consentimento whatsapp, aceita whatsapp",
    "consent_sms": "consent sms, sms consent, sms opt in, opt in sms, consentimiento sms, acepta sms, consentimento "
    "sms, aceita sms",
    "consent_email": "consent email, email consent, email opt in, opt in email, consentimiento email, consentimiento "
    "correo, acepta correo, acepta email, consentimento email, aceita email",
}
GUESSES: dict[str, str] = {alias: name for name, aliases in _ALIASES.items() for alias in aliases.split(", ")}

_YES = {"yes", "y", "true", "t", "1", "x", "si", "s", "sim", "ok", "opt in", "optin"}
_NO = {"no", "n", "false", "f", "0", "nao", "opt out", "optout"}
_LANGUAGES = {
    "en": "en",
    "english": "en",
    "ingles": "en",
    "es": "es",
    "spanish": "es",
    "espanol": "es",
    "castellano": "es",
    "espanhol": "es",
    "pt": "pt",
    "portuguese": "pt",
    "portugues": "pt",
}
_SEPARATORS = re.compile(r"[^0-9a-z]+")


class ImportProblem(ValueError):
    """The file or the options as a whole cannot be imported (nothing was written)."""


def _fold(text: str) -> str:
    """'Teléfono_Móvil ' → 'telefono movil': the form header guesses and yes/no values compare in."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", plain.lower()).strip()


def guess_field(header: str) -> str:
    """The field a column fills: a known header name in en/es/pt, otherwise metadata."""
    return GUESSES.get(_fold(header), "metadata")


@dataclass(frozen=True)
class ImportOptions:
    format: Format = "csv"
    mapping: Mapping[str, str] = field(default_factory=dict)  # header → field, over the guess
    default_country: str | None = None  # ISO 3166 region for numbers written without +country
    on_duplicate: OnDuplicate = "skip"
    dry_run: bool = False
    start: Start = "now"
    start_at: datetime | None = None
    source: str = "import"

    def __post_init__(self) -> None:
        unknown = sorted({f for f in self.mapping.values() if f not in FIELDS})
        if unknown:
            raise ImportProblem(f"mapping: unknown field {', '.join(unknown)}; use one of {', '.join(FIELDS)}")
        if self.default_country is not None and not re.fullmatch(r"[A-Z]{2}", self.default_country):
            raise ImportProblem(f"default_country: '{self.default_country}' is not a two-letter code like MX")
        if not 0 < len(self.source.strip()) <= 64:
            raise ImportProblem("source: give 1 to 64 characters")
        if (self.start == "at") != (self.start_at is not None):
            raise ImportProblem("start_at: give a date-time exactly when start is 'at'")
        if self.start_at is not None and self.start_at.tzinfo is None:
            raise ImportProblem("start_at: give the date-time with its offset, like 2026-01-01T09:00:00Z")

    def as_json(self) -> dict[str, Any]:
        return {
            "mapping": dict(self.mapping),
            "default_country": self.default_country,
            "on_duplicate": self.on_duplicate,
            "start": self.start,
            "start_at": self.start_at.isoformat() if self.start_at else None,
            "source": self.source,
        }


@dataclass(frozen=True)
class RowError:
    row: int  # as a spreadsheet numbers it (the header is row 1); the line of a JSONL file
    column: str  # the file's column ('' when the row as a whole is wrong)
    message: str


@dataclass(frozen=True)
class ValidRow:
    row: int
    lead: NewLead
    columns: Mapping[str, str]  # field → the column it came from (for errors found later)
    fields: frozenset[str]  # the fields this row gave (an update changes only those)
    keys: tuple[tuple[str, str], ...] = ()  # what it is matched on: (phone|email|external_id, value)


@dataclass
class Summary:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # header → field, as used

    @property
    def failed(self) -> int:
        return len({e.row for e in self.errors})


# ----------------------------------------------------------------------------- reading


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows saves CSV as cp1252 in the Americas and Western Europe.
        return raw.decode("cp1252", errors="replace")


def records(text: str, fmt: Format) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """(row number, {header: value}) for each data row; a row that cannot be read is a RowError."""
    if not text.strip():
        raise ImportProblem("the file is empty" + ("; the first row names the columns" if fmt == "csv" else ""))
    if fmt == "csv":
        yield from _csv_records(text)
    else:
        yield from _jsonl_records(text)


def _csv_reader(text: str) -> tuple[Iterator[list[str]], list[str]]:
    """The reader positioned after the header, and the header."""
    first = text.split("\n", 1)[0]
    # Spanish and Portuguese spreadsheets export with ';' (the comma is their decimal mark).
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportProblem("the file is empty; the first row names the columns") from None
    except csv.Error as exc:
        raise ImportProblem(f"row 1: {exc}") from None
    header = [h.strip() for h in header]
    if not any(header):
        raise ImportProblem("row 1 names no columns; the first row names the columns")
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise ImportProblem(f"row 1: the column '{name}' appears twice")
        seen.add(name)
    return reader, header


def csv_header(text: str) -> list[str]:
    if not text.strip():
        raise ImportProblem("the file is empty; the first row names the columns")
    return _csv_reader(text)[1]


def _csv_records(text: str) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    reader, header = _csv_reader(text)
    number = 1
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield number, RowError(number, "", f"cannot be read as CSV: {exc}")
            continue
        if not any(c.strip() for c in cells):
            continue  # a blank line
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            yield number, RowError(number, "", f"{len(cells)} cells but the header names {len(header)} columns")
            continue
        yield number, {name: cell for name, cell in zip(header, cells, strict=False) if name}


def _jsonl_records(text: str) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = loads_json(line)  # bounded: depth, integer size, no NaN (PostgreSQL's JSON has none)
        except (DocumentError, RecursionError) as exc:
            problem = str(exc)[:200]
            yield number, RowError(number, "", problem if "JSON" in problem else f"not valid JSON: {problem}")
            continue
        if not isinstance(value, dict):
            yield number, RowError(number, "", "each line must be a JSON object of column: value")
            continue
        yield number, {str(k): v for k, v in value.items()}


# ----------------------------------------------------------------------------- checking rows


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | str):
        return str(value).strip()
    return json.dumps(value, ensure_ascii=False)


def _consent(value: str) -> bool | None:
    folded = _fold(value)
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    raise ValueError(f"'{value[:40]}' is not yes or no (yes/no, sí/no, sim/não, true/false, 1/0)")


class ImportedLead(LeadIn):
    """A row is a `POST /v1/leads` body, except that a number written without its country code
    is read in the import's default country (one parse, as `LeadIn` does)."""

    # The same name replaces `LeadIn._phone` (pydantic runs one validator per name); it takes the
    # validation context as well, hence the different signature.
    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None, info: ValidationInfo) -> str | None:  # type: ignore[override]
        if value is None or not value.strip():
            return None
        country = info.context.get("country") if isinstance(info.context, dict) else None
        try:
            return normalise_phone(value, country)
        except ContactError as exc:
            hint = f"the country code (numbers without one are read as {country})" if country else "+country code"
            raise ValueError(f"{exc}; write it with {hint}, like +5511987654321") from exc


class RowChecker:
    """Turns a file's rows into leads by the rules of `POST /v1/leads` (a `LeadIn` per row)."""

    def __init__(self, options: ImportOptions) -> None:
        self.options = options
        self.columns: dict[str, str] = {}  # header → field, filled as headers are met
        self._context = {"country": options.default_country}

    def field_of(self, header: str) -> str:
        found = self.columns.get(header)
        if found is None:
            found = self.options.mapping.get(header) or guess_field(header)
            self.columns[header] = found
        return found

    def check(self, number: int, record: Mapping[str, Any]) -> ValidRow | list[RowError]:
        values: dict[str, str] = {}
        source_of: dict[str, str] = {}
        metadata: dict[str, Any] = {}
        errors: list[RowError] = []
        for header, raw in record.items():
            name = self.field_of(header)
            if name == "ignore":
                continue
            if name == "metadata":
                if raw not in (None, ""):
                    metadata[header] = raw
                continue
            text = _text(raw)
            if len(text) > MAX_CELL:
                errors.append(RowError(number, header, f"is over {MAX_CELL} characters"))
                continue
            if text and name not in values:  # the first column with a value wins (Phone, then WhatsApp)
                values[name] = text
                source_of[name] = header
        payload: dict[str, Any] = {"source": values.get("source") or self.options.source, "metadata": metadata}
        name = values.get("name") or " ".join(v for v in (values.get("first_name"), values.get("last_name")) if v)
        if name:
            payload["name"] = name
            source_of.setdefault("name", source_of.get("first_name", ""))
        for key in ("email", "external_id", "message", "industry", "timezone"):
            if key in values:
                payload[key] = values[key]
        if "phone" in values:
            payload["phone"] = values["phone"]
        if "locale" in values:
            locale = _LANGUAGES.get(_fold(values["locale"]).split(" ")[0][:10]) or _LANGUAGES.get(
                _fold(values["locale"])[:2]
            )
            if locale is None:
                errors.append(RowError(number, source_of["locale"], f"'{values['locale'][:40]}' is not en, es or pt"))
            payload["locale"] = locale
        consent: dict[str, bool] = {}
        for channel in ("whatsapp", "sms", "email"):
            given = values.get(f"consent_{channel}")
            if given is not None:
                try:
                    answer = _consent(given)
                except ValueError as exc:
                    errors.append(RowError(number, source_of[f"consent_{channel}"], str(exc)))
                    continue
                if answer is not None:
                    consent[channel] = answer
        payload["consent"] = consent
        if errors:
            return errors
        try:
            checked = ImportedLead.model_validate(payload, context=self._context)
        except ValidationError as exc:
            return [
                RowError(number, self._column(error["loc"], source_of), _message(error))
                for error in exc.errors(include_url=False)
            ]
        fields: set[str] = {
            k for k in ("name", "phone", "email", "external_id", "industry", "timezone", "locale") if k in payload
        }
        if consent:
            fields.add("consent")
        if metadata:
            fields.add("metadata")
        lead = NewLead(
            name=checked.name,
            phone=checked.phone,
            email=checked.email,
            external_id=checked.external_id,
            source=checked.source,
            message=checked.message,
            industry=checked.industry,
            timezone=checked.timezone,
            locale=checked.locale,
            consent={k: v for k, v in checked.consent.model_dump().items() if v is not None},
            metadata=checked.metadata,
        )
        return ValidRow(number, lead, source_of, frozenset(fields), _keys(lead))

    def _column(self, loc: Sequence[int | str], source_of: Mapping[str, str]) -> str:
        if not loc:
            return ""
        name = str(loc[0])
        if name == "consent" and len(loc) > 1:
            return source_of.get(f"consent_{loc[1]}", "")
        return source_of.get(name, "")


def _message(error: Mapping[str, Any]) -> str:
    text = str(error.get("msg", "is not valid"))
    return text.removeprefix("Value error, ")


# ----------------------------------------------------------------------------- writing


def _keys(lead: NewLead) -> tuple[tuple[str, str], ...]:
    keys = []
    if lead.phone:
        keys.append(("phone", phone_key(lead.phone)))
    if lead.email:
        keys.append(("email", lead.email))
    if lead.external_id:
        keys.append(("external_id", lead.external_id))
    return tuple(keys)


_COLUMN_OF = {"phone": _LEADS.c.phone_key, "email": _LEADS.c.email, "external_id": _LEADS.c.external_id}
_EXISTING = (
    _LEADS.c.id,
    _LEADS.c.phone_key,
    _LEADS.c.email,
    _LEADS.c.external_id,
    _LEADS.c.name,
    _LEADS.c.phone,
    _LEADS.c.industry,
    _LEADS.c.timezone,
    _LEADS.c.locale,
    _LEADS.c.consent,
    _LEADS.c.metadata,
    _LEADS.c.created_at,
)
_WORDS = {"phone": "phone", "email": "email", "external_id": "external id"}


class Importer:
    """Applies checked rows batch by batch; `summary` adds up what happened."""

    def __init__(self, business: Owner, options: ImportOptions, now: datetime, import_id: str) -> None:
        self.business, self.options, self.now, self.import_id = business, options, now, import_id
        self.summary = Summary()
        self._claimed: dict[tuple[str, str], int] = {}  # a key of a lead this file already named → row

    def apply(self, session: Session, batch: Sequence[ValidRow]) -> None:
        """Write one batch in the caller's transaction (nothing in a dry run)."""
        fresh: list[ValidRow] = []
        for item in batch:
            keys = item.keys
            earlier = next(((kind, self._claimed[(kind, v)]) for kind, v in keys if (kind, v) in self._claimed), None)
            if earlier is not None:
                kind, row = earlier
                message = f"the same lead as row {row} (same {_WORDS[kind]}); only its first row is imported"
                self.summary.errors.append(RowError(item.row, item.columns.get(kind, ""), message))
                continue
            for key in keys:
                self._claimed[key] = item.row
            fresh.append(item)
        if not fresh:
            return
        existing = self._existing(session, fresh)
        new_rows: list[dict[str, Any]] = []
        for item in fresh:
            matches = [existing[key] for key in item.keys if key in existing]
            if not matches:
                values = lead_values(self.business, item.lead, self.now, "form")
                values["metadata"] = values.pop("extra")
                values["id"] = new_id("lead")
                new_rows.append(values)
                continue
            lead = min(matches, key=lambda m: (m["created_at"], m["id"]))  # as `find_existing` picks
            if self.options.on_duplicate == "skip":
                self.summary.skipped += 1
                continue
            others = {m["id"] for m in matches} - {lead["id"]}
            if others:
                kinds = [_WORDS[k] for k, v in item.keys if (k, v) in existing and existing[(k, v)]["id"] in others]
                self.summary.errors.append(
                    RowError(item.row, "", f"its {' and '.join(kinds)} belong to another lead than its other details")
                )
                continue
            changes = self._changes(lead, item)
            if not changes:
                self.summary.unchanged += 1
                continue
            self.summary.updated += 1
            if not self.options.dry_run:
                session.connection().execute(
                    _LEADS.update().where(_LEADS.c.id == lead["id"]), {**changes, "updated_at": self.now}
                )
        self.summary.created += len(new_rows)
        if new_rows and not self.options.dry_run:
            self._insert(session, new_rows)

    def _existing(self, session: Session, batch: Sequence[ValidRow]) -> dict[tuple[str, str], dict[str, Any]]:
        wanted: dict[str, set[str]] = {"phone": set(), "email": set(), "external_id": set()}
        for item in batch:
            for kind, value in item.keys:
                wanted[kind].add(value)
        found: dict[tuple[str, str], dict[str, Any]] = {}
        connection = session.connection()
        for kind, values in wanted.items():
            if not values:
                continue
            # One query per key, each on its (business_id, key) unique index: with OR between them
            # SQLite reads every lead of the business instead, for every batch.
            query = sa.select(*_EXISTING).where(
                _LEADS.c.business_id == self.business.id, _COLUMN_OF[kind].in_(sorted(values))
            )
            for row in connection.execute(query).mappings():
                lead = dict(row)
                for key_kind, column in (("phone", "phone_key"), ("email", "email"), ("external_id", "external_id")):
                    if lead[column] is not None:
                        found[(key_kind, lead[column])] = lead
        return found

    def _changes(self, lead: Mapping[str, Any], item: ValidRow) -> dict[str, Any]:
        data, given = item.lead, item.fields
        changes: dict[str, Any] = {}
        simple: dict[str, str | None] = {
            "name": data.name.strip(),
            "email": data.email,
            "external_id": data.external_id,
            "industry": data.industry,
            "timezone": data.timezone,
            "locale": data.locale,
        }
        for name, value in simple.items():
            if name in given and value and lead[name] != value:
                changes[name] = value
        if "phone" in given and data.phone and lead["phone_key"] != phone_key(data.phone):
            changes["phone"], changes["phone_key"] = data.phone, phone_key(data.phone)
        consent = {**(lead["consent"] or {}), **data.consent}
        if consent != (lead["consent"] or {}):
            changes["consent"] = consent
        metadata = {**(lead["metadata"] or {}), **data.metadata}
        if metadata != (lead["metadata"] or {}):
            changes["metadata"] = metadata
        return changes

    def _insert(self, session: Session, rows: list[dict[str, Any]]) -> None:
        connection = session.connection()
        connection.execute(insert_into(Lead), rows)
        refs = [mailbox.LeadRef(id=row["id"], business_id=self.business.id) for row in rows]
        start = self.options.start
        if start == "on_reply":
            detail = f"imported ({self.import_id}); the sequence starts on the lead's next message"
        else:
            when = self.options.start_at if start == "at" and self.options.start_at else self.now
            mailbox.enqueue_many(
                session,
                [(ref, "lead_created", f"lead_created:{ref.id}") for ref in refs],
                self.now,
                max(when, self.now),
            )
            detail = f"imported ({self.import_id}); the sequence starts " + (
                "now" if start == "now" else f"at {when.isoformat()}"
            )
        activity = [
            {
                "id": new_id("act"),
                "business_id": ref.business_id,
                "lead_id": ref.id,
                "at": self.now,
                "kind": "imported",
                "touch": None,
                "channel": None,
                "detail": detail,
            }
            for ref in refs
        ]
        connection.execute(insert_into(LeadActivity), activity)


def checked_rows(
    checker: RowChecker, rows: Iterable[tuple[int, dict[str, Any] | RowError]], summary: Summary
) -> Iterator[ValidRow]:
    """The rows that pass `checker`; the others' errors go to `summary`."""
    for number, record in rows:
        summary.rows += 1
        if isinstance(record, RowError):
            summary.errors.append(record)
            continue
        result = checker.check(number, record)
        if isinstance(result, ValidRow):
            yield result
        else:
            summary.errors.extend(result)


def batches(rows: Iterable[ValidRow], size: int | None = None) -> Iterator[list[ValidRow]]:
    size = size or BATCH
    batch: list[ValidRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def report_csv(errors: Iterable[Mapping[str, Any]]) -> str:
    """The per-row error report: row, column, message."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["row", "column", "message"])
    for error in errors:
        writer.writerow([error["row"], error["column"], error["message"]])
    return out.getvalue()


def errors_json(errors: Iterable[RowError]) -> list[dict[str, Any]]:
    return [{"row": e.row, "column": e.column, "message": e.message} for e in sorted(errors, key=lambda e: e.row)]


def run_import(
    text: str,
    options: ImportOptions,
    business: Owner,
    now: datetime,
    import_id: str,
    write: Callable[[Callable[[Session], None]], None],
    *,
    max_rows: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Summary:
    """Check and write every row; `write(step)` runs `step(session)` in the transaction the caller
    chose for each batch (the request's own, or one per batch on the command line)."""
    if options.format == "csv":
        unused = sorted(set(options.mapping) - set(csv_header(text)))
        if unused:  # checked before any row, so nothing is written under a mapping that is wrong
            raise ImportProblem(f"mapping: the file has no column {', '.join(repr(u) for u in unused)}")
    importer = Importer(business, options, now, import_id)
    checker = RowChecker(options)
    summary = importer.summary
    rows = records(text, options.format)
    if max_rows is not None:
        rows = _at_most(rows, max_rows)
    for batch in batches(checked_rows(checker, rows, summary)):
        write(functools.partial(importer.apply, batch=batch))
        if progress is not None:
            progress(batch[-1].row)  # the row number reached
    summary.columns = dict(checker.columns)
    return summary


def _at_most(
    rows: Iterable[tuple[int, dict[str, Any] | RowError]], limit: int
) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    for count, row in enumerate(rows, start=1):
        if count > limit:
            raise ImportProblem(f"the file has more than {limit} rows; split it or use `nudge leads import`")
        yield row


def save(
    session: Session,
    business_id: str,
    import_id: str,
    origin: str,
    options: ImportOptions,
    summary: Summary,
    now: datetime,
) -> LeadImport:
    record = LeadImport(
        id=import_id,
        business_id=business_id,
        origin=origin,
        format=options.format,
        dry_run=options.dry_run,
        options={**options.as_json(), "columns": summary.columns},
        rows=summary.rows,
        created=summary.created,
        updated=summary.updated,
        unchanged=summary.unchanged,
        skipped=summary.skipped,
        failed=summary.failed,
        errors=errors_json(summary.errors),
        created_at=now,
    )
    session.add(record)
    return record
