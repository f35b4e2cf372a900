"""Greetings for the front page."""


def greet(name: str) -> str:
    """A greeting for `name`, or for a guest when the name is blank."""
    name = name.strip()
    return f"Hello, {name}!" if name else "Hello, guest!"
