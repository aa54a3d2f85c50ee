"""The graphite-web half of make dashboard: once the traffic is in, every
documented target rendered as json, the panels rendered as PNGs and
composed into the picture.

graphite-web is the harness's runner (t/lib/statsdtest/graphite_web.py);
the targets and the composing of the picture are in panels.py.
"""

import json
import time

import panels
from statsdtest import graphite_web
from statsdtest.proc import wait_for


def draw(gw, window, prefix, flush_ms, answered, out, build, facts=None):
    """window: render from_/until; answered: requests known to have been
    answered. Writes out (the picture) and build/ (each panel, render.json).
    Returns the problems found."""
    problems = []
    count = f"stats.timers.{prefix}.responses.time.count"

    def seen():
        return graphite_web.total(gw.render_json([count], **window))

    wait_for(lambda: seen() >= answered, 20, step=0.5)
    time.sleep(flush_ms / 1000 * 2 + 1)      # the last flushes, written
    n = seen()
    print(f"graphite-web sees {n:.0f} requests in {count}")
    if n < answered:
        problems.append(f"graphite-web sees {n:.0f} of at least {answered} "
                        f"requests")

    doc = panels.targets_in_doc()
    layout = panels.panels(prefix)
    if prefix == panels.DOC_PREFIX:
        for t in sorted({t for _, ts, _ in layout for t in ts} - set(doc)):
            problems.append(f"drawn but not documented: {t}")
    report = {}
    for t in doc:
        t = t.replace(f".{panels.DOC_PREFIX}.", f".{prefix}.")
        series = gw.render_json([t], **window)
        n = sum(len(graphite_web.points(s)) for s in series)
        report[t] = {"series": len(series), "points": n,
                     "sum": graphite_web.total(series)}
        if not n and "workers.max" not in t:
            problems.append(f"no data: {t}")
    has_workers = any(graphite_web.points(s) for s in gw.render_json(
        [panels.workers_max(prefix)], **window))
    print(f"{len(doc)} documented targets rendered as json; "
          f"{sum(1 for r in report.values() if r['points'])} with data")

    build.mkdir(parents=True, exist_ok=True)
    for old in build.glob("*.png"):         # no panel of an earlier run
        old.unlink()
    pngs, urls = [], {}
    for name, targets, params in layout:
        if name in panels.CAPACITY_PANELS and not has_workers:
            continue
        width = 2 * 720 if name in panels.WIDE else 720
        params = dict(params, width=width, height=380, lineMode="connected",
                      **window)
        png = gw.render_png(targets, **params)
        (build / f"{name}.png").write_bytes(png)
        urls[name] = gw.render_url(targets, **params)
        pngs.append(png)
    note = None
    if not has_workers:
        note = (f"Capacity not drawn: no {panels.workers_max(prefix)} in "
                f"this run (the module sent no workers.max gauge).")
        print(note)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(panels.compose(pngs, note))
    (build / "render.json").write_text(json.dumps(
        {"from": window["from_"], "until": window["until"], **(facts or {}),
         "panels": urls, "documented_targets": report,
         "capacity_drawn": bool(has_workers)}, indent=1))
    print(f"wrote {out} ({len(pngs)} panels from graphite-web /render; "
          f"panels, URLs and json in {build})")
    return problems
