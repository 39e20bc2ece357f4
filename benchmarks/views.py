"""How long each view of the Gates page takes for a typed name, and the unit explorer cold and cached."""

from __future__ import annotations

import time

from rnnviz.data import clean_name
from rnnviz.inside import attribution, build_atlas, cell_step, hidden_path, span_search, unit_contributions, what_if
from rnnviz.models import Classifier
from rnnviz.registry import has_gates


def measure_views(model: Classifier, categories: list[str], pairs: list[tuple[str, int]], names: list[str],
                  repeats: int = 3) -> dict:
    """Milliseconds each view of a typed name takes (the best of `repeats`, the slowest name), and the unit
    explorer over the validation names the first time (building the atlas) and once built."""

    def best_ms(fn) -> float:
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            fn()
            times.append((time.perf_counter() - began) * 1000)
        return min(times)

    began = time.perf_counter()
    atlas = build_atlas(model, categories, pairs)
    first_unit = atlas.order("variance")[0]
    atlas.top_contexts(first_unit, atlas.keys[0])
    first_ms = (time.perf_counter() - began) * 1000
    cached_ms = best_ms(lambda: (atlas.top_contexts(first_unit, atlas.keys[0]), atlas.active_categories(first_unit)))
    views: dict[str, float] = {}
    gates = has_gates(model)
    for name in names:
        last = len(clean_name(name).text) - 1
        timed = {
            "attribution": (attribution, (model, categories, name), {}),
            "unit contributions": (unit_contributions, (model, categories, name), {}),
            "hidden-state path": (hidden_path, (model, categories, atlas, [name]), {}),
            "reset before a letter": (what_if, (model, categories, name), {"reset_at": last}),
            "span search": (span_search, (model, categories, atlas, name, max(0, last - 1), last + 1), {}),
        }
        if gates:
            timed["cell step"] = (cell_step, (model, categories, name, last, first_unit), {})
            timed["gate clamp"] = (what_if, (model, categories, name, {"f": 0.0}), {"at": last})
        for view, (fn, args, kwargs) in timed.items():
            ms = best_ms(lambda fn=fn, args=args, kwargs=kwargs: fn(*args, **kwargs))
            views[view] = max(views.get(view, 0.0), ms)
    return {"views_ms": views, "unit_explorer_first_ms": first_ms, "unit_explorer_cached_ms": cached_ms,
            "validation_names": len(pairs), "names": list(names)}
