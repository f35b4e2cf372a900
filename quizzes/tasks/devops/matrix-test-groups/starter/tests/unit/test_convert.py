from units import c_to_f, kmh_to_ms


def test_freezing_and_boiling():
    assert c_to_f(0) == 32
    assert c_to_f(100) == 212


def test_wind_speed():
    assert kmh_to_ms(36) == 10.0
