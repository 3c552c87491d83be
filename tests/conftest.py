"""Shared fixtures: a Prefect test server for the suite, tiny generated data sets."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Before prefect is imported anywhere: a throwaway home, no telemetry.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="moneytrail-prefect-"))
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"

import ctypes
import ctypes.util

import pytest

_LIBM = ctypes.util.find_library("m")


@pytest.fixture(autouse=True)
def default_float_environment():
    """Undo flush-to-zero left by an optional native dependency (snapml sets it on import).

    Test modules are all imported before any test runs, so one module importing snapml would
    otherwise make every float computation of the session flush subnormals to zero (and
    Hypothesis refuses to draw floats). glibc's ``fesetenv(FE_DFL_ENV)`` restores the default.
    """
    if _LIBM is not None:
        ctypes.CDLL(_LIBM).fesetenv(ctypes.c_void_p(-1))
    yield


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server for every flow test in the session (it takes ~12 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generator's ``tiny`` preset, written once per session."""
    import synthetic_data

    out = tmp_path_factory.mktemp("tiny") / "generated"
    synthetic_data.generate("tiny", 11, out)
    return out


@pytest.fixture(scope="session")
def tiny_lake(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny data set ingested into a fresh lake."""
    from moneytrail.config import Config
    from moneytrail.ingest import ingest

    lake = tmp_path_factory.mktemp("lake") / "lake"
    ingest(tiny_dataset, "canonical", lake, Config().currency)
    return lake


@pytest.fixture
def labels() -> dict:
    """Three planted instances (two fan-in, one cycle) over accounts a-f and two benign look-alikes."""
    import polars as pl

    return {
        "instances": pl.DataFrame(
            {"instance_id": ["i1", "i2", "i3"], "typology": ["fan_in", "fan_in", "cycle"]}
        ),
        "instance_accounts": pl.DataFrame(
            {
                "instance_id": ["i1", "i1", "i2", "i2", "i3", "i3"],
                "account_id": ["a", "b", "c", "d", "e", "f"],
                "role": [
                    "originator",
                    "beneficiary",
                    "intermediary",
                    "beneficiary",
                    "originator",
                    "intermediary",
                ],
            }
        ),
        "benign_behaviours": pl.DataFrame(
            {"behaviour_id": ["b1", "b2"], "behaviour": ["payroll", "merchant"], "account_id": ["p", "m"]}
        ),
    }
