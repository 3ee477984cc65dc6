"""Rural classifications: default density approximation and INSEE files read as they come."""

import pandas as pd
import pytest

from geodata import rural
from geodata.errors import DataFileError


def test_zoning_file_read_as_it_comes(zonage_file):
    z = rural.read_zonage_table(zonage_file)
    assert len(z) == 4454
    assert z["code_insee"].str.fullmatch(r"\d{5}").all()
    assert "09001" in set(z["code_insee"])
    assert z["rural_uu2020"].sum() == 3639
    assert z["cateaav2020"].value_counts().to_dict() == {20: 2929, 30: 1387, 11: 75, 12: 60, 13: 3}
    assert z["rural_aav2020"].sum() == 1387


@pytest.mark.parametrize(
    ("population", "area", "classe", "is_rural"),
    [
        (480_000, 118.0, "Urbain dense", False),
        (5_000, 10.0, "Urbain intermédiaire", False),
        (1_500, 5.0, "Rural à habitat dispersé", True),
        (3_000, 200.0, "Rural à habitat très dispersé", True),
        (100, 20.0, "Rural à habitat très dispersé", True),
        (0, 0.0, "Rural à habitat très dispersé", True),
    ],
)
def test_density_classes(population, area, classe, is_rural):
    out = rural.density_classes(pd.DataFrame({"code_insee": ["00001"], "population": [population], "superficie_km2": [area]}))
    assert out.loc[0, "classe_densite"] == classe
    assert bool(out.loc[0, "rural_densite"]) is is_rural


def test_rural_table_and_agreement(reference, zonage_file):
    table = rural.rural_table(reference.communes, zonage=rural.read_zonage_table(zonage_file))
    assert len(table) == len(reference.communes)
    assert [d.key for d in rural.available_definitions(table)] == ["densite", "uu2020", "aav2020"]
    share, n = rural.agreement(table, "densite", "uu2020")
    assert n > 4400 and 0.8 < share <= 1.0
    assert rural.agreement(table, "uu2020", "uu2020")[0] == 1.0


def test_grille_xlsx_with_title_rows(tmp_path):
    rows = [["Grille communale de densité", None, None], [None, None, None], ["CODGEO", "LIBGEO", "DENS"], ["9001", "Aigues-Juntes", "7"], ["31555", "Toulouse", "1"], ["31003", "X", "5"]]
    path = tmp_path / "grille.xlsx"
    pd.DataFrame(rows).to_excel(path, header=False, index=False)
    g = rural.read_grille_densite(path)
    assert g.set_index("code_insee")["rural_grille"].to_dict() == {"09001": True, "31555": False, "31003": True}


def test_grille_csv_with_labels(tmp_path):
    path = tmp_path / "grille.csv"
    path.write_bytes("CODGEO;DENS\n9001;Rural à habitat très dispersé\n31555;Grands centres urbains\n".encode("cp1252"))
    g = rural.read_grille_densite(path)
    assert g["niveau_grille"].tolist() == [7, 1]
    assert g["rural_grille"].tolist() == [True, False]


def test_missing_column_message_names_file_and_fix(tmp_path):
    path = tmp_path / "z.csv"
    path.write_text("CODGEO;LIBGEO\n9001;X\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"UU2020.*z\.csv"):
        rural.read_zonage_table(path)
