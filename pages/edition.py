"""Page « Édition de l'annuaire » : ajouter, modifier, déplacer, supprimer un acteur ; historique réversible ; suivi de l'enquête."""

import pandas as pd
import streamlit as st

from geodata import corrections
from geodata.actors import FIELD_NAMES, FIELDS, SURVEY_STATUSES, TYPES
from geodata.directory import load_directory
from geodata.errors import ConflictError
from geodata.selection import Selection, select_actors
from geodata.store import default_store, survey_followup
from pages.common import directory, forget_pick, point_picker, require_staff, territory, user_errors

CHOICES = {"type_structure": ("", *TYPES), "cercle": ("", "1", "2", "3"), "statut_enquete": ("", *SURVEY_STATUSES)}
LONG = {"presentation_resume", "presentation_detail"}

st.title("Édition de l'annuaire")
user = require_staff()
store = default_store()
if flash := st.session_state.pop("edition_flash", None):
    st.success(flash)


def done(message: str) -> None:
    st.session_state["edition_flash"] = message
    st.rerun()


def actor_form(key: str, initial: dict, *, submit: str, with_id: bool = False) -> dict | None:
    """Every field of the schema; returns the typed values when the form is submitted."""
    values = {}
    with st.form(key):
        if with_id:
            values["id"] = st.text_input("Identifiant (vide = généré)")
        cols = st.columns(2)
        for i, f in enumerate(x for x in FIELDS if x.name != "id"):
            box = cols[i % 2]
            label = f"{f.label} 🔒" if f.private else f.label
            current = initial.get(f.name, "")
            if f.name in CHOICES:
                options = CHOICES[f.name] if current in CHOICES[f.name] else (current, *CHOICES[f.name])
                values[f.name] = box.selectbox(label, options, index=options.index(current), help=f.description, format_func=lambda v: v or "— (vide)")
            elif f.name in LONG:
                values[f.name] = box.text_area(label, current, help=f.description)
            else:
                values[f.name] = box.text_input(label, current, help=f.description)
        return values if st.form_submit_button(submit) else None


def refused(exc: ConflictError) -> None:
    """A refused undo: the message, then the clashing fields side by side (value left by the change, value now)."""
    st.error(str(exc))
    if getattr(exc, "fields", None):
        st.dataframe(pd.DataFrame(exc.fields), hide_index=True)


def undo_button(label: str, *, key: str, help: str, undo, said) -> None:
    """A button that undoes something: refused, it says why (fields side by side); done, the page reruns saying ``said(result)``."""
    if st.button(label, key=key, help=help):
        with user_errors():
            try:
                result = undo()
            except ConflictError as exc:
                refused(exc)
            else:
                done(said(result))


def batches_section() -> None:
    """The imports written as batches, each undone as a whole."""
    batches = store.batches()
    if batches.empty:
        return
    st.subheader("Imports")
    shown = batches.assign(bilan=batches["counts"].map(lambda c: ", ".join(f"{n} {g}" for g, n in c.items())),
                           annule=batches["undone_at"].map(lambda v: f"annulé le {v}" if v else ""))
    st.dataframe(shown[["batch_id", "at", "user", "source", "changes", "bilan", "annule"]], hide_index=True,
                 column_config={"batch_id": "Lot", "at": "Date (UTC)", "user": "Par", "source": "Fichier", "changes": "Changements",
                                "bilan": "Bilan", "annule": "Annulation"})
    open_batches = list(batches.loc[batches["undone_at"].isna(), "batch_id"])
    if not open_batches:
        return
    batch = st.selectbox("Import", open_batches, format_func=lambda b: f"lot n° {b}", key="batch_choice")
    undo_button("Annuler cet import", key="revert_batch", help="Défait tous les changements du lot en une fois.",
                undo=lambda: store.revert_batch(int(batch), user=user), said=lambda n: f"Import n° {batch} annulé : {n} changements défaits.")


