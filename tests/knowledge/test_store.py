"""KnowledgeStore on an embedded PersistentClient and on a real Chroma server process."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from knowledge.embeddings import DEFAULT_MODEL, Encoder, FloatMatrix, register_encoder
from knowledge.store import CaseStudy, KnowledgeStore, collection_name, stable_id
from nudge.settings import Settings

StoreFactory = Callable[..., KnowledgeStore]
Business = Callable[[str], str]

TEST_MODEL = "test-hash-64"


class HashEncoder:
    """A tiny deterministic bag-of-words encoder, to exercise a change of embedding model."""

    name = TEST_MODEL
    dim = 64

    def encode(self, texts: Sequence[str], *, query: bool = False) -> FloatMatrix:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row, 0] = 1e-3
            for word in text.lower().split():
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


register_encoder(TEST_MODEL, HashEncoder)


def dental_en() -> CaseStudy:
    return CaseStudy(
        title="Sonrisa Dental books 40% more consultations",
        industry="Dental",
        body="A three-chair dental clinic answered every WhatsApp lead within a minute.",
        metrics={"consultations": "+40%", "reply_time_s": 45},
        url="https://example.com/sonrisa",
        tags=["whatsapp", "clinic"],
    )


def gym_pt() -> CaseStudy:
    return CaseStudy(
        title="Academia Forte converte mais aulas experimentais",
        industry="fitness",
        body="Uma academia de musculação em Belo Horizonte converteu 30% mais aulas experimentais.",
        metrics="30% more trial conversions",
    )


def test_upsert_get_list_delete(store: KnowledgeStore, business: Business) -> None:
    biz = business("acme")
    result = store.upsert(biz, [dental_en(), gym_pt()])
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    assert store.count(biz) == 2

    listed = store.list(biz)
    assert [s.industry for s in listed] == ["dental", "fitness"]
    dental = listed[0]
    assert dental.id == stable_id(biz, dental_en().title, "dental")
    assert dental.language == "en"  # detected
    assert listed[1].language == "pt"
    assert dental.metrics == {"consultations": "+40%", "reply_time_s": 45}
    assert dental.tags == ["whatsapp", "clinic"]
    assert dental.url == "https://example.com/sonrisa"
    assert dental.body == dental_en().body
    assert listed[1].metrics == "30% more trial conversions"

    assert store.get(biz, dental.key) == dental
    assert store.get(biz, "cs-missing") is None
    assert [s.title for s in store.list(biz, industry="fitness")] == [gym_pt().title]
    assert [s.title for s in store.list(biz, language="en")] == [dental_en().title]

    assert store.delete(biz, [dental.key, "cs-missing"]) == 1
    assert store.count(biz) == 1
    assert store.get(biz, dental.key) is None


def test_upsert_is_idempotent_and_updates_by_id(store: KnowledgeStore, business: Business) -> None:
    biz = business("acme")
    first = store.upsert(biz, [dental_en(), gym_pt()])
    again = store.upsert(biz, [dental_en(), gym_pt()])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert again.ids == first.ids

    edited = dental_en().model_copy(update={"body": "Now with 50% more consultations."})
    changed = store.upsert(biz, [edited])
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 0)
    assert store.count(biz) == 2
    got = store.get(biz, changed.ids[0])
    assert got is not None and got.body == "Now with 50% more consultations."

    explicit = store.upsert(biz, [gym_pt().model_copy(update={"id": "my-own-id"})])
    assert explicit.ids == ("my-own-id",)
    assert store.count(biz) == 3


def test_businesses_are_isolated(store: KnowledgeStore, business: Business) -> None:
    a, b = business("agency-client-a"), business("agency-client-b")
    store.upsert(a, [dental_en()])
    store.upsert(b, [gym_pt()])
    assert [s.industry for s in store.list(a)] == ["dental"]
    assert [s.industry for s in store.list(b)] == ["fitness"]
    # The same story loaded by two businesses gets two ids and two copies.
    store.upsert(b, [dental_en()])
    ids_a = {s.key for s in store.list(a)}
    ids_b = {s.key for s in store.list(b)}
    assert not ids_a & ids_b
    hits = store.query(a, "academia de musculação", n_results=10)
    assert {h.case_study.key for h in hits} == ids_a
    assert store.delete(a, list(ids_b)) == 0
    assert store.count(b) == 2
    assert store.collection_name(a) != store.collection_name(b)


def test_reads_of_unknown_business_create_nothing(store: KnowledgeStore, business: Business) -> None:
    ghost = business("ghost")
    assert store.list(ghost) == []
    assert store.count(ghost) == 0
    assert store.get(ghost, "x") is None
    assert store.query(ghost, "dentist") == []
    assert store.delete(ghost, ["x"]) == 0
    assert ghost not in store.businesses()


def test_query_returns_nearest_first(store: KnowledgeStore, business: Business) -> None:
    biz = business("acme")
    store.upsert(biz, [dental_en(), gym_pt()])
    hits = store.query(biz, "tengo un consultorio de ortodoncia", n_results=2)
    assert [h.case_study.industry for h in hits] == ["dental", "fitness"]
    assert -1.0 <= hits[1].similarity < hits[0].similarity <= 1.0
    only = store.query(biz, "ortodoncia", industry="fitness", n_results=5)
    assert [h.case_study.industry for h in only] == ["fitness"]
    assert store.query(biz, "ortodoncia", industry="legal") == []


def test_data_and_embedding_config_survive_a_new_client(store_factory: StoreFactory, business: Business) -> None:
    biz = business("persist")
    store_factory().upsert(biz, [dental_en()])
    reopened = store_factory()
    assert [s.title for s in reopened.list(biz)] == [dental_en().title]
    col = reopened.client.get_collection(reopened.collection_name(biz))
    assert col.configuration_json["embedding_function"]["name"] == "nudge-offline"
    assert col.configuration_json["embedding_function"]["config"]["model"] == DEFAULT_MODEL
    assert (col.metadata or {})["business_id"] == biz


def test_changing_the_model_reembeds_into_a_new_collection(
    store_factory: StoreFactory, business: Business, encoder: Encoder
) -> None:
    biz = business("model-change")
    old = store_factory(TEST_MODEL)
    old.upsert(biz, [dental_en(), gym_pt()])
    old_name = old.collection_name(biz)

    new = store_factory(DEFAULT_MODEL)
    assert new.collection_name(biz) != old_name
    studies = new.list(biz)  # first use under the new model back-fills from the old collection
    assert sorted(s.title for s in studies) == sorted([dental_en().title, gym_pt().title])
    col = new.client.get_collection(new.collection_name(biz))
    assert col.configuration_json["embedding_function"]["config"]["model"] == DEFAULT_MODEL
    embedded = col.get(include=["embeddings"])["embeddings"]
    assert embedded is not None and len(embedded[0]) == 512  # re-embedded by the new model
    assert new.query(biz, "consultorio de ortodoncia")[0].case_study.industry == "dental"
    # The old collection is untouched, so switching back needs no work either.
    assert old.count(biz) == 2
    new.drop_business(biz)
    assert new.count(biz) == 0 and old.count(biz) == 0


def test_collection_names_follow_chroma_rules() -> None:
    name = collection_name("Clínica Sonrisa / São Paulo #1", DEFAULT_MODEL)
    assert name.startswith("kb-clinica-sonrisa-sao-paulo-1-")
    assert name.endswith("-use-multilingual-v3")
    assert len(name) <= 128 and name.replace("-", "").isalnum()
    assert collection_name("a", DEFAULT_MODEL) != collection_name("A", DEFAULT_MODEL)
    assert collection_name("x" * 500, DEFAULT_MODEL).startswith("kb-" + "x" * 40)
    with pytest.raises(ValueError):
        collection_name(" ", DEFAULT_MODEL)


def test_stable_ids_ignore_case_and_spacing() -> None:
    assert stable_id("b1", "Sonrisa  Dental", "Dental") == stable_id("b1", "sonrisa dental", "dental")
    assert stable_id("b1", "Sonrisa Dental", "dental") != stable_id("b2", "Sonrisa Dental", "dental")
    assert stable_id("b1", "Sonrisa Dental", "dental") != stable_id("b1", "Sonrisa Dental", "legal")


def test_case_study_validation() -> None:
    with pytest.raises(ValidationError, match="body is empty"):
        CaseStudy(title="t", industry="dental", body="   ")
    with pytest.raises(ValidationError, match="language must be one of"):
        CaseStudy(title="t", industry="dental", body="b", language="fr")
    with pytest.raises(ValidationError, match="url"):
        CaseStudy(title="t", industry="dental", body="b", url="javascript:alert(1)")
    with pytest.raises(ValidationError, match="Extra inputs"):
        CaseStudy.model_validate({"title": "t", "industry": "dental", "body": "b", "author": "x"})
    study = CaseStudy.model_validate(
        {"title": " t ", "industry": "dental", "body": "b", "language": "pt-BR", "tags": "a; b;a"}
    )
    assert (study.title, study.language, study.tags) == ("t", "pt", ["a", "b"])


def test_from_settings(tmp_path: Path, chroma_server: str, business: Business, encoder: Encoder) -> None:
    embedded = KnowledgeStore.from_settings(
        Settings(NUDGE_DATA_DIR=str(tmp_path), NUDGE_CHROMA_URL="", NUDGE_CHROMA_PATH="")
    )
    biz = business("settings")
    embedded.upsert(biz, [gym_pt()])
    assert (tmp_path / "chroma").is_dir()
    remote = KnowledgeStore.from_settings(Settings(NUDGE_CHROMA_URL=chroma_server))
    assert remote.count(biz) == 0  # a different Chroma entirely
    remote.upsert(biz, [gym_pt()])
    assert KnowledgeStore(url=chroma_server).count(biz) == 1


def test_constructor_needs_exactly_one_target(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        KnowledgeStore()
    with pytest.raises(ValueError, match="exactly one"):
        KnowledgeStore(tmp_path, url="http://127.0.0.1:1")
    with pytest.raises(ValueError, match="invalid Chroma server URL"):
        KnowledgeStore(url="ftp://host")
