"""Lead import benchmark: `nudge leads import` on a 100,000-row CSV with 5 % bad rows, on SQLite.

    .venv/bin/python -m bench.lead_import [--rows N] [--runs R] [--keep DIR]   (or bench/lead_import.py)

The CSV is what a Mexican business exports from a spreadsheet: Spanish headers, national and
international numbers (`55 1234 5678`, `+52 1 55 …`), emails, a CRM id, a WhatsApp consent column,
a city (kept as metadata) and, on a third of the rows, the lead's message. One row in twenty is
bad: letters in the phone, a broken email, no phone or email, a consent that is not yes/no, a
repeated lead.

Timed, each run on a fresh database: the real command (`python -m nudge.cli.main leads import`, a
new process: start-up, migrations, reading, checking, writing, the report), then the same
command again, which must change nothing (leads, events and decisions are compared row by row).
Baseline in the same run: a bare `executemany` INSERT of the same number of rows into a table
shaped like `leads` (no checks, no dedupe, no events), as rows per second.
Target: the first import under 60 s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, Python puts bench/ first on the path, where bench/knowledge.py would shadow the
# `knowledge` package: keep this folder off the path and the project root on it.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import sqlalchemy as sa  # noqa: E402

from nudge.db import create_db_engine, make_session_factory, transaction  # noqa: E402
from nudge.migrate import upgrade  # noqa: E402
from nudge.tenants import create_business  # noqa: E402

TARGET_SECONDS = 60.0
NAMES = ("Ana", "Luis", "María", "José", "Carmen", "Jorge", "Lucía", "Pedro", "Sofía", "Diego")
SURNAMES = ("García", "Hernández", "López", "Martínez", "Pérez", "Sánchez", "Ramírez", "Torres")
CITIES = ("CDMX", "Monterrey", "Guadalajara", "Puebla", "Mérida")
MESSAGES = (
    "Hola, quiero información sobre el plan anual",
    "¿Cuánto cuesta la consulta?",
    "Me interesa una cotización para mi empresa",
)


def write_csv(path: Path, rows: int, seed: int = 7) -> int:
    """The file; returns how many rows are bad."""
    rng = random.Random(seed)
    bad = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("Nombre,Teléfono,Correo,ID CRM,Acepta WhatsApp,Ciudad,Mensaje\n")
        for n in range(rows):
            name = f"{rng.choice(NAMES)} {rng.choice(SURNAMES)}"
            local = f"55{n:08d}"
            phone = f"{local[:2]} {local[2:6]} {local[6:]}" if n % 2 else f"+52 1 {local}"
            email = f"lead{n}@example.com"
            consent = rng.choice(("sí", "no", ""))
            message = rng.choice(MESSAGES) if n % 3 == 0 else ""
            if n % 20 == 19:  # 5 % bad rows, five kinds
                bad += 1
                kind = (n // 20) % 5
                if kind == 0:
                    phone = f"55-ABC-{n}"
                elif kind == 1:
                    email, phone = f"lead{n}@example", ""
                elif kind == 2:
                    email, phone = "", ""
                elif kind == 3:
                    consent = "quizás"
                else:
                    phone, email = "+52 1 5500000000", "lead0@example.com"  # the same lead as row 2
            out.write(f'"{name}",{phone},{email},crm-{n},{consent},{rng.choice(CITIES)},"{message}"\n')
    return bad


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _import(csv_path: Path, env: dict[str, str], business_id: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one `nudge leads import`. On a machine shared with other
    work the wall time is the CPU time stretched by the wait for a core, so both are printed."""
    command = [sys.executable, "-m", "nudge.cli.main", "leads", "import", str(csv_path), "-b", business_id]
    command += ["--country", "MX", "--json"]
    cpu, started = _cpu_of_children(), time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds, cpu = time.perf_counter() - started, _cpu_of_children() - cpu
    if done.returncode != 0:
        raise SystemExit(f"import failed ({done.returncode}): {done.stderr[-2000:]}")
    summary = json.loads(done.stdout)
    print(f"    {', '.join(f'{k} {summary[k]}' for k in ('rows', 'created', 'skipped', 'failed'))}")
    return seconds, cpu


def _fingerprint(engine: sa.Engine) -> str:
    digest = hashlib.sha256()
    with engine.connect() as connection:
        for table in ("leads", "lead_events", "lead_activity"):
            for row in connection.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def _count(engine: sa.Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)


