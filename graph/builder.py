"""Compiles the per-lead state machine. Called once per process by whoever runs leads.

    absorb ─► converse ─► touch ─► escalate ─► await_rep (interrupt) ─┐
       │         │          │                       ▲      │          │
       └─────────┴──────────┴──── opt_out ──────────┘      └──────────┴─► plan ─► END

`plan` (what comes next for the lead) ends every run that does not stop at `interrupt()`. It runs
in the same graph step as the node before it: a LangGraph step costs about as much as a small
node (task setup, channel reads and writes over the whole state), and each run would otherwise
pay for one more.
"""

from __future__ import annotations

from collections.abc import Callable
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


def _after_absorb(state: LeadState) -> str:
    route = _by_route(state)
    return "plan" if route == "idle" else route


def _after_touch(state: LeadState) -> str:
    return "escalate" if state.get("hot") else "plan"


def _always_plan(state: LeadState) -> str:
    return "plan"


def then_plan(node: Node, next_step: Callable[[LeadState], str]) -> Node:
    """`node`, followed in the same step by `plan` whenever the run would go there next."""

    def step(state: LeadState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        update = node(state, runtime)
        after: LeadState = {**state, **update}  # type: ignore[typeddict-item]
        if next_step(after) != "plan":
            return update
        return {**update, **plan(after, runtime)}

    return step


def _add(
    builder: StateGraph[LeadState, RunContext, LeadState, LeadState],
    name: str,
    node: Node,
    next_step: Callable[[LeadState], str],
    targets: tuple[str, ...] = (),
) -> None:
    """A node that ends the run with `plan` (in its own step) unless `next_step` names a target."""
    builder.add_node(name, then_plan(node, next_step))
    builder.add_conditional_edges(name, next_step, {**{target: target for target in targets}, "plan": END})


def build_graph(checkpointer: BaseCheckpointSaver[Any] | None) -> LeadGraph:
    builder = StateGraph(LeadState, context_schema=RunContext)
    builder.add_edge(START, "absorb")
    _add(builder, "absorb", absorb, _after_absorb, ("converse", "touch"))
    _add(builder, "converse", converse, _by_route, ("touch", "opt_out", "escalate"))
    _add(builder, "touch", touch, _after_touch, ("escalate",))
    _add(builder, "opt_out", opt_out, _always_plan)
    builder.add_node("escalate", escalate)
    builder.add_edge("escalate", "await_rep")
    _add(builder, "await_rep", await_rep, _by_route, ("await_rep",))
    return builder.compile(checkpointer=checkpointer)
