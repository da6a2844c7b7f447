"""The layer graph: a networkx DiGraph with one LayerDef per node, validated once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archviz.errors import GraphError
from archviz.spec.expand import NETWORK_INPUT, LayerDef

if TYPE_CHECKING:
    import networkx as nx


def build_graph(layers: tuple[LayerDef, ...]) -> nx.DiGraph:
    """Nodes are layer names (plus ``input``); each node's ``layer`` is its LayerDef."""
    import networkx as nx  # imported on use: the summary path never needs it for sequential specs

    graph = nx.DiGraph()
    graph.add_node(NETWORK_INPUT, layer=None)
    for layer in layers:
        graph.add_node(layer.name, layer=layer)
    for layer in layers:
        for source in layer.inputs:
            graph.add_edge(source, layer.name)
    return graph


def topological_layers(layers: tuple[LayerDef, ...]) -> tuple[LayerDef, ...]:
    """Layers in an order where inputs come first, keeping the spec's order where it is free to."""
    position = {layer.name: index for index, layer in enumerate(layers)}
    if all(source == NETWORK_INPUT or position[source] < position[layer.name]
           for layer in layers for source in layer.inputs):
        return layers  # the common case: every input is written before its use
    import networkx as nx

    graph = build_graph(layers)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        names = [edge[0] for edge in cycle]
        first = graph.nodes[names[0]]["layer"]
        raise GraphError(f"the layers form a cycle: {' -> '.join([*names, names[0]])}", layer=first.name,
                         hint="a layer's inputs must not depend on its own output",
                         ).with_context(first.location, calls=first.calls)
    order = nx.lexicographical_topological_sort(graph, key=lambda name: position.get(name, -1))
    return tuple(graph.nodes[name]["layer"] for name in order if name != NETWORK_INPUT)


def unused_layers(graph: nx.DiGraph, output: str) -> list[str]:
    """Layers whose result never reaches the output (dead branches)."""
    import networkx as nx

    reaching = nx.ancestors(graph, output) | {output}
    return [name for name in graph.nodes if name not in reaching and name != NETWORK_INPUT]
