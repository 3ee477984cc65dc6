"""Publishing an import into the directory: plan (new, updated with a diff, unchanged, set aside), one batch, undo, no-op re-import."""

import io

import pandas as pd
import pytest

from geodata.errors import ConflictError
from geodata.importing import import_actors
from geodata.publishing import GROUPS, NEW, OUTSIDE_REGION, REJECTED, UNCHANGED, UPDATED, apply_plan, batch_report, plan_import
from geodata.store import Store

ROWS = [
    {"identifiant": "m-1", "nom": "Muséum de Toulouse", "commune": "Toulouse", "code_postal": "31400", "site": "https://museum.toulouse.fr"},
    {"identifiant": "m-2", "nom": "Quai des Savoirs", "commune": "Toulouse", "code_postal": "31000", "site": ""},
    {"identifiant": "", "nom": "", "commune": "Albi", "code_postal": "81000", "site": ""},  # no name: rejected
    {"identifiant": "m-4", "nom": "Musée des Confluences", "commune": "Lyon", "code_postal": "69002", "site": ""},  # outside
]


def _file(rows) -> bytes:
    return pd.DataFrame(rows).to_csv(sep=";", index=False).encode("utf-8")


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "annuaire.sqlite")


def _import(rows, reference):
    return import_actors(_file(rows), filename="enquete.csv", reference=reference)


def test_every_row_ends_in_one_group_and_the_same_file_again_is_a_no_op(store, reference):
    plan = plan_import(store, _import(ROWS, reference))
    assert plan.counts == {NEW: 2, UPDATED: 0, UNCHANGED: 0, REJECTED: 1, OUTSIDE_REGION: 1}
    assert sum(plan.counts.values()) == len(ROWS) and list(plan.rows["ligne"]) == [2, 3, 4, 5]
    assert plan.rows.set_index("ligne").at[5, "motif"].startswith("hors Occitanie")
    batch = apply_plan(store, plan, user="alice")
    assert batch == 1 and len(store) == 2
    history = store.history()
    assert set(history["batch_id"]) == {1} and set(history["user"]) == {"alice"}
    info = store.batches().iloc[0]
    assert (info["user"], info["source"], info["changes"], info["counts"][NEW]) == ("alice", "enquete.csv", 2, 2)
    again = plan_import(store, _import(ROWS, reference))
    assert again.counts[UNCHANGED] == 2 and not again.changes_anything
    assert apply_plan(store, again, user="alice") is None and len(store.batches()) == 1 and len(store.history()) == 2


def test_updates_match_by_id_else_name_and_commune_with_a_field_diff(store, reference):
    apply_plan(store, plan_import(store, _import(ROWS[:2], reference)), user="alice")
    store.update("m-2", {"presentation_resume": "Écrit par l'équipe."}, expected_version=1, user="bob")
    changed = [{**ROWS[0], "site": "https://www.museum.toulouse.fr"}, {**ROWS[1], "identifiant": "autre-id"}]
    plan = plan_import(store, _import(changed, reference))
    assert plan.counts[UPDATED] == 1 and plan.counts[UNCHANGED] == 1
    assert plan.diffs.to_dict("records") == [{"id": "m-1", "nom": "Muséum de Toulouse", "champ": "Site web",
                                              "avant": "https://museum.toulouse.fr", "après": "https://www.museum.toulouse.fr"}]
    by_row = plan.rows.set_index("ligne")
    assert by_row.at[3, "id"] == "m-2" and "nom et commune" in by_row.at[3, "motif"]
    assert "« https://museum.toulouse.fr » → « https://www.museum.toulouse.fr »" in by_row.at[2, "detail"]
    apply_plan(store, plan, user="carol")
    assert store.get("m-1")["site_web"] == "https://www.museum.toulouse.fr"
    assert store.get("m-2")["presentation_resume"] == "Écrit par l'équipe."  # a field the file lacks keeps the directory's value


def test_a_batch_is_undone_as_a_whole_and_refused_after_a_clashing_edit(store, reference):
    first = apply_plan(store, plan_import(store, _import(ROWS, reference)), user="alice")
    second = apply_plan(store, plan_import(store, _import([{**ROWS[0], "site": "https://autre.fr"}], reference)), user="alice")
    store.update("m-1", {"site_web": "https://main.fr"}, expected_version=2, user="bob")
    with pytest.raises(ConflictError, match="rien n'a été annulé"):
        store.revert_batch(second, user="alice")
    assert store.get("m-1")["site_web"] == "https://main.fr"
    store.revert(int(store.history("m-1").iloc[0]["change_id"]), user="bob")
    assert store.revert_batch(second, user="alice") == 1 and store.get("m-1")["site_web"] == "https://museum.toulouse.fr"
    assert store.revert_batch(first, user="alice") == 2 and store.is_empty()
    with pytest.raises(ConflictError, match="déjà été annulé"):
        store.revert_batch(first, user="alice")


def test_the_batch_report_is_a_spreadsheet_csv(store, reference):
    plan = plan_import(store, _import(ROWS, reference))
    table = pd.read_csv(io.BytesIO(batch_report(plan)), sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert len(table) == len(ROWS) and set(table["groupe"]) <= set(GROUPS)
    assert list(table.columns[:3]) == ["ligne", "groupe", "id"]


def test_cli_import_publishes_one_batch_then_undoes_it(tmp_path, monkeypatch, capsys, reference):
    from geodata.cli import main

    monkeypatch.setenv("CSTI_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "enquete.csv"
    path.write_bytes(_file(ROWS))
    report = tmp_path / "rapport.csv"
    assert main(["import", str(path)]) == 0
    assert "Rien n'est enregistré" in capsys.readouterr().out and Store(tmp_path / "data" / "annuaire.sqlite").is_empty()
    assert main(["import", str(path), "--publish", "--auteur", "alice", "--rapport", str(report)]) == 0
    out = capsys.readouterr().out
    assert "4 lignes : 2 nouveaux, 0 mis à jour, 0 inchangés, 1 rejetés, 1 écartés (hors Occitanie)." in out and "lot n° 1 par alice" in out
    assert len(pd.read_csv(report, sep=";", encoding="utf-8-sig", dtype=str)) == len(ROWS)
    store = Store(tmp_path / "data" / "annuaire.sqlite")
    assert len(store) == 2 and set(store.history()["user"]) == {"alice"}
    assert main(["import", str(path), "--publish"]) == 0
    assert "Rien à enregistrer" in capsys.readouterr().out
    assert main(["import", "--annuler", "1", "--auteur", "bob"]) == 0
    assert store.is_empty() and store.batches().iloc[0]["undone_by"] == "bob"
