"""Allocation of licenses to license positions: an exact min-cost flow.

The network has one node per *position* (product × license model, its demand the required units)
and one node per *supply class* (licenses with identical product, model, rights, maintenance terms
and unit price – they are interchangeable, so they are aggregated and split back afterwards in id
order). An edge joins a class to each position its rights reach (``coverage.coverage_edges``).

Objective, lexicographically:

1. minimise the shortfall – every unit of unmet demand goes over a bypass edge whose cost exceeds
   any possible rerouting, so no allocation with less shortfall can be missed (a greedy pass that
   spends Enterprise licenses on Enterprise first may leave Standard short when Enterprise could
   have covered both: the flow finds the allocation that covers all);
2. prefer exact matches, then the nearest right (version downgrade before edition downgrade);
3. spend the cheapest units first (unit price breaks ties).

Quantities are Decimals scaled to integers (×10 000) so fractional requirements (Oracle core
factors) flow exactly. Nodes and edges are inserted in sorted order and classes are split by
entitlement id, so unchanged inputs give the same allocation on every run and database.
Independent components (different titles) are solved separately; components with one position or
one supply class are solved by the obvious greedy order, which is optimal there.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import networkx as nx

from requirements_engine.coverage import Edge, LicenseFacts

SCALE = 10_000


def to_units(value: Decimal | int | None) -> int:
    """Decimal quantity → integer flow units (rounded up: a requirement is never shrunk)."""
    if value is None:
        return 0
    scaled = Decimal(value) * SCALE
    return int(scaled.to_integral_value(rounding="ROUND_CEILING"))


def from_units(units: int) -> Decimal:
    return (Decimal(units) / SCALE).quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class AllocationLine:
    entitlement_id: int
    position: tuple[int, str]
    units: int  # scaled
    rule: str


@dataclass
class SupplyClass:
    key: tuple
    members: list[LicenseFacts]

    @property
    def representative(self) -> LicenseFacts:
        return self.members[0]

    @property
    def unlimited(self) -> bool:
        return self.members[0].unlimited

    def capacity(self) -> int | None:
        if self.unlimited:
            return None
        return sum(to_units(m.total) for m in self.members)


def supply_classes(*, licenses: Iterable[LicenseFacts]) -> list[SupplyClass]:
    """Group interchangeable licenses; classes and their members in a stable order (by id)."""
    groups: dict[tuple, list[LicenseFacts]] = {}
    for lic in sorted(licenses, key=lambda lic: lic.id):
        groups.setdefault(lic.rights_key(), []).append(lic)
    classes = [SupplyClass(key, members) for key, members in groups.items()]
    classes.sort(key=lambda c: c.members[0].id)
    return classes


def _price_ranks(classes: list[SupplyClass]) -> tuple[list[int], int]:
    prices = sorted({c.representative.unit_price for c in classes if c.representative.unit_price is not None})
    rank = {p: i for i, p in enumerate(prices)}
    # An unknown price ranks after every known one (spend licenses whose price we know first).
    out = [rank.get(c.representative.unit_price, len(prices)) for c in classes]
    return out, len(prices) + 1


def allocate(*, demands: dict[tuple[int, str], int], classes: list[SupplyClass],
             edges: list[Edge]) -> list[AllocationLine]:
    """Solve the allocation; ``demands`` in scaled units, ``edges`` by class index. Deterministic."""
    price_rank, price_levels = _price_ranks(classes)
    # Edge cost: the rule's distance dominates, the price rank breaks ties within a rule.
    costs: dict[tuple[int, tuple[int, str]], tuple[int, str]] = {}
    for e in edges:
        if demands.get(e.position, 0) <= 0:
            continue
        cost = e.cost * price_levels + price_rank[e.supply]
        known = costs.get((e.supply, e.position))
        if known is None or cost < known[0]:
            costs[(e.supply, e.position)] = (cost, e.rule)
    if not costs:
        return []

    # Components (union-find over class ↔ position) are independent problems.
    parent: dict = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for (c, p) in costs:
        ra, rb = find(("c", c)), find(("p", p))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    components: dict = defaultdict(list)
    for (c, p), (cost, rule) in costs.items():
        components[find(("c", c))].append((c, p, cost, rule))

    flows: dict[tuple[int, tuple[int, str]], int] = {}
    for root in sorted(components):
        arcs = sorted(components[root], key=lambda a: (a[0], a[1]))
        flows.update(_solve_component(arcs, demands, classes))

    return _split(flows, costs, classes)


def _solve_component(arcs: list[tuple], demands: dict, classes: list[SupplyClass]) -> dict:
    class_ids = sorted({a[0] for a in arcs})
    positions = sorted({a[1] for a in arcs})
    total_demand = sum(demands[p] for p in positions)
    caps = {c: classes[c].capacity() for c in class_ids}
    caps = {c: (total_demand if cap is None else min(cap, total_demand)) for c, cap in caps.items()}
    flows: dict = {}
    if len(positions) == 1 or len(class_ids) == 1:
        # One position: fill from the cheapest edge. One class: serve the cheapest positions first.
        # With a single sink or a single source the greedy order by cost is an optimal flow.
        left_demand = {p: demands[p] for p in positions}
        left_cap = dict(caps)
        for c, p, _cost, _rule in sorted(arcs, key=lambda a: (a[2], a[1], a[0])):
            amount = min(left_demand[p], left_cap[c])
            if amount > 0:
                flows[(c, p)] = amount
                left_demand[p] -= amount
                left_cap[c] -= amount
        return flows

    # When every position can be filled from its own exact licenses, filling each from its cheapest
    # exact licenses is optimal: no shortfall, and any right-based unit costs more than any exact one.
    exact_capacity: dict = defaultdict(int)
    for c, p, _cost, rule in arcs:
        if rule == "exact":
            exact_capacity[p] += caps[c]
    if all(exact_capacity[p] >= demands[p] for p in positions):
        left_demand = {p: demands[p] for p in positions}
        left_cap = dict(caps)
        for c, p, _cost, _rule in sorted((a for a in arcs if a[3] == "exact"), key=lambda a: (a[1], a[2], a[0])):
            amount = min(left_demand[p], left_cap[c])
            if amount > 0:
                flows[(c, p)] = amount
                left_demand[p] -= amount
                left_cap[c] -= amount
        return flows

    graph = nx.DiGraph()
    max_cost = max(a[2] for a in arcs)
    # The bypass costs more than any augmenting path can save, so shortfall is minimised first.
    bypass = (max_cost + 1) * (len(class_ids) + len(positions) + 2)
    graph.add_node("S", demand=-total_demand)
    graph.add_node("T", demand=total_demand)
    for c in class_ids:
        graph.add_node(("c", c))
    for p in positions:
        graph.add_node(("p", p))
    graph.add_edge("S", "T", capacity=total_demand, weight=bypass)
    for c in class_ids:
        graph.add_edge("S", ("c", c), capacity=caps[c], weight=0)
    for c, p, cost, _rule in arcs:
        graph.add_edge(("c", c), ("p", p), capacity=total_demand, weight=cost)
    for p in positions:
        graph.add_edge(("p", p), "T", capacity=demands[p], weight=0)
    _cost, flow = nx.network_simplex(graph)
    for c in class_ids:
        for target, amount in flow[("c", c)].items():
            if amount > 0:
                flows[(c, target[1])] = amount
    return flows


def _split(flows: dict, costs: dict, classes: list[SupplyClass]) -> list[AllocationLine]:
    """Split each class's flow over its licenses in id order (each license up to its own total)."""
    by_class: dict[int, list[tuple]] = defaultdict(list)
    for (c, p), amount in flows.items():
        by_class[c].append((costs[(c, p)][0], p, amount, costs[(c, p)][1]))
    lines: list[AllocationLine] = []
    for c in sorted(by_class):
        members = classes[c].members
        left = [None if m.unlimited else to_units(m.total) for m in members]
        i = 0
        for _cost, p, amount, rule in sorted(by_class[c], key=lambda x: (x[0], x[1])):
            while amount > 0 and i < len(members):
                take = amount if left[i] is None else min(amount, left[i])
                if take > 0:
                    lines.append(AllocationLine(members[i].id, p, take, rule))
                    amount -= take
                    if left[i] is not None:
                        left[i] -= take
                if left[i] is not None and left[i] == 0:
                    i += 1
    lines.sort(key=lambda line: (line.position, line.entitlement_id))
    return lines
