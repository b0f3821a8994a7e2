"""Knowledge-base benchmark: import rate and match latency at 10,000 case studies.

    .venv/bin/python -m bench.knowledge_match [--n 10000] [--queries 400] [--server]

1. Writes N synthetic case studies (17 industries x en/es/pt) to a JSONL file and imports it with
   `knowledge.ingest.import_files` into a fresh embedded Chroma (or a `chroma run` server with
   --server): parse, validate, embed, upsert. Prints case studies per second.
2. Times `match_case_study` (industry detection + query embedding + Chroma HNSW search filtered by
   industry and language) over a mix of lead messages: p50 / p99.
3. Baseline in the same run: the same matching done by brute force, numpy cosine over all N
   embeddings (read back from Chroma) with the same filters; prints both, their ratio, and how
   often the two agree on the case study.

Target: match p99 under 50 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from knowledge.embeddings import warm
from knowledge.industries import get_detector
from knowledge.industry_data import INDUSTRY_TABLE
from knowledge.ingest import import_files
from knowledge.matching import CANDIDATES, match_case_study
from knowledge.store import KnowledgeStore

BUSINESS = "bench-agency"

OUTCOMES = {
    "en": [
        "answered every lead within a minute and booked {n}% more appointments",
        "followed up for 60 days and recovered {n} deals that had gone quiet",
        "cut the reply time from 4 hours to {s} seconds and closed {n}% more sales",
        "qualified inbound leads automatically and gave the sales team {n} extra hours a week",
    ],
    "es": [
        "respondió cada mensaje en menos de un minuto y agendó {n}% más citas",
        "dio seguimiento durante 60 días y recuperó {n} ventas que se habían enfriado",
        "bajó el tiempo de respuesta de 4 horas a {s} segundos y cerró {n}% más ventas",
        "calificó los prospectos automáticamente y liberó {n} horas por semana al equipo",
    ],
    "pt": [
        "respondeu cada contato em menos de um minuto e agendou {n}% mais atendimentos",
        "fez follow-up por 60 dias e recuperou {n} vendas que tinham esfriado",
        "reduziu o tempo de resposta de 4 horas para {s} segundos e fechou {n}% mais vendas",
        "qualificou os leads automaticamente e liberou {n} horas por semana para a equipe",
    ],
}
CITIES = ["Austin", "Monterrey", "Bogotá", "São Paulo", "Lima", "Porto", "Madrid", "Denver", "Recife", "Quito"]
LEADS = [
    ("Tengo un consultorio de ortodoncia en Monterrey", "es"),
    ("we flip houses and need to call sellers back faster", "en"),
    ("Sou corretor de imóveis em Curitiba", "pt"),
    ("I own two gyms and trial members don't convert", "en"),
    ("Somos un despacho de abogados laboralistas", "es"),
    ("Tenho uma hamburgueria e faço eventos", "pt"),
    ("We sell skincare on Shopify", "en"),
    ("Vendemos autos seminuevos en Puebla", "es"),
    ("Temos uma escola de idiomas", "pt"),
    ("We're a B2B SaaS startup with a free trial", "en"),
    ("Soy agente de seguros de vida", "es"),
    ("Tenho um salão de beleza e uma barbearia", "pt"),
    ("We remodel kitchens and bathrooms", "en"),
    ("Somos una clínica de fisioterapia", "es"),
    ("Tenho um escritório de contabilidade", "pt"),
    ("We own a boutique hotel by the beach", "en"),
    ("Somos agencia de marketing digital", "es"),
    ("Somos uma indústria de embalagens plásticas", "pt"),
    ("how much is it?", "en"),
    ("hola, info por favor", "es"),
]


def log(message: str) -> None:
    print(message, flush=True)


def synthetic_studies(n: int, seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    keys = list(INDUSTRY_TABLE)
    out: list[dict[str, object]] = []
    for i in range(n):
        key = keys[i % len(keys)]
        lang = ("en", "es", "pt")[(i // len(keys)) % 3]
        row = INDUSTRY_TABLE[key]
        noun = rng.choice(row["strong"][lang]).rstrip("*")
        city = rng.choice(CITIES)
        outcome = rng.choice(OUTCOMES[lang]).format(n=rng.randint(12, 60), s=rng.randint(20, 90))
        context = rng.choice(row["prototypes"])
        body = f"{context}. A {noun} business in {city} {outcome}. " + " ".join(
            rng.choice(OUTCOMES[lang]).format(n=rng.randint(5, 40), s=rng.randint(20, 90)) + "."
            for _ in range(rng.randint(1, 3))
        )
        out.append(
            {
                "title": f"{noun.title()} #{i} in {city}",
                "industry": key,
                "language": lang,
                "body": body,
                "metrics": {"uplift": f"+{rng.randint(10, 60)}%"},
                "tags": [key, lang],
            }
        )
    return out


def percentile(samples: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q))


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000.0)
    return samples


def start_server(path: Path) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    binary = Path(sys.executable).parent / "chroma"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [str(binary), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("chroma server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="case studies to import")
    parser.add_argument("--queries", type=int, default=400, help="timed match calls")
    parser.add_argument("--server", action="store_true", help="use a `chroma run` server instead of embedded")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="nudge-bench-kb-"))
    server: subprocess.Popen[bytes] | None = None
    try:
        start = time.perf_counter()
        encoder = warm()
        detector = get_detector()
        log(f"model {encoder.name} loaded and warmed in {time.perf_counter() - start:.2f} s")

        studies = synthetic_studies(args.n)
        source = workdir / "case_studies.jsonl"
        with source.open("w", encoding="utf-8") as fh:
            for study in studies:
                fh.write(json.dumps(study, ensure_ascii=False) + "\n")
        log(f"wrote {len(studies)} synthetic case studies ({source.stat().st_size / 1e6:.1f} MB JSONL)")

        if args.server:
            server, url = start_server(workdir / "server")
            store = KnowledgeStore(url=url)
            log(f"Chroma server at {url}")
        else:
            store = KnowledgeStore(workdir / "chroma")
            log("embedded Chroma (PersistentClient)")

        last_print = [0.0]

        def progress(done: int, total: int, stage: str) -> None:
            now = time.perf_counter()
            if stage == "import" and (now - last_print[0] > 5 or done == total):
                last_print[0] = now
                log(f"  import {done}/{total} ({done / max(now - t0, 1e-9):.0f}/s)")

        t0 = time.perf_counter()
        report = import_files(store, BUSINESS, [source], progress=progress, max_bytes=100 * 1024 * 1024)
        import_s = time.perf_counter() - t0
        assert report.created == args.n and not report.errors, report.errors[:3]
        import_rate = args.n / import_s
        log(f"import: {args.n} case studies in {import_s:.1f} s = {import_rate:.0f} case studies/s")

        t0 = time.perf_counter()
        again = import_files(store, BUSINESS, [source], max_bytes=100 * 1024 * 1024)
        log(f"re-import of the same file: {again.unchanged} unchanged, 0 written, {time.perf_counter() - t0:.1f} s")

        # Baseline data: every embedding and its filters, read back from Chroma.
        col = store.collection(BUSINESS)
        page = col.get(include=["embeddings", "metadatas"])
        ids = page["ids"]
        matrix = np.asarray(page["embeddings"], dtype=np.float32)
        metas = page["metadatas"] or []
        industry_of = np.asarray([str((m or {}).get("industry")) for m in metas])
        language_of = np.asarray([str((m or {}).get("language")) for m in metas])
        log(f"baseline matrix {matrix.shape[0]} x {matrix.shape[1]} float32")

        def brute_force(text: str, lang: str) -> str | None:
            guess = detector.detect(text, language=lang)
            if guess.industry is None:
                return None
            query = encoder.encode([text], query=True)[0]
            for mask in (
                (industry_of == guess.industry) & (language_of == lang),
                industry_of == guess.industry,
            ):
                idx = np.flatnonzero(mask)
                if idx.size:
                    sims = matrix[idx] @ query
                    best = idx[np.argsort(-sims)[:CANDIDATES]]
                    return ids[int(best[0])]
            return None

        def chroma_match(text: str, lang: str) -> str | None:
            match = match_case_study(store, BUSINESS, text, language=lang)
            return match.id if match else None

        queries = [LEADS[i % len(LEADS)] for i in range(args.queries)]
        for text, lang in LEADS:  # warm both paths
            chroma_match(text, lang)
            brute_force(text, lang)
        agree = sum(chroma_match(t, lang) == brute_force(t, lang) for t, lang in LEADS)

        log(f"timing {args.queries} matches each way ...")
        it = iter(queries * 2)
        chroma_ms = timed(lambda: chroma_match(*next(it)), args.queries)
        it = iter(queries * 2)
        brute_ms = timed(lambda: brute_force(*next(it)), args.queries)
        embedding = encoder.encode(["Tengo un consultorio de ortodoncia"], query=True)[0]
        search_ms = timed(
            lambda: store.query(BUSINESS, embedding=embedding, n_results=CANDIDATES, industry="dental", language="es"),
            args.queries,
        )
        numpy_search_ms = timed(lambda: np.argsort(-(matrix @ embedding))[:CANDIDATES], args.queries)

        p50, p99 = percentile(chroma_ms, 50), percentile(chroma_ms, 99)
        b50, b99 = percentile(brute_ms, 50), percentile(brute_ms, 99)
        log("")
        log(f"== knowledge bench: {args.n} case studies, {'server' if args.server else 'embedded'} Chroma ==")
        log(f"import rate            {import_rate:8.0f} case studies/s  ({import_s:.1f} s, parse+embed+upsert)")
        log(
            f"match (Chroma HNSW)    p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   target p99 < 50 ms: "
            f"{'PASS' if p99 < 50 else 'FAIL'}"
        )
        log(f"match (numpy baseline) p50 {b50:6.2f} ms   p99 {b99:6.2f} ms")
        log(f"ratio Chroma/baseline  p50 {p50 / b50:6.2f}x    p99 {p99 / b99:6.2f}x")
        log(
            f"search only: Chroma filtered query p50 {percentile(search_ms, 50):.2f} ms, "
            f"numpy cosine over all {args.n} p50 {percentile(numpy_search_ms, 50):.2f} ms"
        )
        log(f"same case study chosen by both: {agree}/{len(LEADS)} lead messages")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
