"""QPV layer: vintages, formats, CRS, INSEE population join, offline message."""

import geopandas as gpd
import pytest
from shapely.geometry import box

from geodata import qpv
from geodata.errors import LayerUnavailableError


def test_hackaviz_layer_with_insee_population(qpv_file, qpv_population_file):
    q = qpv.load_qpv(path=qpv_file, population_path=qpv_population_file)
    assert len(q) == 105
    assert q["code_departement"].nunique() == 12
    assert "48" not in set(q["code_departement"])
    assert q["population"].notna().all()
    assert q.set_index("code_qp").loc["QP009001", "population"] == 1203
    assert (q["generation"] == "2015").all()
    assert q.crs.to_epsg() == 4326 and q.geometry.is_valid.all()


def test_french_numbers():
    import pandas as pd

    out = qpv._french_number(pd.Series(["1\u202f203", "55,3", "", "8 416", "2\u00a0068"]))
    assert out.iloc[0] == 1203 and out.iloc[1] == 55.3 and pd.isna(out.iloc[2]) and out.iloc[3] == 8416 and out.iloc[4] == 2068


def _qn_layer():
    # 2024-style fields, in Lambert-93, with one QPV outside Occitanie.
    return gpd.GeoDataFrame(
        {"code_qp": ["QN03101M", "QN07501M"], "lib_qp": ["Quartier A", "Quartier B"], "insee_com": ["31555", "75056"], "lib_com": ["Toulouse", "Paris"]},
        geometry=[box(570000, 6278000, 571000, 6279000), box(650000, 6860000, 651000, 6861000)],
        crs="EPSG:2154",
    )


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shpzip"])
def test_2024_vintage_any_format_any_crs(tmp_path, fmt):
    layer = _qn_layer()
    if fmt == "geojson":
        path = tmp_path / "q.geojson"
        layer.to_file(path, driver="GeoJSON")
    elif fmt == "gpkg":
        path = tmp_path / "q.gpkg"
        layer.to_file(path, driver="GPKG")
    else:
        path = tmp_path / "q.shp.zip"
        layer.to_file(path, driver="ESRI Shapefile")
    q = qpv.read_qpv_file(path)
    assert q["code_qp"].tolist() == ["QN03101M"]
    assert q.loc[0, "nom_qp"] == "Quartier A" and q.loc[0, "code_departement"] == "31" and q.loc[0, "generation"] == "2024"
    assert q.crs.to_epsg() == 4326
    x, y = q.geometry.iloc[0].centroid.coords[0]
    assert 1.3 < x < 1.6 and 43.5 < y < 43.7


def test_offline_without_file_says_how_to_get_it(settings):
    with pytest.raises(LayerUnavailableError, match="CSTI_QPV_FILE"):
        qpv.load_qpv(settings=settings)


def test_zip_of_2024_geojson_member(tmp_path):
    import zipfile

    gj = tmp_path / "QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson"
    _qn_layer().to_crs(4326).to_file(gj, driver="GeoJSON")
    archive = tmp_path / "qpv.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("LISEZMOI.txt", "leurre")
        zf.write(gj, "GEOJSON/" + gj.name)
    q = qpv.read_qpv_file(archive)
    assert q["code_qp"].tolist() == ["QN03101M"]


def test_download_through_loopback_then_cached(tmp_path):
    """The official file is fetched once (here from a loopback server) and then read from the cache."""
    import http.server
    import threading

    from geodata.settings import get_settings

    body = _qn_layer().to_crs(4326).to_json().encode()
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/geo+json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = get_settings({"CSTI_CACHE_DIR": str(tmp_path), "CSTI_QPV_URL": f"http://127.0.0.1:{server.server_port}/qpv.geojson"})
        with pytest.raises(LayerUnavailableError):
            qpv.load_qpv(settings=settings)  # no silent download
        assert qpv.load_qpv(settings=settings, download=True)["code_qp"].tolist() == ["QN03101M"]
        assert qpv.load_qpv(settings=settings)["code_qp"].tolist() == ["QN03101M"]
        assert len(hits) == 1
    finally:
        server.shutdown()
