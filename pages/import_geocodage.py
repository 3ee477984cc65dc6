"""Page « Import & géocodage » : importer l'enquête, vérifier, géocoder, corriger à la main, enregistrer dans l'annuaire."""

import hashlib

import pandas as pd
import streamlit as st

from geodata import corrections, drafts
from geodata.directory import SAMPLE_FILE, place_and_enrich
from geodata.geocoding import PRECISION_LABELS, SOURCES
from geodata.importing import ROW, TARGETS, import_table, read_table, rejected_csv, suggest_mapping
from geodata.publishing import GROUPS, PLURALS, apply_plan, batch_report, plan_import
from geodata.settings import get_settings
from geodata.store import default_store
from pages.common import download_on_click, forget_pick, point_picker, require_staff, territory, user_errors


@st.cache_data(max_entries=4, show_spinner="Lecture du fichier…")
def read_once(digest: str, name: str, sheet: str | None, _data: bytes):
    """The file read once per (content, sheet): reruns (mapping edits, buttons) do not parse it again.

    Keyed by the content's ``digest``, computed once per rerun below: ``_data`` is not hashed again.
    """
    return read_table(_data, filename=name, sheet=sheet)


st.title("Import & géocodage")
user = require_staff()
if flash := st.session_state.pop("import_flash", None):
    st.success(flash)

IGNORE = "(ignorer)"
settings = get_settings()
terr = territory()

uploaded = st.file_uploader("Fichier de l'enquête", type=["csv", "txt", "xlsx", "geojson", "json", "gpkg", "zip"],
                            help="CSV (UTF-8, UTF-16 ou Windows, « ; » ou « , »), Excel, GeoJSON, GeoPackage ou Shapefile zippé.")
# The import in progress is a draft kept on the server for this account: a reload (which asks for the login again) resumes it.
draft = drafts.load_draft(user, settings=settings) if user else None
resumed = draft if draft is not None and st.session_state.get("brouillon_repris") == draft.digest else None
if uploaded is not None:
    name, data = uploaded.name, uploaded.getvalue()
elif resumed is not None:
    name, data = resumed.name, resumed.data
    st.caption(f"Import en cours repris : « {name} ».")
elif st.checkbox("Essayer avec l'annuaire d'exemple embarqué"):
    name, data = SAMPLE_FILE.name, SAMPLE_FILE.read_bytes()
else:
    if draft is not None:
        st.info(f"Un import en cours a été gardé pour vous : « {draft.name} » (enregistré le {draft.saved_at.replace('T', ' à ')[:-6]} UTC).")
        c1, c2 = st.columns(2)
        if c1.button("Reprendre l'import en cours", type="primary"):
            st.session_state["brouillon_repris"] = draft.digest
            if draft.sheet:
                st.session_state[f"feuille-{draft.digest}"] = draft.sheet
            st.session_state[f"garder-{draft.digest}-{draft.sheet}"] = draft.keep
            st.rerun()
        if c2.button("Abandonner l'import en cours"):
            drafts.discard_draft(user, settings=settings)
            st.rerun()
    st.info("Déposez un fichier pour commencer. Les colonnes sont reconnues automatiquement ; vous pourrez corriger la correspondance.")
    st.stop()

# The file is known by its content: a corrected file re-uploaded under the same name and size is a new file
# (its own sheet choice, column mapping and geocoding), never the previous one's results.
digest = hashlib.sha256(data).hexdigest()[:20]
sheet_key = f"feuille-{digest}"
with user_errors():
    table = read_once(digest, name, st.session_state.get(sheet_key), data)
parts = table.attrs.get("parts") or []
sheet = table.attrs.get("part") if len(parts) > 1 else None
if sheet is not None:
    label = "Feuille du classeur" if table.attrs.get("part_kind") == "feuille" else "Couche du fichier"
    st.selectbox(label, parts, index=parts.index(sheet), help="Par défaut, la première dont les colonnes sont reconnues.", key=sheet_key)

st.subheader("1. Correspondance des colonnes")
auto = suggest_mapping(table.columns)
columns = [c for c in table.columns if not str(c).startswith("__")]
editor = st.data_editor(
    pd.DataFrame({"colonne du fichier": columns, "champ": [(resumed.mapping if resumed and resumed.digest == digest else auto).get(c) or IGNORE
                                                           for c in columns]}),
    column_config={
        "colonne du fichier": st.column_config.TextColumn(disabled=True),
        "champ": st.column_config.SelectboxColumn(options=[IGNORE, *TARGETS], required=True),
    },
    hide_index=True,
    key=f"mapping-{digest}-{sheet}",
)
mapping = {c: ("" if f == IGNORE else f) for c, f in zip(editor["colonne du fichier"], editor["champ"])}

