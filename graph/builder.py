"""Compiles the per-lead state machine. Called once per process by whoever runs leads."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

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


def _by_route(state: LeadState) -> str:
    return state.get("route", "plan")


def _after_touch(state: LeadState) -> str:
    return "escalate" if state.get("hot") else "plan"


def build_graph(checkpointer: BaseCheckpointSaver[Any] | None) -> LeadGraph:
    builder = StateGraph(LeadState, context_schema=RunContext)
    builder.add_node("absorb", absorb)
    builder.add_node("converse", converse)
    builder.add_node("touch", touch)
    builder.add_node("opt_out", opt_out)
    builder.add_node("escalate", escalate)
    builder.add_node("await_rep", await_rep)
    builder.add_node("plan", plan)
    builder.add_edge(START, "absorb")
    builder.add_conditional_edges("absorb", _by_route, {"converse": "converse", "touch": "touch", "idle": "plan"})
    builder.add_conditional_edges(
        "converse", _by_route, {"touch": "touch", "opt_out": "opt_out", "escalate": "escalate", "plan": "plan"}
    )
    builder.add_conditional_edges("touch", _after_touch, {"escalate": "escalate", "plan": "plan"})
    builder.add_edge("opt_out", "plan")
    builder.add_edge("escalate", "await_rep")
    builder.add_conditional_edges("await_rep", _by_route, {"await_rep": "await_rep", "plan": "plan"})
    builder.add_edge("plan", END)
    return builder.compile(checkpointer=checkpointer)
