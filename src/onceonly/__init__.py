"""onceonly: at-least-once events in, exactly-once facts out."""

__version__ = "0.1.0"
