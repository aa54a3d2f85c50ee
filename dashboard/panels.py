"""The service dashboard's Graphite targets, and its picture.

Five panels, one graphite-web /render call each, composed into one PNG:
2x2, and the backend panel as wide as two below them. The targets are the ones dashboard/TARGETS.md documents for the prefix
`shop`; targets_in_doc() reads them back from there and from the README
(their ```graphite blocks), so the run can prove that every documented
target renders.

Names assume statsd's graphite backend with legacyNamespace false and
StatsdTimeUnit ms (the module's default).
"""

import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parent / "TARGETS.md"
# the documents whose ```graphite blocks make dashboard renders
DOCS = (DOC, DOC.parent.parent / "README.md")
DOC_PREFIX = "shop"

# Little's law: in-flight requests = arrival rate x mean time in the
# service, so the workers of all hosts, all busy, serve at most
# sum(workers.max) / mean_seconds requests per second. MARGIN keeps the
# line below that ceiling (queueing grows long before every worker is busy).
MARGIN = 0.7
# The mean time of the requests that ended in the last MEAN_WINDOW (their
# summed times over their number), not one flush's mean: a flush of a few
# requests would swing the line.
MEAN_WINDOW = "30s"


def good_bad(p):
    return [f"alias(stats.counters.{p}.responses.good.rate, 'good /s')",
            f"alias(stats.counters.{p}.responses.bad.rate, 'bad /s')"]


def percentiles(p):
    return [f"alias(stats.timers.{p}.responses.time.upper_95, 'p95')",
            f"alias(stats.timers.{p}.responses.time.upper_99, 'p99')"]


def workers_max(p):
    """The summed workers.max gauge of every host of the service."""
    return f"sumSeries(stats.gauges.{p}.httpd.*.workers.max)"


def mean_time(p):
    t = f"stats.timers.{p}.responses.time"
    w = MEAN_WINDOW
    return (f"divideSeries(movingSum({t}.sum, '{w}'), "
            f"movingSum({t}.count, '{w}'))")


def capacity(p):
    # the mean is in ms: x 1000 for per second, x MARGIN
    k = round(1000 * MARGIN)
    return (f"alias(scale(divideSeries({workers_max(p)}, {mean_time(p)}), "
            f"{k}), 'safe QPS')")


def served(p):
    return (f"alias(sumSeries(stats.counters.{p}.responses.{{good,bad}}"
            f".rate), 'served /s')")


def capacity_inputs(p):
    return [f"alias({workers_max(p)}, 'workers.max (all hosts)')",
            f"alias(secondYAxis({mean_time(p)}), "
            f"'mean response time, last {MEAN_WINDOW} (ms)')"]


def backend_vs_total(p):
    """p95 of the time of the backend named `api` (StatsdBackendName)
    against p95 of the whole time of the requests proxied to it (their own
    timer, from StatsdStat api on the proxied path)."""
    # the whole time wide and first, so the backend's line, drawn over it,
    # stays visible where the two are nearly the same
    return [f"alias(lineWidth(stats.timers.{p}.api.GET.200.upper_95, 4), "
            f"'/api/ total p95')",
            f"alias(stats.timers.{p}.backend.api.time.upper_95, "
            f"'backend api p95')"]


def reloads(p):
    # removeBelowValue: drawAsInfinite would draw the zeros along the x axis
    return (f"alias(drawAsInfinite(removeBelowValue("
            f"stats.counters.{p}.httpd.reloads.count, 1)), 'reload')")


def panels(p):
    """[(name, targets, extra render params)]; the backend panel last,
    as wide as two (WIDE)."""
    return [
        ("good_bad", good_bad(p) + [reloads(p)],
         {"title": f"{p}: good vs bad responses per second",
          "vtitle": "responses / s", "colorList": "green,red,black"}),
        ("percentiles", percentiles(p) + [reloads(p)],
         {"title": f"{p}: response time, upper 95th / 99th percentile",
          "vtitle": "ms", "colorList": "orange,purple,black"}),
        ("capacity", [capacity(p), served(p), reloads(p)],
         {"title": f"{p}: safe QPS = sum(workers.max) / mean time x "
                   f"{MARGIN}, and QPS served",
          "vtitle": "requests / s", "yMin": 0,
          "colorList": "blue,green,black"}),
        ("capacity_inputs", capacity_inputs(p) + [reloads(p)],
         {"title": f"{p}: capacity inputs",
          "vtitle": "workers", "vtitleRight": "ms", "yMinLeft": 0,
          "yMinRight": 0,
          "colorList": "blue,orange,black"}),
        ("backend", backend_vs_total(p) + [reloads(p)],
         {"title": f"{p}: time of the backend behind mod_proxy vs the "
                   f"whole time of the requests proxied to it "
                   f"(upper 95th percentile)",
          "vtitle": "ms", "yMin": 0, "colorList": "orange,darkblue,black"}),
    ]


CAPACITY_PANELS = ("capacity", "capacity_inputs")
WIDE = ("backend",)


def targets_in_doc(docs=DOCS):
    """Every target line of the ```graphite blocks of TARGETS.md and the
    README, each once, in order."""
    out = []
    for doc in docs:
        for block in re.findall(r"^```graphite\n(.*?)^```",
                                doc.read_text(), re.S | re.M):
            out += [ln.strip() for ln in block.splitlines()
                    if ln.strip() and ln.strip() not in out]
    return out


def compose(pngs, note=None):
    """One PNG: the panels 2 per row (a panel as wide as two takes a row of
    its own), then a line of text (note) if any."""
    from PIL import Image, ImageDraw, ImageFont
    images = [Image.open(io.BytesIO(b)).convert("RGB") for b in pngs]
    w = min(i.width for i in images)
    h = max(i.height for i in images)
    places, x, y = [], 0, 0
    for img in images:
        if x and x + img.width > 2 * w:
            x, y = 0, y + h
        places.append((x, y))
        x += img.width
    rows = y // h + 1
    font = None
    for f in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",):
        try:
            font = ImageFont.truetype(f, 15)
        except OSError:
            pass
    font = font or ImageFont.load_default()
    note_h = 34 if note else 0
    out = Image.new("RGB", (2 * w, rows * h + note_h), "white")
    for img, place in zip(images, places):
        out.paste(img, place)
    if note:
        ImageDraw.Draw(out).text((12, rows * h + 8), note, fill="black",
                                 font=font)
    buf = io.BytesIO()
    out.save(buf, "PNG")
    return buf.getvalue()
