"""The graph of a definition's steps, laid out for SVG like the direction tree (templates_app.tree): inputs in
the first column, each step in the column after the deepest thing it reads, outputs in the last column, and
one edge per reference. It reads any definition the editors may hold (half typed, broken), so nothing here
raises: a reference to nothing is an edge marked broken that ends short of its step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from templates_app.definition import Reference, references_in

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 170, 52, 56, 14, 8
DANGLING = 40  # how far a broken reference reaches out of its step, towards nothing


@dataclass
class GraphNode:
    key: str  # "input:x" | "step:y" | "output:z": unique across the three sorts
    sort: str  # "input" | "step" | "output"
    label: str
    detail: str = ""  # a step's kind · model, an input's type
    column: int = 0
    row: int = 0
    gated: bool = False  # a policy gate waits after this step

    @property
    def x(self) -> int:
        return PAD + self.column * (NODE_W + GAP_X)

    @property
    def y(self) -> int:
        return PAD + self.row * (NODE_H + GAP_Y)


@dataclass
class GraphEdge:
    source: GraphNode | None  # None: the reference names nothing the definition has
    target: GraphNode
    reference: str
    broken: bool = False

    @property
    def x1(self) -> int:
        return self.source.x + NODE_W if self.source else self.target.x - DANGLING

    @property
    def y1(self) -> int:
        return (self.source.y if self.source else self.target.y) + NODE_H // 2

    @property
    def x2(self) -> int:
        return self.target.x

    @property
    def y2(self) -> int:
        return self.target.y + NODE_H // 2

    @property
    def path(self) -> str:
        """A cubic curve from the right edge of the source to the left edge of the target."""
        bend = max(20, (self.x2 - self.x1) // 2)
        return f"M{self.x1},{self.y1} C{self.x1 + bend},{self.y1} {self.x2 - bend},{self.y2} {self.x2},{self.y2}"


@dataclass
class StepGraph:
    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[GraphEdge] = field(default_factory=list)
    width: int = 0
    height: int = 0

    def node(self, key: str) -> GraphNode | None:
        return next((n for n in self.nodes if n.key == key), None)

    @property
    def columns(self) -> int:
        return max((n.column for n in self.nodes), default=-1) + 1

    @property
    def steps(self) -> list[GraphNode]:
        return [n for n in self.nodes if n.sort == "step"]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def layout(definition: Any) -> StepGraph:
    """Positions and edges for `definition` (any JSON value; only what it holds is drawn)."""
    d = _dict(definition)
    graph = StepGraph()
    inputs = {
        str(name): GraphNode(f"input:{name}", "input", str(name), str(_dict(spec).get("type", "")))
        for name, spec in _dict(d.get("inputs")).items()
    }
    raw_steps = [s for s in d.get("steps") or [] if isinstance(s, dict)] if isinstance(d.get("steps"), list) else []
    gated = (
        {str(g.get("after")) for g in _dict(d.get("policy")).get("gates") or [] if isinstance(g, dict)}
        if isinstance(_dict(d.get("policy")).get("gates"), list)
        else set()
    )
    steps: dict[str, GraphNode] = {}
    reads: list[tuple[GraphNode, list[str]]] = []
    for i, raw in enumerate(raw_steps):
        sid = str(raw.get("id") or f"(step {i + 1})")
        detail = " · ".join(str(raw[k]) for k in ("kind", "model") if raw.get(k))
        node = GraphNode(f"step:{sid}#{i}" if sid in steps else f"step:{sid}", "step", sid, detail, gated=sid in gated)
        steps.setdefault(sid, node)
        reads.append((node, [expr for _path, expr in references_in({k: v for k, v in raw.items() if k != "id"}, "")]))
        graph.nodes.append(node)
    edges: list[GraphEdge] = []
    depth: dict[str, int] = {}
    for node, expressions in reads:
        deepest = 0
        for expr in expressions:
            ref = Reference.parse(expr)
            source: GraphNode | None = None
            if ref and ref.input is not None:
                source = inputs.get(ref.input)
            elif ref and ref.step is not None and ref.step in depth:  # only earlier steps: no cycle, no forward edge
                source = steps.get(ref.step)
            if source is not None and source.sort == "step":
                deepest = max(deepest, depth[source.label])
            edges.append(GraphEdge(source, node, expr, broken=source is None))
        node.column = deepest + 1
        depth.setdefault(node.label, node.column)
    last = max((n.column for n in graph.nodes), default=0) + 1
    outputs = []
    for name, expr in _dict(d.get("outputs")).items():
        out = GraphNode(f"output:{name}", "output", str(name), column=last)
        outputs.append(out)
        found = False
        for _path, raw_expr in references_in(expr, ""):
            ref = Reference.parse(raw_expr)
            source = steps.get(ref.step) if ref and ref.step else inputs.get(ref.input) if ref and ref.input else None
            edges.append(GraphEdge(source, out, raw_expr, broken=source is None))
            found = True
        if not found:
            edges.append(GraphEdge(None, out, str(expr), broken=True))
    graph.nodes = list(inputs.values()) + graph.nodes + outputs
    graph.edges = edges
    rows: dict[int, int] = {}
    for n in graph.nodes:
        n.row = rows.get(n.column, 0)
        rows[n.column] = n.row + 1
    columns = graph.columns
    most = max(rows.values(), default=1)
    graph.width = 2 * PAD + columns * NODE_W + max(columns - 1, 0) * GAP_X
    graph.height = 2 * PAD + most * NODE_H + max(most - 1, 0) * GAP_Y
    return graph
