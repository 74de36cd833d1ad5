"""The decision path as data: the model, the loader that checks a flow file, and its graph.

`flows/advisor.yaml` is read by `load_flow` into a frozen `Flow`; `successors` tells which
question may come next.
"""

from .graph import successors
from .loader import FlowError, default_flows_dir, load_flow, load_flows, open_flow
from .model import (
    BUILT_IN_SECTIONS,
    BUTTON_LIMIT,
    DONT_KNOW,
    KINDS,
    SEVERITIES,
    SUMMARY,
    VERDICTS,
    AdviceItem,
    Area,
    Flow,
    Kpi,
    Option,
    Phase,
    Question,
    Reason,
    RedFlag,
    Rule,
    Section,
    Source,
    Timeline,
    Verdict,
    VerdictRule,
    yes_no_option,
)

__all__ = [
    "BUILT_IN_SECTIONS",
    "BUTTON_LIMIT",
    "DONT_KNOW",
    "KINDS",
    "SEVERITIES",
    "SUMMARY",
    "VERDICTS",
    "AdviceItem",
    "Area",
    "Flow",
    "FlowError",
    "Kpi",
    "Option",
    "Phase",
    "Question",
    "Reason",
    "RedFlag",
    "Rule",
    "Section",
    "Source",
    "Timeline",
    "Verdict",
    "VerdictRule",
    "default_flows_dir",
    "load_flow",
    "load_flows",
    "open_flow",
    "successors",
    "yes_no_option",
]
