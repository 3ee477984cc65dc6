"""The edited directory: validation, versions and conflicts, reversible history, survey follow-up."""

import threading

import pandas as pd
import pytest

from geodata.actors import FIELD_NAMES, SURVEY_STATUSES
from geodata.errors import ConflictError, GeodataError
from geodata.store import ActorValidationError, Store, default_store, survey_followup, validate_actor
from tests.staff_data import PRIVATE_VALUES, private_actors

ACTOR = {"id": "t-1", "nom": "Muséum de Toulouse", "type_structure": "musée/centre de sciences", "cercle": "1",
         "code_postal": "31400", "commune": "Toulouse", "code_insee": "31555", "statut_enquete": "envoyé",
         "contact_email": "contact@exemple.fr"}


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "annuaire.sqlite")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"nom": ""}, "Nom"),
        ({"type_structure": "planétarium"}, "Type de structure"),
        ({"cercle": "4"}, "Cercle"),
        ({"code_postal": "3140"}, "Code postal"),
        ({"code_insee": "ABCDE"}, "Code INSEE"),
        ({"site_web": "javascript:alert(1)"}, "Site web"),
        ({"contact_email": "pas-un-courriel"}, "Courriel"),
        ({"statut_enquete": "relancé"}, "Statut de l'enquête"),
        ({"date_maj": "2026-13-40"}, "Date de mise à jour"),
        ({"presentation_resume": "x" * 281}, "Présentation courte"),
        ({"latitude": "43,6"}, "latitude ET longitude"),
        ({"latitude": "1.44", "longitude": "200"}, "Longitude"),
        ({"latitude": "nord", "longitude": "1.4"}, "Latitude"),
        ({"couleur": "bleu"}, "couleur"),
    ],
)
def test_validation_names_the_field(changes, field):
    with pytest.raises(ActorValidationError) as err:
        validate_actor({**ACTOR, **changes})
    assert field in str(err.value)
    assert "'t-1'" in str(err.value) or "couleur" in str(err.value) or "Nom" in str(err.value)


def test_validation_normalises():
    out = validate_actor({**ACTOR, "latitude": " 43,6045 ", "longitude": "1.4442", "cercle": "2.0", "adresse": None})
    assert (out["latitude"], out["longitude"], out["cercle"], out["adresse"]) == ("43.6045", "1.4442", "2", "")
    assert set(out) == set(FIELD_NAMES)


def test_validation_removes_invisible_characters_as_the_importer_does():
    out = validate_actor({**ACTOR, "nom": " Mus\0ée\x1b[1m ", "adresse": "\x07"})
    assert (out["nom"], out["adresse"]) == ("Musée", "")


def test_every_field_is_bounded_by_the_schema():
    from geodata.actors import FIELDS

    for f in FIELDS:
        with pytest.raises(ActorValidationError) as err:
            validate_actor({**ACTOR, f.name: "9" * (f.max_length + 1)})
        assert f.label in str(err.value)


def test_empty_store_has_directory_columns(store):
    assert store.is_empty()
    df = store.list_actors()
    assert list(df.columns) == [*FIELD_NAMES, "version"]
    assert df.empty


def test_add_get_and_persist(store, tmp_path):
    added = store.add(ACTOR, user="alice")
    assert added["version"] == 1
    again = Store(tmp_path / "annuaire.sqlite")  # a restart reads the same file
    assert again.get("t-1")["contact_email"] == "contact@exemple.fr"
    assert len(again) == 1
    with pytest.raises(ActorValidationError, match="déjà utilisé"):
        store.add(ACTOR, user="bob")
    generated = store.add({**ACTOR, "id": ""}, user="bob")
    assert generated["id"].startswith("csti-")


def test_changes_need_an_author(store):
    with pytest.raises(GeodataError, match="auteur"):
        store.add(ACTOR, user=" ")


