"""What the browser tests read from a rendered map (a Playwright ``Frame`` or ``Page``)."""

from __future__ import annotations

from playwright.sync_api import TimeoutError as PlaywrightTimeout

#: Actors shown in a document (clusters' counts plus single markers), or -1 while Leaflet or markercluster
#: animates a zoom: during that animation the old and the new clusters are both in the page and would be counted twice.
COUNT_IN_JS = """(d) => {
  if (d.querySelector('.leaflet-zoom-anim, .leaflet-cluster-anim')) { return -1; }
  const clusters = [...d.querySelectorAll('.marker-cluster span')].map(e => parseInt(e.textContent, 10));
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


def wait_for_markers(frame, expected: int | None = None, timeout: float = 30_000) -> int:
    """Wait until the map shows markers (and, if given, exactly ``expected`` actors); return the count shown.

    The count returned is the one read when the wait ended, outside any zoom animation (a later read could
    land in an animation started in between, such as the refit once the frame has its size).
    """
    frame.wait_for_selector(".folium-map[data-csti-shown]", timeout=timeout)
    target = "n > 0" if expected is None else f"n === {int(expected)}"
    handle = frame.wait_for_function(f"() => {{ const n = ({COUNT_JS})(); return {target} ? {{n}} : false; }}", timeout=timeout)
    return int(handle.json_value()["n"])


def outlines(frame) -> dict:
    return frame.evaluate(OUTLINES_JS)


def open_popups(frame) -> list[dict]:
    """Click every single marker in view; return the text of each popup's name and its link targets."""
    out = []
    n = frame.locator(".csti-marker").count()
    for i in range(n):
        marker = frame.locator(".csti-marker").nth(i)
        try:
            marker.click(timeout=3_000)
        except PlaywrightTimeout:  # covered by the legend or a control: fire Leaflet's click on that marker
            marker.evaluate("""icon => {
              const m = window.cstiMap.markers.find(x => x._icon === icon);
              m.fire('click', {latlng: m.getLatLng()}, true);
            }""")
        frame.wait_for_selector(".leaflet-popup-content .csti-name")
        out.append(frame.evaluate("""() => ({
          name: document.querySelector('.leaflet-popup-content .csti-name').textContent,
          html: document.querySelector('.leaflet-popup-content').innerHTML,
          links: [...document.querySelectorAll('.leaflet-popup-content a')].map(a => a.getAttribute('href')),
        })"""))
        frame.evaluate("() => window.cstiMap.map.closePopup()")
    return out
