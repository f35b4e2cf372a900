from units import c_to_f, kmh_to_ms


def test_a_reading_converts_end_to_end():
    reading = {"temperature_c": 21.5, "wind_kmh": 18}
    assert round(c_to_f(reading["temperature_c"]), 1) == 70.7
    assert kmh_to_ms(reading["wind_kmh"]) == 5.0
