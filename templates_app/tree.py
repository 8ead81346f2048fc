"""Direction trees (a base and the directions derived from it), laid out for SVG: the one
tree the library page draws and the API answers (`lineage`, `forest`)."""

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


def _children_of(workflows: list[Workflow]) -> dict[int, list[Workflow]]:
    loaded = {w.pk for w in workflows}
    children_of: dict[int, list[Workflow]] = {}
    for w in workflows:
        if w.derived_from_id in loaded:
            children_of.setdefault(w.derived_from_id, []).append(w)
    return children_of


def forest(workflows: list[Workflow]) -> list[Tree]:
    """One tree per base that has directions, from workflows already loaded (no queries)."""
    children_of = _children_of(workflows)
    loaded = {w.pk for w in workflows}
    roots = [w for w in workflows if w.derived_from_id not in loaded and w.pk in children_of]
    return [layout(r, children_of) for r in sorted(roots, key=lambda r: r.slug)]


def lineage(workflow: Workflow) -> Tree:
    """The whole tree `workflow` belongs to, from the root of its lineage; one query per level."""
    root = workflow
    while root.derived_from_id is not None:
        root = Workflow.objects.with_pointers().get(pk=root.derived_from_id)
    found, level = [root], [root.pk]
    while level:
        children = list(Workflow.objects.with_pointers().filter(derived_from_id__in=level))
        found.extend(children)
        level = [c.pk for c in children]
    return layout(root, _children_of(found))
