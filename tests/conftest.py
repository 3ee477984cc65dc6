"""Shared fixtures: an isolated cache, the reference geography built once, paths to real data."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"données partagées absentes : {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session", autouse=True)
def _isolated_env(cache_dir, tmp_path_factory):
    """Every test runs with its own cache and data folders and offline, whatever the machine has."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CSTI_CACHE_DIR", str(cache_dir))
    mp.setenv("CSTI_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    mp.setenv("CSTI_OFFLINE", "1")
    mp.setenv("CSTI_QPV_URL", "http://127.0.0.1:9/qpv-indisponible.geojson")
    yield
    mp.undo()


@pytest.fixture(scope="session")
def settings(_isolated_env):
    from geodata.settings import get_settings

    return get_settings()


@pytest.fixture(scope="session")
def reference(settings):
    from geodata.reference import load_reference

    return load_reference(settings=settings)


@pytest.fixture(scope="session")
def qpv_file(shared_data) -> Path:
    return shared_data / "qpv_2015_hackaviz" / "qp.geojson"


@pytest.fixture(scope="session")
def qpv_population_file(shared_data) -> Path:
    return shared_data / "qpv_insee_2022" / "DEMO_2022.csv"


@pytest.fixture(scope="session")
def zonage_file(shared_data) -> Path:
    return shared_data / "communes_zonages_insee_2022" / "table-appartenance-geo-communes-22_occitanie.csv"
