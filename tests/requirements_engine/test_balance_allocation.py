"""The allocation solver against networkx's reference max-flow-min-cost on random small estates."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import networkx as nx
import pytest

from catalog.models import version_key
from requirements_engine.allocation import allocate, supply_classes, to_units
from requirements_engine.coverage import CatalogFacts, LicenseFacts, ProductFacts, coverage_edges


def random_estate(seed: int):
    rng = random.Random(seed)
    facts = CatalogFacts()
    products = {}
    pid = 0
    for version in ("2019", "2022", "2024"):
        for edition, rank in (("Standard", 10), ("Enterprise", 20)):
            pid += 1
            products[pid] = ProductFacts(pid, 1, "Fabrikam", "DB", version, edition, version_key(version),
                                         dt.date(int(version), 1, 1))
            facts.edition_ranks[("Fabrikam", "DB", edition)] = rank
    demands = {(p, "Per Device"): to_units(rng.randint(0, 6)) for p in products}
    demands = {k: v for k, v in demands.items() if v}
    licenses = [LicenseFacts(id=i, product_id=rng.choice(list(products)), license_model="Per Device",
                             total=Decimal(rng.randint(1, 4)), version_downgrade=rng.random() < 0.7,
                             version_upgrade=rng.random() < 0.2, edition_downgrade=rng.random() < 0.5,
                             unit_price=Decimal(rng.choice((10, 20, 30))), start_date=None, end_date=None)
                for i in range(1, rng.randint(2, 9))]
    return products, facts, demands, licenses


@pytest.mark.parametrize("seed", range(40))
def test_the_allocation_covers_as_much_as_a_maximum_flow_and_is_no_costlier(seed):
    products, facts, demands, licenses = random_estate(seed)
    classes = supply_classes(licenses=licenses)
    edges = coverage_edges(supplies=[c.representative for c in classes], positions=demands, products=products,
                           catalog=facts)
    lines = allocate(demands=demands, classes=classes, edges=edges)
    # Never more than a license holds or a position needs.
    by_license, by_position = {}, {}
    for line in lines:
        by_license[line.entitlement_id] = by_license.get(line.entitlement_id, 0) + line.units
        by_position[line.position] = by_position.get(line.position, 0) + line.units
    assert all(by_license[lic.id] <= to_units(lic.total) for lic in licenses if lic.id in by_license)
    assert all(by_position[p] <= demands[p] for p in by_position)
    # The reference: networkx's max_flow_min_cost on the plain (unaggregated) network.
    graph = nx.DiGraph()
    for lic in licenses:
        graph.add_edge("S", ("l", lic.id), capacity=to_units(lic.total), weight=0)
    singles = coverage_edges(supplies=licenses, positions=demands, products=products, catalog=facts)
    for e in singles:
        graph.add_edge(("l", licenses[e.supply].id), ("p", e.position), capacity=10**9, weight=e.cost)
    for p, d in demands.items():
        graph.add_edge(("p", p), "T", capacity=d, weight=0)
    if "S" not in graph or "T" not in graph:
        assert lines == []
        return
    flow = nx.max_flow_min_cost(graph, "S", "T")
    best = sum(flow["S"].values())
    assert sum(line.units for line in lines) == best
    rule_cost = {(licenses[e.supply].id, e.position): e.cost for e in singles}
    ours = sum(line.units * rule_cost[(line.entitlement_id, line.position)] for line in lines)
    reference = sum(amount * rule_cost[(node[1], target[1])] for node, targets in flow.items()
                    if isinstance(node, tuple) and node[0] == "l" for target, amount in targets.items() if amount)
    assert ours <= reference


def test_the_allocation_is_identical_for_shuffled_input():
    products, facts, demands, licenses = random_estate(3)

    def run(items):
        classes = supply_classes(licenses=items)
        edges = coverage_edges(supplies=[c.representative for c in classes], positions=demands, products=products,
                               catalog=facts)
        return allocate(demands=demands, classes=classes, edges=edges)

    shuffled = list(licenses)
    random.Random(1).shuffle(shuffled)
    assert run(licenses) == run(shuffled)