def move(actor_id: str, record: dict, loaded: int) -> None:
    """Move an actor from where the map shows it now: a tap on the small map, coordinates, or a commune; the confirmation says what changed."""
    ref = territory().reference
    shown = directory()
    at = shown.loc[shown["id"] == actor_id]
    geom = at.geometry.iloc[0] if len(at) else None
    here = None if geom is None or geom.is_empty else (round(float(geom.x), 6), round(float(geom.y), 6))
    code_here = str(at["code_insee_lieu"].iloc[0]) if len(at) else record["code_insee"]
    before = corrections.place_text(ref, *(here or (None, None)), code_here)
    st.write(f"Position actuelle : {before}.")
    pick_key = f"deplacer-{actor_id}"
    picked = point_picker(pick_key, name=record["nom"], point=here, code_insee=code_here)
    how = st.radio("Nouvel emplacement", ["Coordonnées", "Commune"], horizontal=True, key=f"how_{actor_id}")
    start = (picked["longitude"], picked["latitude"]) if picked else here
    communes = ref.communes
    with st.form(f"move_{actor_id}_{loaded}_{start}"):
        if how == "Coordonnées":
            lon = st.text_input("Longitude (WGS 84)", "" if start is None else repr(start[0]))
            lat = st.text_input("Latitude (WGS 84)", "" if start is None else repr(start[1]))
            target = {"lon": lon, "lat": lat}
        else:
            options = list(communes["code_insee"])
            names = dict(zip(communes["code_insee"], communes["nom"] + " (" + communes["code_insee"] + ")"))
            current = picked["code_insee"] if picked and picked["code_insee"] else record["code_insee"] or code_here
            code = st.selectbox("Commune", options, format_func=names.get, index=options.index(current) if current in options else 0)
            target = {"code_insee": code, "commune": str(communes.set_index("code_insee").at[code, "nom"])}
        if not st.form_submit_button("Déplacer", type="primary"):
            return
    with user_errors():
        try:
            saved = store.move(actor_id, expected_version=loaded, user=user, **target)
        except ConflictError as exc:
            st.error(str(exc))
            return
        if "lon" in target:
            place = corrections.commune_of_point(ref, float(saved["longitude"]), float(saved["latitude"]))
            after = corrections.place_text(ref, saved["longitude"], saved["latitude"], place and place["code_insee"])
        else:
            after = corrections.place_text(ref, None, None, target["code_insee"])
    # A placement correction kept from an import would still win over the new position: the move replaces it.
    replaced = corrections.remove_correction(actor_id)
    forget_pick(pick_key)
    st.session_state[f"version_{actor_id}"] = saved["version"]
    done(corrections.change_message(record["nom"], before, after, user=user) + f" Fiche en version {saved['version']}."
         + (" La correction de géocodage gardée depuis un import est remplacée par cette position." if replaced else ""))


if store.is_empty():
    st.info("L'annuaire modifiable est vide : la carte montre l'annuaire d'exemple (ou CSTI_ACTORS_FILE). Initialisez-le pour le modifier.")
    if st.button("Initialiser l'annuaire modifiable avec l'annuaire affiché"):
        with user_errors():
            shown = load_directory(territory=territory())
            counts = store.replace_all(pd.DataFrame(shown[[c for c in FIELD_NAMES if c in shown.columns]]), user=user)
        done(f"Annuaire initialisé : {counts['ajoutés']} fiches.")
    st.stop()

actors = store.list_actors()
tab_edit, tab_add, tab_history, tab_survey = st.tabs(["Modifier, déplacer, supprimer", "Ajouter", "Historique", "Suivi de l'enquête"])

