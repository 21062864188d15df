from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.expressions import ExpressionError, evaluate, names_used, validate_expression

SQL_PHYSICAL = "max(cores_per_processor, 4) * processors"
SQL_VM = "max(vcpus, 4)"
WINDOWS = "max(max(cores_per_processor, 8) * processors, 16)"


def test_sql_server_per_core_on_a_physical_server_with_two_ten_core_processors_needs_twenty():
    # 2 processors x max(10, 4) cores = 20 core licenses
    assert evaluate(SQL_PHYSICAL, {"cores_per_processor": 10, "processors": 2}) == Decimal(20)


def test_sql_server_per_core_counts_at_least_four_cores_per_processor():
    # 1 processor with 2 cores: max(2, 4) x 1 = 4
    assert evaluate(SQL_PHYSICAL, {"cores_per_processor": 2, "processors": 1}) == Decimal(4)


def test_sql_server_per_vm_with_two_vcpus_needs_the_minimum_of_four():
    assert evaluate(SQL_VM, {"vcpus": 2}) == Decimal(4)
    assert evaluate(SQL_VM, {"vcpus": 6}) == Decimal(6)


def test_windows_server_on_two_six_core_processors_needs_the_minimum_of_sixteen():
    # max(6, 8) = 8 per processor, x 2 = 16; at least 16 per server -> 16
    assert evaluate(WINDOWS, {"cores_per_processor": 6, "processors": 2}) == Decimal(16)
    # 2 x 12 cores = 24 (above both minimums)
    assert evaluate(WINDOWS, {"cores_per_processor": 12, "processors": 2}) == Decimal(24)
    # 1 x 4 cores: max(4, 8) = 8, below the server minimum of 16
    assert evaluate(WINDOWS, {"cores_per_processor": 4, "processors": 1}) == Decimal(16)


def test_oracle_processor_keeps_the_fraction_of_seven_cores_times_half():
    assert evaluate("cores * core_factor", {"cores": 7, "core_factor": Decimal("0.5")}) == Decimal("3.5")


def test_ibm_pvu_is_cores_times_pvu_per_core():
    # 8 cores x 70 PVU
    assert evaluate("cores * pvu_per_core", {"cores": 8, "pvu_per_core": 70}) == Decimal(560)


def test_conditional_expressions_choose_by_fact():
    expr = "max(vcpus, 4) if is_virtual else max(cores_per_processor, 4) * processors"
    assert evaluate(expr, {"is_virtual": True, "vcpus": 2}) == 4
    assert evaluate(expr, {"is_virtual": False, "cores_per_processor": 6, "processors": 2}) == 12


def test_functions_ceil_floor_round_min():
    assert evaluate("ceil(cores / 3)", {"cores": 7}) == 3
    assert evaluate("floor(cores / 3)", {"cores": 7}) == 2
    assert evaluate("round(ram_gb / 4)", {"ram_gb": Decimal("10")}) == 3  # 2.5 rounds half up
    assert evaluate("min(threads, 8)", {"threads": 32}) == 8


def test_a_missing_fact_raises_instead_of_guessing():
    with pytest.raises(ExpressionError) as exc:
        evaluate(SQL_PHYSICAL, {"cores_per_processor": None, "processors": 2})
    assert exc.value.code == "expression.missing_fact"
    assert exc.value.missing == "cores_per_processor"
    with pytest.raises(ExpressionError):
        evaluate("cores * core_factor", {"cores": 8})


def test_facts_an_expression_does_not_use_may_be_missing():
    assert evaluate("1", {}) == 1
    assert evaluate("4 if is_virtual else cores", {"is_virtual": True, "cores": None}) == 4


@pytest.mark.parametrize("text", [
    "cores +", "foo * 2", "__import__('os')", "cores.real", "'text'", "open('x')", "x if is_virtual else 1",
    "[1, 2]", "cores ** 99", "lambda: 1", "", "max(cores, key=1)",
])
def test_unusable_expressions_are_refused(text):
    with pytest.raises(ExpressionError):
        validate_expression(text)


def test_valid_expressions_pass_validation_stripped():
    assert validate_expression("  max(vcpus, 4) ") == "max(vcpus, 4)"
    assert names_used(SQL_PHYSICAL) == {"cores_per_processor", "processors"}