def _baseline(folder: Path, rows: int) -> float:
    """Rows per second of a bare executemany INSERT into a leads-shaped table."""
    engine = create_db_engine(f"sqlite:///{folder / 'baseline.db'}")
    metadata = sa.MetaData()
    table = sa.Table(
        "leads",
        metadata,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("business_id", sa.String(40)),
        sa.Column("name", sa.String(200)),
        sa.Column("phone", sa.String(40)),
        sa.Column("phone_key", sa.String(40)),
        sa.Column("email", sa.String(320)),
        sa.Column("external_id", sa.String(200)),
        sa.Column("consent", sa.JSON),
        sa.Column("metadata", sa.JSON),
        sa.Column("created_at", sa.DateTime),
        sa.UniqueConstraint("business_id", "phone_key"),
        sa.UniqueConstraint("business_id", "email"),
        sa.UniqueConstraint("business_id", "external_id"),
    )
    metadata.create_all(engine)
    now = datetime.now(UTC)
    values = [
        {
            "id": f"lead_{n:020d}",
            "business_id": "biz_1",
            "name": "Ana García",
            "phone": f"+5255{n:08d}",
            "phone_key": f"+5255{n:08d}",
            "email": f"lead{n}@example.com",
            "external_id": f"crm-{n}",
            "consent": {"whatsapp": True},
            "metadata": {"Ciudad": "CDMX"},
            "created_at": now,
        }
        for n in range(rows)
    ]
    started = time.perf_counter()
    with engine.begin() as connection:
        for start in range(0, rows, 2000):
            connection.execute(table.insert(), values[start : start + 2000])
    seconds = time.perf_counter() - started
    engine.dispose()
    return rows / seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1, help="fresh databases, each imported twice")
    parser.add_argument("--keep", type=Path, help="keep the files here instead of a temporary folder")
    args = parser.parse_args(argv)
    folder_context = tempfile.TemporaryDirectory() if args.keep is None else None
    folder = args.keep or Path(folder_context.name if folder_context else ".")
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "leads.csv"
    bad = write_csv(csv_path, args.rows)
    print(f"{args.rows:,} rows, {bad:,} bad ({bad / args.rows:.0%}), {csv_path.stat().st_size / 1e6:.1f} MB")
    firsts, seconds_again, cpus = [], [], []
    for run in range(args.runs):
        database = folder / f"run{run}.db"
        database.unlink(missing_ok=True)
        url = f"sqlite:///{database}"
        engine = create_db_engine(url)
        upgrade(engine)
        with transaction(make_session_factory(engine)) as session:
            business_id = create_business(session, name="Bench", now=datetime.now(UTC)).business.id
        env = {**os.environ, "NUDGE_DATABASE_URL": url, "NUDGE_DATA_DIR": str(folder)}
        print(f"run {run + 1}: first import")
        wall, cpu = _import(csv_path, env, business_id)
        firsts.append(wall)
        cpus.append(cpu)
        leads, before = _count(engine, "leads"), _fingerprint(engine)
        print(f"run {run + 1}: the same file again")
        seconds_again.append(_import(csv_path, env, business_id)[0])
        unchanged = _fingerprint(engine) == before
        engine.dispose()
        print(
            f"run {run + 1}: {firsts[-1]:.1f} s ({cpus[-1]:.1f} s of CPU), again {seconds_again[-1]:.1f} s; "
            f"{leads:,} leads; second import changed nothing: {unchanged}"
        )
        if not unchanged:
            return 1
    load = os.getloadavg()[0]
    baseline = _baseline(folder, args.rows)
    first = statistics.median(firsts)
    rate = args.rows / first
    again = statistics.median(seconds_again)
    print(f"import (median of {args.runs}): {first:.1f} s = {rate:,.0f} rows/s; the same file again {again:.1f} s")
    print(
        f"CPU time of the import (median): {statistics.median(cpus):.1f} s; "
        f"load average {load:.1f} on {os.cpu_count()} cores"
    )
    print(f"baseline, bare executemany INSERT: {baseline:,.0f} rows/s (import reaches {rate / baseline:.1%} of it)")
    verdict = "met" if first < TARGET_SECONDS else "MISSED"
    print(f"target < {TARGET_SECONDS:g} s for {args.rows:,} rows: {verdict}")
    if folder_context is not None:
        folder_context.cleanup()
    return 0 if first < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
