"""kopilka: an open-source loyalty-program platform."""

from kopilka.engine_build import ENGINE_STATE  # before any engine module: see engine_build

__version__ = "0.1.0"
__all__ = ["ENGINE_STATE", "__version__"]
