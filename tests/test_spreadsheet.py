"""The one formula-neutralising helper behind every CSV the project writes."""

import pandas as pd
import pytest

from geodata.spreadsheet import neutralise_frame, neutralise_value


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("=1+1", "'=1+1"), ("+33 5 61", "'+33 5 61"), ("-cmd", "'-cmd"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=x", "'\t=x"), ("\r=x", "'\r=x"),
     ("-1.5", "-1.5"), ("+33", "+33"), ("Muséum", "Muséum"), ("", ""), (3, 3), (None, None)],
)
def test_neutralise_value(cell, expected):
    assert neutralise_value(cell) == expected


def test_frame_text_columns_and_header():
    frame = pd.DataFrame({"=nom": ['=HYPERLINK("http://x")', "Cité de l'espace"], "n": [1, -2]})
    out = neutralise_frame(frame)
    assert list(out.columns) == ["'=nom", "n"]
    assert out["'=nom"].tolist() == ['\'=HYPERLINK("http://x")', "Cité de l'espace"]
    assert out["n"].tolist() == [1, -2]
    assert frame.columns[0] == "=nom"  # the input is not modified


def test_coverage_csv_is_neutralised():
    import geopandas as gpd
    from shapely.geometry import Point

    from geodata.coverage import to_bytes

    layer = gpd.GeoDataFrame({"nom": ["=cmd|' /C calc'!A0"]}, geometry=[Point(1.4, 43.6)], crs="EPSG:4326")
    assert "'=cmd" in to_bytes(layer, "csv").decode("utf-8-sig")
