"""Unit conversions for the weather widget."""


def c_to_f(celsius: float) -> float:
    """Degrees Celsius as degrees Fahrenheit."""
    return celsius * 9 / 5 + 32


def kmh_to_ms(kmh: float) -> float:
    """Kilometres per hour as metres per second, to two decimals."""
    return round(kmh / 3.6, 2)
