"""Figures by kind: money with currency and thousands separators, counts without decimals, ISO dates."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template

from sam.templatetags.figures import count, figure, isodate, money, quantity


@pytest.mark.parametrize(("value", "currency", "expected"), [
    (Decimal("1234567.5"), "EUR", "1,234,567.50 EUR"),
    (Decimal("0.005"), "USD", "0.01 USD"),  # half up
    (12, "", "12.00"),
    (None, "EUR", "—"),
    (Decimal("-31.2"), "CHF", "-31.20 CHF"),
])
def test_money(value, currency, expected):
    assert money(value, currency) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (Decimal("31.00"), "31"), (1234, "1,234"), (Decimal("1234567"), "1,234,567"), ("", "—"), ("x", "—"),
])
def test_counts_have_no_decimals(value, expected):
    assert count(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (Decimal("16.00"), "16"), (Decimal("3.50"), "3.5"), (Decimal("2500.25"), "2,500.25"), (Decimal("0.875"), "0.88"),
])
def test_quantities_keep_fractions_only_when_there_are_some(value, expected):
    assert quantity(value) == expected


def test_dates_are_iso_in_filters_and_in_plain_template_output(settings):
    assert isodate(dt.date(2027, 2, 14)) == "2027-02-14"
    assert isodate(dt.datetime(2027, 2, 14, 9, 5)) == "2027-02-14 09:05"
    # {{ day }} without a filter, and |date without a format: ISO too (sam/formats/en).
    text = Template("{{ day }} {{ day|date }}").render(Context({"day": dt.date(2027, 2, 14)}))
    assert text == "2027-02-14 2027-02-14"


def test_figure_formats_by_declared_kind():
    assert figure(Decimal("12345.6"), "money:EUR") == "12,345.60 EUR"
    assert figure(Decimal("7.00"), "count") == "7"
    assert figure(Decimal("7.25")) == "7.25"
    assert figure("12.00") == "12.00"  # text stays as given