st.subheader("2. Rapport de validation")
keep_key = f"garder-{digest}-{sheet}"
kept = st.session_state.get(keep_key, [])
with user_errors():
    result = import_table(table, name=name, mapping=mapping, reference=terr.reference, keep_outside=kept)
st.write(result.summary)
outside = result.rejected[result.outside]
if len(outside) or kept:
    names = dict(zip(map(int, result.actors[ROW]), result.actors["nom"] + " — " + result.actors["commune"]))
    names |= {int(r): str(m) for r, m in zip(outside[ROW], outside["motif"])}
    st.multiselect("Garder quand même des lignes hors Occitanie", sorted({*map(int, outside[ROW]), *map(int, kept)}), key=keep_key,
                   format_func=lambda r: f"ligne {r} : {names.get(r, '')}", placeholder="Aucune : toutes restent écartées",
                   help="Les lignes hors Occitanie sont écartées de l'annuaire ; choisissez celles qui y ont leur place malgré tout.")
if len(result.report):
    st.dataframe(result.report, hide_index=True, width="stretch")
if len(result.rejected):
    st.download_button("Télécharger les lignes rejetées et écartées (CSV)", rejected_csv(result), file_name="lignes_rejetees.csv", mime="text/csv")

st.subheader("3. Géocodage")
online = st.toggle("Interroger le service national d'adresses (Géoplateforme)", value=False, disabled=settings.offline,
                   help="Sinon : cache des réponses déjà obtenues puis placement à la commune, sans réseau.")
key = (digest, sheet, tuple(sorted(mapping.items())))
if st.button("Géocoder", type="primary"):
    bar = st.progress(0.0, text="Géocodage…")

    def progress(done, total, message):
        bar.progress(done / total if total else 1.0, text=message)

    with user_errors():
        st.session_state["geocodage"] = (key, place_and_enrich(result.actors, terr, settings=settings, offline=not online, progress=progress))
    bar.progress(1.0, text="Terminé")

if resumed is not None and resumed.geocoded and st.session_state.get("geocodage", (None,))[0] != key:
    # The answers are in the geocoding cache (online ones included), the corrections in their file: placing again is offline.
    with user_errors():
        st.session_state["geocodage"] = (key, place_and_enrich(result.actors, terr, settings=settings, offline=True))
stored = st.session_state.get("geocodage")
if user:
    drafts.save_draft(user, drafts.Draft(name, data, sheet, mapping, [int(r) for r in kept], geocoded=bool(stored and stored[0] == key),
                                         online=online), settings=settings)
if not stored or stored[0] != key:
    st.stop()
placed = stored[1]
c1, c2, c3 = st.columns(3)
c1.metric("Placés", f"{int(placed.geometry.notna().sum())} / {len(placed)}")
c2.metric("À vérifier", int((placed["geocodage_statut"] == "à vérifier").sum()))
c3.metric("Non localisés", int((placed["geocodage_statut"] == "non localisé").sum()))
counts = pd.DataFrame({
    "précision": placed["geocodage_precision"].map(lambda v: PRECISION_LABELS.get(v, v)),
    "source": placed["geocodage_source"].map(lambda v: SOURCES.get(v, v)),
}).value_counts().rename("acteurs").reset_index()
st.dataframe(counts, hide_index=True)
review = placed[(placed["geocodage_statut"] != "ok") | placed["alerte_departement"] | placed["alerte_code_postal"]]
if len(review):
    st.write("Lignes à vérifier :")
    st.dataframe(pd.DataFrame(review[["ligne", "nom", "commune", "code_postal", "commune_lieu", "geocodage_statut", "geocodage_motif",
                                      "alerte_departement", "alerte_code_postal"]]), hide_index=True, width="stretch")

store = default_store(settings)
with user_errors():
    plan = plan_import(store, result)  # before the corrections: a row matched by name has another id in the directory

