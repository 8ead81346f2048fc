"""Lay out a direction tree (a base and the directions derived from it) for SVG."""

from __future__ import annotations

from dataclasses import dataclass, field

from templates_app.models import Workflow

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 190, 46, 60, 16, 8


@dataclass
class Node:
    workflow: Workflow
    depth: int
    row: float = 0.0
    children: list[Node] = field(default_factory=list)

    @property
    def x(self) -> int:
        return PAD + self.depth * (NODE_W + GAP_X)

    @property
    def y(self) -> int:
        return PAD + round(self.row * (NODE_H + GAP_Y))


@dataclass
class Tree:
    root: Node
    nodes: list[Node]
    edges: list[tuple[Node, Node]]
    width: int
    height: int


def layout(root: Workflow, children_of: dict[int, list[Workflow]]) -> Tree:
    nodes: list[Node] = []
    edges: list[tuple[Node, Node]] = []
    next_row = [0.0]

    def place(w: Workflow, depth: int) -> Node:
        node = Node(w, depth)
        nodes.append(node)
        for child in sorted(children_of.get(w.pk, []), key=lambda c: c.slug):
            kid = place(child, depth + 1)
            node.children.append(kid)
            edges.append((node, kid))
        if node.children:
            node.row = sum(c.row for c in node.children) / len(node.children)
        else:
            node.row, next_row[0] = next_row[0], next_row[0] + 1
        return node

    top = place(root, 0)
    depth = max(n.depth for n in nodes)
    rows = max(n.row for n in nodes) + 1
    width = 2 * PAD + (depth + 1) * NODE_W + depth * GAP_X
    height = 2 * PAD + round(rows * NODE_H + (rows - 1) * GAP_Y)
    return Tree(top, nodes, edges, width, height)


def forest(workflows: list[Workflow]) -> list[Tree]:
    """One tree per base that has directions, from workflows already loaded (no queries)."""
    by_id = {w.pk: w for w in workflows}
    children_of: dict[int, list[Workflow]] = {}
    for w in workflows:
        if w.derived_from_id in by_id:
            children_of.setdefault(w.derived_from_id, []).append(w)
    roots = [w for w in workflows if w.derived_from_id not in by_id and w.pk in children_of]
    return [layout(r, children_of) for r in sorted(roots, key=lambda r: r.slug)]
