"""What ``lineage explain`` needs beyond the graph: the one decision asked about, read again from
its prediction log with the field mapping its source is crawled with, and the model version it
names (see :mod:`graph.provenance` for the chain behind a version)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from crawler import config as crawl_config
from crawler.errors import ConfigError, CrawlerError
from crawler.formats.predictions import SOURCE_TYPE, Prediction, find_prediction, prediction_at
from crawler.registry import FieldMap, SourceSpec, discover
from graph.errors import NodeNotFoundError
from graph.model import model_id, model_version_id
from graph.provenance import Provenance, explain
from graph.store import Store
from parsers import ModelRef


class UnknownVersionError(CrawlerError):
    """A prediction names a model version the store does not hold."""


def source_of(path: Path, config_file: str | None, fields: Mapping[str, str]) -> SourceSpec:
    """How ``path`` is read: its source in the config (its field mapping), else the defaults
    with ``fields`` over them."""
    if config_file is not None:
        for spec in crawl_config.load(config_file).sources:
            if spec.type == SOURCE_TYPE and path.resolve() in {found for found, _ in discover(spec)}:
                return spec
    return SourceSpec(path=str(path), type=SOURCE_TYPE, fields=FieldMap.of(fields))


def read_prediction(spec: SourceSpec, where: str, key: str | None, at: str | None) -> Prediction:
    """The decision at ``FILE:LINE``, or the one about ``key`` in ``FILE`` nearest ``at``."""
    file, _, line = where.rpartition(":") if key is None else (where, "", "")
    if key is None and not line.isdigit():
        raise ConfigError(f"--prediction takes FILE:LINE (or FILE with --key): {where!r}")
    path = Path(file)
    if not path.is_file():
        raise ConfigError(f"no such prediction log: {file}")
    return find_prediction(spec, path, key, at) if key is not None else prediction_at(spec, path, int(line))


def explain_prediction(store: Store, prediction: Prediction) -> Provenance:
    """The chain behind the version that made ``prediction``: others serving at its time."""
    version = model_version_id(ModelRef(name=prediction.model, version=prediction.version))
    if store.node(version) is None:
        raise UnknownVersionError(f"{prediction.origin.path}:{prediction.origin.line}: {prediction.model} version "
                                  f"{prediction.version} is in no crawled source: crawl its tracking store and "
                                  "this prediction log")
    return explain(store, version, features=sorted(prediction.features), at=prediction.timestamp)


def explain_model(store: Store, name: str, version: str | None) -> Provenance:
    """The chain behind a version of a model (its newest version when none is named)."""
    if version is None:
        versions = [e.src for e in store.neighbors([model_id(ModelRef(name=name))], incoming=["OF"])
                    if e.src.startswith("model_version:")]
        if not versions:
            raise NodeNotFoundError(f"model {name}", [])
        found = max(store.nodes(ids=versions), key=lambda n: _version_order(str(n.props.get("version", ""))))
        return explain(store, found.id)
    return explain(store, model_version_id(ModelRef(name=name, version=version)))


def _version_order(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (-1, version)
