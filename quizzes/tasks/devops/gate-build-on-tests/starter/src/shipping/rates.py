"""Shipping cost by parcel weight: a flat fee up to 2 kg, then a rate per started kilogram."""

import math

FLAT_FEE = 4.90
PER_KG = 1.20
FLAT_UP_TO_KG = 2.0


def shipping_cost(weight_kg: float) -> float:
    """The cost in euros of a parcel of `weight_kg` (> 0), rounded to the cent."""
    if weight_kg <= 0:
        raise ValueError("a parcel weighs more than 0 kg")
    if weight_kg <= FLAT_UP_TO_KG:
        return FLAT_FEE
    extra = math.ceil(weight_kg - FLAT_UP_TO_KG)
    return round(FLAT_FEE + extra * PER_KG, 2)
