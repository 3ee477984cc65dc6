from pathlib import Path
from geodata import qpv
from geodata.errors import DataFileError
from geodata.settings import get_settings
D = Path("/work/wt/shared/data")
s = get_settings()
print(qpv.install_qpv((D/"qpv_2015_hackaviz/qp.geojson").read_bytes(), "qp.geojson", population=(D/"qpv_insee_2022/DEMO_2022.csv").read_bytes(), population_name="DEMO_2022.csv", user="alice"))
q = qpv.load_qpv()
print(len(q), q.population.notna().sum())
for data, name, pop in [(b"", "x.geojson", None), (b"abc", "x.csv", None), (b"not json", "x.geojson", None),
                        ((D/"communes_geo_occitanie_2018/region-occitanie.geojson").read_bytes(), "region.geojson", None),
                        (b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code_qp":"QP075001"},"geometry":{"type":"Polygon","coordinates":[[[2.3,48.8],[2.31,48.8],[2.31,48.81],[2.3,48.8]]]}}]}', "paris.geojson", None),
                        (b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code_qp":"QP031001"},"geometry":{"type":"Point","coordinates":[1.4,43.6]}}]}', "points.geojson", None),
                        ((D/"qpv_2015_hackaviz/qp.geojson").read_bytes(), "qp.geojson", b"a;b\n1;2\n"),
                        ((D/"qpv_2015_hackaviz/qp.geojson").read_bytes(), "qp.geojson", b"CODGEO;POP_MUN\nQN01;2\n"),
                        ]:
    try:
        qpv.install_qpv(data, name, population=pop, population_name="pop.csv")
        print("ACCEPTED", name)
    except DataFileError as e:
        print("-", e)
