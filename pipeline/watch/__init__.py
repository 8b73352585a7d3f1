"""The hot folder watcher (`supportplan watch`)."""

from .watcher import Watcher, WatchError, WatchSettings, check_layout, run_watch

__all__ = ["WatchError", "WatchSettings", "Watcher", "check_layout", "run_watch"]
