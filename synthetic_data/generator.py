"""``generate``: one seed -> population, planted typologies, background, labels -> Parquet."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from synthetic_data import background, lookalikes
from synthetic_data import world as w
from synthetic_data.book import AccountBook, LabelLog, TxLog
from synthetic_data.config import GeneratorParams, resolve_params
from synthetic_data.context import GenContext
from synthetic_data.population import build_population
from synthetic_data.typologies import REGISTRY
from synthetic_data.writer import (
    account_ids,
    accounts_table,
    label_tables,
    write_atomically,
    write_transactions,
)

BACKGROUND_STREAMS = (
    background.payroll,
    background.bills,
    background.rent,
    background.p2p,
    background.atm,
    background.b2b,
    *lookalikes.STREAMS,
)


@dataclass(frozen=True)
class GenerationSummary:
    """What one run produced."""

    preset: str
    seed: int
    accounts: int
    transactions: int
    labelled_transactions: int
    instances: dict[str, int] = field(default_factory=dict)
    benign_behaviours: dict[str, int] = field(default_factory=dict)
    elapsed_seconds: float = 0.0
    #: Wall time of each stage (simulate, sort, accounts_and_labels, write).
    stage_seconds: dict[str, float] = field(default_factory=dict)


def simulate(params: GeneratorParams, seed: int) -> tuple[GenContext, np.random.Generator]:
    """Build everything in memory (no I/O)."""
    rng = np.random.default_rng(seed)
    unknown = set(params.typologies) - set(REGISTRY)
    if unknown:
        raise ValueError(
            f"unknown typolog{'y' if len(unknown) == 1 else 'ies'} {sorted(unknown)}; "
            f"known: {sorted(REGISTRY)}"
        )
    start_us = int(params.start.timestamp() * 1_000_000)
    book = AccountBook()
    pop = build_population(params, rng, book, start_us)
    ctx = GenContext(
        rng=rng, params=params, book=book, tx=TxLog(), labels=LabelLog(), pop=pop, start_us=start_us
    )
    for name, typology in REGISTRY.items():
        typology.plant(ctx, typology.spec(params.typologies.get(name, {}), params.instances_per_typology))
    for stream in BACKGROUND_STREAMS:
        stream(ctx)
    ctx.tx.confine(ctx.start_us, ctx.end_us)
    bg = params.background
    background.card(
        ctx, max(int(bg.min_card_share * params.n_transactions), params.n_transactions - ctx.tx.size)
    )
    return ctx, rng


def _behaviour_counts(benign: pa.Table) -> dict[str, int]:
    """Distinct behaviour ids per behaviour name."""
    counts = (
        pl.from_arrow(benign).group_by("behaviour").agg(pl.col("behaviour_id").n_unique()).sort("behaviour")
    )
    return dict(counts.iter_rows())


def generate(preset: str, seed: int, out: Path, overrides: dict[str, Any] | None = None) -> GenerationSummary:
    """Generate preset ``preset`` with ``seed`` into ``out`` (atomically; same seed -> same bytes).

    Writes ``out/transactions.parquet``, ``out/accounts.parquet`` and ``out/labels/<name>.parquet``
    for every name of :data:`moneytrail.schemas.LABEL_TABLES`. ``overrides`` changes any parameter
    of the preset (see :mod:`synthetic_data.config`).
    """
    began = time.perf_counter()
    stages: dict[str, float] = {}

    def lap(stage: str) -> None:
        stages[stage] = round(time.perf_counter() - began - sum(stages.values()), 3)

    params = resolve_params(preset, overrides)
    ctx, rng = simulate(params, seed)
    lap("simulate")
    # Time order (stable, so ties keep generation order: same seed -> same bytes).
    frame = pl.DataFrame(ctx.tx.columns()).sort("ts", maintain_order=True)
    cols = {name: frame[name].to_numpy(writable=True) for name in frame.columns}
    del frame
    lap("sort")
    hostile = params.hostile_strings
    references = list(w.REFERENCES)
    if hostile:  # some ordinary references become payloads; names likewise (below)
        n = len(cols["reference"])
        pick = rng.random(n) < params.hostile_share
        cols["reference"][pick] = len(references) + rng.integers(0, len(w.HOSTILE_STRINGS), int(pick.sum()))
        references += list(w.HOSTILE_STRINGS)
    ids = account_ids(ctx.book.size, rng)
    accounts = accounts_table(ctx.book, ids, rng, params.hostile_share if hostile else 0.0)
    labels = label_tables(ctx.labels, ids, cols["instance"], cols["ts"])
    country = ctx.book.column("country")
    lap("accounts_and_labels")
    tables: dict = {
        "transactions.parquet": lambda path: write_transactions(
            path, cols, ids, country, references=references
        ),
        "accounts.parquet": accounts,
    }
    tables.update({f"labels/{name}.parquet": table for name, table in labels.items()})
    write_atomically(Path(out), tables)
    lap("write")
    typ = np.array(ctx.labels.typologies)
    return GenerationSummary(
        preset=preset,
        seed=seed,
        accounts=accounts.num_rows,
        transactions=len(cols["ts"]),
        labelled_transactions=int((cols["instance"] >= 0).sum()),
        instances={name: int((typ == name).sum()) for name in REGISTRY},
        benign_behaviours=_behaviour_counts(labels["benign_behaviours"]),
        elapsed_seconds=round(time.perf_counter() - began, 3),
        stage_seconds=stages,
    )
