from greeter import greet


def test_greets_by_name():
    assert greet("Ada") == "Hello, Ada!"


def test_blank_name_is_a_guest():
    assert greet("   ") == "Hello, guest!"
