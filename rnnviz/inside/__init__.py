"""Inside a trained model: one Reading of a name (states after each letter, prediction after each prefix), the
cell step with its numbers (and the RNN's step), one unit's memory over the whole name, what each unit does,
where a prediction comes from, what-if experiments, and how far the gradient reaches back through time.

Every function takes a trained model and its categories (LoadedRun.model and .categories). A gate-only question
about a model without gates is a one-line ValueError that says why.
"""

from ..gates import STATE_LABELS
from .attribution import Attribution, attribution
from .cell import CellStep, cell_step
from .gradients import (
    FLOW_COLUMNS,
    NAME_FLOW_COLUMNS,
    SATURATION_COLUMNS,
    STAGES,
    NameFlow,
    flow_reading,
    flow_summary,
    gate_saturation,
    gradient_flow,
    input_gradient_norms,
    name_gradient_flow,
    saturation_reading,
    saturation_summary,
)
from .memory import MEMORY_STATES, MemoryOverTime, RNNStep, deciding_unit, memory_over_time, rnn_step
from .reading import Reading, letter_labels, letter_number, read_name
from .units import (
    ATLAS_ORDERS,
    READING_ORDERS,
    UNIT_ORDERS,
    Context,
    Contributions,
    HiddenPath,
    SpanSearch,
    UnitAtlas,
    build_atlas,
    hidden_path,
    span_examples,
    span_search,
    unit_contributions,
    unit_order,
)
from .whatif import WhatIf, describe_intervention, ordinal, what_if

__all__ = [
    "ATLAS_ORDERS", "FLOW_COLUMNS", "READING_ORDERS", "NAME_FLOW_COLUMNS", "SATURATION_COLUMNS", "STAGES",
    "MEMORY_STATES", "STATE_LABELS", "UNIT_ORDERS", "Attribution", "CellStep", "Context", "Contributions",
    "HiddenPath", "MemoryOverTime", "NameFlow", "RNNStep", "Reading", "SpanSearch", "UnitAtlas", "WhatIf",
    "attribution", "build_atlas", "cell_step", "describe_intervention", "flow_reading", "deciding_unit",
    "flow_summary", "gate_saturation", "gradient_flow", "hidden_path", "input_gradient_norms", "letter_labels",
    "letter_number", "memory_over_time", "name_gradient_flow", "ordinal", "read_name", "rnn_step",
    "saturation_reading", "saturation_summary", "span_examples", "span_search", "unit_contributions", "unit_order",
    "what_if",
]