def test_concurrent_edit_is_a_conflict(store):
    store.add(ACTOR, user="alice")
    alice_copy = store.get("t-1")
    bob_copy = store.get("t-1")
    store.update("t-1", {"nom": "Muséum (Alice)"}, expected_version=alice_copy["version"], user="alice")
    with pytest.raises(ConflictError, match="modifié par quelqu'un d'autre") as err:
        store.update("t-1", {"nom": "Muséum (Bob)"}, expected_version=bob_copy["version"], user="bob")
    assert "version 2" in str(err.value)
    assert store.get("t-1")["nom"] == "Muséum (Alice)"
    assert len(store.history("t-1")) == 2  # the refused change left no trace


def test_concurrent_threads_one_wins(store):
    store.add(ACTOR, user="alice")
    results = []
    barrier = threading.Barrier(4)

    def edit(name):
        barrier.wait()
        try:
            store.update("t-1", {"nom": name}, expected_version=1, user=name)
            results.append("ok")
        except ConflictError:
            results.append("conflit")

    threads = [threading.Thread(target=edit, args=(f"éditeur {i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflit"] * 3 + ["ok"]
    assert store.get("t-1")["version"] == 2


def test_update_of_a_deleted_actor_is_a_conflict(store):
    store.add(ACTOR, user="alice")
    store.delete("t-1", expected_version=1, user="alice")
    with pytest.raises(ConflictError, match="supprimé"):
        store.update("t-1", {"nom": "x"}, expected_version=1, user="bob")
    with pytest.raises(ConflictError):
        store.delete("t-1", expected_version=1, user="bob")


def test_history_restores_a_deleted_actor(store):
    store.add(ACTOR, user="alice")
    store.update("t-1", {"contact_telephone": "05 61 00 00 00"}, expected_version=1, user="alice")
    before = store.get("t-1")
    store.delete("t-1", expected_version=2, user="bob")
    assert store.get("t-1") is None
    history = store.history("t-1")
    deletion = history.iloc[0]
    assert (deletion["action"], deletion["user"], deletion["after"]) == ("suppression", "bob", None)
    assert deletion["before"]["contact_telephone"] == "05 61 00 00 00"
    assert deletion["at"].endswith("+00:00")
    restored = store.revert(int(deletion["change_id"]), user="carol")
    assert {k: restored[k] for k in FIELD_NAMES} == {k: before[k] for k in FIELD_NAMES}
    assert restored["version"] == 3  # never re-uses an old version: a stale copy stays stale
    assert store.history("t-1").iloc[0]["action"] == "restauration"
    with pytest.raises(ConflictError, match="déjà été annulée"):
        store.revert(int(deletion["change_id"]), user="carol")


def test_revert_an_edit_and_refuse_when_changed_since(store):
    store.add(ACTOR, user="alice")
    store.update("t-1", {"nom": "Nom 2"}, expected_version=1, user="alice")
    store.update("t-1", {"nom": "Nom 3", "commune": "Toulouse Cedex"}, expected_version=2, user="bob")
    first_edit, second_edit = store.history("t-1").iloc[1], store.history("t-1").iloc[0]
    assert first_edit["fields"] == ["nom"] and second_edit["fields"] == ["nom", "commune"]
    with pytest.raises(ConflictError, match="plus récents") as refused:
        store.revert(int(first_edit["change_id"]), user="carol")
    assert "« Nom »" in str(refused.value)
    assert refused.value.fields == [{"champ": "Nom", "valeur laissée par ce changement": "Nom 2", "valeur actuelle": "Nom 3",
                                     "changé depuis par": f"n° {second_edit['change_id']} (bob)"}]
    assert store.get("t-1")["nom"] == "Nom 3"  # nothing written
    store.revert(int(second_edit["change_id"]), user="carol")
    store.revert(int(first_edit["change_id"]), user="carol")
    now = store.get("t-1")
    assert (now["nom"], now["commune"], now["version"]) == ("Muséum de Toulouse", "Toulouse", 5)


def test_revert_an_older_change_applies_only_its_fields(store):
    store.add(ACTOR, user="alice")
    store.update("t-1", {"nom": "Nom 2", "code_postal": "31000"}, expected_version=1, user="alice")
    store.update("t-1", {"commune": "Toulouse Cedex"}, expected_version=2, user="bob")
    older = store.history("t-1").iloc[1]
    assert older["fields"] == ["nom", "code_postal"]
    restored = store.revert(int(older["change_id"]), user="carol")
    assert (restored["nom"], restored["code_postal"], restored["commune"]) == ("Muséum de Toulouse", "31400", "Toulouse Cedex")
    latest = store.history("t-1").iloc[0]
    assert (latest["reverts"], latest["user"], latest["fields"]) == (older["change_id"], "carol", ["nom", "code_postal"])


def test_revert_an_addition_removes_it(store):
    store.add(ACTOR, user="alice")
    assert store.revert(int(store.history("t-1").iloc[0]["change_id"]), user="alice") is None
    assert store.is_empty()


def test_move_to_coordinates_or_commune(store):
    store.add({**ACTOR, "latitude": "43.6", "longitude": "1.44"}, user="alice")
    moved = store.move("t-1", expected_version=1, user="alice", lon="1.4500001", lat="43.61")
    assert (moved["longitude"], moved["latitude"]) == ("1.4500001", "43.61")
    moved = store.move("t-1", expected_version=2, user="alice", code_insee="31069", commune="Blagnac")
    assert (moved["code_insee"], moved["commune"], moved["latitude"], moved["longitude"]) == ("31069", "Blagnac", "", "")
    with pytest.raises(ActorValidationError, match="coordonnées"):
        store.move("t-1", expected_version=3, user="alice")


def test_replace_all_seeds_and_diffs(store):
    actors = private_actors(10)
    assert store.replace_all(actors, user="import") == {"ajoutés": 10, "modifiés": 0, "supprimés": 0, "inchangés": 0}
    listed = store.list_actors()
    assert listed["id"].tolist() == actors["id"].tolist()
    assert listed.loc[0, "contact_email"] == PRIVATE_VALUES[1]
    changed = actors.iloc[1:].copy()
    changed.loc[changed.index[0], "nom"] = "Renommé"
    assert store.replace_all(changed, user="import") == {"ajoutés": 0, "modifiés": 1, "supprimés": 1, "inchangés": 8}
    assert set(store.history()["action"]) == {"import"}


def test_replace_all_writes_nothing_on_a_bad_row(store):
    actors = private_actors(5)
    actors.loc[3, "code_postal"] = "ABC"
    with pytest.raises(ActorValidationError, match="Ligne 4 .*Code postal"):
        store.replace_all(actors, user="import")
    assert store.is_empty()
    dupes = private_actors(3)
    dupes.loc[2, "id"] = dupes.loc[0, "id"]
    with pytest.raises(ActorValidationError, match="double"):
        store.replace_all(dupes, user="import")


def test_survey_followup_counts_by_department():
    actors = pd.DataFrame({
        "statut_enquete": ["non contacté", "envoyé", "répondu", "validé", "envoyé", ""],
        "code_insee": ["31555", "", "34172", "", "", ""],
        "code_postal": ["31000", "31400", "34000", "09000", "09100", "12000"],
    })
    table = survey_followup(actors)
    assert list(table.columns) == [*SURVEY_STATUSES, "non renseigné", "total"]
    assert table.loc["31", "non contacté"] == 1 and table.loc["31", "envoyé"] == 1
    assert table.loc["09", "total"] == 2 and table.loc["12", "non renseigné"] == 1
    assert table.loc["Total", "total"] == 6


def test_default_store_lives_in_data_dir(settings):
    assert default_store(settings).path.parent == settings.data_dir
