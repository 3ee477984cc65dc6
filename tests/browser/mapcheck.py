"""What the browser tests read from the public map client (a Playwright ``Frame`` or ``Page``)."""

from __future__ import annotations

from playwright.sync_api import TimeoutError as PlaywrightTimeout

#: Actors shown in a document (clusters' counts plus single markers), or -1 while Leaflet animates a zoom:
#: during that animation the old and the new markers are both in the page and would be counted twice.
COUNT_IN_JS = """(d) => {
  if (d.querySelector('.leaflet-zoom-anim')) { return -1; }
  const clusters = [...d.querySelectorAll('.csti-cluster span')].map(e => parseInt(e.textContent.replace(/\\D/g, ''), 10));
  return clusters.reduce((a, b) => a + b, 0) + d.querySelectorAll('.csti-marker').length;
}"""

#: The same, in the frame or page it is evaluated in.
COUNT_JS = f"() => ({COUNT_IN_JS})(document)"

#: Department features drawn by Leaflet, and painted pixels of the vector canvas (outlines are drawn on a canvas).
OUTLINES_JS = """() => {
  const map = window.cstiMap.map;
  let departements = 0;
  map.eachLayer(l => { if (l.feature && l.feature.properties && l.feature.properties.code_departement) { departements += 1; } });
  let painted = 0;
  for (const c of document.querySelectorAll('.leaflet-overlay-pane canvas')) {
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) { painted += 1; } }
  }
  return {departements, painted};
}"""

CARD = "#csti-card:not([hidden]) .csti-name"


def wait_for_markers(frame, expected: int | None = None, timeout: float = 30_000) -> int:
    """Wait until the map shows markers (and, if given, exactly ``expected`` actors); return the count shown.

    The count returned is the one read when the wait ended, outside any zoom animation (a later read could
    land in an animation started in between, such as the refit once the frame has its size).
    """
    frame.wait_for_selector("#csti-map[data-csti-shown]", state="attached", timeout=timeout)
    target = "n > 0" if expected is None else f"n === {int(expected)}"
    handle = frame.wait_for_function(f"() => {{ const n = ({COUNT_JS})(); return {target} ? {{n}} : false; }}", timeout=timeout)
    return int(handle.json_value()["n"])


def outlines(frame) -> dict:
    return frame.evaluate(OUTLINES_JS)


def card(frame) -> dict:
    """The open card: its name, its markup, its links."""
    frame.wait_for_selector(CARD)
    return frame.evaluate("""() => ({
      name: document.querySelector('#csti-card .csti-name').textContent,
      id: document.querySelector('#csti-card').getAttribute('data-acteur'),
      html: document.querySelector('#csti-card').innerHTML,
      links: [...document.querySelectorAll('#csti-card a')].map(a => a.getAttribute('href')),
    })""")


def close_card(frame) -> None:
    frame.click("#csti-card .csti-close")
    frame.wait_for_selector("#csti-card", state="hidden")


def open_cards(frame, *, tap: bool = False) -> list[dict]:
    """Click (or tap) every single marker in view; return what each card shows."""
    out = []
    n = frame.locator(".csti-marker").count()
    # A card opened over its marker moves the map to keep the marker in sight: the view is put back after each card.
    view = frame.evaluate("() => { const m = window.cstiMap.map, c = m.getCenter(); return [c.lat, c.lng, m.getZoom()]; }")
    for i in range(n):
        marker = frame.locator(".csti-marker").nth(i)
        try:
            marker.tap(timeout=3_000) if tap else marker.click(timeout=3_000)
        except PlaywrightTimeout:  # covered by a panel or a control: press Enter on it (the keyboard path of the same card)
            marker.focus()
            marker.press("Enter")
        out.append(card(frame))
        close_card(frame)
        frame.evaluate("([lat, lon, z]) => { window.cstiMap.map.setView([lat, lon], z, {animate: false}); }", view)
        frame.wait_for_function("(n) => document.querySelectorAll('.csti-marker').length === n", arg=n)
    return out
