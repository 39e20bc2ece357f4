"""The Gates page's Units view: each unit's share of the prediction, one unit explored over the validation names,
and a search for the units that stay on across some letters of the name."""

from __future__ import annotations

import streamlit as st

from rnnviz import charts, inside
from rnnviz.gates import STATE_LABELS
from ui import display, keys
from ui.gates_common import Subject, atlas_or_explain, keep_choice, letter_name, strip_cell


def view(subject: Subject) -> None:
    """What the units do for this name, and what they do over the validation names."""
    run, run_id, gates = subject.run, subject.run_id, subject.gates
    used, typed, letters = subject.used, subject.typed, subject.letters
    contributions = inside.unit_contributions(run.model, run.categories, typed)
    left, right = st.columns([2, 3], gap="large")
    with left:
        display.chart(charts.contributions_chart(contributions.frame, contributions.category,
                                                 height=display.height(22 * 12)),
                      "unit-contributions", data=contributions.frame)
        extra = f" + the last letter's own weight {contributions.rest:.2f}" if not gates else ""
        st.caption(f"Each bar is W_out[{contributions.category}, unit] × h_unit at the last letter. All "
                   f"{len(contributions.frame)} of them, plus the bias {contributions.bias:.2f}{extra}, add up "
                   f"to the {contributions.category} logit {contributions.logit:.2f}.")
    atlas = atlas_or_explain(subject)
    with right:
        if atlas is not None:
            order_options = [k for k in inside.ATLAS_ORDERS if gates or k != "saturation"]
            keep_choice(keys.GATES_UNIT_ORDER, order_options, "category")
            keep_choice(keys.GATES_EXPLORE_KEY, atlas.keys, atlas.keys[0])
            e1, e2, e3 = st.columns([3, 2, 2], vertical_alignment="bottom")
            by = "category"
            if not display.presenting():
                by = e2.selectbox("Order units by", order_options, format_func=inside.UNIT_ORDERS.get,
                                  key=keys.GATES_UNIT_ORDER)
            ordered = atlas.order(by)
            explore_key = keys.keyed(keys.GATES_EXPLORE_UNIT, run_id, used)
            keep_choice(explore_key, ordered, int(contributions.frame["unit"].iloc[0]))  # the name's top unit
            roles = atlas.roles.set_index("unit")
            unit = e1.selectbox("Unit to explore", ordered, key=explore_key,
                                format_func=lambda u: f"unit {u} · pushes up {roles['pushes_up'][u]}")
            key = e3.selectbox("Colour by", atlas.keys, key=keys.GATES_EXPLORE_KEY, format_func=STATE_LABELS.get)
            contexts = atlas.top_contexts(unit, key, k=5)
            rows = [(f"+ {c.name} ({c.category})", c.name, c.letters) for c in contexts["positive"]]
            rows += [(f"− {c.name} ({c.category})", c.name, c.letters) for c in contexts["negative"]]
            strips = charts.letter_strips_frame(rows)
            display.chart(charts.letter_strips(strips, f"where unit {unit} is most positive (+) and negative (−)",
                                               f"{STATE_LABELS[key]} of unit {unit}", cell=strip_cell(rows, 460),
                                               scale=display.scale()),
                          f"unit-{unit}-contexts", data=strips, width="content")
            active = ", ".join(f"{c} ({v:+.2f})" for c, v in atlas.active_categories(unit, key))
            st.caption(f"Over {len(atlas.names):,} validation names. Highest mean {key} in: {active}. "
                       f"Its weight pushes {roles['pushes_up'][unit]} up most ({roles['weight'][unit]:+.2f}).")
    if atlas is not None:
        st.markdown("#### Search by pattern")
        default = (max(0, len(used) - 3), len(used) - 1)
        span_key = keys.keyed(keys.GATES_SPAN, used)
        span_value = st.session_state.get(span_key)
        if not (isinstance(span_value, tuple) and all(k in letters for k in span_value)):
            st.session_state[span_key] = default
        s1, s2 = st.columns([4, 1], vertical_alignment="bottom")
        a, b = s1.select_slider(f"Letters of {used} to search for", letters, key=span_key,
                                format_func=lambda k: letter_name(used, k),
                                help="The units whose h stays on (one sign, beyond the threshold) across these "
                                     "letters, then the validation names where all of them do the same.")
        threshold = 0.3
        if not display.presenting():
            threshold = s2.number_input("Threshold |h|", 0.05, 0.95, 0.3, 0.05, key=keys.GATES_SPAN_THRESHOLD)
        search = inside.span_search(run.model, run.categories, atlas, typed, min(a, b), max(a, b) + 1,
                                     threshold=threshold)
        if search.units.empty:
            st.info(f"No unit's h stays beyond ±{threshold:g} across '{search.span}': try fewer letters or a "
                    "lower threshold.", icon=":material/search_off:")
        else:
            found = ", ".join(f"unit {r.unit} ({'+' if r.sign > 0 else '−'}{abs(r.strength):.2f})"
                              for r in search.units.itertuples())
            together = "It fires" if len(search.units) == 1 else "They all fire"
            st.markdown(f"On across **'{search.span}'**: {found}. {together} the same way in "
                        f"**{display.count(len(search.matches), 'validation name')}**; "
                        f"**{search.sharing:,}** of them have the letters '{search.span}' there "
                        f"({display.count(search.containing, 'validation name')} hold '{search.span}' at all; "
                        "a lower threshold finds more).")
            m1, m2 = st.columns(2, gap="large")
            if len(search.by_category):
                rows_shown = search.by_category["category"].nunique()
                display.chart(charts.span_matches_chart(search.by_category, search.span,
                                                        height=display.height(max(60, 24 * rows_shown))),
                              "span-matches",
                              where=m1, data=search.matches)
                first_unit = int(search.units["unit"].iloc[0])
                rows = inside.span_examples(atlas, search, k=8)
                strips = charts.letter_strips_frame(rows)
                display.chart(charts.letter_strips(strips, f"some of them, coloured by unit {first_unit}",
                                                   f"hidden state h of unit {first_unit}",
                                                   cell=strip_cell(rows, 360), scale=display.scale()),
                              "span-examples", where=m2, data=strips, width="content")
