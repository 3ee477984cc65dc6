"""Rendered map text is content, never template source: branca's second Jinja pass is switched off for every map.

Why: branca (under folium) renders each element's Jinja macros, then wraps the resulting text in
``Element(text)``, whose constructor compiles *that text* as a new Jinja template, run when the page
is rendered. Any ``{{ }}``, ``{% %}`` or ``{# #}`` that came from data (an actor's name in a tooltip,
a GeoJSON property, a DivIcon's HTML, a popup, the name typed in "Et si…") was executed on the
server: ``{{7*7}}`` became ``49``, ``{{ lipsum.__globals__.os.popen(...) }}`` ran a command, an
unclosed ``{#`` raised a TemplateSyntaxError with a traceback. Escaping is not the fix (and
:func:`cartography.escape.escape_text`, for HTML and JavaScript, rightly leaves braces alone).

How, once for all maps: importing :mod:`cartography` (every map builder does) installs this module,
which makes a string handed to ``branca.element.Element`` verbatim text. A Jinja template stays what
it should be, code: a class attribute (``_template = Template(...)``) or a template file shipped with a
package (``template_name``). Every path of folium, branca and streamlit-folium that wraps rendered text
(``MacroElement.render``, ``Popup.render``, class includes, ``GeoJsonTooltip`` styles, ``IFrame(html)``,
``folium.Element(html)``) goes through that one constructor, so an element added later, by folium or
by us, is covered without anyone having to remember.

Known casualties, both unused by this project: branca's ``Div`` (its ``html`` part is a
template given as a string) and folium's references to elements inside GeoJSON style maps
(``{{'name'}}``, used by fill patterns), which relied on the second pass.
"""

from __future__ import annotations

import types

import branca.element


class Verbatim:
    """Stands where branca would compile a template from a string: renders the string unchanged."""

    #: No macros (branca looks ``header``/``html``/``script`` up in ``module.__dict__``).
    module = types.SimpleNamespace()

    def __init__(self, text: str):
        self.text = str(text)

    def render(self, *args, **kwargs) -> str:
        return self.text


_Element = branca.element.Element
_ORIGINAL_INIT = _Element.__init__
_ORIGINAL_SETSTATE = _Element.__setstate__


def _init(self, template=None, template_name=None, **kwargs):
    _ORIGINAL_INIT(self, None, template_name, **kwargs)
    if template is not None:
        self._template_str = template
        self._template = Verbatim(template)


def _setstate(self, state: dict) -> None:
    # Unpickling (a cached map) would compile the kept text again.
    text = state.get("_template_str")
    _ORIGINAL_SETSTATE(self, {**state, "_template_str": None})
    if text is not None:
        self._template_str = text
        self._template = Verbatim(text)


def install() -> None:
    """Make text given to ``branca.element.Element`` verbatim (idempotent; done by ``import cartography``)."""
    _Element.__init__ = _init
    _Element.__setstate__ = _setstate
