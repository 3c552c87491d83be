"""Scale-out: the feature and score steps as shard Prefect tasks on a Dask cluster (prefect-dask).

``moneytrail run --dask local:N`` starts a temporary ``distributed.LocalCluster`` of ``N``
single-threaded worker processes per step; ``--dask tcp://HOST:PORT`` (or ``scaleout.dask``
in the config) uses an existing scheduler. :func:`scaleout_features_flow` runs one task per
account shard (:mod:`features.shards`: what each shard reads and why the union is exact) and a
reduce task that writes ``features.parquet``. :func:`scaleout_score_flow` fits the anomaly model
once on the whole table (the single-process fit), scores slices of the rows with it in shard
tasks and runs the rest of the score step (percentiles, rules, combiner, reasons, propagation)
in a reduce, so scores equal the single-process step's bit for bit; alerts and the store follow
unchanged. Tasks pass paths or fsspec URLs, never frames: the lake, the run folder and
``scaleout.scratch`` must be reachable by every worker.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import pickle
import resource
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import fsspec
import numpy as np
import polars as pl
from prefect import flow, get_run_logger, task

import features
from detectors import scoring
from features import shards
from features.config import FeatureConfig
from flows import pipeline, steps
from flows.pipeline import StepRunners
from moneytrail import lake as lk
from moneytrail.config import DASK_LOCAL, Config, ScaleOutConfig

if TYPE_CHECKING:
    from prefect_dask import DaskTaskRunner

    from detectors.peers import PeerGroupModel


def prefect_api_url() -> str:
    """The Prefect API this process reports to (the temporary server ``moneytrail run`` starts,
    when no ``PREFECT_API_URL`` is set)."""
    from prefect.client.orchestration import get_client  # noqa: PLC0415 - only when scaling out

    return str(get_client(sync_client=True).api_url)


def task_runner(spec: str, *, processes: bool = True) -> DaskTaskRunner:
    """The Prefect task runner for ``spec``: an existing scheduler, or a temporary local cluster
    of single-threaded workers (worker processes, or threads of this process with ``processes=False``).

    Local worker processes get this process's Prefect API URL, so that their task runs report to
    the same server instead of each starting a temporary one.
    """
    from prefect_dask import DaskTaskRunner  # noqa: PLC0415 - the optional `dask` extra

    local = DASK_LOCAL.fullmatch(ScaleOutConfig(dask=spec).dask or "")
    if local is None:
        return DaskTaskRunner(address=spec)
    workers = int(local["workers"])
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": 1,
            "processes": processes,
            "dashboard_address": None,
            **({"env": {"PREFECT_API_URL": prefect_api_url()}} if processes else {}),
        },
    )


def shard_count(spec: str, shards_setting: int | None) -> int:
    """Shards of a run: ``scaleout.shards``, else one per worker (asked of a remote scheduler)."""
    if shards_setting is not None:
        return shards_setting
    local = DASK_LOCAL.fullmatch(spec)
    if local is not None:
        return int(local["workers"])
    from distributed import Client  # noqa: PLC0415 - the optional `dask` extra

    with Client(spec, timeout=30) as client:
        return max(1, len(client.scheduler_info()["workers"]))


def write_frame(frame: pl.DataFrame, url: str) -> str:
    """Write ``frame`` as Parquet to ``url`` (local path or fsspec URL): a temporary name, then a move."""
    fs, path = fsspec.core.url_to_fs(url)
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    tmp = f"{path}.tmp"
    with fs.open(tmp, "wb") as out:
        frame.write_parquet(out)
    fs.mv(tmp, path)
    return url


def read_frame(url: str) -> pl.DataFrame:
    """Read the Parquet file at ``url`` (local path or fsspec URL)."""
    fs, path = fsspec.core.url_to_fs(url)
    with fs.open(path, "rb") as source:
        return pl.read_parquet(source)


def _write_json(value: object, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=1))
    tmp.replace(path)


@dataclass(frozen=True)
class ShardResult:
    """Where a shard's rows are and what computing them cost on its worker."""

    shard: int
    url: str
    rows: int
    transactions_read: int
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def compute_shard(
    inputs_path: Path, lake: Path, *, roots_url: str, n: int, shard: int, config: FeatureConfig, url: str
) -> ShardResult:
    """Shard ``shard`` of ``n`` of the run's features, written to ``url``."""
    started, cpu = time.perf_counter(), _cpu_seconds()
    inputs = steps.RunInputs.read(inputs_path)
    roots = read_frame(roots_url)
    tx = inputs.transactions(
        lambda frame: shards.shard_transactions(frame, roots, n, shard, config=config, as_of=inputs.as_of)
    )
    table = shards.shard_features(
        tx, lk.scan_accounts(lake), config, inputs.as_of, roots=roots, n=n, shard=shard
    )
    write_frame(table, url)
    return ShardResult(
        shard=shard,
        url=url,
        rows=table.height,
        transactions_read=tx.select(pl.len()).collect().item(),
        seconds=round(time.perf_counter() - started, 3),
        cpu_seconds=round(_cpu_seconds() - cpu, 3),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )


