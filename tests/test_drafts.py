"""Drafts of imports in progress: kept per account, resumed whole, discarded, never a broken one."""

from geodata.drafts import Draft, discard_draft, load_draft, save_draft


def test_a_draft_round_trips_per_account_and_is_discarded(settings):
    draft = Draft("enquete.csv", b"nom;commune\nA;Albi\n", sheet=None, mapping={"nom": "nom", "commune": "commune"}, keep=[5], geocoded=True)
    save_draft("alice", draft, settings=settings)
    back = load_draft("alice", settings=settings)
    assert (back.name, back.data, back.mapping, back.keep, back.geocoded) == ("enquete.csv", draft.data, draft.mapping, [5], True)
    assert back.digest == draft.digest and back.saved_at.endswith("+00:00")
    assert load_draft("bob", settings=settings) is None
    save_draft("alice", Draft("autre.csv", b"nom\nB\n"), settings=settings)
    assert load_draft("alice", settings=settings).name == "autre.csv"  # the newer import replaces the older draft
    discard_draft("alice", settings=settings)
    assert load_draft("alice", settings=settings) is None


def test_a_tampered_draft_is_no_draft(settings):
    from geodata.drafts import _folder

    save_draft("../carol", Draft("x.csv", b"nom\nC\n"), settings=settings)
    folder = _folder("../carol", settings)
    assert ".." not in folder.name and folder.parent.name == "brouillons"  # an account name never becomes a path
    (folder / "fichier").write_bytes(b"autre chose")
    assert load_draft("../carol", settings=settings) is None
