"""Compiles the per-lead state machine. Called once per process by whoever runs leads.

    absorb ─► converse ─► touch ─► escalate ─► await_rep (interrupt) ─┐
       │         │          │                       ▲      │          │
       └─────────┴──────────┴──── opt_out ──────────┘      └──────────┴─► plan ─► END

`plan` (what comes next for the lead) ends every run that does not stop at `interrupt()`, and a
touch a run goes to from `absorb` or `converse` runs too in the same graph step as the node before
it: a LangGraph step costs about as much as a small node (task setup, channel reads and writes over
the whole state, about a tenth of a due touch's run), and a due touch would otherwise pay for two
steps instead of one. The edges stay as drawn: after a step, `route` (and `hot`) name where the run
goes next, whichever nodes the step ran.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from graph.context import RunContext
from graph.nodes.absorb import absorb
from graph.nodes.await_rep import await_rep
from graph.nodes.converse import converse
from graph.nodes.escalate import escalate
from graph.nodes.opt_out import opt_out
from graph.nodes.plan import plan
from graph.nodes.touch import touch
from graph.state import LeadState

LeadGraph = CompiledStateGraph[LeadState, RunContext, LeadState, LeadState]


class Node(Protocol):
    def __call__(self, state: LeadState, runtime: Runtime[RunContext]) -> dict[str, Any]: ...


def _by_route(state: LeadState) -> str:
    return state.get("route", "plan")


def _after_touch(state: LeadState) -> str:
    return "escalate" if state.get("hot") else "plan"


def _after_routing(state: LeadState) -> str:
    """After `absorb` or `converse`: where their route points, or, once the touch they routed to
    ran in the same step (it leaves "plan" or "hold"), where the touch goes next."""
    route = _by_route(state)
    if route in ("idle", "plan", "hold"):
        return _after_touch(state)
    return route


def _always_plan(state: LeadState) -> str:
    return "plan"


def then(node: Node, next_step: Callable[[LeadState], str], inline: Mapping[str, Node]) -> Node:
    """`node`, followed in the same step by the node `next_step` picks when `inline` holds it."""

    def step(state: LeadState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        update = node(state, runtime)
        after: LeadState = {**state, **update}  # type: ignore[typeddict-item]
        follow = inline.get(next_step(after))
        if follow is None:
            return update
        return {**update, **follow(after, runtime)}

    return step


def _add(
    builder: StateGraph[LeadState, RunContext, LeadState, LeadState],
    name: str,
    node: Node,
    next_step: Callable[[LeadState], str],
    targets: tuple[str, ...] = (),
    inline: Mapping[str, Node] | None = None,
) -> None:
    """A node that ends the run with `plan` (in its own step) unless `next_step` names a target;
    targets in `inline` run in the node's step too."""
    builder.add_node(name, then(node, next_step, inline or {"plan": plan}))
    builder.add_conditional_edges(name, next_step, {**{target: target for target in targets}, "plan": END})


def build_graph(checkpointer: BaseCheckpointSaver[Any] | None) -> LeadGraph:
    builder = StateGraph(LeadState, context_schema=RunContext)
    builder.add_edge(START, "absorb")
    touch_step = then(touch, _after_touch, {"plan": plan})
    routed = {"plan": plan, "touch": touch_step}
    _add(builder, "absorb", absorb, _after_routing, ("converse", "touch", "escalate"), routed)
    _add(builder, "converse", converse, _after_routing, ("touch", "opt_out", "escalate"), routed)
    builder.add_node("touch", touch_step)
    builder.add_conditional_edges("touch", _after_touch, {"escalate": "escalate", "plan": END})
    _add(builder, "opt_out", opt_out, _always_plan)
    builder.add_node("escalate", escalate)
    builder.add_edge("escalate", "await_rep")
    _add(builder, "await_rep", await_rep, _by_route, ("await_rep",))
    return builder.compile(checkpointer=checkpointer)