def reduce_features(urls: list[str], run_dir: Path, config: FeatureConfig) -> Path:
    """The shards as ``run_dir/features.parquet`` (:func:`features.shards.reduce_shards`)."""
    return features.write_features(shards.reduce_shards([read_frame(u) for u in urls], config), run_dir)


shard_task = task(name="feature shard")(compute_shard)
reduce_task = task(name="feature reduce")(reduce_features)


def scratch_url(run_dir: Path, config: Config) -> str:
    """Where the run's shard files go: ``scaleout.scratch/<run id>`` or ``run_dir/shards``."""
    if config.scaleout.scratch is None:
        return str(Path(run_dir) / "shards")
    return f"{config.scaleout.scratch.rstrip('/')}/{Path(run_dir).name}"


@flow(name="moneytrail-features-scaleout")
def scaleout_features_flow(inputs_path: Path, lake: Path, run_dir: Path, config: Config) -> Path:
    """The feature step over account shards, one task each, then the reduce (same signature
    and output as :func:`flows.pipeline.build_features`)."""
    logger = get_run_logger()
    target = config.scaleout.dask
    if target is None:
        raise ValueError("scaleout_features_flow needs scaleout.dask (local:N or tcp://HOST:PORT)")
    n = shard_count(target, config.scaleout.shards)
    # absolute: a worker need not share this process's working directory
    inputs_path, lake, run_dir = Path(inputs_path).resolve(), Path(lake).resolve(), Path(run_dir).resolve()
    scratch = scratch_url(run_dir, config)
    roots_url = write_frame(
        shards.component_roots(lk.scan_accounts(lake), config.features), f"{scratch}/roots.parquet"
    )
    futures = [
        shard_task.submit(
            inputs_path,
            lake,
            roots_url=roots_url,
            n=n,
            shard=k,
            config=config.features,
            url=f"{scratch}/features-{k:04d}.parquet",
        )
        for k in range(n)
    ]
    results = [f.result() for f in futures]
    for r in results:
        logger.info("feature shard %s", asdict(r))
    _write_json([asdict(r) for r in results], Path(run_dir) / "shards.json")
    return reduce_task.submit([r.url for r in results], run_dir, config.features).result()


def write_model(model: PeerGroupModel, url: str) -> str:
    """Pickle a fitted model to ``url`` (local path or fsspec URL): a temporary name, then a move."""
    fs, path = fsspec.core.url_to_fs(url)
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with fs.open(f"{path}.tmp", "wb") as out:
        pickle.dump(model, out, protocol=pickle.HIGHEST_PROTOCOL)
    fs.mv(f"{path}.tmp", path)
    return url


def read_model(url: str) -> PeerGroupModel:
    """The model :func:`write_model` wrote (a file this run wrote to its own scratch folder)."""
    fs, path = fsspec.core.url_to_fs(url)
    with fs.open(path, "rb") as source:
        return pickle.load(source)  # this run's own file, never input data


