"""Gates: inside the model while it reads a surname. One LSTM step with its numbers, letter by letter; what
the units do; where the prediction comes from; what-if experiments on the gates; and every gate as a heatmap."""

import time

import streamlit as st

from rnnviz import charts, inside, registry
from rnnviz.data import DataError
from rnnviz.gates import SIGMOID_GATES, STATE_LABELS
from rnnviz.runs import list_snapshots
from ui import display, frame, guards, keys, nav, resources, runview, shareable

with frame.page(nav.GATES):

    EXTRA = ("g", "c", "h")
    URL_READ = "gates.url_read"  # set once this session has taken the run and surname from the link


    VIEWS = {"cell": "Cell step", "units": "Units", "why": "Where it comes from", "whatif": "What if",
             "heatmaps": "Heatmaps"}
    PLAY_SECONDS = 1.2  # one letter per tick: slow enough to read the numbers aloud
    NO_GATES = ("The RNN has no gates, so there is no cell to open here: its hidden state is one linear step per "
                "letter. Choose an nn.LSTM or MyLSTM run, or look at *Units*, *Where it comes from* and *What if* "
                "(reset), which work for the RNN too.")


    def reading_or_warn(run, name: str, column):
        try:
            return inside.read_name(run.model, run.categories, name)
        except DataError as exc:
            column.warning(guards.one_line(exc), icon=":material/keyboard:")
        except guards.USER_ERRORS as exc:
            column.error(guards.one_line(exc), icon=":material/error:")
        return None


    def header(reading, column) -> None:
        """The name and its top three, side by side so the view below starts high on the screen."""
        with column:
            left, right = st.columns([1, 1.6], gap="small", vertical_alignment="center")
            shown = reading.name if len(reading.name) <= 40 else reading.name[:39] + "…"  # the caption has the rest
            left.markdown(f"{'###' if len(shown) <= 12 else '####'} {shown}")
            if reading.note:
                left.caption(f"Read as **{reading.used}** ({reading.note}).")
            top = ", ".join(f"{category} {p:.1%}" for category, p in reading.top(3))
            display.chart(charts.top_chart(reading.top(3), height=display.height(66)), f"top-{reading.used}",
                          where=right, alt=f"Top predictions: {top}", downloads=False)


    def letter_name(used: str, t: int) -> str:
        return f"{inside.letter_number(t)}: {used[t] if used[t] != ' ' else '␣'}"


    def strip_cell(rows: list, room: int) -> int:
        """Letter cells as large as fit: `room` pixels (a column at 1280x800) less the row labels (about 8 px a
        character at the theme's label size, and the axis padding), shared by the longest name's letters; small
        for a long name rather than wider than the column."""
        label = max((len(r[0]) for r in rows), default=0) * 8 + 30
        longest = max((len(r[1]) for r in rows), default=1)
        return max(6, min(24, (room - label) // longest))


    def keep_choice(key: str, options: list, default) -> None:
        """Drop a remembered choice that the current run or name no longer offers."""
        if st.session_state.get(key) not in options:
            st.session_state[key] = default


    def settings_from_link(run_ids: list[str]) -> None:
        """On a session's first visit, a shared link (?run=...&name=...) picks the run and the surname."""
        if st.session_state.get(URL_READ):
            return
        st.session_state[URL_READ] = True
        parsed = shareable.parse_gates(st.query_params.to_dict(), run_ids)
        if parsed.values[shareable.GATES_RUN]:
            st.session_state[keys.GATES_RUN] = parsed.values[shareable.GATES_RUN]
        if parsed.values[shareable.GATES_NAME]:
            st.session_state[keys.GATES_NAME] = parsed.values[shareable.GATES_NAME]
            # A link shows what it names: the second surname only when it gives one (?vs=...).
            st.session_state[keys.GATES_SECOND] = parsed.values[shareable.GATES_SECOND]
        if parsed.notice:
            st.info(parsed.notice, icon=":material/link_off:")


    def link_to(run_id: str, name: str, second: str) -> None:
        """Keep the URL in step with the run and surnames, so the address bar is always a link to hand out."""
        query = shareable.gates_query(run_id, name.strip(), second.strip())
        for key in (shareable.GATES_RUN, shareable.GATES_NAME, shareable.GATES_SECOND):
            if key not in query and key in st.query_params:
                del st.query_params[key]
        for key, value in query.items():
            if st.query_params.get(key) != value:
                st.query_params[key] = value


    st.title("Gates")
    runs = guards.require_runs(runview.usable_runs(resources.all_runs(), runview.INSPECTABLE_MODELS),
                               "runs of the report's models",
                               "Train a model: nn.LSTM and MyLSTM runs open their gates here, the RNN shows what "
                               "applies to it. The n-gram baseline has no state at all, and the tanh RNN is "
                               "compared on Why LSTM? rather than taken apart here.")
    labels = {info.run_id: runview.run_label(info) for info in runs}
    settings_from_link(list(labels))
    if st.session_state.get(keys.GATES_RUN) not in labels:
        st.session_state.pop(keys.GATES_RUN, None)

    c1, c2, c3 = st.columns([3, 2, 2], gap="medium")
    run_id = c1.selectbox("Run", list(labels), format_func=labels.get, key=keys.GATES_RUN,
                          help="nn.LSTM runs are read through an equivalent MyLSTM, gate by gate.")
    if keys.GATES_NAME not in st.session_state:
        st.session_state[keys.GATES_NAME] = "Nakamura"
    first = c2.text_input("Surname", key=keys.GATES_NAME,
                          help="Accents are transliterated as in training (Müller → Muller); "
                               "other characters are dropped.")
    if keys.GATES_SECOND not in st.session_state:
        st.session_state[keys.GATES_SECOND] = "Schmidt"
    second = c3.text_input("Second surname (optional)", key=keys.GATES_SECOND,
                           help="Shown beside the first in the heatmaps and on the hidden-state map.")
    link_to(run_id, first, second)
    info = next(i for i in runs if i.run_id == run_id)
    v1, v2 = st.columns([4, 1.4], gap="medium")
    view = v1.segmented_control("View", list(VIEWS), default="cell", required=True, format_func=VIEWS.get,
                                key=keys.GATES_VIEW)
    snapshot = None
    epochs = list_snapshots(info.path)
    if epochs:
        choice = v2.select_slider("Learning replay: weights after epoch", runview.snapshot_options(epochs),
                                  value=runview.FINAL, format_func=runview.snapshot_label,
                                  key=f"{keys.GATES_SNAPSHOT}.{run_id}")
        snapshot = runview.snapshot_arg(choice)

    try:
        run = resources.loaded_run(info.path, snapshot)
    except guards.USER_ERRORS as exc:
        st.error(guards.one_line(exc), icon=":material/error:")
        st.stop()
    gates = registry.has_gates(run.model)

    names = [first] + ([second] if second and second.strip() else [])
    columns = st.columns(len(names) if len(names) > 1 else [3, 2], gap="large")
    readings = [reading_or_warn(run, name, column) for name, column in zip(names, columns)]
    shown = [(reading, column) for reading, column in zip(readings, columns) if reading is not None]
    if not shown:
        st.stop()
    for reading, column in shown:
        header(reading, column)
    reading = shown[0][0]  # the views explain the first name
    used = reading.used
    typed = reading.name  # what the library is given: it cleans the typed text the same way every time
    letters = list(range(len(used)))


    def atlas_or_explain():
        """The run's validation names read once (cached per run), or a one-line reason and None."""
        try:
            return resources.unit_atlas(info, snapshot)
        except guards.USER_ERRORS as exc:
            st.info(f"{guards.one_line(exc).rstrip('.')}.", icon=":material/info:")
            return None


    # ------------------------------------------------------------------ the cell, letter by letter
    def step_letter(delta: int) -> None:
        now = st.session_state.get(keys.GATES_LETTER, 0)
        st.session_state[keys.GATES_LETTER] = min(max(now + delta, 0), len(used) - 1)


    def slid(slider_key: str) -> None:
        # While playing the slider is not drawn; a value the browser still sends for it is stale, not a choice.
        if st.session_state.get(keys.GATES_PLAYING) is None:
            st.session_state[keys.GATES_LETTER] = st.session_state[slider_key]


    def start_playing() -> None:
        st.session_state[keys.GATES_PLAYING] = time.monotonic()
        st.session_state[keys.GATES_LETTER] = 0


    def stop_playing() -> None:
        st.session_state.pop(keys.GATES_PLAYING, None)


    def cell_view(unit_options: list[int], top_unit: int) -> None:
        playing = st.session_state.get(keys.GATES_PLAYING)
        if playing is not None and time.monotonic() - playing >= PLAY_SECONDS * 0.8:
            if st.session_state.get(keys.GATES_LETTER, 0) >= len(used) - 1:
                stop_playing()
                st.rerun()  # the whole page, so the timer stops
            step_letter(+1)
            st.session_state[keys.GATES_PLAYING] = time.monotonic()
        slider_key = keys.keyed(keys.GATES_LETTER_SLIDER, used)
        unit_key = keys.keyed(keys.GATES_UNIT, run_id, used)
        if st.session_state.get(keys.GATES_CELL_NAME) != (run_id, used):  # a new name: its last letter
            st.session_state[keys.GATES_CELL_NAME] = (run_id, used)
            st.session_state[keys.GATES_LETTER] = len(used) - 1
        keep_choice(keys.GATES_LETTER, letters, len(used) - 1)
        keep_choice(unit_key, unit_options, top_unit)  # a name's own unit control starts on its deciding unit
        b1, b2, b3, b4, b5 = st.columns([1, 1, 1.2, 4, 2.4], vertical_alignment="bottom")
        t = st.session_state[keys.GATES_LETTER]
        b1.button("Back", on_click=step_letter, args=(-1,), disabled=t == 0, key="gates.back", width="stretch",
                  help="The letter before")
        b2.button("Next", on_click=step_letter, args=(+1,), disabled=t == len(used) - 1, key="gates.next",
                  width="stretch", help="The next letter")
        # Play and Pause rerun the whole page: the fragment's timer is set when the page draws it.
        if playing is None:
            if b3.button("Play", icon=":material/play_arrow:", key="gates.play", width="stretch",
                         help="Step through the name letter by letter, one letter a second."):
                start_playing()
                st.rerun()
        elif b3.button("Pause", icon=":material/pause:", key="gates.pause", width="stretch"):
            stop_playing()
            st.rerun()
        if playing is None:
            # The slider has its own key: the letter itself lives in GATES_LETTER, which play and the buttons move.
            st.session_state[slider_key] = t
            b4.select_slider("Letter", letters, format_func=lambda k: letter_name(used, k),
                             key=slider_key, on_change=slid, args=(slider_key,))
        else:
            b4.progress((t + 1) / len(used), text=f"Playing: letter {letter_name(used, t)} of {len(used)}")
        unit = b5.selectbox("Unit", unit_options, key=unit_key,
                            format_func=lambda u: f"unit {u}" + (" · decides most" if u == top_unit else ""),
                            help="Units are listed by how much they decide the prediction (first: the most).")
        t = st.session_state[keys.GATES_LETTER]
        step = inside.cell_step(run.model, run.categories, typed, t, unit)
        left, right = st.columns([3, 2], gap="large")
        with left:
            display.chart(charts.cell_diagram(step.values, step.letter, unit, height=display.height(330),
                                              scale=display.scale()),
                          "cell-diagram", alt=f"Unit {unit} at letter {t + 1} ({step.letter}): c = "
                                              f"{step.values['c']:.2f}, h = {step.values['h']:.2f}", downloads=False)
            st.markdown("  \n".join(f"`{equation}`" for equation in step.equations))
        with right:
            display.chart(charts.unit_step_bars(step.units, unit, height=display.height(170)), "unit-step-bars",
                          data=step.units, downloads=not playing)
            after = ", ".join(f"{c} {p:.0%}" for c, p in step.top)
            st.markdown(f"After **{used[: t + 1]}** the model says: {after}.")
            st.caption("f near 0 forgets what c held, i near 1 writes g into it, o decides how much of c the "
                       "classifier sees as h. The bars show every unit's change of c at this letter; the colour "
                       "is its forget gate.")


    if view == "cell":
        if not gates:
            st.info(NO_GATES, icon=":material/info:")
        else:
            contributions = inside.unit_contributions(run.model, run.categories, typed)
            order = contributions.frame["unit"].tolist()
            every = PLAY_SECONDS if st.session_state.get(keys.GATES_PLAYING) is not None else None
            st.fragment(cell_view, run_every=every)(order, order[0])

    # ------------------------------------------------------------------ what the units do
    elif view == "units":
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
        atlas = atlas_or_explain()
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

    # ------------------------------------------------------------------ where the prediction comes from
    elif view == "why":
        result = inside.attribution(run.model, run.categories, typed)
        display.chart(charts.attribution_chart(result.frame, result.category, height=display.height(220)),
                      "attribution", data=result.frame,
                      alt=f"Letters carrying {result.category}: " + ", ".join(
                          f"{r.letter} {r.occlusion:+.2f}" for r in result.frame.dropna().itertuples()))
        st.caption(f"Occlusion: the probability of {result.category} ({result.probability:.1%}) minus what it is "
                   "when that letter is left out; large bars are the letters the prediction rests on. "
                   "Gradient × input: how fast log p rises with the letter, a first-order estimate of the same.")
        atlas = atlas_or_explain()
        if atlas is not None:
            path = inside.hidden_path(run.model, run.categories, atlas, [r.name for r, _ in shown])
            display.chart(charts.hidden_path_chart(path.background, path.path, path.explained,
                                                   height=display.height(380)), "hidden-path", data=path.path)
            st.caption("Each dot is a validation name's final hidden state, projected to 2-D (PCA). The line is the "
                       "typed name's hidden state after each letter: it should end among its language's dots.")

    # ------------------------------------------------------------------ what if
    elif view == "whatif":
        controls, outcome = st.columns([2, 3], gap="large")  # the outcome beside the controls, above the fold
        with controls:
            w1, w2 = st.columns(2, gap="small")
            w3, w4 = st.columns(2, gap="small")
            w5, w6 = st.columns(2, gap="small")
        clamps = {}
        unit = at = start = None
        if gates:
            keep_choice(keys.GATES_CLAMP_GATE, ["none", *SIGMOID_GATES], "f")
            gate = w1.selectbox("Clamp a gate", ["none", *SIGMOID_GATES], key=keys.GATES_CLAMP_GATE,
                                format_func=lambda g: "no clamp" if g == "none" else f"{STATE_LABELS[g]} {g}")
            value = w2.slider("to the value", 0.0, 1.0, 0.0, 0.05, key=keys.GATES_CLAMP_VALUE)
            hidden = run.model.hidden_size
            clamp_unit_key = keys.keyed(keys.GATES_CLAMP_UNIT, run_id)
            keep_choice(clamp_unit_key, ["all", *range(hidden)], "all")
            chosen = w3.selectbox("for", ["all", *range(hidden)], key=clamp_unit_key,
                                  format_func=lambda u: "all units" if u == "all" else f"unit {u}")
            clamp_letter_key = keys.keyed(keys.GATES_CLAMP_LETTER, used)
            keep_choice(clamp_letter_key, letters, min(3, len(used) - 1))
            keep_choice(keys.GATES_CLAMP_WHERE, ["at", "from"], "at")
            where = w4.selectbox("where", ["at", "from"], key=keys.GATES_CLAMP_WHERE,
                                 format_func={"at": "at one letter", "from": "from a letter on"}.get)
            letter = w5.select_slider("letter", letters, key=clamp_letter_key,
                                      format_func=lambda k: letter_name(used, k))
            if gate != "none":
                clamps = {gate: value}
                unit = None if chosen == "all" else int(chosen)
                at, start = (letter, None) if where == "at" else (None, letter)
        else:
            w1.info("The RNN has no gates to clamp; resetting its state works.", icon=":material/info:")
        reset_options = ["none", *letters[1:]]
        reset_key = keys.keyed(keys.GATES_RESET, used)
        keep_choice(reset_key, reset_options, "none")
        reset = (w6 if gates else w2).selectbox("Reset h and c to 0 before", reset_options, key=reset_key,
                                                format_func=lambda k: "no reset" if k == "none" else
                                                letter_name(used, k))
        result = inside.what_if(run.model, run.categories, typed, clamps, at, start, unit,
                                 None if reset == "none" else int(reset))
        with outcome:
            before, after = result.unchanged.top(1)[0], result.intervened.top(1)[0]
            st.markdown(f"**What if:** {result.description}.  \nUnchanged: **{before[0]} {before[1]:.1%}** → "
                        f"what if: **{after[0]} {after[1]:.1%}**.")
            display.chart(charts.what_if_chart(result.frame(), height=display.height(34 * len(result.frame()) // 2)),
                          "what-if", data=result.frame(), alt=f"What if: {result.description}")
        with controls:
            st.caption("Forget gate 0 at a letter wipes the cell's memory of everything before it; resetting the "
                       "state before a letter is exactly reading the name from that letter on.")

    # ------------------------------------------------------------------ every gate as a heatmap
    else:
        if not gates:
            st.info(NO_GATES, icon=":material/info:")
            st.stop()
        traces = [reading for reading, _ in shown]
        h1, h2 = st.columns([2, 3] if not display.presenting() else [0.01, 4], gap="medium")
        order_by = "index"  # presenter mode keeps the plain unit order and hides the control
        if not display.presenting():
            order_by = h1.segmented_control("Order units by", list(inside.READING_ORDERS), default="index",
                                            required=True, format_func=inside.UNIT_ORDERS.get, key=keys.GATES_ORDER,
                                            help="Sorting by mean or variance groups units that behave alike.")
        extra = h2.pills("Also show", list(EXTRA), selection_mode="multi", default=[], key=keys.GATES_EXTRA,
                         format_func=STATE_LABELS.get, help="g: the candidate written to the cell; c: the cell state; "
                                                           "h: the hidden state the classifier reads.")
        reference = traces[0]  # both names use the first name's unit order, so rows line up
        gate_keys = [*SIGMOID_GATES, *[k for k in EXTRA if k in (extra or [])]]
        height = round(max(3, min(8, 360 // max(1, reference.values["i"].shape[1]))) * display.scale())
        longest = max(len(t.used) for t in traces)
        # Three gates side by side while short names fit, one under the other for long ones; every letter shows.
        # Room for the cells in pixels (a column at 1280x800 less the axis and colour legend, about 130 px).
        across = (3 if longest <= 6 else 2 if longest <= 14 else 1) if len(traces) == 1 else 1
        side_by_side = longest <= 20  # two long names go one under the other
        room = {3: 115, 2: 260, 1: 640}[across] if len(traces) == 1 else 260 if side_by_side else 640
        width = max(10, min(34, room // longest))
        if len(traces) == 1:
            for row in range(0, len(gate_keys), across):
                for key, column in zip(gate_keys[row : row + across], st.columns(across, gap="medium")):
                    cells = reference.gate_frame(key)
                    order = inside.unit_order(cells, order_by)
                    display.chart(charts.gate_heatmap(cells, key, STATE_LABELS[key], order, cell_height=height,
                                                      cell_width=width),
                                  f"gate-{key}-{reference.used}", where=column, data=cells, width="content")
            columns = st.columns(2, gap="large")
            display.chart(charts.gate_means_chart(reference.gate_means()), f"gate-means-{reference.used}",
                          where=columns[0], data=reference.gate_means())
            display.chart(charts.prefix_chart(reference.prefix_frame()), f"prefix-{reference.used}",
                          where=columns[1], data=reference.prefix_frame())
            st.stop()
        columns = st.columns(len(traces), gap="large") if side_by_side else [st.container() for _ in traces]
        for key in gate_keys:
            order = inside.unit_order(reference.gate_frame(key), order_by)
            for index, (trace, column) in enumerate(zip(traces, columns)):
                cells = trace.gate_frame(key)
                display.chart(charts.gate_heatmap(cells, key, STATE_LABELS[key], order, cell_height=height,
                                                  cell_width=width),
                              f"gate-{key}-{index}-{trace.used}", where=column, data=cells, width="content")
        for index, (trace, column) in enumerate(zip(traces, columns)):
            display.chart(charts.gate_means_chart(trace.gate_means()), f"gate-means-{index}-{trace.used}",
                          where=column, data=trace.gate_means())
            display.chart(charts.prefix_chart(trace.prefix_frame()), f"prefix-{index}-{trace.used}", where=column,
                          data=trace.prefix_frame())
