"""kopilka: an open-source loyalty-program platform."""

__version__ = "0.1.0"