def fit_detectors(features_path: Path, config: Config, scratch: str, n: int) -> tuple[str, list[str]]:
    """Fit the anomaly model once on the whole feature table, as the single-process run does
    (:func:`detectors.scoring.fit_anomaly_model`, seeded from ``config.seed``), and write it and
    ``n`` contiguous slices of the rows in :func:`detectors.scoring.key_order` for the shard tasks."""
    table = pl.read_parquet(features_path)
    model = scoring.fit_anomaly_model(table, config.detectors, np.random.default_rng(config.seed))
    rows = scoring.key_order(table)
    bounds = np.linspace(0, rows.height, n + 1).astype(int)
    urls = [
        write_frame(rows.slice(start, stop - start), f"{scratch}/score-rows-{k:04d}.parquet")
        for k, (start, stop) in enumerate(itertools.pairwise(bounds))
    ]
    return write_model(model, f"{scratch}/anomaly-model.pkl"), urls


def score_shard(model_url: str, rows_url: str, url: str) -> str:
    """The fitted model's suspicion of one slice of rows (``suspicion_score``), written to ``url``."""
    suspicion = read_model(model_url).suspicion_score(read_frame(rows_url))
    return write_frame(pl.DataFrame({"suspicion": suspicion}), url)


def reduce_scores(
    features_path: Path,
    run_dir: Path,
    config: Config,
    lake: Path,
    as_of: dt.date | None,
    *,
    fitted: tuple[str, list[str]],
) -> Path:
    """Rules, peer percentiles, combiner, reasons and propagation over the whole table with the
    fitted model and the shards' suspicion (:func:`flows.steps.score`): ``run_dir/scores.parquet``."""
    model_url, urls = fitted
    suspicion = pl.concat([read_frame(u) for u in urls])["suspicion"].to_numpy()
    return steps.score(
        features_path,
        run_dir,
        config.detectors,
        config.seed,
        lake_path=lake,
        as_of=as_of,
        fitted=(read_model(model_url), suspicion),
    )


fit_task = task(name="detector fit")(fit_detectors)
score_shard_task = task(name="score shard")(score_shard)
score_reduce_task = task(name="score reduce")(reduce_scores)


@flow(name="moneytrail-score-scaleout")
def scaleout_score_flow(
    features_path: Path, run_dir: Path, config: Config, lake: Path, as_of: dt.date | None
) -> Path:
    """The score step with the anomaly model fitted once and the rows scored in shards, one task
    each, then the reduce (same signature and output as :func:`flows.pipeline.score`)."""
    target = config.scaleout.dask
    if target is None:
        raise ValueError("scaleout_score_flow needs scaleout.dask (local:N or tcp://HOST:PORT)")
    features_path, run_dir, lake = (
        Path(features_path).resolve(),
        Path(run_dir).resolve(),
        Path(lake).resolve(),
    )
    if pl.scan_parquet(features_path).select(pl.len()).collect().item() == 0:
        return pipeline.score(features_path, run_dir, config, lake, as_of)  # nothing to fit
    scratch = scratch_url(run_dir, config)
    model_url, rows_urls = fit_task.submit(
        features_path, config, scratch, shard_count(target, config.scaleout.shards)
    ).result()
    futures = [
        score_shard_task.submit(model_url, rows_url, f"{scratch}/suspicion-{k:04d}.parquet")
        for k, rows_url in enumerate(rows_urls)
    ]
    urls = [f.result() for f in futures]
    return score_reduce_task.submit(
        features_path, run_dir, config, lake, as_of, fitted=(model_url, urls)
    ).result()


def with_scaleout(runners: StepRunners, config: Config) -> StepRunners:
    """``runners`` with the feature and score steps on the configured Dask cluster (unchanged
    without one)."""
    if config.scaleout.dask is None:
        return runners
    return replace(
        runners,
        features=scaleout_features_flow.with_options(task_runner=task_runner(config.scaleout.dask)),
        score=scaleout_score_flow.with_options(task_runner=task_runner(config.scaleout.dask)),
    )