st.subheader("4. Correction manuelle")
labels = {row["id"]: f"{row['nom']} — {row['commune'] or row['code_postal']} ({row['geocodage_statut']})" for _, row in placed.iterrows()}
order = list(review["id"]) + [i for i in placed["id"] if i not in set(review["id"])]
actor_id = st.selectbox("Acteur", order, format_func=lambda i: labels[i])
row = placed.loc[placed["id"] == actor_id].iloc[0]
here = row.geometry if row.geometry is not None and not row.geometry.is_empty else None
# The form starts from where the actor is placed now, never from an unrelated commune or fixed coordinates.
before = corrections.place_text(terr.reference, *((here.x, here.y) if here is not None else (None, None)), row["code_insee_lieu"])
st.write(f"Position actuelle : {before}.")
pick_key = f"correction-{digest}-{actor_id}"
picked = point_picker(pick_key, name=row["nom"], point=None if here is None else (here.x, here.y), code_insee=row["code_insee_lieu"])
how = st.radio("Corriger par", ["Le point de la carte (ou ses coordonnées)", "Choisir la commune"], horizontal=True)
communes = terr.communes.sort_values("nom")
start = (picked["longitude"], picked["latitude"]) if picked else (None if here is None else (round(float(here.x), 6), round(float(here.y), 6)))
with st.form(f"correction-{actor_id}-{start}"):
    if how == "Choisir la commune":
        codes = list(communes["code_insee"])
        current = picked["code_insee"] if picked and picked["code_insee"] else row["code_insee_lieu"]
        code = st.selectbox("Commune", codes, index=codes.index(current) if current in codes else None, placeholder="Choisir une commune",
                            format_func=dict(zip(codes, communes["nom"] + " (" + communes["code_insee"] + ")")).get)
        lat = lon = None
    else:
        code = None
        lat = st.number_input("Latitude (WGS 84)", value=None if start is None else start[1], format="%.6f")
        lon = st.number_input("Longitude (WGS 84)", value=None if start is None else start[0], format="%.6f")
    motif = st.text_input("Motif (facultatif)")
    if st.form_submit_button("Enregistrer la correction", type="primary"):
        with user_errors():
            entry = corrections.save_correction(actor_id, reference=terr.reference, longitude=lon, latitude=lat, code_insee=code, motif=motif,
                                                auteur=user, settings=settings)
            st.session_state["geocodage"] = (key, place_and_enrich(result.actors, terr, settings=settings, offline=True))
        # The directory's actor of a row matched by name gets it at once (even when the import has nothing else to write).
        corrections.follow_matches({actor_id: plan.matches[actor_id]} if actor_id in plan.matches else {}, settings=settings)
        after = corrections.place_text(terr.reference, entry["longitude"], entry["latitude"], entry["code_insee"])
        forget_pick(pick_key)
        st.session_state["import_flash"] = (corrections.change_message(row["nom"], before, after, user=user)
                                            + " Elle sera réappliquée à chaque nouvel import de cet acteur.")
        st.rerun()
if actor_id in corrections.load_corrections(settings=settings) and st.button("Supprimer la correction de cet acteur"):
    for corrected in {actor_id, plan.matches.get(actor_id, actor_id)}:  # and its copy on the directory's actor matched by name
        corrections.remove_correction(corrected, settings=settings)
    st.session_state["geocodage"] = (key, place_and_enrich(result.actors, terr, settings=settings, offline=True))
    st.rerun()

st.subheader("5. Enregistrer dans l'annuaire")
st.write(f"Ce qui se passera : {plan.summary()}")
for box, group in zip(st.columns(len(GROUPS)), GROUPS):
    box.metric(PLURALS[group].capitalize(), plan.counts[group])
if len(plan.diffs):
    st.write("Changements champ par champ des acteurs mis à jour :")
    st.dataframe(plan.diffs, hide_index=True, width="stretch")
st.dataframe(plan.rows, hide_index=True, width="stretch")
download_on_click("Télécharger le rapport de l'import (CSV)", lambda: batch_report(plan), file_name="rapport_import.csv", mime="text/csv",
                  key="batch_report")
if not plan.changes_anything:
    st.info("Rien à enregistrer : l'annuaire contient déjà ces acteurs tels quels.")
elif st.button("Enregistrer dans l'annuaire", type="primary", help="Un seul lot de l'historique, annulable depuis la page Édition."):
    with user_errors():
        batch = apply_plan(store, plan, user=user, settings=settings)
    drafts.discard_draft(user, settings=settings)
    st.session_state["import_flash"] = (f"Import enregistré dans l'annuaire : lot n° {batch} ({plan.summary()}) "
                                        "Il s'annule d'un coup depuis la page « Édition », onglet « Historique ».")
    st.rerun()
