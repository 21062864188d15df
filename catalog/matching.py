"""Recognition rules compiled for matching: which rule (if any) an installed application falls under.

Pure catalog logic (rules in, a rule out); ``inventory.recognition`` applies it to the fingerprints.
"""
from __future__ import annotations

import re

from catalog.selectors import FingerprintRuleData, wildcard_regex


class RuleMatcher:
    """The effective rules, compiled once and tried in precedence order.

    Rules with a literal publisher are indexed by it. Rules with a wildcard publisher are grouped by
    their publisher pattern, so each distinct pattern is tried once per fingerprint and only the rules
    of matching patterns are tried by name (the shipped catalog has hundreds of rules but a dozen
    publisher patterns). The winner is the matching rule earliest in precedence order, as before.
    """

    def __init__(self, rules: list[FingerprintRuleData]):
        self.by_publisher: dict[str, list[tuple[int, FingerprintRuleData, re.Pattern, re.Pattern]]] = {}
        groups: dict[str, list[tuple[int, FingerprintRuleData, re.Pattern, re.Pattern]]] = {}
        for order, rule in enumerate(rules):
            name_rx, version_rx = wildcard_regex(rule.name), wildcard_regex(rule.version or "*")
            if "*" in rule.publisher:
                groups.setdefault(rule.publisher.strip().lower(), []).append((order, rule, name_rx, version_rx))
            else:
                self.by_publisher.setdefault(rule.publisher.strip().lower(), []).append((order, rule, name_rx, version_rx))
        self.any_publisher: list[tuple[re.Pattern, list[tuple[int, FingerprintRuleData, re.Pattern, re.Pattern]]]] = [
            (wildcard_regex(pattern), entries) for pattern, entries in groups.items()]

    def match(self, publisher: str, name: str, version: str) -> FingerprintRuleData | None:
        publisher, name, version = (publisher or "").strip().lower(), (name or "").strip().lower(), (version or "").strip().lower()
        best: tuple[int, FingerprintRuleData] | None = None
        for order, rule, name_rx, version_rx in self.by_publisher.get(publisher, ()):
            if name_rx.match(name) and version_rx.match(version):
                best = (order, rule)
                break  # lists are in precedence order
        for pub_rx, entries in self.any_publisher:
            if not pub_rx.match(publisher):
                continue
            for order, rule, name_rx, version_rx in entries:
                if best is not None and order > best[0]:
                    break
                if name_rx.match(name) and version_rx.match(version):
                    best = (order, rule)
                    break
        return best[1] if best else None