with tab_edit:
    search = st.text_input("Rechercher un acteur (nom, commune ou identifiant)")
    found = select_actors(actors, Selection(query=search.strip()))
    labels = dict(zip(found["id"].head(500), (found["nom"] + " — " + found["commune"] + " (" + found["id"] + ")").head(500)))
    if len(found) > 500:
        st.caption(f"{len(found)} acteurs trouvés : les 500 premiers sont proposés, précisez la recherche.")
    actor_id = st.selectbox("Acteur", list(labels), format_func=labels.get)
    record = store.get(actor_id) if actor_id else None
    if record is not None:
        # The version the form was opened at: a save with an older version is a conflict, never a silent overwrite.
        loaded = st.session_state.setdefault(f"version_{actor_id}", record["version"])
        if loaded != record["version"]:
            st.warning(f"Cette fiche a été modifiée depuis son ouverture (version {record['version']}, ouverte en version {loaded}).")
            if st.button("Recharger la fiche (vos saisies non enregistrées seront perdues)"):
                st.session_state[f"version_{actor_id}"] = record["version"]
                st.rerun()
        st.caption(f"Version {loaded} · identifiant {actor_id}")
        changes = actor_form(f"edit_{actor_id}_{loaded}", record, submit="Enregistrer")
        if changes is not None:
            with user_errors():
                try:
                    saved = store.update(actor_id, changes, expected_version=loaded, user=user)
                except ConflictError as exc:
                    st.error(str(exc))
                else:
                    st.session_state[f"version_{actor_id}"] = saved["version"]
                    done(f"Fiche enregistrée (version {saved['version']}).")
        with st.expander("Déplacer"):
            move(actor_id, record, loaded)
        with st.expander("Supprimer"):
            sure = st.checkbox(f"Je confirme la suppression de « {record['nom']} » (restaurable depuis l'historique)", key=f"sure_{actor_id}")
            if st.button("Supprimer la fiche", disabled=not sure, key=f"delete_{actor_id}"):
                with user_errors():
                    try:
                        store.delete(actor_id, expected_version=loaded, user=user)
                    except ConflictError as exc:
                        st.error(str(exc))
                    else:
                        st.session_state.pop(f"version_{actor_id}", None)
                        done(f"Fiche « {record['nom']} » supprimée : l'historique permet de la restaurer.")

with tab_add:
    new = actor_form("add_actor", {"statut_enquete": "non contacté"}, submit="Ajouter l'acteur", with_id=True)
    if new is not None:
        with user_errors():
            added = store.add(new, user=user)
        done(f"Acteur {added['nom']!r} ajouté (identifiant {added['id']}).")

with tab_history:
    history = store.history()
    if history.empty:
        st.write("Aucun changement enregistré.")
    else:
        shown = history.head(500).assign(champs=lambda h: h["fields"].map(", ".join))
        st.dataframe(shown[["change_id", "at", "user", "action", "actor_id", "nom", "champs", "reverts"]], hide_index=True,
                     column_config={"change_id": "N°", "at": "Date (UTC)", "user": "Par", "actor_id": "Identifiant", "reverts": "Annule le n°"})
        change_id = st.selectbox("Changement", list(history["change_id"]), format_func=lambda c: f"n° {c}")
        row = history.set_index("change_id").loc[change_id]
        diff = pd.DataFrame({"champ": row["fields"],
                             "avant": [(row["before"] or {}).get(n, "") for n in row["fields"]],
                             "après": [(row["after"] or {}).get(n, "") for n in row["fields"]]})
        st.dataframe(diff, hide_index=True)
        undo_button("Annuler ce changement", key="revert", help="Seuls les champs de ce changement reprennent leur valeur d'avant.",
                    undo=lambda: store.revert(int(change_id), user=user),
                    said=lambda r: "Changement annulé." + (f" Fiche {r['nom']!r} en version {r['version']}." if r else ""))
    batches_section()

with tab_survey:
    st.subheader("Réponses à l'enquête par département")
    st.dataframe(survey_followup(actors))
    statuses = st.multiselect("Statuts à relancer", SURVEY_STATUSES, default=["non contacté", "envoyé"], placeholder="Choisir des statuts")
    todo = select_actors(actors, Selection(statuses=tuple(statuses))) if statuses else actors.iloc[:0]
    st.caption(f"{len(todo)} acteurs à relancer.")
    st.dataframe(todo[["nom", "commune", "code_postal", "statut_enquete", "contact_nom", "contact_email", "contact_telephone"]], hide_index=True)
