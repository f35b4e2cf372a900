import pytest

from shipping import shipping_cost


def test_flat_fee_up_to_two_kilograms():
    assert shipping_cost(0.5) == 4.90
    assert shipping_cost(2.0) == 4.90


def test_each_started_kilogram_above_two_costs_extra():
    assert shipping_cost(2.1) == 6.10
    assert shipping_cost(4.0) == 7.30


def test_zero_weight_is_refused():
    with pytest.raises(ValueError):
        shipping_cost(0)
