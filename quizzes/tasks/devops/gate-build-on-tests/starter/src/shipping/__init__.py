"""Shipping costs for the shop's checkout."""

from shipping.rates import shipping_cost

__all__ = ["shipping_cost"]
